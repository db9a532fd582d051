"""Commissions pages (Finance, Managers, Owners). Fees and rates feed the profit waterfall on
every order page; accrual, settlement and payouts build on them."""
from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from commissions.forms import FeeScheduleForm, ProductRateForm
from commissions.models import FeeSchedule, ProductCommissionRate
from commissions.services.fees import FeeInput, fee_schedule_end, fee_schedule_save
from erp.l10n import business_today, seller_base_currency

HUNDRED = Decimal(100)


def _errors_to_form(form, exc: ValidationError) -> None:
    names = {"marketplace_fee_rate": "marketplace_fee", "payment_fee_rate": "payment_fee", "refund_admin_fee_rate": "refund_admin_fee"}
    for field, errors in exc.message_dict.items():
        field = names.get(field, field)
        form.add_error(field if field in form.fields else None, errors)


@require_http_methods(["GET", "POST"])
def fees(request):
    form = FeeScheduleForm(request.POST if request.POST.get("form") == "fee" else None, initial={"valid_from": business_today()})
    rate_form = ProductRateForm(request.POST if request.POST.get("form") == "rate" else None, initial={"valid_from": business_today()})
    if request.method == "POST" and request.POST.get("form") == "fee" and form.is_valid():
        d = form.cleaned_data
        try:
            fee_schedule_save(FeeInput(
                channel=d["channel"], category_id=d["category"].pk if d["category"] else None, valid_from=d["valid_from"], valid_to=d["valid_to"],
                marketplace_fee_rate=d["marketplace_fee"] / HUNDRED, payment_fee_rate=d["payment_fee"] / HUNDRED,
                refund_admin_fee_rate=d["refund_admin_fee"] / HUNDRED, refund_admin_fee_cap=d["refund_admin_fee_cap"],
                shipping_estimate=d["shipping_estimate"], currency=seller_base_currency()))
        except ValidationError as exc:
            _errors_to_form(form, exc)
        else:
            messages.success(request, _("Fee schedule saved."))
            return redirect("commissions:index")
    if request.method == "POST" and request.POST.get("form") == "rate" and rate_form.is_valid():
        d = rate_form.cleaned_data
        ProductCommissionRate.objects.create(product=d["product"], rate=d["rate"] / HUNDRED, valid_from=d["valid_from"], valid_to=d["valid_to"])
        messages.success(request, _("Commission rate for %(product)s saved.") % {"product": d["product"].title})
        return redirect("commissions:index")
    return render(request, "commissions/fees.html", {
        "schedules": FeeSchedule.objects.select_related("category").order_by("channel", "category__name", "-valid_from"),
        "rates": ProductCommissionRate.objects.select_related("product").order_by("product__title", "-valid_from")[:200],
        "form": form, "rate_form": rate_form, "today": business_today(),
    })


@require_POST
def fee_end(request, schedule_id: int):
    last_day = parse_date(request.POST.get("last_day", "") or "")
    if last_day is None:
        messages.error(request, _("Enter the last day the schedule applies."))
        return redirect("commissions:index")
    try:
        fee_schedule_end(schedule_id=schedule_id, last_day=last_day)
    except (ValidationError, FeeSchedule.DoesNotExist) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
    else:
        messages.success(request, _("The schedule now ends on %(day)s.") % {"day": last_day.isoformat()})
    return redirect("commissions:index")
