from django import forms
from django.utils.translation import gettext_lazy as _

from orders.models import OrderStatus


class LoginForm(forms.Form):
    email = forms.EmailField(label=_("Email"), widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}))
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))


class SetPasswordForm(forms.Form):
    password = forms.CharField(label=_("New password"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
                               help_text=_("At least 10 characters, not only digits, not a common password."))
    password2 = forms.CharField(label=_("New password again"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def clean(self):
        data = super().clean()
        if data.get("password") and data.get("password2") and data["password"] != data["password2"]:
            self.add_error("password2", _("The two passwords differ."))
        return data


class ResetRequestForm(forms.Form):
    email = forms.EmailField(label=_("Email"))


class OrderFilterForm(forms.Form):
    q = forms.CharField(label=_("Order number"), required=False)
    status = forms.ChoiceField(label=_("Status"), choices=[("", _("Any status"))] + list(OrderStatus.choices), required=False)
    since = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    source = forms.ChoiceField(label=_("Show"), required=False, choices=[("", _("All orders")), ("sales", _("Sales to my customers")),
                                                                          ("purchases", _("Orders I placed"))])


class DisputeForm(forms.Form):
    comment = forms.CharField(label=_("What is wrong?"), max_length=1000, widget=forms.Textarea(attrs={"rows": 3}))


class AddToCartForm(forms.Form):
    sku = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=100_000,
                                  widget=forms.NumberInput(attrs={"inputmode": "numeric", "style": "width:5rem"}))


class CheckoutForm(forms.Form):
    order_type = forms.ChoiceField(widget=forms.HiddenInput)  # chosen with the "Prices for" switch above the form
    token = forms.CharField(widget=forms.HiddenInput, max_length=10)
    ship_name = forms.CharField(label=_("Name"), max_length=120, widget=forms.TextInput(attrs={"autocomplete": "name"}))
    ship_line1 = forms.CharField(label=_("Street address"), max_length=200, widget=forms.TextInput(attrs={"autocomplete": "address-line1"}))
    ship_line2 = forms.CharField(label=_("Apartment, suite (optional)"), max_length=200, required=False,
                                 widget=forms.TextInput(attrs={"autocomplete": "address-line2"}))
    ship_city = forms.CharField(label=_("City"), max_length=80, required=False, widget=forms.TextInput(attrs={"autocomplete": "address-level2"}))
    ship_state = forms.CharField(label=_("State"), max_length=40, required=False, widget=forms.TextInput(attrs={"autocomplete": "address-level1"}))
    ship_zip = forms.CharField(label=_("ZIP code"), max_length=10, widget=forms.TextInput(attrs={"autocomplete": "postal-code", "inputmode": "numeric"}))
    ship_country = forms.CharField(label=_("Country"), max_length=2, initial="US", help_text=_("Two letters; the seller ships within the US."))
    ship_phone = forms.CharField(label=_("Phone (optional)"), max_length=32, required=False, widget=forms.TextInput(attrs={"autocomplete": "tel"}))

    def __init__(self, *args, order_types=(), **kwargs):
        from orders.models import OrderType

        super().__init__(*args, **kwargs)
        self.fields["order_type"].choices = [(t, OrderType(t).label) for t in order_types]

    def address(self) -> dict:
        return {k: v for k, v in self.cleaned_data.items() if k.startswith("ship_")}
