from django import forms
from django.utils.translation import gettext_lazy as _


class SignupForm(forms.Form):
    company_name = forms.CharField(label=_("Company name"), max_length=120)
    subdomain = forms.CharField(
        label=_("Subdomain"),
        max_length=32,
        help_text=_("Your Fanout address: <subdomain>.%(domain)s. Lowercase letters, digits and hyphens."),
    )
    owner_email = forms.EmailField(label=_("Your email"))
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput(render_value=False), strip=False)

    def __init__(self, *args, base_domain: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["subdomain"].help_text = self.fields["subdomain"].help_text % {"domain": base_domain}
        self.fields["subdomain"].widget.attrs.update({"autocapitalize": "none", "spellcheck": "false"})
        self.fields["owner_email"].widget.attrs.update({"autocomplete": "email"})
        self.fields["password"].widget.attrs.update({"autocomplete": "new-password"})

    def clean_subdomain(self):
        return self.cleaned_data["subdomain"].strip().lower()
