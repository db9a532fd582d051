"""Commissions pages (Finance, Managers, Owners): the liability summary, commission lines,
settlement periods and their close, statements and disputes, payout batches, the platform
reconciliation, and the fees and rates that feed every order's profit waterfall."""
from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from commissions.forms import FeeScheduleForm, MarginPlanForm, ProductRateForm
from commissions.models import FeeSchedule, MarginPlan, ProductCommissionRate
from commissions.services.fees import FeeInput, fee_schedule_end, fee_schedule_save
from commissions.services.margins import PlanInput, margin_plan_end, margin_plan_save
from commissions.services.rates import product_rate_save
from erp.ids import ids as id_list
from erp.ids import whole
from erp.l10n import business_today, seller_base_currency

HUNDRED = Decimal(100)


def _errors_to_form(form, exc: ValidationError) -> None:
    names = {"marketplace_fee_rate": "marketplace_fee", "payment_fee_rate": "payment_fee", "refund_admin_fee_rate": "refund_admin_fee",
             "discount_rate": "discount"}
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
                shipping_estimate=d["shipping_estimate"], currency=seller_base_currency(), zone_estimates=d["zone_estimates"]),
                actor=request.user)
        except ValidationError as exc:
            _errors_to_form(form, exc)
        else:
            messages.success(request, _("Fee schedule saved."))
            return redirect("commissions:fees")
    if request.method == "POST" and request.POST.get("form") == "rate" and rate_form.is_valid():
        d = rate_form.cleaned_data
        product_rate_save(product=d["product"], rate=d["rate"] / HUNDRED, valid_from=d["valid_from"], valid_to=d["valid_to"],
                          actor=request.user)
        messages.success(request, _("Commission rate for %(product)s saved.") % {"product": d["product"].title})
        return redirect("commissions:fees")
    plan_form = MarginPlanForm(request.POST if request.POST.get("form") == "plan" else None, initial={"valid_from": business_today()})
    if request.method == "POST" and request.POST.get("form") not in ("fee", "rate", "plan"):
        messages.error(request, _("Nothing was saved: the page sent an unknown form; reload it and try again."))
    if request.method == "POST" and request.POST.get("form") == "plan" and plan_form.is_valid():
        d = plan_form.cleaned_data
        try:
            margin_plan_save(PlanInput(creator=d["creator"], discount_rate=d["discount"] / HUNDRED, valid_from=d["valid_from"],
                                       valid_to=d["valid_to"], note=d["note"]), actor=request.user)
        except ValidationError as exc:
            _errors_to_form(plan_form, exc)
        else:
            messages.success(request, _("Margin plan for @%(handle)s saved.") % {"handle": d["creator"].handle})
            return redirect("commissions:fees")
    return render(request, "commissions/fees.html", {
        "schedules": FeeSchedule.objects.select_related("category").order_by("channel", "category__name", "-valid_from"),
        "rates": ProductCommissionRate.objects.select_related("product").order_by("product__title", "-valid_from")[:200],
        "plans": MarginPlan.objects.select_related("creator").order_by("creator__handle", "-valid_from")[:200],
        "form": form, "rate_form": rate_form, "plan_form": plan_form, "today": business_today(),
    })


def _end_dated(request, end, **ids):
    last_day = parse_date(request.POST.get("last_day", "") or "")
    if last_day is None:
        messages.error(request, _("Enter the last day it applies."))
        return redirect("commissions:fees")
    try:
        end(last_day=last_day, actor=request.user, **ids)
    except (FeeSchedule.DoesNotExist, MarginPlan.DoesNotExist) as exc:
        raise Http404 from exc  # an unknown id (or another seller's) is a 404, not the ORM's message
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("It now ends on %(day)s.") % {"day": last_day.isoformat()})
    return redirect("commissions:fees")


@require_POST
def fee_end(request, schedule_id: int):
    return _end_dated(request, fee_schedule_end, schedule_id=schedule_id)


@require_POST
def margin_plan_end_view(request, plan_id: int):
    return _end_dated(request, margin_plan_end, plan_id=plan_id)


# ============================================================================ overview and settings
def _settings_form(request):
    from commissions.forms import SettlementSettingsForm
    from commissions.services.accrual import settlement_settings

    current = settlement_settings()
    form = SettlementSettingsForm(request.POST if request.method == "POST" else None, initial={"return_window_days": current.return_window_days,
                                                                 "minimum_payout": current.minimum_payout})
    return current, form


@require_http_methods(["GET", "POST"])
def overview(request):
    from commissions.models import SettlementPeriod, Statement, StatementStatus
    from commissions.selectors import liability_summary, statement_counts
    from commissions.services.recon import mismatches

    current, form = _settings_form(request)
    if request.method == "POST" and form.is_valid():
        from commissions.services.accrual import settlement_settings_save

        settlement_settings_save(return_window_days=form.cleaned_data["return_window_days"],
                                 minimum_payout=form.cleaned_data["minimum_payout"], actor=request.user)
        messages.success(request, _("Settlement settings saved. They apply to lines accrued and statements closed from now on."))
        return redirect("commissions:index")
    return render(request, "commissions/overview.html", {
        "summary": liability_summary(), "counts": statement_counts(), "form": form, "settings": current,
        "periods": SettlementPeriod.objects.order_by("-first_day", "cycle")[:6], "mismatch_count": mismatches().count(),
        "ready_to_pay": Statement.objects.filter(status=StatementStatus.APPROVED, batch__isnull=True, payout_due__gt=0).count(),
        "currency": seller_base_currency(),
    })


# ============================================================================ commission lines
def lines(request):
    from commissions.forms import LineFilterForm
    from commissions.selectors import keyset_page, lines_filtered

    form = LineFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    rows, cursor = keyset_page(lines_filtered(data), after=request.GET.get("after", ""))
    query = request.GET.copy()
    query.pop("after", None)
    return render(request, "commissions/lines.html", {"form": form, "rows": rows, "next_cursor": cursor, "query": query.urlencode(),
                                                      "paged": bool(request.GET.get("after")), "now": timezone.now()})


def lines_export(request):
    """All matching lines as CSV, streamed (a month can be a million lines)."""
    from commissions.forms import LineFilterForm
    from commissions.selectors import lines_filtered
    from erp.csvutil import csv_response, wants_excel

    form = LineFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    qs = (lines_filtered(data).order_by("-earned_at", "-pk")
          .values_list("earned_at", "creator__handle", "order__channel", "order__external_id", "kind", "units", "base", "rate", "rate_source",
                       "amount", "currency", "platform_paid", "payable_at", "statement__number"))
    tz = timezone.get_current_timezone()
    header = [_("Earned at"), _("Creator"), _("Channel"), _("Order"), _("Kind"), _("Units"), _("Sales"), _("Rate"), _("Rate from"),
              _("Commission"), _("Currency"), _("Paid by the platform"), _("Payable from"), _("Statement")]
    rows = ([earned.astimezone(tz).strftime("%Y-%m-%d %H:%M"), handle, channel, external_id, kind, units, f"{base:.2f}", f"{rate:.4f}", source,
             f"{amount:.2f}", currency, "yes" if platform else "no", payable.astimezone(tz).strftime("%Y-%m-%d"), number or ""]
            for earned, handle, channel, external_id, kind, units, base, rate, source, amount, currency, platform, payable, number
            in qs.iterator(chunk_size=5000))
    return csv_response(header=header, rows=rows, filename="commission-lines.csv", excel=wants_excel(request))


# ============================================================================ periods
def periods(request):
    from commissions.models import SettlementPeriod
    from commissions.periods import SettlementCycle, period_for_day
    from commissions.services.settlement import periods_due

    rows = list(SettlementPeriod.objects.order_by("-first_day", "cycle")[:60])
    known = {(p.cycle, p.first_day): p for p in rows}
    due = []
    for cycle, day in periods_due():
        p = period_for_day(cycle, day)
        period = known.get((cycle, p.first_day))
        if period is None or period.status != SettlementPeriod.Status.CLOSED:
            due.append({"cycle": cycle, "label": SettlementCycle(cycle).label, "first_day": p.first_day, "last_day": p.last_day, "period": period})
    return render(request, "commissions/periods.html", {"periods": rows, "due": due, "cycles": SettlementCycle.choices})


@require_POST
def period_close(request):
    from commissions.exceptions import SettlementError
    from commissions.models import SettlementPeriod
    from commissions.periods import SettlementCycle
    from commissions.services.settlement import period_close_request, period_get

    cycle = request.POST.get("cycle", "")
    day = parse_date(request.POST.get("day", "") or "")
    if cycle not in SettlementCycle.values or day is None:
        messages.error(request, _("Choose a cycle and a day of the period to close."))
        return redirect("commissions:periods")
    period = period_get(cycle, day)
    if period.status == SettlementPeriod.Status.CLOSED:
        messages.info(request, _("That period is already closed; its statements are below."))
        return redirect(f"{reverse('commissions:statements')}?period={period.pk}")
    try:
        period_close_request(cycle=cycle, day=day, user=request.user)
    except SettlementError as exc:
        messages.error(request, str(exc))
        return redirect("commissions:periods")
    messages.success(request, _("Closing the period; the progress is shown below."))
    return redirect("commissions:period", period_id=period.pk)


def period_detail(request, period_id: int):
    from commissions.models import SettlementPeriod
    from commissions.services.settlement import statement_status_counts

    period = get_object_or_404(SettlementPeriod, pk=period_id)
    context = {"period": period, "counts": statement_status_counts(period)}
    if request.htmx:
        return render(request, "commissions/_period_progress.html", context)
    return render(request, "commissions/period.html", context)


# ============================================================================ statements
def _statement_filter(request):
    from commissions.models import Statement

    qs = Statement.objects.select_related("creator", "period", "batch")
    status = request.GET.get("status", "")
    if status:
        qs = qs.filter(status=status)
    if whole(request.GET.get("period")) is not None:
        qs = qs.filter(period_id=whole(request.GET["period"]))
    q = (request.GET.get("q") or "").strip().lstrip("@")
    if q:
        qs = qs.filter(Q(creator__handle__iexact=q) | Q(number__iexact=q))
    return qs.order_by("-period__first_day", "creator__handle", "pk")


def statements(request):
    from commissions.models import StatementStatus

    page = Paginator(_statement_filter(request), 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "commissions/statements.html", {"page": page, "statuses": StatementStatus.choices, "query": query.urlencode(),
                                                           "status": request.GET.get("status", ""), "q": request.GET.get("q", "")})


def statement_detail(request, statement_id: int):
    from commissions.models import Statement, StatementStatus

    statement = get_object_or_404(Statement.objects.select_related("creator", "period", "batch"), pk=statement_id)
    lines_qs = statement.lines.select_related("order").order_by("earned_at", "pk")
    page = Paginator(lines_qs, 100).get_page(request.GET.get("page"))
    return render(request, "commissions/statement.html", {
        "statement": statement, "page": page, "adjustments": statement.adjustments.order_by("created_at"),
        "events": statement.events.select_related("actor"), "S": StatementStatus,
    })


def statement_pdf(request, statement_id: int):
    from commissions.models import Statement

    return statement_pdf_response(request, get_object_or_404(Statement.objects.select_related("creator", "period"), pk=statement_id))


def statement_pdf_response(request, statement, *, disposition: str = "inline") -> HttpResponse:
    from erp.pdf import render_pdf

    response = HttpResponse(render_pdf("pdf/statement.html", statement_pdf_context(statement), request=request), content_type="application/pdf")
    response["Content-Disposition"] = f'{disposition}; filename="{statement.number}.pdf"'
    return response


def statement_pdf_context(statement) -> dict:
    return {"statement": statement, "lines": list(statement.lines.select_related("order").order_by("earned_at", "pk")),
            "adjustments": list(statement.adjustments.order_by("created_at"))}


STATEMENT_ACTIONS = ("confirm", "dispute", "resolve", "approve", "pay")


@require_POST
def statement_action(request, statement_id: int, action: str):
    from commissions.exceptions import SettlementError
    from commissions.services import statements as svc

    if action not in STATEMENT_ACTIONS:
        raise Http404
    from commissions.models import Statement

    get_object_or_404(Statement.objects.only("pk"), pk=statement_id)  # unknown (or another seller's): 404, not a redirect to it
    try:
        if action == "confirm":
            svc.statement_confirm(statement_id=statement_id, user=request.user, note=_("Confirmed by the creator (recorded by staff)."))
        elif action == "dispute":
            svc.statement_dispute(statement_id=statement_id, comment=request.POST.get("comment", ""), user=request.user)
        elif action == "resolve":
            svc.statement_resolve(statement_id=statement_id, amount=request.POST.get("amount", "0") or "0", note=request.POST.get("note", ""),
                                  user=request.user)
        elif action == "approve":
            svc.statement_approve(statement_id=statement_id, user=request.user)
        else:
            svc.statement_pay(statement_id=statement_id, reference=request.POST.get("reference", ""), user=request.user)
    except SettlementError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, {"confirm": _("Statement confirmed."), "dispute": _("Dispute recorded."),
                                   "resolve": _("Dispute resolved; the statement was issued again."), "approve": _("Statement approved for payout."),
                                   "pay": _("Payment recorded.")}[action])
    return redirect("commissions:statement", statement_id=statement_id)


def disputes(request):
    from commissions.models import Statement, StatementStatus

    rows = (Statement.objects.filter(status=StatementStatus.DISPUTED).select_related("creator", "period").order_by("disputed_at", "pk"))
    return render(request, "commissions/disputes.html", {"rows": rows})


# ============================================================================ payouts
@require_http_methods(["GET", "POST"])
def payouts(request):
    from commissions.exceptions import SettlementError
    from commissions.models import PayoutBatch, Statement, StatementStatus
    from commissions.services.statements import payout_batch_create

    if request.method == "POST":
        ids = id_list(request.POST.getlist("statement"))
        try:
            batch = payout_batch_create(statement_ids=ids, user=request.user)
        except SettlementError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("Batch %(batch)s created: download its CSV for the bank or PayPal run, then record the payment.")
                             % {"batch": batch.number})
            return redirect("commissions:payout", batch_id=batch.pk)
        return redirect("commissions:payouts")
    ready = (Statement.objects.filter(status=StatementStatus.APPROVED, batch__isnull=True, payout_due__gt=0)
             .select_related("creator", "period").order_by("currency", "creator__handle"))
    return render(request, "commissions/payouts.html", {"ready": ready, "batches": PayoutBatch.objects.order_by("-created_at")[:100]})


@require_http_methods(["GET", "POST"])
def payout_detail(request, batch_id: int):
    from commissions.exceptions import SettlementError
    from commissions.models import PayoutBatch
    from commissions.services.statements import payout_batch_paid

    batch = get_object_or_404(PayoutBatch, pk=batch_id)
    if request.method == "POST":
        try:
            payout_batch_paid(batch_id=batch.pk, reference=request.POST.get("reference", ""), user=request.user)
        except SettlementError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("Batch %(batch)s recorded as paid.") % {"batch": batch.number})
        return redirect("commissions:payout", batch_id=batch.pk)
    return render(request, "commissions/payout.html", {"batch": batch, "rows": batch.statements.select_related("creator", "period").order_by("pk")})


def payout_csv(request, batch_id: int):
    """The batch for the bank or PayPal payouts upload: one row per creator payment."""
    from commissions.models import PayoutBatch
    from erp.csvutil import csv_response, wants_excel

    batch = get_object_or_404(PayoutBatch, pk=batch_id)
    header = [_("Batch"), _("Statement"), _("Creator"), _("Name"), _("Email"), _("Amount"), _("Currency"), _("Period"), _("Note")]
    rows = [[batch.number, s.number, s.creator.handle, s.creator.display_name, s.creator.email, f"{s.payout_due:.2f}", s.currency,
             f"{s.period.first_day} – {s.period.last_day}", _("Commission statement %(number)s") % {"number": s.number}]
            for s in batch.statements.select_related("creator", "period").order_by("pk")]
    return csv_response(header=header, rows=rows, filename=f"{batch.number}.csv", excel=wants_excel(request))


# ============================================================================ platform reconciliation
@require_http_methods(["GET", "POST"])
def reconciliation(request):
    from commissions import tasks
    from commissions.models import PlatformCommissionCheck
    from commissions.services.recon import mismatches

    if request.method == "POST":
        tasks.platform_reconcile.delay()
        messages.success(request, _("Reading TikTok's finance statements; refresh in a minute."))
        return redirect("commissions:reconciliation")
    page = Paginator(mismatches(), 50).get_page(request.GET.get("page"))
    return render(request, "commissions/reconciliation.html", {"page": page, "checked": PlatformCommissionCheck.objects.count()})
