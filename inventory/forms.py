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
