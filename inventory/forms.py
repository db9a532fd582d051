from django import forms
from django.utils.translation import gettext_lazy as _

from inventory.models import Category
from warehouses.models import Warehouse


class StockFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False)
    category = forms.ModelChoiceField(label=_("Category"), queryset=Category.objects.all(), required=False, empty_label=_("All categories"))
    alerts = forms.BooleanField(label=_("Reorder alerts only"), required=False)


class AdjustmentForm(forms.Form):
    warehouse = forms.ModelChoiceField(label=_("Warehouse"), queryset=Warehouse.objects.filter(is_active=True).order_by("code"), empty_label=None)
    delta = forms.IntegerField(label=_("Change (+ found, − lost)"))
    reason = forms.CharField(label=_("Reason"), max_length=200)

    def clean_delta(self):
        delta = self.cleaned_data["delta"]
        if delta == 0:
            raise forms.ValidationError(_("Enter a change other than zero."))
        return delta


class ReorderToPOForm(forms.Form):
    warehouse = forms.ModelChoiceField(label=_("Deliver to"), queryset=Warehouse.objects.filter(is_active=True).order_by("code"), empty_label=None)


class AllocationForm(forms.Form):
    holder_kind = forms.ChoiceField(label=_("Holder kind"), choices=[("channel", _("Channel")), ("creator", _("Creator / distributor"))])
    holder_ref = forms.CharField(label=_("Holder"), max_length=64)
    quota = forms.IntegerField(label=_("Quota"), min_value=0)


class PurchaseOrderForm(forms.Form):
    """A new purchase order: who supplies it, where it goes, and its lines (PurchaseOrderLineForm)."""
    supplier = forms.ModelChoiceField(label=_("Supplier"), queryset=None, empty_label=None)
    warehouse = forms.ModelChoiceField(label=_("Deliver to"), queryset=Warehouse.objects.filter(is_active=True).order_by("code"), empty_label=None)
    currency = forms.ChoiceField(label=_("Priced in"), required=False,
                                 help_text=_("Leave as the supplier's invoice currency unless they quoted in another."))

    def __init__(self, *args, **kwargs):
        from django.conf import settings

        from inventory.models import Supplier

        super().__init__(*args, **kwargs)
        self.fields["supplier"].queryset = Supplier.objects.filter(is_active=True).order_by("name")
        self.fields["currency"].choices = [("", _("The supplier's currency"))] + [(c, c) for c in settings.CURRENCIES]


class PurchaseOrderLineForm(forms.Form):
    sku = forms.ModelChoiceField(label=_("SKU"), queryset=None, required=False, empty_label="—")
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, required=False)
    unit_cost = forms.DecimalField(label=_("Unit cost"), min_value=0, max_digits=12, decimal_places=4, required=False)

    def __init__(self, *args, **kwargs):
        from inventory.models import SKU

        super().__init__(*args, **kwargs)
        self.fields["sku"].queryset = SKU.objects.filter(is_active=True).order_by("code")

    def clean(self):
        data = super().clean()
        if data.get("sku") is None:
            if data.get("quantity") or data.get("unit_cost") is not None:
                self.add_error("sku", _("Choose the SKU of this line."))
            return data
        if not data.get("quantity"):
            self.add_error("quantity", _("Enter how many units to order."))
        if data.get("unit_cost") is None:
            self.add_error("unit_cost", _("Enter the unit cost, e.g. 12.50."))
        return data


PurchaseOrderLineFormSet = forms.formset_factory(PurchaseOrderLineForm, extra=5, max_num=50)
