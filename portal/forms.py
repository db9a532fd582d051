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


class DisputeForm(forms.Form):
    comment = forms.CharField(label=_("What is wrong?"), max_length=1000, widget=forms.Textarea(attrs={"rows": 3}))
