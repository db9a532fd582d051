from django import forms
from django.utils.translation import gettext_lazy as _


class WarehouseForm(forms.Form):
    code = forms.CharField(label=_("Code"), max_length=16)
    name = forms.CharField(label=_("Name"), max_length=120)
    address_line = forms.CharField(label=_("Street address"), max_length=200, required=False)
    zip_code = forms.CharField(label=_("US ZIP code"), max_length=10)
    storage_cost = forms.DecimalField(label=_("Storage cost per unit per month (USD)"), min_value=0, max_digits=10, decimal_places=4, initial=0)

    def clean_zip_code(self):
        from django.core.exceptions import ValidationError

        from warehouses.services import zip_location

        value = self.cleaned_data["zip_code"].strip()
        try:
            zip_location(value)
        except ValidationError as exc:
            raise forms.ValidationError(exc.message_dict["zip_code"]) from None
        return value


class FulfilmentForm(forms.Form):
    fulfilment = forms.ChoiceField(label=_("Who works this warehouse's shipments"), widget=forms.RadioSelect)
    threepl_url = forms.URLField(label=_("3PL API address"), required=False, assume_scheme="https",
                                 help_text=_("Its order API, e.g. https://api.example-3pl.com/v1; shipments are sent to /orders."))
    threepl_api_key = forms.CharField(label=_("3PL API key"), required=False, widget=forms.PasswordInput(render_value=False),
                                      help_text=_("Stored encrypted and sent only to the host it was entered for. Leave empty to keep "
                                                                  "the current key while the address stays on the same host."))

    def __init__(self, *args, **kwargs):
        from warehouses.models import Fulfilment

        super().__init__(*args, **kwargs)
        self.fields["fulfilment"].choices = Fulfilment.choices
