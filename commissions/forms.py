from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from orders.models import Channel

PERCENT = {"max_digits": 6, "decimal_places": 2}


class FeeScheduleForm(forms.Form):
    """Rates are typed as percentages (5 = 5%) and stored as fractions."""

    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices)
    category = forms.ModelChoiceField(label=_("Category"), queryset=None, required=False, empty_label=_("All categories"))
    valid_from = forms.DateField(label=_("Valid from"), widget=forms.DateInput(attrs={"type": "date"}))
    valid_to = forms.DateField(label=_("Valid to (last day)"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    marketplace_fee = forms.DecimalField(label=_("Marketplace / referral fee (%)"), initial=0, **PERCENT)
    payment_fee = forms.DecimalField(label=_("Payment fee (%)"), initial=0, **PERCENT)
    refund_admin_fee = forms.DecimalField(label=_("Refund admin fee (percent of the referral fee)"), initial=0, **PERCENT)
    refund_admin_fee_cap = forms.DecimalField(label=_("Refund admin fee cap per SKU"), required=False, max_digits=10, decimal_places=2)
    shipping_estimate = forms.DecimalField(label=_("Shipping per shipment (estimate)"), initial=Decimal("5.00"), max_digits=10, decimal_places=2)
    zone_estimates = forms.CharField(label=_("Shipping by zone 1–8 (optional)"), required=False,
                                     help_text=_("Eight amounts, e.g. 4.20, 4.40, 4.70, 5.10, 5.60, 6.20, 6.90, 7.80. A shipment's zone comes "
                                                 "from the distance between its warehouse and the buyer; a label cost entered when shipping "
                                                 "beats any estimate."))

    def clean_zone_estimates(self):
        from decimal import InvalidOperation

        text = (self.cleaned_data.get("zone_estimates") or "").strip()
        if not text:
            return []
        try:
            values = [Decimal(v.strip()) for v in text.replace(";", ",").split(",") if v.strip()]
        except InvalidOperation:
            raise forms.ValidationError(_("Write eight amounts separated by commas.")) from None
        if len(values) != 8 or any(v < 0 or v != v.quantize(Decimal("0.01")) for v in values):
            raise forms.ValidationError(_("Write eight amounts in cents, none negative, separated by commas."))
        return values

    def __init__(self, *args, **kwargs):
        from inventory.models import Category

        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = Category.objects.order_by("name")


class ProductRateForm(forms.Form):
    product = forms.ModelChoiceField(label=_("Product"), queryset=None)
    rate = forms.DecimalField(label=_("Commission rate (%)"), **PERCENT)
    valid_from = forms.DateField(label=_("Valid from"), widget=forms.DateInput(attrs={"type": "date"}))
    valid_to = forms.DateField(label=_("Valid to (last day)"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        from inventory.models import Product

        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = Product.objects.order_by("title")

    def clean(self):
        data = super().clean()
        if data.get("rate") is not None and not (0 <= data["rate"] <= 100):
            self.add_error("rate", _("a rate must be between 0%% and 100%%, got %(rate)s%%") % {"rate": data["rate"]})
        if data.get("valid_to") and data.get("valid_from") and data["valid_to"] < data["valid_from"]:
            self.add_error("valid_to", _("the last day is before the first day"))
        return data


class MarginPlanForm(forms.Form):
    creator = forms.ModelChoiceField(label=_("Distributor or wholesale buyer"), queryset=None)
    discount = forms.DecimalField(label=_("Discount off list price (%)"), **PERCENT,
                                  help_text=_("They buy at the list price less this; on orders they sell on at retail that you ship, "
                                              "you owe them the sale less that price."))
    valid_from = forms.DateField(label=_("Valid from"), widget=forms.DateInput(attrs={"type": "date"}))
    valid_to = forms.DateField(label=_("Valid to (last day)"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    def __init__(self, *args, **kwargs):
        from commissions.services.margins import MARGIN_KINDS
        from creators.models import Creator

        super().__init__(*args, **kwargs)
        self.fields["creator"].queryset = Creator.objects.filter(kind__in=MARGIN_KINDS).order_by("handle")
        self.fields["creator"].label_from_instance = lambda c: f"@{c.handle} · {c.get_kind_display()}"


class SettlementSettingsForm(forms.Form):
    return_window_days = forms.IntegerField(label=_("Return window (days after delivery)"), min_value=0, max_value=365)
    minimum_payout = forms.DecimalField(label=_("Minimum payout"), min_value=0, max_digits=12, decimal_places=2)


class LineFilterForm(forms.Form):
    STATES = [("", _("Any state")), ("held", _("In return window")), ("payable", _("Payable, not on a statement")),
              ("settled", _("On a statement")), ("platform", _("Paid by the platform"))]
    q = forms.CharField(required=False, label=_("Creator or order"))
    kind = forms.ChoiceField(required=False, label=_("Kind"), choices=[("", _("Accruals and clawbacks")), ("accrual", _("Accruals")),
                                                                       ("clawback", _("Clawbacks"))])
    state = forms.ChoiceField(required=False, label=_("State"), choices=STATES)
    earned_from = forms.DateField(required=False, label=_("Earned from"), widget=forms.DateInput(attrs={"type": "date"}))
    earned_to = forms.DateField(required=False, label=_("Earned to"), widget=forms.DateInput(attrs={"type": "date"}))
