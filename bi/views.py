"""The cockpit (Owners, Managers, Analysts and Finance: the "bi" module): profit, creators,
operations, stock health, warehouse economics and the team. Every chart has its table and
every table a CSV download (?export=<table>, plus &excel=1 for Excel)."""
from decimal import Decimal

from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from bi import selectors
from bi.forms import PeriodForm
from erp.csvutil import csv_response, wants_excel
from erp.l10n import seller_base_currency

CENT = Decimal("0.01")


def _money(value) -> str:
    return "" if value is None else f"{Decimal(value).quantize(CENT)}"


def _pct(value) -> str:
    return "" if value is None else f"{Decimal(value).quantize(Decimal('0.1'))}"


def _csv(request, name: str, header: list[str], rows) -> object:
    return csv_response(header=header, rows=list(rows), filename=f"{name}.csv", excel=wants_excel(request))


def _context(request) -> tuple[PeriodForm, selectors.Filters, dict]:
    form = PeriodForm(request.GET or None)
    f = form.filters()
    if not form.is_bound:
        form.initial.update({"first": f.first, "last": f.last})  # the dates the period stands for, ready to adjust
    elif form.is_valid() and form.cleaned_data.get("period") != "custom":
        data = request.GET.copy()
        data["first"], data["last"] = f.first.isoformat(), f.last.isoformat()
        form = PeriodForm(data)
        form.is_valid()
    query = request.GET.copy()
    for key in ("export", "excel", "page", "sort"):
        query.pop(key, None)
    return form, f, {"form": form, "f": f, "currency": seller_base_currency(), "query": query.urlencode(),
                     "invalid": form.is_bound and not form.is_valid(), **_links(request)}


def _links(request) -> dict:
    """Links into other modules only for those who may use them."""
    return {f"can_{m}": request.user.can_use(m) for m in ("orders", "inventory", "creators")}


def _cached(name: str, f: selectors.Filters, compute, extra: str = ""):
    """The figures of a page for these filters, computed once per refresh: the rollups only change
    when a refresh recomputes orders, and each such refresh is a new RefreshRun, whose id is in the
    key (so is the language, for the labels). Keys are per seller (django-tenants prefixes them)."""
    from django.core.cache import cache
    from django.utils.translation import get_language

    from bi.models import RefreshRun

    generation = RefreshRun.objects.filter(orders__gt=0).order_by("-pk").values_list("pk", flat=True).first() or 0
    key = f"bi:{name}:{generation}:{get_language()}:{f.first}:{f.last}:{f.channel}:{f.tier}:{f.warehouse_id}:{f.grain}:{extra}"
    return cache.get_or_set(key, compute, 15 * 60)


def _chart(chart_id: str, kind: str, title: str, labels, datasets, **extra) -> dict:
    return {"id": chart_id, "type": kind, "label": title, "labels": [str(x) for x in labels],
            "datasets": [{**d, "values": [_number(v) for v in d["values"]]} for d in datasets], **extra}


def _number(v):
    """A chart value: a number, None (a gap), or [from, to] for a floating bar (the waterfall's steps)."""
    if isinstance(v, (list, tuple)):
        return [float(x) for x in v]
    return float(v) if v is not None else None


BREAKDOWNS = ("channel", "tier", "warehouse")


@require_GET
def cockpit(request):
    form, f, ctx = _context(request)
    export = request.GET.get("export", "")
    if export == "series":
        return _csv(request, "cockpit-by-" + f.grain, ["period_start", "orders", "units", "gmv", "net_profit", "margin_percent", "gmv_shipped", "currency"],
                    [[r["bucket"].isoformat(), r["orders"], r["units"], _money(r["gmv"]), _money(r["net"]), _pct(r["margin"]),
                      _money(r["gmv_costed"]), ctx["currency"]] for r in selectors.series(f)])
    if export in BREAKDOWNS + ("sku", "creator"):
        rows = selectors.breakdown(f, export)
        return _csv(request, f"cockpit-by-{export}", [export, "orders", "units", "gmv", "net_profit", "margin_percent", "gmv_shipped", "currency"],
                    [[r["label"], r["orders"], r["units"], _money(r["gmv"]), _money(r["net"]), _pct(r["margin"]), _money(r["gmv_costed"]),
                      ctx["currency"]] for r in rows])
    if export == "waterfall":
        return _csv(request, "cockpit-waterfall", ["step", "amount", "currency"],
                    [[label, _money(amount), ctx["currency"]] for label, amount, _kind in _waterfall(selectors.totals(f))])
    if export:
        raise Http404
    data = _cached("cockpit", f, lambda: _cockpit_figures(f, ctx["currency"]))
    return render(request, "bi/cockpit.html", {**ctx, **data, "fresh": selectors.freshness(), "previous": f.previous()})


def _cockpit_figures(f: selectors.Filters, currency: str) -> dict:
    kpis = selectors.kpis(f)
    series = selectors.series(f)
    now = kpis["now"]
    breakdowns = selectors.breakdowns(f)
    top_skus = selectors.breakdown(f, "sku", limit=15)
    top_creators = selectors.breakdown(f, "creator", limit=10)
    waterfall = _waterfall(now)
    charts = {
        "series": _chart("chart-series", "bar", _("Sales (GMV) and net profit"), [r["bucket"].isoformat() for r in series], [
            {"label": _("GMV"), "values": [r["gmv"] for r in series]},
            {"label": _("Net profit (shipped orders)"), "values": [r["net"] for r in series], "type": "line"}]),
        "channel": _chart("chart-channel", "doughnut", _("GMV by channel"), [r["label"] for r in breakdowns["channel"]],
                          [{"label": _("GMV"), "values": [r["gmv"] for r in breakdowns["channel"]]}]),
        "tier": _chart("chart-tier", "bar", _("GMV and net profit by creator tier"), [r["label"] for r in breakdowns["tier"]], [
            {"label": _("GMV"), "values": [r["gmv"] for r in breakdowns["tier"]]},
            {"label": _("Net profit"), "values": [r["net"] for r in breakdowns["tier"]]}]),
        "warehouse": _chart("chart-warehouse", "bar", _("Orders by warehouse"), [r["label"] for r in breakdowns["warehouse"]],
                            [{"label": _("Orders"), "values": [r["orders"] for r in breakdowns["warehouse"]]}]),
        "waterfall": _chart("chart-waterfall", "bar", _("Where the money of shipped orders goes"), [w[0] for w in waterfall],
                            [{"label": currency, "values": _steps(waterfall)}], floating=True),
    }
    return {"kpis": kpis, "now": now, "series": series, "breakdowns": breakdowns, "top_skus": top_skus, "top_creators": top_creators,
            "waterfall": waterfall, "charts": charts}


def _steps(waterfall) -> list[list[Decimal]]:
    """Each step of the waterfall as a floating bar: totals stand on zero, deductions hang from the running total."""
    running, bars = Decimal(0), []
    for _label, amount, kind in waterfall:
        if kind == "total":
            running = amount
            bars.append([Decimal(0), amount])
        else:
            bars.append([running + amount, running])
            running += amount
    return bars


def _waterfall(t: dict) -> list[tuple[str, Decimal, str]]:
    """Sales of the shipped orders down to net profit, step by step (the parts add up to net to the cent)."""
    return [
        (_("Sales of shipped orders"), t["gmv_costed"], "total"),
        (_("FIFO cost"), -t["cost"], "minus"),
        (_("Platform fee"), -t["platform_fee"], "minus"),
        (_("Creator commission"), -t["commission"], "minus"),
        (_("Payment fee"), -t["payment_fee"], "minus"),
        (_("Shipping"), -t["shipping"], "minus"),
        (_("Refund admin fee"), -t["refund_admin_fee"], "minus"),
        (_("Net profit"), t["net"], "total"),
    ]


@require_GET
def creators(request):
    form, f, ctx = _context(request)
    sort = request.GET.get("sort", "gmv")
    sort = sort if sort in selectors.LEADERBOARD_SORTS else "gmv"
    if request.GET.get("export") == "leaderboard":
        rows, _total = selectors.leaderboard(f, sort=sort)
        return _csv(request, "creator-leaderboard", [
            "handle", "tier", "kind", "followers", "orders", "units", "gmv", "commission", "sample_cost", "fifo_cost", "net_profit_after_samples",
            "roi", "clicks", "conversion_percent", "currency"],
            [[r["handle"], r["tier"], r["kind"], r["followers"], r["orders"], r["units"], _money(r["gmv"]), _money(r["commission"]),
              _money(r["sample_cost"]), _money(r["cost"]), _money(r["net_after_samples"]), r["roi"] if r["roi"] is not None else "",
              int(r["clicks"]) if r["clicks"] is not None else "", _pct(r["conversion_pct"]), ctx["currency"]] for r in rows])
    if request.GET.get("export"):
        raise Http404
    try:
        page_number = max(int(request.GET.get("page", "1")), 1)
    except ValueError:
        page_number = 1
    everyone, total = _cached("leaderboard", f, lambda: selectors.leaderboard(f, sort=sort), extra=sort)  # the page and the scatter
    paginator = Paginator(everyone, selectors.PAGE_SIZE)
    page = paginator.get_page(page_number) if total else None
    rows = list(page) if page else []
    # The scatter: the 300 biggest sellers of the period (by GMV) that have an ROI.
    top = sorted(everyone, key=lambda r: (-r["gmv"], r["id"]))[:300]
    # Affiliates only: distributors buy at a discount and earn no commission, so their ROI is not comparable.
    points = [{"x": r["followers"], "y": float(r["roi"]), "label": "@" + r["handle"]} for r in top
              if r["roi"] is not None and r["followers"] and r["kind"] == "creator"]
    chart = {"id": "chart-followers-roi", "type": "scatter", "label": _("ROI against followers (log scale)"), "points": points, "logx": True,
             "xlabel": _("Followers"), "ylabel": _("ROI")}
    return render(request, "bi/creators.html", {**ctx, "rows": rows, "page": page, "total": total, "sort": sort, "chart": chart,
                                                "sort_hidden": [("sort", sort)],
                                                "sorts": [(s, label) for s, label in _sort_labels()]})


def _sort_labels():
    return [("gmv", _("GMV")), ("orders", _("Orders")), ("net", _("Net profit")), ("roi", _("ROI")), ("conversion", _("Conversion")),
            ("followers", _("Followers"))]


@require_GET
def operations(request):
    from orders.views import BRIEF_STAGES, _stage_duration

    form, f, ctx = _context(request)
    export = request.GET.get("export", "")
    if export == "sla":
        return _csv(request, "sla-by-day", ["day", "shipped_on_time", "shipped_late_or_overdue", "ship_attainment_percent", "packed_on_time",
                                             "packed_late_or_overdue", "pack_attainment_percent"],
                    [[r["day"].isoformat(), r["on_time"], r["late"], _pct(r["percent"]), r["pack_on_time"], r["pack_late"], _pct(r["pack_percent"])]
                     for r in selectors.sla_series(f)])
    if export == "exceptions":
        return _csv(request, "exceptions-by-reason", ["reason", "open_now", "open_from_period", "cleared_in_period"],
                    [[r["label"], r["open"], r["period"], r["resolved"]] for r in selectors.exceptions(f)])
    if export == "stages":
        return _csv(request, "processing-times", ["stage", "orders_measured", "p50_seconds", "p95_seconds"],
                    [[str(BRIEF_STAGES[r["stage"]][0]), r["n"], f"{r['p50']:.1f}" if r["p50"] is not None else "",
                      f"{r['p95']:.1f}" if r["p95"] is not None else ""] for r in selectors.stage_times(f)])
    if export:
        raise Http404
    sla, daily, stage_rows = _cached("operations", f, lambda: (selectors.sla(f), selectors.sla_series(f), selectors.stage_times(f)))
    reasons = selectors.exceptions(f)  # open now: read live
    stages = []
    for row in stage_rows:
        label, span, manual, erp = BRIEF_STAGES[row["stage"]]
        stages.append({**row, "label": label, "span": span, "manual": manual, "erp": erp,
                       "p50_text": _stage_duration(row["p50"]), "p95_text": _stage_duration(row["p95"])})
    charts = {
        "sla": _chart("chart-sla", "line", _("On time, by the day the orders were placed"), [r["day"].isoformat() for r in daily],
                      [{"label": _("Shipped by the deadline"), "values": [r["percent"] for r in daily]},
                       {"label": _("Packed within 6 h"), "values": [r["pack_percent"] for r in daily]}], percent=True),
        "exceptions": _chart("chart-exceptions", "bar", _("Exceptions by reason"), [r["label"] for r in reasons], [
            {"label": _("Open now"), "values": [r["open"] for r in reasons]},
            {"label": _("Cleared in the period"), "values": [r["resolved"] for r in reasons]}]),
    }
    return render(request, "bi/operations.html", {**ctx, "sla": sla, "daily": daily, "reasons": reasons, "stages": stages, "charts": charts})


@require_GET
def stock(request):
    health = selectors.stock_health()
    status = request.GET.get("status", "")
    skus = [s for s in health["skus"] if not status or s["status"] == status]
    currency = seller_base_currency()
    if request.GET.get("export") == "stock":
        return _csv(request, "stock-health", ["sku", "title", "status", "on_hand", "reserved", "available", "demand_per_day", "days_of_cover",
                                               "backordered_units", "lost_sales_estimate", "tied_up_capital", "stock_value_fifo", "currency"],
                    [[s["code"], s["title"], s["status"], s["on_hand"], s["reserved"], s["available"], _money(s["velocity"]),
                      _pct(s["cover"]), s["waiting_units"], _money(s["lost"]), _money(s["tied_up"]), _money(s["stock_value"]), currency] for s in skus])
    if request.GET.get("export"):
        raise Http404
    labels = {"out": _("Out of stock"), "low": _("Low (reorder alert)"), "over": _("Overstock"), "fine": _("Fine")}
    summary = health["summary"]
    chart = _chart("chart-stock", "doughnut", _("SKUs by stock status"), [labels[k] for k in labels],
                   [{"label": _("SKUs"), "values": [summary[k] for k in labels]}])
    paginator = Paginator(skus, 50)
    page = paginator.get_page(request.GET.get("page"))
    return render(request, "bi/stock.html", {**_links(request), "health": health, "summary": summary, "page": page, "status": status, "labels": labels,
                                             "chart": chart, "currency": currency, "overstock_days": selectors.OVERSTOCK_DAYS,
                                             "velocity_days": selectors.VELOCITY_DAYS})


@require_GET
def warehouses(request):
    form, f, ctx = _context(request)
    try:
        baseline = int(request.GET.get("baseline", "0")) or None
    except ValueError:
        baseline = None
    econ = selectors.warehouse_economics(f, baseline_id=baseline)
    if request.GET.get("export") == "warehouses" and not econ["empty"]:
        return _csv(request, "warehouse-economics", ["warehouse", "shipments", "avg_zone", "avg_zone_from_baseline", "transit_days",
                                                      "transit_days_from_baseline", "shipping_estimate", "shipping_estimate_from_baseline", "currency"],
                    [[p["warehouse"].code, p["shipments"], _pct(p["zone"]), _pct(p["zone_base"]), _pct(p["days"]), _pct(p["days_base"]),
                      _money(p["cost"]), _money(p["cost_base"]), ctx["currency"]] for p in econ["per"]])
    if request.GET.get("export"):
        raise Http404
    chart = None
    if not econ["empty"]:
        chart = _chart("chart-transit", "bar", _("Average transit days: as routed, and from one warehouse"), [p["warehouse"].code for p in econ["per"]], [
            {"label": _("As routed"), "values": [p["days"] for p in econ["per"]]},
            {"label": _("All from %(code)s") % {"code": econ["baseline"].code}, "values": [p["days_base"] for p in econ["per"]]}])
    query = request.GET.copy()
    query.pop("baseline", None)
    return render(request, "bi/warehouses.html", {**ctx, "econ": econ, "chart": chart, "base_query": query.urlencode()})


@require_GET
def team(request):
    form, f, ctx = _context(request)
    # Staff accounts (emails, inactive logins) are the Team module's: other roles see active colleagues by name.
    show_accounts = request.user.can_use("team")
    rows = [r for r in selectors.team(f) if show_accounts or r["user"].is_active]
    if request.GET.get("export") == "team":
        return _csv(request, "team", ["name", "email", "role", "orders_handled", "exceptions_cleared", "creators_managed"],
                    [[r["user"].full_name or ("" if not show_accounts else r["user"].email), r["user"].email if show_accounts else "",
                      r["user"].role, r["handled"], r["resolved"], r["creators"]] for r in rows])
    if request.GET.get("export"):
        raise Http404
    shown = [r for r in rows if r["handled"] or r["resolved"]]
    chart = _chart("chart-team", "bar", _("Orders handled and exceptions cleared"), [r["user"].full_name or r["user"].email for r in shown], [
        {"label": _("Orders handled"), "values": [r["handled"] for r in shown]},
        {"label": _("Exceptions cleared"), "values": [r["resolved"] for r in shown]}])
    return render(request, "bi/team.html", {**ctx, "rows": rows, "chart": chart, "show_accounts": show_accounts})
