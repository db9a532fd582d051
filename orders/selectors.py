"""Reads for the order pages: filtered lists with keyset pagination (no COUNT over a million
rows), the CSV export, the dashboard counts and the per-stage processing times."""
from collections import defaultdict
from collections.abc import Iterator
from datetime import timedelta

from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone

from erp import paging
from orders.models import OPEN_STATUSES, IntakeFailure, Order, OrderStatus, Shipment, ShipmentStatus, SlaState

PAGE_SIZE = 50


def order_list(*, q: str = "", status: str = "", channel: str = "", creator_id: int | None = None, warehouse_id: int | None = None,
               sla: str = "", exceptions: bool = False):
    qs = Order.objects.select_related("creator", "account")
    if q:
        q = q.strip()
        by_tracking = Shipment.objects.filter(order=OuterRef("pk"), tracking_number=q)
        qs = qs.filter(Q(external_id=q) | Q(ship_name__iexact=q) | Q(ship_zip=q) | Q(Exists(by_tracking)) | Q(creator__handle__iexact=q.lstrip("@")))
    if status:
        qs = qs.filter(status=status)
    if channel:
        qs = qs.filter(channel=channel)
    if creator_id:
        qs = qs.filter(creator_id=creator_id)
    if warehouse_id:
        qs = qs.filter(Exists(Shipment.objects.filter(order=OuterRef("pk"), warehouse_id=warehouse_id)))
    if sla:
        qs = qs.filter(sla_state=sla)
    if exceptions:
        qs = qs.exclude(exception_reason="")
    return qs


def keyset_page(qs, *, after: str = "", size: int = PAGE_SIZE):
    """Newest first by (placed_at, pk). Returns (rows, next_cursor or '')."""
    return paging.keyset_page(qs, field="placed_at", after=after, size=size)


EXPORT_COLUMNS = ["channel", "order_number", "type", "status", "exception", "creator", "placed_at_utc", "ship_by_utc", "sla", "currency",
                  "total", "ship_name", "ship_city", "ship_state", "ship_zip", "warehouses", "tracking",
                  "line", "sku", "quantity", "unit_price", "discount", "quantity_returned"]
EXPORT_BATCH = 500


def order_export_rows(qs) -> Iterator[list]:
    """The orders of `qs` as CSV rows, newest first: one row per order line with the order's columns
    on each (so any row stands alone when filtered), the order's total on its first line only (so the
    column sums to the orders' total). Lines not yet matched to a SKU are shown as the channel sent
    them; an order without lines is one row. Orders are read EXPORT_BATCH at a time through a
    server-side cursor, each batch's lines and shipments in one query each: memory stays flat and
    the queries few, however many orders match."""
    orders = qs.order_by("-placed_at", "-pk").values_list(
        "pk", "channel", "external_id", "order_type", "status", "exception_reason", "creator__handle", "placed_at", "ship_by", "sla_state",
        "currency", "total", "ship_name", "ship_city", "ship_state", "ship_zip", "intake_lines")
    batch = []
    for order in orders.iterator(chunk_size=EXPORT_BATCH):
        batch.append(order)
        if len(batch) == EXPORT_BATCH:
            yield from _export_batch(batch)
            batch = []
    yield from _export_batch(batch)


def _export_batch(batch: list[tuple]) -> Iterator[list]:
    from orders.models import OrderLine

    ids = [order[0] for order in batch]
    lines, shipments = defaultdict(list), defaultdict(list)
    for order_id, *line in (OrderLine.objects.filter(order_id__in=ids).order_by("pk")
                            .values_list("order_id", "sku__code", "quantity", "unit_price", "discount", "quantity_returned")):
        lines[order_id].append(line)
    for order_id, warehouse, tracking in (Shipment.objects.filter(order_id__in=ids).exclude(status=ShipmentStatus.CANCELLED).order_by("pk")
                                          .values_list("order_id", "warehouse__code", "tracking_number")):
        shipments[order_id].append((warehouse, tracking))
    for pk, channel, number, kind, status, exception, handle, placed, ship_by, sla, currency, total, name, city, state, zip_code, raw in batch:
        sent = shipments[pk]
        order = [channel, number, kind, status, exception, handle or "", placed.isoformat(), ship_by.isoformat() if ship_by else "", sla, currency,
                 total, name, city, state, zip_code, " ".join(w for w, _t in sent), " ".join(t for _w, t in sent if t)]
        items = lines[pk] or [[r.get("sku"), r.get("quantity"), r.get("unit_price"), r.get("discount"), ""] for r in raw] or [[""] * 5]
        for n, item in enumerate(items, start=1):
            yield [*order[:10], order[10] if n == 1 else "", *order[11:], n if item[0] != "" else "", *item]


def dashboard_counts() -> dict:
    """Open work at a glance (open orders only, one query each)."""
    open_orders = Order.objects.filter(status__in=OPEN_STATUSES)
    sla = dict(open_orders.values_list("sla_state").annotate(n=Count("pk")).order_by())
    by_status = dict(open_orders.values_list("status").annotate(n=Count("pk")).order_by())
    missing = intake_failures_open().count()
    return {
        "at_risk": sla.get(SlaState.AT_RISK, 0), "overdue": sla.get(SlaState.OVERDUE, 0), "open": sum(by_status.values()),
        # Orders parked with a reason, and orders a channel announced that never arrived (intake failures).
        "exceptions": Order.objects.exclude(exception_reason="").count() + missing, "missing": missing,
        "by_status": [(s, OrderStatus(s).label, by_status.get(s, 0)) for s in OPEN_STATUSES if by_status.get(s)],
    }


def intake_failures_open():
    """Orders a channel announced that did not arrive, oldest first (orders.IntakeFailure)."""
    return IntakeFailure.objects.filter(resolved_at__isnull=True).select_related("account").order_by("first_failed_at", "pk")


STAGES = (
    ("receive", "placed_at", "created_at"),
    ("stock_check", "created_at", "reserved_at"),
    ("print_ship", "reserved_at", "shipped_at"),
    ("tracking", "shipped_at", "tracking_pushed_at"),
)


def stage_times(*, days: int = 30) -> list[dict]:
    """p50/p95 seconds of each stage over orders placed in the last `days` days — the brief's
    table (receive, stock check, print/ship, tracking), from real timestamps. One pass over the
    period's orders (the placed_at index), every stage an aggregate with its own FILTER."""
    since = timezone.now() - timedelta(days=days)
    columns = []
    for _name, start, end in STAGES:
        seconds = f"extract(epoch FROM {end} - {start})"
        valid = f"{end} IS NOT NULL AND {start} IS NOT NULL AND {end} >= {start}"
        columns += [f"count(*) FILTER (WHERE {valid})",
                    f"percentile_cont(0.5) WITHIN GROUP (ORDER BY {seconds}) FILTER (WHERE {valid})",
                    f"percentile_cont(0.95) WITHIN GROUP (ORDER BY {seconds}) FILTER (WHERE {valid})"]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(columns)} FROM orders_order WHERE placed_at >= %s", [since])
        row = cursor.fetchone()
    return [{"stage": name, "n": row[3 * i], "p50": row[3 * i + 1], "p95": row[3 * i + 2]} for i, (name, _s, _e) in enumerate(STAGES)]


def touched_share(*, days: int = 30) -> dict:
    """Of the orders placed in the last `days` days, how many a person acted on."""
    since = timezone.now() - timedelta(days=days)
    row = Order.objects.filter(placed_at__gte=since).aggregate(n=Count("pk"), touched=Count("pk", filter=Q(handled_by__isnull=False)))
    return {"orders": row["n"], "touched": row["touched"], "percent": (100 * row["touched"] / row["n"]) if row["n"] else None}


def orders_per_day(*, days: int = 30, tz=None) -> list[tuple]:
    """(day in the business time zone, orders placed) for the last `days` days, oldest first."""
    from django.db.models.functions import TruncDate

    since = timezone.now() - timedelta(days=days)
    rows = (Order.objects.filter(placed_at__gte=since).annotate(day=TruncDate("placed_at", tzinfo=tz)).values_list("day")
            .annotate(n=Count("pk")).order_by("day"))
    return list(rows)


def warehouse_queue(*, warehouse_id: int):
    """Shipments a warehouse still has to pick, pack or ship, oldest ship-by first."""
    return (Shipment.objects.filter(warehouse_id=warehouse_id, status__in=[ShipmentStatus.OPEN, ShipmentStatus.PICKING, ShipmentStatus.PACKED])
            .exclude(order__status=OrderStatus.ON_HOLD)
            .select_related("order").prefetch_related("lines__sku").order_by("order__ship_by", "pk"))


def queue_counts() -> dict[int, dict[str, int]]:
    counts: dict[int, dict[str, int]] = {}
    rows = (Shipment.objects.filter(status__in=[ShipmentStatus.OPEN, ShipmentStatus.PICKING, ShipmentStatus.PACKED])
            .values_list("warehouse_id", "status").annotate(n=Count("pk")).order_by())
    for warehouse_id, status, n in rows:
        counts.setdefault(warehouse_id, {})[status] = n
    return counts


