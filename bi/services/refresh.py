"""Keep the cockpit's facts and rollups fresh (see bi.models for the flow).

A refresh takes changed orders in batches. For each batch, in one transaction: claim the batch's
DirtyOrder rows, recompute those orders' facts (bi.services.facts: the waterfall of `order_profit`
in set-based SQL), then rebuild the rollup rows of every day the old or new facts fall on, and of
those days' months. A crash
rolls the batch back, dirty marks included, so the next run does it again. One refresh runs at a
time per seller (an advisory lock); a second one finds the lock taken and leaves the work to it."""
import logging
import time
from dataclasses import dataclass
from datetime import timedelta

from django.db import connection, transaction

from bi.models import MEASURES, DailyCreator, DailySku, DailyTotal, DirtyOrder, RefreshRun
from erp.l10n import seller_base_currency, seller_time_zone
from orders.selectors import STAGES as ORDER_STAGES

log = logging.getLogger(__name__)

BATCH = 2000  # queue rows (an order changed several times has several) per transaction
ONE_PASS = 50_000  # more waiting than this (a first build, an import of history): one pass, each day summed once
ROLLUPS = ((DailyTotal, ("channel", "tier", "warehouse_id"), ""), (DailyCreator, ("channel", "tier", "creator_id"), "AND creator_id IS NOT NULL"),
           (DailySku, ("channel", "tier", "warehouse_id", "sku_id"), ""))
ORDERS_COUNTED_ON = {DailySku: "first_of_sku"}  # per SKU: the orders that hold it
FACT_MONEY = ("gmv", "cost", "platform_fee", "commission", "payment_fee", "shipping", "refund_admin_fee")


@dataclass
class Refreshed:
    orders: int = 0
    days: int = 0
    seconds: float = 0.0
    busy: bool = False  # another refresh held the lock


def facts_insert(order_ids) -> None:
    """Write the facts of the given orders as they stand (none for a cancelled or missing order)."""
    from bi.services.facts import facts_sql

    with connection.cursor() as cursor:
        # The planner cannot know how many rows each step holds and would loop over them; hash joins it is.
        cursor.execute("SET LOCAL enable_nestloop = off")
        cursor.execute(facts_sql(batch=len(order_ids) <= ONE_PASS), {"ids": list(order_ids), "tz": str(seller_time_zone()), "base": seller_base_currency()})


def _sums(order_flag: str = "first_line") -> str:
    """The facts summed in the order of MEASURES (see bi.models.Measures for what covers which lines)."""
    costed = "FILTER (WHERE net IS NOT NULL)"
    return ", ".join([
        f"count(*) FILTER (WHERE {order_flag})", "sum(units)", "sum(units_returned)", "sum(gmv)",
        *[f"coalesce(sum({name}) {costed}, 0)" for name in FACT_MONEY[1:]],
        "coalesce(sum(net), 0)", f"coalesce(sum(gmv) {costed}, 0)", "count(*) FILTER (WHERE net IS NULL)", "sum(commission)",
    ])


def rollup_days(days) -> None:
    """Rebuild the day rows of `days` from the facts, then the month rows of their months from the day rows."""
    days = sorted(set(days))
    if not days:
        return
    months = sorted({d.replace(day=1) for d in days})
    columns = ", ".join(MEASURES)
    summed = ", ".join(f"sum({m})" for m in MEASURES)
    with connection.cursor() as cursor:
        for model, extra, only in ROLLUPS:
            table = model._meta.db_table
            dims = ", ".join(extra)
            cursor.execute(f"DELETE FROM {table} WHERE grain = 'd' AND day = ANY(%s)", [days])
            cursor.execute(f"INSERT INTO {table} (grain, day, {dims}, {columns}) SELECT 'd', day, {dims}, {_sums(ORDERS_COUNTED_ON.get(model, 'first_line'))} FROM bi_orderfact "
                           f"WHERE day = ANY(%s) AND in_base {only} GROUP BY day, {dims}", [days])
            cursor.execute(f"DELETE FROM {table} WHERE grain = 'm' AND day = ANY(%s)", [months])
            cursor.execute(f"INSERT INTO {table} (grain, day, {dims}, {columns}) SELECT 'm', date_trunc('month', day)::date, {dims}, {summed} "
                           f"FROM {table} WHERE grain = 'd' AND date_trunc('month', day)::date = ANY(%s) GROUP BY 2, {dims}", [months])
        _order_rollup_days(cursor, days, months)


# Order-level rollups, read from the orders (and their first fact, for day, channel, tier and warehouse).
_OPEN = "('received', 'on_hold', 'reserved', 'routed', 'packing', 'packed', 'backordered', 'address_invalid', 'awaiting_supply')"
STAGES = tuple((name, f"o.{start}", f"o.{end}") for name, start, end in ORDER_STAGES)  # the brief's stages, as the order pages time them
BUCKETS_PER_DOUBLING = 8  # DailyStage buckets: 0.1 s × 2^(b/8)
_FROM = "FROM bi_orderfact f JOIN orders_order o ON o.id = f.order_id WHERE f.first_line AND f.day = ANY(%(days)s)"


def _order_rollups() -> list[tuple[str, tuple[str, ...], tuple[str, ...], str]]:
    from bi.services.facts import zone_sql

    clocks = []
    for clock, done, due in (("ship", "o.shipped_at", "o.ship_by"), ("pack", "o.packed_at", "o.pack_by")):
        clocks += [f"count(*) FILTER (WHERE {due} IS NOT NULL AND {done} <= {due})", f"count(*) FILTER (WHERE {due} IS NOT NULL AND {done} > {due})",
                   f"count(*) FILTER (WHERE {done} IS NULL AND {due} < now() AND o.status IN {_OPEN})",
                   f"count(*) FILTER (WHERE {done} IS NULL AND {due} >= now() AND o.status IN {_OPEN})"]
    stages = ", ".join(f"('{name}', {start}, {end})" for name, start, end in STAGES)
    bucket = (f"least(greatest(floor(ln(greatest(extract(epoch FROM s.b - s.a)::float8, 0.1) / 0.1) / (ln(2) / {BUCKETS_PER_DOUBLING})), 0), 32000)::int")
    return [
        ("bi_dailyops", ("channel", "tier", "warehouse_id"),
         ("ship_on_time", "ship_late", "ship_overdue", "ship_open", "pack_on_time", "pack_late", "pack_overdue", "pack_open"),
         f"SELECT 'd', f.day, f.channel, f.tier, f.warehouse_id, {', '.join(clocks)} {_FROM} GROUP BY f.day, f.channel, f.tier, f.warehouse_id"),
        ("bi_dailystage", ("channel", "stage", "bucket"), ("orders",),
         f"SELECT 'd', f.day, f.channel, s.stage, {bucket} AS bucket, count(*) {_FROM.replace(' WHERE ', f' CROSS JOIN LATERAL (VALUES {stages}) AS s(stage, a, b) WHERE ')} "
         f"AND s.a IS NOT NULL AND s.b IS NOT NULL AND s.b >= s.a GROUP BY f.day, f.channel, s.stage, bucket"),
        ("bi_dailyshipzone", ("channel", "warehouse_id", "zone", "base_warehouse_id", "base_zone"), ("shipments",),
         f"SELECT 'd', f.day, f.channel, sh.warehouse_id, {zone_sql('o.ship_latitude::float8', 'o.ship_longitude::float8', 'w.latitude::float8', 'w.longitude::float8')} AS zone, "
         f"b.id, {zone_sql('o.ship_latitude::float8', 'o.ship_longitude::float8', 'b.latitude::float8', 'b.longitude::float8')} AS base_zone, count(*) "
         f"{_FROM.replace(' WHERE ', ' JOIN orders_shipment sh ON sh.order_id = o.id JOIN warehouses_warehouse w ON w.id = sh.warehouse_id CROSS JOIN warehouses_warehouse b WHERE ')} "
         f"AND sh.status IN ('shipped', 'delivered') AND o.ship_latitude IS NOT NULL AND o.ship_longitude IS NOT NULL "
         f"GROUP BY f.day, f.channel, sh.warehouse_id, zone, b.id, base_zone"),
    ]


def _order_rollup_days(cursor, days: list, months: list) -> None:
    for table, dims, measures, select in _order_rollups():
        columns = ", ".join(dims + measures)
        cursor.execute(f"DELETE FROM {table} WHERE grain = 'd' AND day = ANY(%s)", [days])
        cursor.execute(f"INSERT INTO {table} (grain, day, {columns}) {select}", {"days": days})
        cursor.execute(f"DELETE FROM {table} WHERE grain = 'm' AND day = ANY(%s)", [months])
        cursor.execute(f"INSERT INTO {table} (grain, day, {columns}) SELECT 'm', date_trunc('month', day)::date, {', '.join(dims)}, "
                       f"{', '.join(f'sum({m})' for m in measures)} FROM {table} WHERE grain = 'd' AND date_trunc('month', day)::date = ANY(%s) "
                       f"GROUP BY 2, {', '.join(dims)}", [months])


def _batch(size: int) -> tuple[int, int] | None:
    """One batch in one transaction: (orders done, days rebuilt), or None when another refresh holds the lock."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(hashtext(current_schema() || ':bi.refresh'))")  # one per seller
        if not cursor.fetchone()[0]:
            return None
        # Take the oldest marks (LIMIT NULL: all of them). Marks added meanwhile stay for the next batch.
        cursor.execute("DELETE FROM bi_dirtyorder WHERE id IN (SELECT id FROM bi_dirtyorder ORDER BY id LIMIT %s) RETURNING order_id", [size])
        ids = sorted({r[0] for r in cursor.fetchall()})
        if not ids:
            return 0, 0
        cursor.execute("DELETE FROM bi_orderfact WHERE order_id = ANY(%s) RETURNING day", [ids])
        days = {r[0] for r in cursor.fetchall()}
        facts_insert(ids)
        cursor.execute("SET LOCAL enable_nestloop = on")
        cursor.execute("SELECT DISTINCT day FROM bi_orderfact WHERE order_id = ANY(%s)", [ids])
        days |= {r[0] for r in cursor.fetchall()}
        rollup_days(days)
        return len(ids), len(days)


def refresh(*, batch: int | None = BATCH, max_orders: int | None = None) -> Refreshed:
    """Bring the facts and rollups up to date with every order changed so far, `batch` orders per
    transaction (None: all in one, for a rebuild — each batch re-sums whole days, so a year of
    history is cheapest in one pass)."""
    started = time.perf_counter()
    result = Refreshed()
    _queue_what_time_changed()
    if batch is not None and DirtyOrder.objects.count() > ONE_PASS:
        batch = None
    while max_orders is None or result.orders < max_orders:
        done = _batch(batch)
        if done is None:
            result.busy = True
            break
        if not done[0]:
            break
        result.orders += done[0]
        result.days += done[1]
    result.seconds = time.perf_counter() - started
    if not result.busy:  # every run is recorded (the cockpit says when figures were last checked); the last 200 are kept
        run = RefreshRun.objects.create(orders=result.orders, days=result.days, seconds=result.seconds)
        RefreshRun.objects.filter(pk__lte=run.pk - 200).delete()
    return result


def _queue_what_time_changed() -> None:
    """Queue what changed without a write: open orders whose ship-by or pack deadline passed since the
    last sweep (their clock turns overdue; the SLA job writes only when the order's overall state
    changes), and orders left out for want of an exchange rate (one may have been entered since)."""
    from django.core.cache import cache
    from django.utils import timezone

    now = timezone.now()
    since = cache.get("bi:deadline-sweep") or now - timedelta(days=3)
    with connection.cursor() as cursor:
        cursor.execute(f"""INSERT INTO bi_dirtyorder (order_id) SELECT id FROM orders_order WHERE status IN {_OPEN}
                           AND ((ship_by > %(since)s AND ship_by <= %(now)s) OR (pack_by > %(since)s AND pack_by <= %(now)s))""",
                       {"since": since, "now": now})
        cursor.execute("INSERT INTO bi_dirtyorder (order_id) SELECT DISTINCT order_id FROM bi_orderfact WHERE NOT in_base")
    cache.set("bi:deadline-sweep", now, None)


def mark_all_dirty() -> int:
    """Mark every order out of date (after fee schedules or rates were corrected for past days, or to build from scratch)."""
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO bi_dirtyorder (order_id) SELECT id FROM orders_order")
        n = cursor.rowcount
        # Facts of orders that no longer exist go too.
        cursor.execute("INSERT INTO bi_dirtyorder (order_id) SELECT DISTINCT order_id FROM bi_orderfact f "
                       "WHERE NOT EXISTS (SELECT 1 FROM orders_order o WHERE o.id = f.order_id)")
    return n


def rebuild() -> Refreshed:
    """Every order's facts and every rollup row from scratch, in one transaction."""
    mark_all_dirty()
    result = refresh(batch=None)
    return result


def pending() -> int:
    """Orders waiting for the next refresh."""
    return DirtyOrder.objects.values("order_id").distinct().count()
