"""Order pages for Operations: list with filters, search, bulk actions and CSV export; detail with
the timeline; exceptions; the manual order form and the wholesale CSV import."""
from django.contrib import messages
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from creators.models import Creator
from erp.csvimport import csv_import_view
from erp.csvutil import csv_response, wants_excel
from erp.ids import ids as id_list
from erp.ids import whole
from erp.l10n import business_today, duration_text, seller_base_currency
from erp.redirects import safe_next
from inventory.exceptions import InventoryError
from orders import selectors
from orders.exceptions import OrderError
from orders.forms import BulkForm, LineFormSet, ManualOrderForm, OrderFilterForm
from orders.models import Channel, ExceptionReason, Order, OrderStatus, OrderType
from orders.services import pipeline
from orders.services.sla import pack_clock_state, ship_clock_state


def _filtered(request):
    form = OrderFilterForm(request.GET or None)
    f = form.cleaned_data if form.is_valid() else {}
    creator_id = None
    if f.get("creator"):
        creator_id = Creator.objects.filter(handle__iexact=f["creator"].lstrip("@")).values_list("pk", flat=True).first() or -1
    qs = selectors.order_list(q=f.get("q", ""), status=f.get("status", ""), channel=f.get("channel", ""), creator_id=creator_id,
                              warehouse_id=f["warehouse"].pk if f.get("warehouse") else None, sla=f.get("sla", ""),
                              exceptions=bool(f.get("exceptions")))
    return form, qs


@require_GET
def order_list(request):
    form, qs = _filtered(request)
    rows, cursor = selectors.keyset_page(qs, after=request.GET.get("after", ""))
    query = request.GET.copy()
    query.pop("after", None)
    return render(request, "orders/list.html", {
        "form": form, "orders": rows, "next_cursor": cursor, "query": query.urlencode(), "paged": bool(request.GET.get("after")),
        "counts": selectors.dashboard_counts(), "bulk_actions": BulkForm.base_fields["action"].choices,
    })


# The brief's table: minutes per order by hand, and with a typical ERP.
BRIEF_STAGES = {
    "receive": (gettext_lazy("Receive"), gettext_lazy("placed on the channel → in Fanout"), gettext_lazy("5 min"), gettext_lazy("real time")),
    "stock_check": (gettext_lazy("Stock check"), gettext_lazy("in Fanout → stock reserved at a warehouse"), gettext_lazy("3 min"), gettext_lazy("1 s")),
    "print_ship": (gettext_lazy("Print and ship"), gettext_lazy("reserved → handed to the carrier"), gettext_lazy("8 min"), gettext_lazy("2 min in batches")),
    "tracking": (gettext_lazy("Tracking"), gettext_lazy("shipped → tracking number sent to the channel"), gettext_lazy("5 min"), gettext_lazy("automatic")),
}
PERIODS = (7, 30, 90)


def _stage_duration(seconds) -> str:
    if seconds is None:
        return "—"
    if seconds < 60:
        return _("%(s)s s") % {"s": f"{seconds:.1f}" if seconds < 10 else f"{seconds:.0f}"}
    return duration_text(int(seconds))


@require_GET
def processing_times(request):
    """How long each stage takes per order, from the orders' own timestamps (median and 95th
    percentile), next to the brief's manual and typical-ERP figures."""
    from erp.l10n import seller_time_zone

    days = int(request.GET.get("days", "30")) if request.GET.get("days", "30") in {str(p) for p in PERIODS} else 30
    from django.core.cache import cache
    from django.db.models import Max

    # Percentiles over a quarter of a busy shop's orders take a moment: kept for up to 5 minutes per
    # seller and period, and computed afresh as soon as new orders arrive.
    touched = selectors.touched_share(days=days)
    newest = Order.objects.aggregate(m=Max("pk"))["m"] or 0
    stages = cache.get_or_set(f"orders:stage-times:{days}:{newest}:{touched['orders']}", lambda: selectors.stage_times(days=days), 300)
    rows = []
    for row in stages:
        label, span, manual, erp = BRIEF_STAGES[row["stage"]]
        rows.append({**row, "label": label, "span": span, "manual": manual, "erp": erp,
                     "p50_text": _stage_duration(row["p50"]), "p95_text": _stage_duration(row["p95"])})
    per_day = selectors.orders_per_day(days=days, tz=seller_time_zone())
    chart = {"id": "chart-orders-per-day", "type": "bar", "label": _("Orders placed per day"),
             "labels": [d.isoformat() for d, _n in per_day], "values": [n for _d, n in per_day]}
    return render(request, "orders/times.html", {
        "rows": rows, "days": days, "periods": PERIODS, "touched": touched, "chart": chart, "per_day": per_day,
    })


@require_GET
def exceptions(request):
    from django.db.models import Count

    reason = request.GET.get("reason", "")
    qs = Order.objects.exclude(exception_reason="").select_related("creator", "account")
    if reason:
        qs = qs.filter(exception_reason=reason)
    by_reason = dict(Order.objects.exclude(exception_reason="").values_list("exception_reason").annotate(n=Count("pk")).order_by())
    rows = list(qs.order_by("exception_at", "pk")[:200])
    missing = list(selectors.intake_failures_open()[:200])
    return render(request, "orders/exceptions.html", {
        "orders": rows, "reason": reason, "total": sum(by_reason.values()), "missing": missing,
        "reasons": [(code, label, by_reason.get(code, 0)) for code, label in ExceptionReason.choices if by_reason.get(code)],
        "bulk_actions": BulkForm.base_fields["action"].choices,
    })


@require_POST
def intake_failure_action(request, failure_id: int):
    """Retry or dismiss (with a reason) an order a channel announced that did not arrive."""
    from orders.models import IntakeFailure
    from orders.services.intake_failures import intake_failure_dismiss, intake_failure_retry

    failure = get_object_or_404(IntakeFailure, pk=failure_id)
    action = request.POST.get("action", "")
    try:
        if action == "retry":
            outcome = intake_failure_retry(failure_id=failure.pk, actor=request.user)
            messages.success(request, _("Order %(n)s arrived.") % {"n": failure.external_id} if outcome == "arrived" else
                             _("Fetching order %(n)s from %(channel)s again; it leaves this list when it arrives.") % {
                                 "n": failure.external_id or "?", "channel": failure.get_channel_display()})
        elif action == "dismiss":
            intake_failure_dismiss(failure_id=failure.pk, actor=request.user, reason=request.POST.get("reason", ""))
            messages.success(request, _("Order %(n)s left out: %(reason)s") % {"n": failure.external_id or "?", "reason": request.POST.get("reason", "").strip()})
        else:
            raise OrderError(_("Unknown action."))
    except OrderError as exc:
        messages.error(request, str(exc))
    return redirect("orders:exceptions")


@require_GET
def order_export(request):
    """Every matching order with its lines, streamed (see selectors.order_export_rows)."""
    _form, qs = _filtered(request)
    return csv_response(header=selectors.EXPORT_COLUMNS, rows=selectors.order_export_rows(qs), filename="orders.csv", excel=wants_excel(request))


@require_GET
def order_detail(request, order_id: int):
    order = get_object_or_404(Order.objects.select_related("creator", "account", "handled_by"), pk=order_id)
    profit, commission_lines = None, []
    if request.user.can_use("commissions"):  # costs and margins: Finance, Managers and Owners
        from commissions.services.waterfall import order_profit

        profit = order_profit(order)
        commission_lines = list(order.commission_lines.select_related("statement").order_by("pk"))
    return render(request, "orders/detail.html", {
        "profit": profit, "commission_lines": commission_lines,
        "order": order, "lines": order.lines.select_related("sku"),
        "shipments": order.shipments.select_related("warehouse").prefetch_related("lines__sku"),
        "events": order.events.select_related("actor"), "pack_clock": pack_clock_state(order), "ship_clock": ship_clock_state(order),
        "returnable": order.status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.COMPLETED),
    })


def _act(action: str, order_id: int, user, reason: str = ""):
    if action == "retry":
        return pipeline.order_retry(order_id=order_id, actor=user)
    if action == "hold":
        return pipeline.order_hold(order_id=order_id, actor=user, reason=reason)
    if action == "release":
        return pipeline.order_release(order_id=order_id, actor=user)
    if action == "cancel":
        return pipeline.order_cancel(order_id=order_id, actor=user, reason=reason)
    if action == "deliver":
        return pipeline.order_deliver(order_id=order_id, actor=user)
    raise OrderError(_("Unknown action."))


@require_POST
def order_action(request, order_id: int):
    order = get_object_or_404(Order, pk=order_id)
    action = request.POST.get("action", "")
    try:
        if action == "return":
            quantities = {}
            for line in order.lines.all():
                raw = request.POST.get(f"return_{line.pk}", "").strip() or "0"
                if whole(raw, maximum=10**6) is None:
                    raise OrderError(_("Returned quantity must be a whole number, not %(q)s.") % {"q": raw})
                if int(raw):
                    quantities[line.pk] = int(raw)
            if not quantities:
                raise OrderError(_("Enter how many units came back."))
            cost = pipeline.order_return(order_id=order.pk, quantities=quantities, actor=request.user)
            messages.success(request, _("Return recorded; stock back at cost %(cost)s.") % {"cost": cost})
        else:
            _act(action, order.pk, request.user, request.POST.get("reason", ""))
            messages.success(request, _("Done: %(action)s.") % {"action": dict(BulkForm.base_fields["action"].choices).get(action, action)})
    except (OrderError, InventoryError) as exc:  # refusals are shown as they are worded
        messages.error(request, str(exc))
    return redirect("orders:detail", order_id=order.pk)


@require_POST
def bulk(request):
    form = BulkForm(request.POST)
    back = safe_next(request, fallback="orders:index")
    ids = id_list(request.POST.getlist("id"))
    if not form.is_valid() or not ids:
        messages.error(request, _("Choose an action and at least one order."))
        return redirect(back)
    done, failed = 0, []
    for order_id in ids:
        try:
            _act(form.cleaned_data["action"], order_id, request.user, form.cleaned_data["reason"])
            done += 1
        except OrderError as exc:
            failed.append(str(exc))
    if done:
        messages.success(request, _("%(action)s: %(n)s order(s).") % {"action": dict(BulkForm.base_fields["action"].choices)[form.cleaned_data["action"]], "n": done})
    for message in failed[:10]:
        messages.error(request, message)
    return redirect(back)


@require_http_methods(["GET", "POST"])
def order_create(request):
    from orders.services.intake import Intake, IntakeLine, order_upsert

    form = ManualOrderForm(request.POST if request.method == "POST" else None)
    lines = LineFormSet(request.POST if request.method == "POST" else None, prefix="lines")
    if request.method == "POST" and form.is_valid() and lines.is_valid():
        data = form.cleaned_data
        intake_lines = [IntakeLine(sku=l["sku"], quantity=l["quantity"], unit_price=l["unit_price"], discount=l.get("discount") or 0)
                        for l in lines.cleaned_data if l.get("sku")]
        unpriced = [line for line in intake_lines if line.unit_price is None]
        if unpriced and data["order_type"] != OrderType.WHOLESALE:
            form.add_error(None, _("Give the unit price of %(skus)s; only a wholesale order can take its buyer's margin plan price.") % {
                "skus": ", ".join(line.sku for line in unpriced)})
        elif unpriced:
            from commissions.services.margins import plan_prices

            prices, reasons = plan_prices(creator=data["creator"], codes=[line.sku for line in unpriced], currency=seller_base_currency(),
                                          on=business_today())
            for line in unpriced:
                line.unit_price = prices.get(line.sku.lower())
                if line.unit_price is None and line.sku.lower() in reasons:
                    form.add_error(None, f"{line.sku}: {reasons[line.sku.lower()]}")
        if not intake_lines and not form.errors:
            form.add_error(None, _("Add at least one line."))
        if not form.errors:
            from orders.services.intake import lines_match

            _matched, problems = lines_match(lines=intake_lines, account_id=None)
            number = data["external_id"].strip()
            if number and Order.objects.filter(channel=Channel.MANUAL, external_id=number).exists():
                form.add_error("external_id", _("Order %(n)s already exists.") % {"n": number})
            elif problems:
                for problem in problems:
                    form.add_error(None, problem)
            else:
                with transaction.atomic():
                    if not number:
                        number = f"M-{(Order.objects.filter(channel=Channel.MANUAL).count() + 1):06d}"
                        while Order.objects.filter(channel=Channel.MANUAL, external_id=number).exists():
                            number += "a"
                    order, _created = order_upsert(Intake(
                        channel=Channel.MANUAL, external_id=number, order_type=data["order_type"], currency=seller_base_currency(), creator_id=data["creator"].pk if data["creator"] else None,
                        address={k: v for k, v in data.items() if k.startswith("ship_")}, lines=intake_lines), actor=request.user)
                messages.success(request, _("Order %(n)s created; routing it now.") % {"n": number})
                return redirect("orders:detail", order_id=order.pk)
    return render(request, "orders/form.html", {"form": form, "lines": lines})


@require_http_methods(["GET", "POST"])
def order_import(request):
    from orders.services.wholesale_csv import COLUMNS, wholesale_csv_apply, wholesale_csv_parse

    return csv_import_view(
        request, session_key="wholesale_import_text", parse=wholesale_csv_parse, apply=wholesale_csv_apply, template="orders/import.html",
        preview_template="orders/_import_preview.html", context={"columns": COLUMNS, "title": _("Import wholesale orders from CSV")}, done_url="orders:index", errors=(OrderError,),
        done_message=lambda r: _("Imported %(n)s wholesale order(s); %(s)s already imported were skipped.") % {"n": len(r.orders), "s": len(r.skipped)},
    )
