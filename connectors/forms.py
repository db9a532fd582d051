from django import forms
from django.utils.translation import gettext_lazy as _

from connectors.models import ChannelAccount, InboxStatus, Platform
from erp.csvutil import csv_newlines, csv_unreadable


class ConnectForm(forms.Form):
    platform = forms.ChoiceField(label=_("Platform"), choices=Platform.choices)
    name = forms.CharField(label=_("Name in Fanout"), max_length=120)
    shop_id = forms.CharField(label=_("Shop id"), max_length=120,
                              help_text=_("TikTok shop id, Shopify domain (example.myshopify.com) or Amazon selling-partner id."))
    shop_cipher = forms.CharField(label=_("Shop cipher"), max_length=200, required=False, help_text=_("TikTok Shop only."))
    stock_location = forms.CharField(label=_("Stock location"), max_length=200,
                                     help_text=_("TikTok warehouse id, Shopify location id or Amazon marketplace id."))
    app_key = forms.CharField(label=_("App key / client id"), max_length=200)
    app_secret = forms.CharField(label=_("App secret / client secret"), widget=forms.PasswordInput(render_value=False))
    access_token = forms.CharField(label=_("Access token"), widget=forms.PasswordInput(render_value=False), required=False)
    refresh_token = forms.CharField(label=_("Refresh token"), widget=forms.PasswordInput(render_value=False), required=False)
    webhook_secret = forms.CharField(label=_("Webhook secret"), widget=forms.PasswordInput(render_value=False), required=False,
                                     help_text=_("Shopify only, when it differs from the client secret."))
    use_sandbox = forms.BooleanField(label=_("Connect to the local platform sandbox"), required=False)

    def __init__(self, *args, sandbox_available: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not sandbox_available:
            del self.fields["use_sandbox"]

    def clean_shop_id(self):
        from connectors.clients.shopify import shopify_domain_valid

        if self.data.get("platform") != Platform.SHOPIFY:
            return self.cleaned_data["shop_id"].strip()
        domain = self.cleaned_data["shop_id"].strip().lower()
        if not shopify_domain_valid(domain):
            raise forms.ValidationError(_("Enter the shop's myshopify.com domain, such as example.myshopify.com."))
        return domain

    def clean(self):
        data = super().clean()
        if not data.get("access_token") and not data.get("refresh_token"):
            raise forms.ValidationError(_("Enter an access token or a refresh token."))
        if data.get("platform") == Platform.TIKTOK_SHOP and not data.get("shop_cipher"):
            self.add_error("shop_cipher", _("TikTok Shop calls need the shop cipher."))
        data.setdefault("use_sandbox", False)
        return data


class ListingsImportForm(forms.Form):
    file = forms.FileField(label=_("CSV file"), required=False)
    text = forms.CharField(label=_("…or paste CSV"), widget=forms.Textarea(attrs={"rows": 5}), required=False)

    def clean(self):
        data = super().clean()
        if not data.get("file") and not (data.get("text") or "").strip():
            raise forms.ValidationError(_("Choose a CSV file or paste its rows."))
        if data.get("file"):
            try:
                data["csv_text"] = data["file"].read().decode("utf-8-sig")
            except UnicodeDecodeError:
                raise forms.ValidationError(_("The file is not UTF-8 text. Save it as “CSV UTF-8” and try again.")) from None
        else:
            data["csv_text"] = data.get("text") or ""
        data["csv_text"] = csv_newlines(data["csv_text"])
        problem = csv_unreadable(data["csv_text"])
        if problem:
            raise forms.ValidationError(problem)
        return data

    def csv_text(self) -> str:
        return self.cleaned_data["csv_text"]


class SyncFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False)
    account = forms.ModelChoiceField(label=_("Shop"), queryset=ChannelAccount.objects.exclude(status="disconnected"), required=False,
                                     empty_label=_("All shops"))
    errors = forms.BooleanField(label=_("Errors only"), required=False)


class EventFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=[("", _("Any status"))] + list(InboxStatus.choices), required=False)
    account = forms.ModelChoiceField(label=_("Shop"), queryset=ChannelAccount.objects.all(), required=False, empty_label=_("All shops"))
