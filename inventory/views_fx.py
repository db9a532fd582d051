"""Exchange rates: list, enter by hand, import from CSV (preview, all or nothing), export."""
from datetime import date

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from erp.csvimport import csv_import_view
from erp.csvutil import csv_response, wants_excel
from erp.l10n import business_today, seller_base_currency
from inventory.exceptions import InventoryError
from inventory.models import ExchangeRate
from inventory.services.fx import CSV_COLUMNS, exchange_rate_set, rates_csv_apply, rates_csv_export, rates_csv_parse

_SESSION_KEY = "fx_import_text"


class RateForm(forms.Form):
    rate_date = forms.DateField(label=gettext_lazy("Date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    currency = forms.ChoiceField(label=gettext_lazy("Currency"))
    rate = forms.DecimalField(label=gettext_lazy("Units per 1 base unit"), max_digits=18, decimal_places=8, min_value=0,
                              widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "7.10"}))

    def __init__(self, *args, base: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["currency"].choices = [(c, c) for c in settings.CURRENCIES if c != base]


@require_http_methods(["GET", "POST"])
def exchange_rates(request):
    """The rates, a form to enter one and the CSV import (erp/csvimport.py: preview, all or nothing;
    a big file is checked and applied by the worker with a progress page)."""
    base = seller_base_currency()
    action = request.POST.get("action", "")
    form = RateForm(request.POST if action == "add" else None, base=base,
                    initial={"rate_date": business_today(), "currency": "CNY" if base != "CNY" else "USD"})
    if request.method == "POST" and action == "add" and form.is_valid():
        try:
            rate = exchange_rate_set(actor=request.user, **form.cleaned_data)
        except InventoryError as exc:
            form.add_error("rate", str(exc))
        else:
            messages.success(request, _("Saved: 1 %(base)s = %(rate)s %(currency)s on %(date)s.") % {
                "base": base, "rate": format(rate.rate.normalize(), "f"), "currency": rate.currency, "date": rate.rate_date})
            return redirect("inventory:fx")
    context = _page_context(request, base=base, form=form)
    if request.method == "POST" and action == "add":
        return render(request, "inventory/exchange_rates.html", context)
    if request.method == "POST" and action not in ("", "preview"):
        messages.error(request, _("Nothing was saved: the page sent an unknown action; reload it and try again."))
        return render(request, "inventory/exchange_rates.html", context)
    return csv_import_view(
        request, session_key=_SESSION_KEY, parse=rates_csv_parse, apply=rates_csv_apply, template="inventory/exchange_rates.html",
        preview_template="inventory/_fx_import_preview.html", context=context, done_url="inventory:fx", errors=(InventoryError,),
        done_message=lambda r: _("Imported %(n)s exchange rates.") % {"n": len(r.rows)},
    )


def _page_context(request, *, base: str, form: RateForm) -> dict:
    from accounts.modules import Duty, Module

    currency = request.GET.get("currency", "")
    qs = ExchangeRate.objects.select_related("created_by").order_by("-rate_date", "currency")
    if currency in settings.CURRENCIES:
        qs = qs.filter(currency=currency)
    latest = {r.currency: r for r in ExchangeRate.objects.filter(rate_date__lte=business_today()).order_by("currency", "-rate_date")
              .distinct("currency")}
    # Only money-settings roles may post here (ModulePermissionMiddleware); Finance reaches it from Fees.
    return {"base": base, "columns": CSV_COLUMNS, "can_edit": request.user.has_duty(Duty.MONEY_SETTINGS),
            "back_to_fees": not request.user.can_use(Module.INVENTORY), "form": form, "page": Paginator(qs, 50).get_page(request.GET.get("page")),
            "currency": currency, "currencies": [c for c in settings.CURRENCIES if c != base], "latest": sorted(latest.values(), key=lambda r: r.currency),
            "today": business_today()}


@require_GET
def exchange_rates_export(request):
    return csv_response(header=CSV_COLUMNS, rows=rates_csv_export(), filename=f"exchange-rates-{date.today():%Y%m%d}.csv", excel=wants_excel(request))
