from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from erp.l10n import CURRENCY_CHOICES, TIME_ZONE_CHOICES
from sellers.validators import validate_subdomain


class SignupForm(forms.Form):
    company_name = forms.CharField(label=_("Company name"), max_length=120)
    subdomain = forms.CharField(
        label=_("Subdomain"),
        max_length=32,
        help_text=_("Your Fanout address: <subdomain>.%(domain)s. Lowercase letters, digits and hyphens."),
    )
    owner_email = forms.EmailField(label=_("Your email"), help_text=_("We email you a link to confirm it; your site is created once you open it."))
    time_zone = forms.ChoiceField(
        label=_("Business time zone"), choices=TIME_ZONE_CHOICES, initial=settings.FANOUT_DEFAULT_BUSINESS_TIME_ZONE, required=False,
        help_text=_("Where your orders' days begin: daily reports, ship-by clocks and settlement periods use it."),
    )
    base_currency = forms.ChoiceField(
        label=_("Base currency"), choices=CURRENCY_CHOICES, initial=settings.DEFAULT_CURRENCY, required=False,
        help_text=_("Stock is costed and profit reported in it; purchases in other currencies are converted at dated rates."),
    )

    def __init__(self, *args, base_domain: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["subdomain"].help_text = self.fields["subdomain"].help_text % {"domain": base_domain}
        self.fields["subdomain"].widget.attrs.update({"autocapitalize": "none", "spellcheck": "false"})
        self.fields["owner_email"].widget.attrs.update({"autocomplete": "email"})

    def clean_subdomain(self):
        subdomain = self.cleaned_data["subdomain"].strip().lower()
        validate_subdomain(subdomain)  # shown with the other fields' errors; whether it is taken, the service says
        return subdomain


class SignupConfirmForm(forms.Form):
    password = forms.CharField(label=_("Choose a password"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}), strip=False)
    password_confirm = forms.CharField(label=_("Repeat the password"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
                                       strip=False)

    def clean(self):
        data = super().clean()
        if data.get("password") and data.get("password") != data.get("password_confirm"):
            self.add_error("password_confirm", _("The two passwords differ."))
        return data


class SellerSettingsForm(forms.Form):
    name = forms.CharField(label=_("Company name"), max_length=120)
    time_zone = forms.ChoiceField(
        label=_("Business time zone"), choices=TIME_ZONE_CHOICES,
        help_text=_("Where your orders' days begin: daily reports, ship-by clocks and settlement periods use it."),
    )
    base_currency = forms.ChoiceField(
        label=_("Base currency"), choices=CURRENCY_CHOICES,
        help_text=_("Stock is costed and profit reported in it; purchases in other currencies are converted at dated rates."),
    )
