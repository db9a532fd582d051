from django import forms
from django.utils.translation import gettext_lazy as _

from creators.models import Creator
from orders.models import Channel, OrderStatus, OrderType, SlaState
from warehouses.models import Warehouse


class OrderFilterForm(forms.Form):
    q = forms.CharField(required=False, label=_("Search"))
    status = forms.ChoiceField(required=False, choices=[("", _("Any status"))] + list(OrderStatus.choices))
    channel = forms.ChoiceField(required=False, choices=[("", _("Any channel"))] + list(Channel.choices))
    warehouse = forms.ModelChoiceField(required=False, queryset=Warehouse.objects.all(), empty_label=_("Any warehouse"))
    sla = forms.ChoiceField(required=False, choices=[("", _("Any SLA state"))] + [c for c in SlaState.choices if c[0] != SlaState.DONE])
    creator = forms.CharField(required=False, label=_("Creator"))
    exceptions = forms.BooleanField(required=False, label=_("Exceptions only"))


BULK_ACTIONS = [("retry", _("Retry")), ("hold", _("Put on hold")), ("release", _("Release hold")), ("cancel", _("Cancel")),
                ("deliver", _("Mark delivered"))]


class BulkForm(forms.Form):
    action = forms.ChoiceField(choices=BULK_ACTIONS)
    reason = forms.CharField(required=False, max_length=200)


class ManualOrderForm(forms.Form):
    external_id = forms.CharField(label=_("Order number"), max_length=64, required=False,
                                  help_text=_("Leave empty to number it automatically."))
    order_type = forms.ChoiceField(label=_("Type"), choices=OrderType.choices, initial=OrderType.RETAIL)
    creator = forms.ModelChoiceField(label=_("Creator"), queryset=Creator.objects.order_by("handle"), required=False,
                                     empty_label=_("None"))
    ship_name = forms.CharField(label=_("Recipient"), max_length=120)
    ship_phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    ship_line1 = forms.CharField(label=_("Address line 1"), max_length=200)
    ship_line2 = forms.CharField(label=_("Address line 2"), max_length=200, required=False)
    ship_city = forms.CharField(label=_("City"), max_length=80, required=False)
    ship_state = forms.CharField(label=_("State"), max_length=40, required=False)
    ship_zip = forms.CharField(label=_("ZIP code"), max_length=12)
    ship_country = forms.CharField(label=_("Country"), max_length=2, initial="US")


class LineForm(forms.Form):
    sku = forms.CharField(label=_("SKU"), max_length=64, required=False)
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, required=False)
    unit_price = forms.DecimalField(label=_("Unit price"), min_value=0, max_digits=12, decimal_places=2, required=False,
                                    help_text=_("Leave empty on a wholesale order to use the buyer's margin plan price."))
    discount = forms.DecimalField(label=_("Discount"), min_value=0, max_digits=12, decimal_places=2, required=False)

    def clean(self):
        data = super().clean()
        if data.get("sku") and not data.get("quantity"):  # a blank unit price: the buyer's margin plan prices a wholesale line
            raise forms.ValidationError(_("Give the quantity of %(sku)s.") % {"sku": data["sku"]})
        return data


LineFormSet = forms.formset_factory(LineForm, extra=4, max_num=50)


class TrackingForm(forms.Form):
    carrier = forms.CharField(label=_("Carrier"), max_length=40)
    tracking_number = forms.CharField(label=_("Tracking number"), max_length=80)
    shipping_cost = forms.DecimalField(label=_("Label cost"), required=False, min_value=0, max_digits=10, decimal_places=2)


class ScanForm(forms.Form):
    number = forms.CharField(label=_("Shipment number"), max_length=20)
