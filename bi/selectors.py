"""Reads for the cockpit pages. Money figures come from the rollups (bi.models), never from a scan
of the orders; operational figures (SLA, stage times) come from the orders of the period through
their placed_at index, one pass each."""
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal

from django.db import connection
from django.utils.translation import gettext as _

from bi.models import MEASURES
from erp.l10n import business_day_range, business_today, seller_base_currency


@dataclass(frozen=True)
class Filters:
    first: date
    last: date
    channel: str = ""
    tier: str = ""  # "S", "A", "B", "-" (no creator) or "" (all)
    warehouse_id: int | None = None
    grain: str = "day"  # day / week / month: the chart's buckets

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def previous(self) -> "Filters":
        """The same number of days just before."""
        last = self.first - timedelta(days=1)
        return replace(self, first=last - timedelta(days=self.days - 1), last=last)


def default_filters(days: int = 30) -> Filters:
    today = business_today()
    return Filters(first=today - timedelta(days=days - 1), last=today)


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def _where(f: Filters, *, daily_only: bool = False, warehouse: bool = True) -> tuple[str, list]:
    """Rows of a rollup for the period: whole months from the month rows, the days at either end
    from the day rows; plus the channel, tier and warehouse filters."""
    if daily_only:
        sql, params = "grain = 'd' AND day BETWEEN %s AND %s", [f.first, f.last]
    else:
        months_from = f.first if f.first.day == 1 else _next_month(f.first)
        months_to = _month_start(f.last + timedelta(days=1))  # exclusive
        if months_from >= months_to:
            months_from = months_to = f.first
        sql = "((grain = 'm' AND day >= %s AND day < %s) OR (grain = 'd' AND day BETWEEN %s AND %s AND (day < %s OR day >= %s)))"
        params = [months_from, months_to, f.first, f.last, months_from, months_to]
    if f.channel:
        sql += " AND channel = %s"
        params.append(f.channel)
    if f.tier:
        sql += " AND tier = %s"
        params.append("" if f.tier == "-" else f.tier)
    if f.warehouse_id and warehouse:
        sql += " AND warehouse_id = %s"
        params.append(f.warehouse_id)
    return sql, params


SUMS = ", ".join(f"coalesce(sum({m}), 0)" for m in MEASURES)


def _measures(row) -> dict:
    m = dict(zip(MEASURES, row))
    return _derived(m)


def _derived(m: dict) -> dict:
    m["margin"] = (m["net"] / m["gmv_costed"] * 100) if m["gmv_costed"] else None
    m["aov"] = (m["gmv"] / m["orders"]) if m["orders"] else None
    m["costed_share"] = (m["gmv_costed"] / m["gmv"] * 100) if m["gmv"] else None
    return m


def _fetch(sql: str, params) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def totals(f: Filters) -> dict:
    where, params = _where(f)
    return _measures(_fetch(f"SELECT {SUMS} FROM bi_dailytotal WHERE {where}", params)[0])


def change(now, before) -> Decimal | None:
    """Percent change from `before` to `now` (None when there is nothing to compare with)."""
    if now is None or before in (None, 0):
        return None
    return (Decimal(now) - Decimal(before)) / abs(Decimal(before)) * 100


def kpis(f: Filters) -> dict:
    """This period's headline figures with the previous period's and the change (one query for both)."""
    prev = f.previous()
    where_now, params_now = _where(f)
    where_before, params_before = _where(prev)
    sums = [f"coalesce(sum({m}) FILTER (WHERE is_now), 0)" for m in MEASURES] + [f"coalesce(sum({m}) FILTER (WHERE is_before), 0)" for m in MEASURES]
    row = _fetch(f"SELECT {', '.join(sums)} FROM (SELECT *, ({where_now}) AS is_now, ({where_before}) AS is_before FROM bi_dailytotal "
                 f"WHERE day BETWEEN %s AND %s) t", params_now + params_before + [prev.first.replace(day=1), f.last])[0]
    now, before = _measures(row[:len(MEASURES)]), _measures(row[len(MEASURES):])
    out = {}
    for key in ("gmv", "orders", "net", "margin", "units", "aov"):
        out[key] = {"now": now[key], "before": before[key],
                    "change": (now[key] - before[key]) if key == "margin" and now[key] is not None and before[key] is not None
                    else (None if key == "margin" else change(now[key], before[key]))}
    return {"now": now, "before": before, "cards": out}


def _bucket_sql(grain: str) -> str:
    return {"day": "day", "week": "date_trunc('week', day)::date", "month": "date_trunc('month', day)::date"}[grain]


def series(f: Filters) -> list[dict]:
    """GMV, orders, net and margin per day, week or month of the period (every bucket, zeros included)."""
    where, params = _where(f, daily_only=True)
    bucket = _bucket_sql(f.grain)
    rows = {r[0]: _measures(r[1:]) for r in _fetch(f"SELECT {bucket} AS b, {SUMS} FROM bi_dailytotal WHERE {where} GROUP BY b", params)}
    out, seen = [], set()
    day = f.first
    while day <= f.last:
        key = {"day": day, "week": day - timedelta(days=day.weekday()), "month": day.replace(day=1)}[f.grain]
        if key not in seen:
            seen.add(key)
            out.append({"bucket": key, **(rows.get(key) or _derived({m: 0 for m in MEASURES}))})
        day += timedelta(days=1)
    return out


def breakdown(f: Filters, by: str, *, limit: int | None = None, order: str = "gmv") -> list[dict]:
    """Figures per channel, tier, warehouse, SKU or creator over the period, largest first."""
    if by in ("channel", "tier", "warehouse"):
        return breakdowns(f)[by]
    if by == "creator" and f.warehouse_id:  # the creator rollup has no warehouse: one warehouse's creators come from the facts
        where, params = _facts_where(f)
        sql = f"SELECT creator_id, {_FACT_SUMS} FROM bi_orderfact WHERE {where} AND creator_id IS NOT NULL GROUP BY creator_id"
    else:
        table, column = {"sku": ("bi_dailysku", "sku_id"), "creator": ("bi_dailycreator", "creator_id")}[by]
        where, params = _where(f, warehouse=by != "creator")
        sql = f"SELECT {column}, {SUMS} FROM {table} WHERE {where} GROUP BY {column}"
    sql += f" ORDER BY {MEASURES.index(order) + 2} DESC, 1"  # the measure's column, after the key
    if limit:
        sql += f" LIMIT {int(limit)}"
    rows = [{"key": r[0], **_measures(r[1:])} for r in _fetch(sql, params)]
    _label(rows, by)
    if not limit:
        _shares(rows)
    return rows


def _shares(rows: list[dict]) -> None:
    total_gmv = sum((r["gmv"] for r in rows), Decimal(0))
    if total_gmv:
        for r in rows:
            r["share"] = r["gmv"] / total_gmv * 100


def breakdowns(f: Filters) -> dict[str, list[dict]]:
    """By channel, tier and warehouse at once (one query, grouping sets), largest GMV first."""
    where, params = _where(f)
    out: dict[str, list[dict]] = {"channel": [], "tier": [], "warehouse": []}
    for channel, tier, warehouse_id, g_channel, g_tier, *values in _fetch(
            f"SELECT channel, tier, warehouse_id, GROUPING(channel), GROUPING(tier), {SUMS} FROM bi_dailytotal WHERE {where} "
            "GROUP BY GROUPING SETS ((channel), (tier), (warehouse_id))", params):
        by, key = ("channel", channel) if not g_channel else ("tier", tier) if not g_tier else ("warehouse", warehouse_id)
        out[by].append({"key": key, **_measures(values)})
    for by, rows in out.items():
        rows.sort(key=lambda r: (-r["gmv"], str(r["key"])))
        _label(rows, by)
        _shares(rows)
    return out


_FACT_SUMS = ", ".join(["count(*) FILTER (WHERE first_line)", "sum(units)", "sum(units_returned)", "sum(gmv)",
                        *[f"coalesce(sum({m}) FILTER (WHERE net IS NOT NULL), 0)" for m in ("cost", "platform_fee", "commission", "payment_fee",
                                                                                             "shipping", "refund_admin_fee")],
                        "coalesce(sum(net), 0)", "coalesce(sum(gmv) FILTER (WHERE net IS NOT NULL), 0)", "count(*) FILTER (WHERE net IS NULL)",
                        "sum(commission)"])


def _facts_where(f: Filters) -> tuple[str, list]:
    sql, params = "day BETWEEN %s AND %s AND in_base", [f.first, f.last]
    for column, value in (("channel", f.channel), ("tier", "" if f.tier == "-" else f.tier), ("warehouse_id", f.warehouse_id)):
        if value or (column == "tier" and f.tier == "-"):
            sql += f" AND {column} = %s"
            params.append(value)
    return sql, params


def _label(rows: list[dict], by: str) -> None:
    from creators.models import Tier
    from inventory.models import SKU
    from orders.models import Channel
    from warehouses.models import Warehouse

    keys = [r["key"] for r in rows if r["key"] is not None]
    if by == "channel":
        names = dict(Channel.choices)
    elif by == "tier":
        names = {**{t: _("Tier %(tier)s") % {"tier": t} for t, _l in Tier.choices}, "": _("No creator")}
    elif by == "warehouse":
        names = {w.pk: f"{w.code} · {w.name}" for w in Warehouse.objects.filter(pk__in=keys)}
    elif by == "sku":
        names = {s.pk: f"{s.code} · {s.title}" for s in SKU.objects.filter(pk__in=keys)}
    else:
        from creators.models import Creator

        names = {c.pk: f"@{c.handle}" for c in Creator.objects.filter(pk__in=keys)}
    for r in rows:
        r["label"] = names.get(r["key"], _("Not routed yet") if by == "warehouse" and r["key"] is None else str(r["key"]))


def freshness() -> dict:
    """When the figures were last brought up to date, and how many orders wait for the next refresh."""
    from bi.models import OrderFact, RefreshRun
    from bi.services.refresh import pending

    last = RefreshRun.objects.order_by("-pk").first()
    left_out = OrderFact.objects.filter(in_base=False).values("order_id").distinct().count()
    return {"last": last, "pending": pending(), "left_out": left_out}


# ---- Creator leaderboard ----------------------------------------------------------------------------------------------

LEADERBOARD_SORTS = ("gmv", "orders", "net", "roi", "conversion", "followers")
PAGE_SIZE = 50


def leaderboard(f: Filters, *, sort: str = "gmv") -> tuple[list[dict], int]:
    """Every creator with sales or samples in the period: orders, GMV, commission, samples, FIFO
    cost, net profit after commission, samples and cost, ROI = GMV ÷ (commission + samples) as on
    the creator pages, and conversion = orders ÷ clicks (each month's clicks counted for the share
    of its days inside the period). The warehouse filter does not apply (creators sell from every
    warehouse). Returns (all of them in that order, the page pages them; number of creators)."""
    where, params = _where(f, warehouse=False)
    sort_sql = {"gmv": "gmv", "orders": "orders", "net": "net_after_samples", "roi": "roi", "conversion": "conversion",
                "followers": "followers"}.get(sort, "gmv")
    tier_sql, tier_params = ("", [])
    if f.tier:
        tier_sql, tier_params = " AND c.tier = %s", ["" if f.tier == "-" else f.tier]
    sql = f"""
    WITH agg AS (
        SELECT creator_id, sum(orders) AS orders, sum(units) AS units, sum(gmv) AS gmv, sum(commission_all) AS commission,
               sum(cost) AS cost, sum(net) AS net, sum(gmv_costed) AS gmv_costed, sum(lines_uncosted) AS uncosted
        FROM bi_dailycreator WHERE {where} GROUP BY creator_id),
    samples AS (SELECT creator_id, sum(cost) AS cost, sum(quantity) AS units FROM creators_sample WHERE sent_on BETWEEN %s AND %s GROUP BY creator_id),
    clicks AS (
        SELECT creator_id, sum(clicks * (least(month + interval '1 month' - interval '1 day', %s::date)::date - greatest(month, %s::date) + 1)::numeric
                               / ((month + interval '1 month')::date - month)) AS clicks
        FROM creators_contentstats WHERE month <= %s AND month + interval '1 month' > %s GROUP BY creator_id),
    board AS (
        SELECT c.id, c.handle, c.display_name, c.tier, c.kind, c.followers,
               coalesce(agg.orders, 0) AS orders, coalesce(agg.units, 0) AS units, coalesce(agg.gmv, 0) AS gmv,
               coalesce(agg.commission, 0) AS commission, coalesce(agg.cost, 0) AS cost, coalesce(agg.net, 0) AS net,
               coalesce(agg.gmv_costed, 0) AS gmv_costed, coalesce(agg.uncosted, 0) AS uncosted,
               coalesce(samples.cost, 0) AS sample_cost, coalesce(samples.units, 0) AS sample_units, clicks.clicks,
               coalesce(agg.net, 0) - coalesce(samples.cost, 0) AS net_after_samples,
               round(coalesce(agg.gmv, 0) / nullif(coalesce(agg.commission, 0) + coalesce(samples.cost, 0), 0), 2) AS roi,
               coalesce(agg.orders, 0) / nullif(clicks.clicks, 0) AS conversion
        FROM (SELECT creator_id FROM agg UNION SELECT creator_id FROM samples) ids
        JOIN creators_creator c ON c.id = ids.creator_id
        LEFT JOIN agg ON agg.creator_id = c.id LEFT JOIN samples ON samples.creator_id = c.id LEFT JOIN clicks ON clicks.creator_id = c.id
        WHERE true {tier_sql})
    SELECT *, count(*) OVER () FROM board ORDER BY {sort_sql} DESC NULLS LAST, id
    """
    params = params + [f.first, f.last, f.last, f.first, f.last, f.first] + tier_params
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [c.name for c in cursor.description]
        rows = [dict(zip(names, r)) for r in cursor.fetchall()]
    total = rows[0]["count"] if rows else 0
    for r in rows:
        r["conversion_pct"] = r["conversion"] * 100 if r["conversion"] is not None else None
        r["margin"] = r["net"] / r["gmv_costed"] * 100 if r["gmv_costed"] else None
    return rows, total


# ---- Operations -------------------------------------------------------------------------------------------------------

OPEN = "('received', 'on_hold', 'reserved', 'routed', 'packing', 'packed', 'backordered', 'address_invalid', 'awaiting_supply')"


def _orders_where(f: Filters) -> tuple[str, list]:
    start, end = business_day_range(f.first, f.last)
    sql, params = "o.placed_at >= %s AND o.placed_at < %s AND o.status <> 'cancelled'", [start, end]
    if f.channel:
        sql += " AND o.channel = %s"
        params.append(f.channel)
    if f.warehouse_id:
        sql += " AND EXISTS (SELECT 1 FROM orders_shipment s WHERE s.order_id = o.id AND s.warehouse_id = %s AND s.status <> 'cancelled')"
        params.append(f.warehouse_id)
    if f.tier:
        sql += " AND o.creator_id IS NULL" if f.tier == "-" else " AND o.creator_id IN (SELECT id FROM creators_creator WHERE tier = %s)"
        params += [] if f.tier == "-" else [f.tier]
    return sql, params


CLOCKS = ("ship_on_time", "ship_late", "ship_overdue", "ship_open", "pack_on_time", "pack_late", "pack_overdue", "pack_open")


def _clock(values: dict, clock: str) -> dict:
    d = {k: values[f"{clock}_{k}"] for k in ("on_time", "late", "overdue", "open")}
    d["decided"] = d["on_time"] + d["late"] + d["overdue"]
    d["percent"] = Decimal(d["on_time"]) / d["decided"] * 100 if d["decided"] else None
    return d


def sla(f: Filters) -> dict:
    """Shipped within the ship-by deadline, and packed within the pack target (6 hours), for the
    period's orders (from the rollups). Attainment counts what is decided: on time, late, and
    still open past the deadline; orders still inside their window are shown apart."""
    where, params = _where(f)
    row = _fetch(f"SELECT {', '.join(f'coalesce(sum({c}), 0)' for c in CLOCKS)} FROM bi_dailyops WHERE {where}", params)[0]
    values = dict(zip(CLOCKS, row))
    return {"ship": _clock(values, "ship"), "pack": _clock(values, "pack")}


def sla_series(f: Filters) -> list[dict]:
    """Ship-by and pack attainment per business day of the period (orders by the day they were placed)."""
    where, params = _where(f, daily_only=True)
    rows = {r[0]: dict(zip(CLOCKS, r[1:])) for r in _fetch(
        f"SELECT day, {', '.join(f'sum({c})' for c in CLOCKS)} FROM bi_dailyops WHERE {where} GROUP BY day", params)}
    out, day = [], f.first
    while day <= f.last:
        values = rows.get(day) or dict.fromkeys(CLOCKS, 0)
        ship, pack = _clock(values, "ship"), _clock(values, "pack")
        out.append({"day": day, "on_time": ship["on_time"], "late": ship["late"] + ship["overdue"], "percent": ship["percent"],
                    "pack_on_time": pack["on_time"], "pack_late": pack["late"] + pack["overdue"], "pack_percent": pack["percent"]})
        day += timedelta(days=1)
    return out


def exceptions(f: Filters) -> list[dict]:
    """Per reason: exceptions open now, raised on the period's orders and still open, and cleared by
    a person during the period."""
    from orders.models import ExceptionReason

    where, params = _orders_where(f)
    # NOT (… = '') as the partial index order_exceptions is written, so both read only the orders with an exception.
    open_now = dict(_fetch("SELECT exception_reason, count(*) FROM orders_order WHERE NOT (exception_reason = '') GROUP BY 1", []))
    in_period = dict(_fetch(f"SELECT exception_reason, count(*) FROM orders_order o WHERE NOT (o.exception_reason = '') AND {where} GROUP BY 1",
                            params))
    start, end = business_day_range(f.first, f.last)
    resolved = dict(_fetch("SELECT resolved_exception, count(*) FROM orders_orderevent WHERE resolved_exception <> '' AND at >= %s AND at < %s "
                           "GROUP BY 1", [start, end]))
    return [{"reason": code, "label": label, "open": open_now.get(code, 0), "period": in_period.get(code, 0), "resolved": resolved.get(code, 0)}
            for code, label in ExceptionReason.choices if open_now.get(code) or in_period.get(code) or resolved.get(code)]


def stage_times(f: Filters) -> list[dict]:
    """p50/p95 seconds of each stage over the period's orders, read from the duration histograms
    (bi.models.DailyStage): the bucket holding the percentile, interpolated geometrically inside it
    (about ±4%). Only the channel filter applies: the histograms are kept per channel."""
    from bi.services.refresh import BUCKETS_PER_DOUBLING, STAGES

    where, params = _where(replace(f, tier="", warehouse_id=None))
    counts: dict[str, list[tuple[int, int]]] = {name: [] for name, _a, _b in STAGES}
    for stage, bucket, n in _fetch(f"SELECT stage, bucket, sum(orders) FROM bi_dailystage WHERE {where} GROUP BY stage, bucket ORDER BY stage, bucket",
                                   params):
        counts[stage].append((bucket, int(n)))
    ratio = 2 ** (1 / BUCKETS_PER_DOUBLING)

    def percentile(hist: list[tuple[int, int]], p: float) -> float | None:
        total = sum(n for _b, n in hist)
        if not total:
            return None
        rank, seen = p * total, 0
        for bucket, n in hist:
            if seen + n >= rank:
                low = 0.1 * ratio ** bucket
                return low * ratio ** ((rank - seen) / n) if bucket else 0.1 * (rank - seen) / n * ratio
            seen += n
        return 0.1 * ratio ** hist[-1][0]

    return [{"stage": name, "n": sum(n for _b, n in counts[name]), "p50": percentile(counts[name], 0.5), "p95": percentile(counts[name], 0.95)}
            for name, _a, _b in STAGES]


# ---- Stock health -------------------------------------------------------------------------------------------------------

OVERSTOCK_DAYS = 120
VELOCITY_DAYS = 30


def stock_health() -> dict:
    """Per active SKU: available units (on hand − reserved), demand per day over the last 30 days
    (units ordered, from the rollups), days of cover, and a status: out of stock (nothing
    available), low (an open reorder alert), overstock (more than 120 days of cover) or fine.
    Lost sales for an SKU out of stock ≈ its daily demand × average price × days since its stock
    last moved (at most 30); backorders are orders waiting for it now. Overstock's tied-up
    capital = the units beyond 120 days of cover at the SKU's remaining lots' average FIFO cost."""
    today = business_today()
    first = today - timedelta(days=VELOCITY_DAYS - 1)
    rows = _fetch("""
        WITH demand AS (
            SELECT sku_id, sum(units + units_returned) AS units, sum(gmv) AS gmv FROM bi_dailysku
            WHERE grain = 'd' AND day BETWEEN %s AND %s GROUP BY sku_id),
        lots AS (
            SELECT sku_id, sum(quantity_remaining) AS units, sum(quantity_remaining * unit_cost) AS value FROM inventory_costlot
            WHERE quantity_remaining > 0 GROUP BY sku_id),
        waiting AS (
            SELECT ol.sku_id, sum(ol.quantity) AS units, sum(ol.unit_price * ol.quantity - ol.discount) AS value
            FROM orders_orderline ol JOIN orders_order o ON o.id = ol.order_id
            WHERE o.status IN ('backordered', 'awaiting_supply') AND o.currency = %s GROUP BY ol.sku_id),
        last_move AS (SELECT sku_id, max(created_at) AS at FROM inventory_stockmove GROUP BY sku_id)
        SELECT s.id, s.code, s.title, s.on_hand, s.reserved, coalesce(d.units, 0), coalesce(d.gmv, 0),
               coalesce(l.units, 0), coalesce(l.value, 0), coalesce(w.units, 0), coalesce(w.value, 0), m.at,
               EXISTS (SELECT 1 FROM inventory_reorderalert a WHERE a.sku_id = s.id AND a.status = 'open')
        FROM inventory_sku s LEFT JOIN demand d ON d.sku_id = s.id LEFT JOIN lots l ON l.sku_id = s.id
        LEFT JOIN waiting w ON w.sku_id = s.id LEFT JOIN last_move m ON m.sku_id = s.id
        WHERE s.is_active ORDER BY s.code""", [first, today, seller_base_currency()])
    from django.utils import timezone

    now = timezone.now()
    skus = []
    summary = {"out": 0, "low": 0, "over": 0, "fine": 0, "lost": Decimal(0), "backordered_value": Decimal(0), "backordered_units": 0,
               "tied_up": Decimal(0), "value": Decimal(0)}
    for (pk, code, title, on_hand, reserved, units, gmv, lot_units, lot_value, waiting_units, waiting_value, moved_at, alert) in rows:
        available = on_hand - reserved
        velocity = Decimal(units) / VELOCITY_DAYS
        price = gmv / units if units else Decimal(0)
        cover = (Decimal(available) / velocity) if velocity else None
        lost = Decimal(0)
        tied_up = Decimal(0)
        if available <= 0 and (velocity or waiting_units):
            status = "out"
            days_out = min(max((now - moved_at).days, 0), VELOCITY_DAYS) if moved_at else 0
            lost = (velocity * price * days_out).quantize(Decimal("0.01"))
        elif alert:
            status = "low"
        elif cover is not None and cover > OVERSTOCK_DAYS or (velocity == 0 and available > 0):
            status = "over"
            excess = available - (velocity * OVERSTOCK_DAYS)
            unit_cost = (lot_value / lot_units) if lot_units else Decimal(0)
            tied_up = (max(excess, Decimal(0)) * unit_cost).quantize(Decimal("0.01"))
        else:
            status = "fine"
        summary[status] += 1
        summary["lost"] += lost
        summary["tied_up"] += tied_up
        summary["backordered_value"] += Decimal(waiting_value)
        summary["backordered_units"] += waiting_units
        summary["value"] += Decimal(lot_value).quantize(Decimal("0.01"))
        skus.append({"id": pk, "code": code, "title": title, "on_hand": on_hand, "reserved": reserved, "available": available,
                     "velocity": velocity, "cover": cover, "status": status, "lost": lost, "tied_up": tied_up, "alert": alert,
                     "waiting_units": waiting_units, "waiting_value": Decimal(waiting_value), "stock_value": Decimal(lot_value).quantize(Decimal("0.01"))})
    order = {"out": 0, "low": 1, "over": 2, "fine": 3}
    skus.sort(key=lambda s: (order[s["status"]], s["cover"] if s["cover"] is not None else Decimal(10**9), s["code"]))
    return {"skus": skus, "summary": summary}


# ---- Warehouse economics -------------------------------------------------------------------------------------------------

# Ground transit days by US shipping zone (typical of UPS/FedEx ground maps): zone 1–2 a day or two … zone 8 about six.
TRANSIT_DAYS = {1: Decimal("1.5"), 2: Decimal("1.5"), 3: Decimal("2.5"), 4: Decimal("3"), 5: Decimal("3.5"), 6: Decimal("4.5"),
                7: Decimal("5"), 8: Decimal("6")}


def warehouse_economics(f: Filters, *, baseline_id: int | None = None) -> dict:
    """The period's shipped orders as routed (nearest warehouse that could fill them) against
    sending every one of them from a single warehouse (`baseline_id`, default: the one that
    shipped most): shipping zone, estimated transit days and estimated shipping cost for both, by
    the fee schedule's zone estimates (its flat estimate when it has none), against what the other
    warehouses cost to store their stock for the period (their units on hand now × storage cost
    per unit and month × the period's months). From the rollups (bi.models.DailyShipZone)."""
    from commissions.services.fees import fee_schedule_in_force
    from warehouses.models import Warehouse

    where, params = _where(replace(f, tier="", warehouse_id=None))
    rows = _fetch(f"SELECT warehouse_id, zone, base_warehouse_id, base_zone, sum(shipments) FROM bi_dailyshipzone WHERE {where} "
                  "GROUP BY 1, 2, 3, 4", params)
    warehouses = {w.pk: w for w in Warehouse.objects.all()}
    counts: dict[int, int] = {}
    for warehouse_id, _z, base_id, _bz, n in rows:
        if base_id == warehouse_id:
            counts[warehouse_id] = counts.get(warehouse_id, 0) + int(n)
    if not counts:
        return {"empty": True, "warehouses": list(warehouses.values())}
    baseline_id = baseline_id if baseline_id in warehouses else max(counts, key=lambda k: (counts[k], -k))
    baseline = warehouses[baseline_id]
    schedule = fee_schedule_in_force(channel=f.channel or "tiktok_shop", category_id=None, on=f.last)
    zones = [Decimal(z) for z in (schedule.zone_estimates or [])] if schedule else []
    flat = Decimal(schedule.shipping_estimate.amount) if schedule else Decimal(0)

    def cost(zone: int) -> Decimal:
        return zones[zone - 1] if len(zones) == 8 else flat

    per = {}
    totals = {"shipments": 0, "transit": Decimal(0), "transit_base": Decimal(0), "cost": Decimal(0), "cost_base": Decimal(0)}
    for warehouse_id, z_actual, base_id, z_base, n in rows:
        if base_id != baseline_id or warehouse_id not in warehouses:
            continue
        n = int(n)
        p = per.setdefault(warehouse_id, {"warehouse": warehouses[warehouse_id], "shipments": 0, "transit": Decimal(0), "transit_base": Decimal(0),
                                          "cost": Decimal(0), "cost_base": Decimal(0), "zone_sum": 0, "zone_base_sum": 0})
        p["shipments"] += n
        p["zone_sum"] += z_actual * n
        p["zone_base_sum"] += z_base * n
        p["transit"] += TRANSIT_DAYS[z_actual] * n
        p["transit_base"] += TRANSIT_DAYS[z_base] * n
        p["cost"] += cost(z_actual) * n
        p["cost_base"] += cost(z_base) * n
    for p in per.values():
        for k in ("shipments", "transit", "transit_base", "cost", "cost_base"):
            totals[k] += p[k]
        p["zone"] = Decimal(p["zone_sum"]) / p["shipments"]
        p["zone_base"] = Decimal(p["zone_base_sum"]) / p["shipments"]
        p["days"] = p["transit"] / p["shipments"]
        p["days_base"] = p["transit_base"] / p["shipments"]
    months = Decimal(f.days) / Decimal("30.4375")
    storage = []
    for w, units in _fetch("SELECT warehouse_id, sum(on_hand) FROM inventory_stock GROUP BY 1", []):
        if w in warehouses and w != baseline_id:
            rate = Decimal(warehouses[w].storage_cost_per_unit_month.amount)
            storage.append({"warehouse": warehouses[w], "units": units, "rate": rate, "cost": (rate * units * months).quantize(Decimal("0.01"))})
    extra_storage = sum((s["cost"] for s in storage), Decimal(0))
    n = totals["shipments"] or 1
    saved = (totals["cost_base"] - totals["cost"]).quantize(Decimal("0.01"))
    return {
        "empty": False, "baseline": baseline, "warehouses": list(warehouses.values()), "per": sorted(per.values(), key=lambda p: -p["shipments"]),
        "shipments": totals["shipments"], "days": totals["transit"] / n, "days_base": totals["transit_base"] / n,
        "cost": totals["cost"].quantize(Decimal("0.01")), "cost_base": totals["cost_base"].quantize(Decimal("0.01")), "saved": saved,
        "storage": storage, "extra_storage": extra_storage, "net": saved - extra_storage, "zones_known": len(zones) == 8,
    }


# ---- Team -----------------------------------------------------------------------------------------------------------------

def team(f: Filters) -> list[dict]:
    """Per staff member: orders they acted on (placed in the period), exceptions they cleared in
    the period, and the active creators they look after."""
    from accounts.selectors import team_member_list

    start, end = business_day_range(f.first, f.last)
    handled = dict(_fetch("SELECT handled_by_id, count(*) FROM orders_order WHERE placed_at >= %s AND placed_at < %s AND handled_by_id IS NOT NULL "
                          "GROUP BY 1", [start, end]))
    resolved = dict(_fetch("SELECT actor_id, count(*) FROM orders_orderevent WHERE resolved_exception <> '' AND at >= %s AND at < %s "
                           "AND actor_id IS NOT NULL GROUP BY 1", [start, end]))
    creators = dict(_fetch("SELECT owner_id, count(*) FROM creators_creator WHERE owner_id IS NOT NULL AND status <> 'retired' GROUP BY 1", []))
    rows = []
    for user in team_member_list():
        rows.append({"user": user, "handled": handled.get(user.pk, 0), "resolved": resolved.get(user.pk, 0), "creators": creators.get(user.pk, 0)})
    rows.sort(key=lambda r: (-r["handled"] - r["resolved"], -r["creators"], r["user"].email))
    return rows
