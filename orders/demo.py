"""Demo order history and live orders for the demo seller (called by `seed_demo`).

History: the demo's orders of the last 90 days (written by creators/demo.py) get what the
pipeline would have given them — a ship-to address, deadlines, the time of every stage, a
shipment from the nearest warehouse with carrier and tracking, and a timeline. Stage times vary
realistically (most parcels leave within a day, a few miss the 48-hour deadline), so the
processing-times page and the SLA figures have real data to show. Written with COPY: tens of
thousands of rows in seconds.

Live: a few dozen orders are placed on the sandbox TikTok shop and fetched through our real
client, so they go through intake and the Celery pipeline like any other (a couple with an
invalid address or an unlisted item land in the exceptions queue). `demo_order_place` places one
more on the sandbox; the `orders.demo_traffic` beat task calls it every few minutes while
`make run` is up, so orders keep flowing in through the webhook."""
import logging
import random
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from orders.models import Order, OrderEvent, OrderStatus, Shipment
from orders.services.address import zip_index
from orders.services.routing import great_circle_km

log = logging.getLogger("fanout.orders")

HISTORY_DAYS = 90
ZIPS = ["90001", "94103", "98101", "85004", "80202", "75201", "77002", "60606", "55401", "63101", "48226", "30303", "33130",
        "28202", "10118", "02108", "19103", "07102", "20001", "37203", "97201", "84101", "89101", "46204", "43215"]
NAMES = ["Ava Chen", "Mia Johnson", "Liam Garcia", "Emma Davis", "Noah Wilson", "Sofia Martinez", "Olivia Brown", "Lucas Lee",
         "Chloe Kim", "Ethan Nguyen", "Isabella Lopez", "Grace Patel"]
CARRIERS = [("USPS", "9400{n:018d}"), ("UPS", "1Z{n:016d}"), ("FedEx", "7{n:011d}")]


def demo_orders_seed(*, seed: int = 5) -> bool:
    """Fill in the last 90 days of the demo's order history once (skipped when shipments exist)."""
    from warehouses.models import Warehouse

    if Shipment.objects.exists():
        return False
    warehouses = list(Warehouse.objects.filter(is_active=True).order_by("code"))
    if not warehouses:
        return False
    rng = random.Random(seed)
    now = timezone.now()
    since = now - timedelta(days=HISTORY_DAYS)
    orders = list(Order.objects.filter(placed_at__gte=since, shipments__isnull=True).values_list("pk", "status", "placed_at").order_by("pk"))
    lines: dict[int, list[tuple]] = {}
    from orders.models import OrderLine

    for line_id, order_id, sku_id, qty, returned in OrderLine.objects.filter(order__placed_at__gte=since).values_list("pk", "order_id", "sku_id", "quantity", "quantity_returned"):
        lines.setdefault(order_id, []).append((line_id, sku_id, qty, returned))
    places = {z: zip_index()[z] for z in ZIPS}
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence('orders_shipment', 'id')) FROM generate_series(1, %s)", [len(orders)])
        shipment_ids = iter([r[0] for r in cursor.fetchall()])
    order_rows, shipment_rows, shipment_line_rows, event_rows = [], [], [], []
    for order_id, status, placed in orders:
        zip_code = rng.choice(ZIPS)
        place = places[zip_code]
        lat, lon = float(place["lat"]), float(place["long"])
        warehouse, distance = min(((w, great_circle_km(lat, lon, w.latitude, w.longitude)) for w in warehouses), key=lambda p: p[1])
        received = placed + timedelta(seconds=rng.uniform(1, 40))
        reserved = received + timedelta(seconds=rng.uniform(0.2, 2.5))
        # Most parcels leave the same day; some wait for the next pick wave; a few miss the deadline.
        ship_hours = rng.choice([rng.uniform(1.5, 6), rng.uniform(1.5, 6), rng.uniform(6, 20), rng.uniform(20, 40)])
        if rng.random() < 0.02:
            ship_hours = rng.uniform(49, 70)
        age_hours = (now - reserved).total_seconds() / 3600
        if ship_hours > age_hours * 0.8:
            ship_hours = max(age_hours * 0.8, 0.01)  # an order of the last hours: it shipped quickly
        shipped = reserved + timedelta(hours=ship_hours)
        packed = reserved + timedelta(hours=ship_hours * rng.uniform(0.6, 0.9))
        pushed = shipped + timedelta(seconds=rng.uniform(1, 8))
        delivered = shipped + timedelta(days=rng.uniform(2, 5))
        if status == "cancelled":
            final, last = "cancelled", received + timedelta(minutes=rng.uniform(5, 300))
        elif delivered < now:
            final, last = ("completed" if status == "completed" else "delivered"), delivered
        else:
            final, last = "shipped", pushed
        shipping = final != "cancelled"
        is_delivered = final in ("delivered", "completed")
        order_rows.append((
            order_id, rng.choice(NAMES), f"{rng.randrange(1, 9999)} {rng.choice(['Main St', 'Oak Ave', 'Pine Rd', 'Maple Dr', '5th Ave'])}",
            place["city"], place["state"], zip_code, "US", f"{lat:.4f}", f"{lon:.4f}", placed, placed + timedelta(hours=48), received + timedelta(hours=6),
            reserved if shipping else None, packed if shipping else None, shipped if shipping else None, pushed if shipping else None,
            delivered if is_delivered else None, final, "done", received, last,
        ))
        event_rows.append((order_id, received, "", OrderStatus.RECEIVED, "Received from TikTok Shop"))
        if not shipping:
            event_rows.append((order_id, last, OrderStatus.RECEIVED, OrderStatus.CANCELLED, "Cancelled on TikTok Shop"))
            continue
        shipment_id = next(shipment_ids)
        carrier, pattern = rng.choice(CARRIERS)
        tracking = pattern.format(n=order_id * 7919 + shipment_id)
        shipment_rows.append((shipment_id, order_id, warehouse.pk, f"order:{order_id}:w{warehouse.pk}", "delivered" if is_delivered else "shipped",
                              f"{distance:.1f}", carrier, tracking, reserved, packed, packed, shipped, delivered if is_delivered else None, pushed, ""))
        for line_id, sku_id, qty, returned in lines.get(order_id, []):
            shipment_line_rows.append((shipment_id, line_id, sku_id, qty, returned))
        event_rows += [
            (order_id, reserved, OrderStatus.RECEIVED, OrderStatus.RESERVED, f"Reserved at {warehouse.code} ({distance:,.0f} km)"),
            (order_id, reserved, OrderStatus.RESERVED, OrderStatus.ROUTED, f"In the queue of {warehouse.code}"),
            (order_id, packed, OrderStatus.ROUTED, OrderStatus.PACKED, ""),
            (order_id, shipped, OrderStatus.PACKED, OrderStatus.SHIPPED, f"S{shipment_id:07d} shipped from {warehouse.code}: {carrier} {tracking}"),
            (order_id, pushed, "", "", f"Tracking {tracking} sent to TikTok Shop"),
        ]
        if is_delivered:
            event_rows.append((order_id, delivered, OrderStatus.SHIPPED, OrderStatus.DELIVERED, ""))
    with connection.cursor() as cursor:
        cursor.execute("""CREATE TEMP TABLE demo_order_fill (id bigint, ship_name text, ship_line1 text, ship_city text, ship_state text,
            ship_zip text, ship_country text, lat numeric, lon numeric, paid_at timestamptz, ship_by timestamptz, pack_by timestamptz,
            reserved_at timestamptz, packed_at timestamptz, shipped_at timestamptz, tracking_pushed_at timestamptz, delivered_at timestamptz,
            status text, sla_state text, created_at timestamptz, status_changed_at timestamptz) ON COMMIT DROP""")
        with cursor.copy("COPY demo_order_fill FROM STDIN") as copy:
            for row in order_rows:
                copy.write_row(row)
        cursor.execute("""UPDATE orders_order o SET ship_name = f.ship_name, ship_line1 = f.ship_line1, ship_city = f.ship_city,
            ship_state = f.ship_state, ship_zip = f.ship_zip, ship_country = f.ship_country, ship_latitude = f.lat, ship_longitude = f.lon,
            paid_at = f.paid_at, ship_by = f.ship_by, pack_by = f.pack_by, reserved_at = f.reserved_at, packed_at = f.packed_at,
            shipped_at = f.shipped_at, tracking_pushed_at = f.tracking_pushed_at, delivered_at = f.delivered_at, status = f.status,
            sla_state = f.sla_state, created_at = f.created_at, status_changed_at = f.status_changed_at,
            external_data = jsonb_build_object('package_id', '11' || o.id)
            FROM demo_order_fill f WHERE o.id = f.id""")
        # The demo's order rows were written without totals: sum their lines.
        cursor.execute("""UPDATE orders_order o SET total = s.total FROM (
            SELECT order_id, sum(unit_price * quantity - discount) AS total FROM orders_orderline GROUP BY order_id) s
            WHERE s.order_id = o.id AND o.total = 0 AND s.total > 0""")
        with cursor.copy("COPY orders_shipment (id, order_id, warehouse_id, reservation_reference, status, distance_km, carrier, tracking_number, "
                         "created_at, picked_at, packed_at, shipped_at, delivered_at, tracking_pushed_at, push_error) FROM STDIN") as copy:
            for row in shipment_rows:
                copy.write_row(row)
        with cursor.copy("COPY orders_shipmentline (shipment_id, order_line_id, sku_id, quantity, quantity_returned) FROM STDIN") as copy:
            for row in shipment_line_rows:
                copy.write_row(row)
        with cursor.copy("COPY orders_orderevent (order_id, at, from_status, to_status, message) FROM STDIN") as copy:
            for row in event_rows:
                copy.write_row(row)
        # What the shipped units cost: one lot per SKU and warehouse, received before the history at the landed cost
        # of the SKU's opening stock (the default unit cost may be in the supplier's currency) and used up by it, so the profit waterfall (and the cockpit) knows each order's FIFO cost.
        cursor.execute("""
            WITH used AS (
                SELECT sl.sku_id, s.warehouse_id, sum(sl.quantity) AS units FROM orders_shipmentline sl
                JOIN orders_shipment s ON s.id = sl.shipment_id WHERE s.id = ANY(%(ids)s) GROUP BY 1, 2),
            lots AS (
                INSERT INTO inventory_costlot (sku_id, warehouse_id, received_at, quantity_received, quantity_remaining, unit_cost,
                                               unit_cost_currency, reference)
                SELECT u.sku_id, u.warehouse_id, %(since)s, u.units, 0, first.unit_cost, first.unit_cost_currency, 'demo-history'
                FROM used u JOIN LATERAL (SELECT l.unit_cost, l.unit_cost_currency FROM inventory_costlot l WHERE l.sku_id = u.sku_id
                                          ORDER BY l.received_at, l.id LIMIT 1) first ON true
                RETURNING id, sku_id, warehouse_id)
            INSERT INTO inventory_lotconsumption (lot_id, reference, quantity, returned, created_at)
            SELECT lots.id, s.reservation_reference || ':' || sl.sku_id, sl.quantity, sl.quantity_returned, s.shipped_at
            FROM orders_shipmentline sl JOIN orders_shipment s ON s.id = sl.shipment_id
            JOIN lots ON lots.sku_id = sl.sku_id AND lots.warehouse_id = s.warehouse_id
            WHERE s.id = ANY(%(ids)s)""", {"ids": [row[0] for row in shipment_rows], "since": since - timedelta(days=14)})
    _demo_people_touch(rng, [row for row in order_rows if row[17] != "cancelled"])
    return True


def _demo_people_touch(rng: random.Random, order_rows: list[tuple]) -> None:
    """A few orders in a hundred needed a person: they show as handled by the ops team, and some of
    them had an exception (bad address, stock short, unknown SKU) that the person cleared."""
    from accounts.models import User
    from orders.models import ExceptionReason

    people = list(User.objects.filter(role__in=["operations", "warehouse", "manager"]).order_by("pk").values_list("pk", flat=True))
    if not people:
        return
    weights = [5, 3, 1][: len(people)]
    touched = [(row[0], row[12]) for row in order_rows if row[12] is not None and rng.random() < 0.04]  # (order id, reserved at)
    handled_by = {order_id: rng.choices(people, weights=weights)[0] for order_id, _at in touched}
    reasons = [ExceptionReason.ADDRESS_INVALID, ExceptionReason.STOCK_SHORT, ExceptionReason.UNKNOWN_SKU]
    events = [OrderEvent(order_id=order_id, at=reserved - timedelta(minutes=rng.uniform(2, 90)), actor_id=handled_by[order_id],
                         resolved_exception=(reason := rng.choices(reasons, weights=[5, 3, 2])[0]),
                         message=f"Exception cleared: {ExceptionReason(reason).label}")
              for order_id, reserved in touched if rng.random() < 0.45]
    with connection.cursor() as cursor:
        cursor.execute("UPDATE orders_order o SET handled_by_id = t.user_id FROM unnest(%s::bigint[], %s::bigint[]) AS t(order_id, user_id) "
                       "WHERE o.id = t.order_id", [list(handled_by), list(handled_by.values())])
    OrderEvent.objects.bulk_create(events, batch_size=2000)


def demo_live_orders_seed(*, count: int = 24, seed: int = 9) -> int:
    """Place `count` orders on the sandbox TikTok shop and take them in through our client; the
    pipeline runs for them in the Celery worker. Returns how many were taken in."""
    from connectors.models import AccountStatus, ChannelAccount, ChannelListing, Platform
    from erp.outbound import sandbox_url
    from orders.services.channels import tiktok_order_sync

    account = ChannelAccount.objects.filter(platform=Platform.TIKTOK_SHOP, status=AccountStatus.CONNECTED).order_by("pk").first()
    if account is None or not sandbox_url() or Order.objects.filter(account=account, placed_at__gte=timezone.now() - timedelta(days=1)).exists():
        return 0
    rng = random.Random(seed)
    items = list(ChannelListing.objects.filter(account=account).values_list("external_sku_id", flat=True).order_by("pk"))
    ids = []
    for n in range(count):
        bad = {count - 1: "address", count - 2: "item"}.get(n)
        ids.append(_sandbox_order(account, rng, items, silent=True, bad=bad))
    tiktok_order_sync(account=account, external_ids=ids)  # fetched 50 at a time
    return len(ids)


def demo_order_place(*, silent: bool = False) -> str | None:
    """One buyer order on the sandbox TikTok shop (the sandbox sends the webhook unless silent)."""
    from connectors.models import AccountStatus, ChannelAccount, ChannelListing, Platform
    from erp.outbound import sandbox_url

    account = ChannelAccount.objects.filter(platform=Platform.TIKTOK_SHOP, status=AccountStatus.CONNECTED).order_by("pk").first()
    if account is None or not sandbox_url():
        return None
    items = list(ChannelListing.objects.filter(account=account).values_list("external_sku_id", flat=True).order_by("pk"))
    return _sandbox_order(account, random.Random(), items, silent=silent) if items else None


def _sandbox_order(account, rng, items, *, silent: bool, bad: str | None = None) -> str:
    from erp.outbound import outbound_http, sandbox_url

    zip_code = rng.choice(ZIPS)
    lines = [{"sku_id": item, "quantity": rng.choice([1, 1, 1, 2]), "price": f"{rng.choice([12.99, 18.99, 24.99, 29.99])}"}
             for item in rng.sample(items[:12], rng.choice([1, 1, 2]))]
    if bad == "item":
        lines.append({"sku_id": "2999999999", "quantity": 1, "price": "9.99"})  # not listed in Fanout
    address = {"name": rng.choice(NAMES), "address_line1": f"{rng.randrange(1, 9999)} Main St", "postal_code": zip_code, "region_code": "US"}
    if bad == "address":
        address["postal_code"] = "00000"
    response = outbound_http().post(f"{sandbox_url()}/_sandbox/tiktok/{account.shop_id}/orders",
                                    json={"lines": lines, "address": address, "silent": silent}, timeout=10)
    response.raise_for_status()
    return response.json()["order_id"]
