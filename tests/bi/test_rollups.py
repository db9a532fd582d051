"""The cockpit's facts and rollups equal a direct recomputation from the orders, on random orders
that go through the real pipeline (routing across three warehouses, FIFO lots, label costs and
zone estimates, returns, cancellations, platform-paid and margin-plan commissions, a tier change,
another currency), and stay equal as the orders change and the refresh runs again."""
import random
from collections import Counter, defaultdict
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.db.models import Sum
from django_tenants.utils import tenant_context

from bi.models import MEASURES, DailyCreator, DailySku, DailyTotal, DirtyOrder, OrderFact
from bi.services.refresh import rebuild, refresh
from commissions.models import FeeSchedule, ProductCommissionRate
from commissions.services.fees import FeeInput, fee_schedule_save
from commissions.services.margins import PlanInput, margin_plan_save
from commissions.services.waterfall import order_profit
from creators.models import TierChange
from creators.services.policy import tier_on
from erp.l10n import business_date_of, business_today
from inventory.models import Category
from inventory.services.fx import exchange_rate_set, rate_on
from orders.models import Order, OrderStatus, Shipment, ShipmentLine, ShipmentStatus
from orders.services.intake import Intake, IntakeLine, order_upsert
from orders.services.pipeline import order_cancel, order_deliver, order_pipeline, order_return, shipment_ship
from tests.creators.factories import make_creator
from tests.inventory.factories import make_sku, make_warehouses, receive, usd
from tests.orders.factories import ADDRESSES

D = Decimal
CENT = D("0.01")
ZONES = [D(z) for z in ("4.10", "4.60", "5.20", "6.00", "6.90", "7.80", "8.70", "9.90")]


def _shop(rng: random.Random) -> dict:
    for model in (DirtyOrder, OrderFact, DailyTotal, DailyCreator, DailySku):  # whatever other tests left (rolled back after this one)
        model.objects.all().delete()
    today = business_today()
    wh = make_warehouses()
    lips = Category.objects.create(name="Lips")
    skus = []
    for i in range(5):
        sku = make_sku(f"RND-{i}", cost=f"{4 + i}.25")
        sku.list_price = usd(f"{19 + 3 * i}.99")
        if i >= 3:
            sku.product.category = lips
            sku.product.save()
        sku.save()
        skus.append(sku)
        for w in wh.values():  # two lots at different costs each, so FIFO matters
            receive(sku, w, 40, unit_cost=f"{4 + i}.{rng.randrange(10, 99)}", reference=f"PO-{i}-{w.code}-a")
            receive(sku, w, 60, unit_cost=f"{5 + i}.{rng.randrange(10, 99)}", reference=f"PO-{i}-{w.code}-b")
    start = today - timedelta(days=400)
    FeeSchedule.objects.all().delete()  # the seller's default schedules give way to these
    fee_schedule_save(FeeInput(channel="tiktok_shop", category_id=None, valid_from=start, valid_to=None, marketplace_fee_rate=D("0.06"),
                               payment_fee_rate=D("0"), refund_admin_fee_rate=D("0.20"), refund_admin_fee_cap=D("5.00"),
                               shipping_estimate=D("5.00"), zone_estimates=ZONES))
    fee_schedule_save(FeeInput(channel="tiktok_shop", category_id=lips.pk, valid_from=start, valid_to=None, marketplace_fee_rate=D("0.08"),
                               payment_fee_rate=D("0"), refund_admin_fee_rate=D("0.20"), refund_admin_fee_cap=D("0.30"),
                               shipping_estimate=D("5.50")))
    fee_schedule_save(FeeInput(channel="shopify", category_id=None, valid_from=start, valid_to=None, marketplace_fee_rate=D("0"),
                               payment_fee_rate=D("0.029"), refund_admin_fee_rate=D("0"), refund_admin_fee_cap=None, shipping_estimate=D("6.25")))
    creators = [make_creator("s.star", tier="S", followers=900_000), make_creator("a.ace", tier="A", followers=40_000),
                make_creator("b.bee", tier="B", followers=2_500_000), make_creator("own.rate", tier="B", commission_rate_override=D("0.135")),
                make_creator("dist.dana", kind="distributor")]
    TierChange.objects.filter(from_tier="").update(effective_from=start)  # they have had their tiers all along
    margin_plan_save(PlanInput(creator=creators[4], discount_rate=D("0.35"), valid_from=start))
    ProductCommissionRate.objects.create(product=skus[1].product, rate=D("0.18"), valid_from=start)
    # a.ace was tier B until 20 days ago.
    TierChange.objects.create(creator=creators[1], from_tier="B", to_tier="A", from_status="active", to_status="active",
                              effective_from=today - timedelta(days=20), applied=True, source="manual", reason="promoted")
    exchange_rate_set(currency="EUR", rate_date=start, rate=D("0.9231"))
    return {"wh": wh, "skus": skus, "creators": creators}


def _orders(rng: random.Random, shop: dict, n: int, prefix: str, *, other_currency: float = 0.15) -> list[Order]:
    now_day = business_today()
    orders = []
    for i in range(n):
        channel = rng.choice(["tiktok_shop", "tiktok_shop", "shopify", "manual"])
        creator = rng.choice(shop["creators"] + [None, None])
        platform = channel == "tiktok_shop" and creator is not None and creator.kind == "creator" and rng.random() < 0.4
        lines = []
        for sku in rng.sample(shop["skus"], rng.randint(1, 3)):
            qty = rng.randint(1, 4)
            lines.append(IntakeLine(sku=sku.code, quantity=qty, unit_price=f"{rng.randint(9, 60)}.{rng.randrange(100):02d}",
                                    discount=rng.choice(["0", "0", "1.35", "2.50"]), commission_rate=D("0.15") if platform else None))
        placed = business_date_of_start(now_day - timedelta(days=rng.randint(0, 45))) + timedelta(minutes=rng.randint(0, 1439))
        intake = Intake(channel=channel, external_id=f"{prefix}-{i}", lines=lines, placed_at=placed, address=dict(ADDRESSES[rng.choice(list(ADDRESSES))]),
                        creator_id=creator.pk if creator else None, platform_pays_commission=platform,
                        currency="EUR" if rng.random() < other_currency else "USD",
                        order_type="wholesale" if creator is not None and creator.kind == "distributor" and rng.random() < 0.5 else "retail")
        order = order_upsert(intake)[0]
        order_pipeline(order_id=order.pk)
        orders.append(order)
    return orders


def business_date_of_start(day: date):
    from erp.l10n import business_day_start

    return business_day_start(day)


def _move(rng: random.Random, orders: list[Order], *, deliver: float = 0.6) -> None:
    """Ship, deliver, return and cancel at random, through the pipeline's own services."""
    for order in orders:
        order.refresh_from_db()
        roll = rng.random()
        if order.status in (OrderStatus.ROUTED, OrderStatus.RESERVED) and roll < 0.75:
            for shipment in Shipment.objects.filter(order=order).exclude(status=ShipmentStatus.CANCELLED):
                cost = rng.choice([None, None, D(f"{rng.randint(3, 11)}.{rng.randrange(100):02d}")])
                shipment_ship(shipment_id=shipment.pk, carrier="UPS", tracking_number=f"1Z{shipment.pk:08d}", shipping_cost=cost)
            if rng.random() < deliver:
                order_deliver(order_id=order.pk)
                if rng.random() < 0.35:
                    line = rng.choice(list(order.lines.all()))
                    order_return(order_id=order.pk, quantities={line.pk: rng.randint(1, line.quantity - line.quantity_returned)})
        elif order.status in (OrderStatus.ROUTED, OrderStatus.RESERVED, OrderStatus.BACKORDERED, OrderStatus.RECEIVED) and roll > 0.9:
            order_cancel(order_id=order.pk, reason="buyer changed their mind")


def _expected() -> dict[str, dict]:
    """Every rollup row recomputed straight from the orders with the waterfall (no facts, no SQL)."""
    from erp.l10n import seller_base_currency

    base = seller_base_currency()
    shipped_from: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for line_id, warehouse_id, qty in ShipmentLine.objects.exclude(shipment__status=ShipmentStatus.CANCELLED).values_list(
            "order_line_id", "shipment__warehouse_id", "quantity"):
        shipped_from[line_id][warehouse_id] += qty
    tables = {"total": defaultdict(lambda: defaultdict(D)), "creator": defaultdict(lambda: defaultdict(D)), "sku": defaultdict(lambda: defaultdict(D))}
    for order in Order.objects.exclude(status=OrderStatus.CANCELLED).select_related("creator"):
        day = business_date_of(order.placed_at)
        rate = D(1) if order.currency == base else rate_on(order.currency, day).rate
        tier = tier_on(order.creator, day) if order.creator else ""
        first_line = min(order.lines.values_list("pk", flat=True))
        first_of_sku = {}
        for line_id, sku_id in order.lines.order_by("pk").values_list("pk", "sku_id"):
            first_of_sku.setdefault(sku_id, line_id)
        for lp in order_profit(order).lines:
            def conv(v):
                return None if v is None else (D(v) / rate).quantize(CENT, rounding=ROUND_HALF_UP) if rate != 1 else D(v)
            gmv = conv(lp.price)
            # FIFO cost and shipping are the seller's own amounts, already in the base currency.
            parts = {k: conv(getattr(lp, k)) if k not in ("cost", "shipping") else getattr(lp, k)
                     for k in ("cost", "platform_fee", "commission", "payment_fee", "shipping", "refund_admin_fee")}
            net = None if parts["cost"] is None else gmv - sum(parts.values(), D(0))
            units = shipped_from.get(lp.line.pk)
            warehouse = max(units, key=lambda w: (units[w], -w)) if units else None
            values = {"orders": 1 if lp.line.pk == first_line else 0, "units": lp.line.quantity - lp.line.quantity_returned,
                      "units_returned": lp.line.quantity_returned, "gmv": gmv, "commission_all": parts["commission"],
                      "lines_uncosted": 1 if net is None else 0}
            if net is not None:
                values.update({**parts, "net": net, "gmv_costed": gmv})
            keys = {"total": (day, order.channel, tier, warehouse), "creator": (day, order.channel, tier, order.creator_id),
                    "sku": (day, order.channel, tier, warehouse, lp.line.sku_id)}
            for name, key in keys.items():
                if name == "creator" and order.creator_id is None:
                    continue
                # Per SKU an order counts once for each SKU it holds.
                values["orders"] = (1 if first_of_sku[lp.line.sku_id] == lp.line.pk else 0) if name == "sku" else (1 if lp.line.pk == first_line else 0)
                for grain, k in (("d", key), ("m", (key[0].replace(day=1),) + key[1:])):
                    row = tables[name][(grain,) + k]
                    for m, v in values.items():
                        row[m] += v
    return {name: {k: {m: rows[k].get(m, D(0)) for m in MEASURES} for k in rows} for name, rows in tables.items()}


def _expected_orders() -> dict[str, Counter]:
    """The order-level rollups (clocks, stage-time histograms, zones) recomputed from the orders in Python."""
    import math

    from django.utils import timezone

    from bi.services.refresh import BUCKETS_PER_DOUBLING, STAGES
    from commissions.services.waterfall import shipping_zone
    from orders.models import OPEN_STATUSES
    from orders.services.routing import great_circle_km
    from warehouses.models import Warehouse

    now = timezone.now()
    warehouses = list(Warehouse.objects.all())
    ops, stages, zones = Counter(), Counter(), Counter()
    facts = {f.order_id: f for f in OrderFact.objects.filter(first_line=True)}
    for order in Order.objects.exclude(status=OrderStatus.CANCELLED):
        f = facts[order.pk]
        for clock, done, due in (("ship", order.shipped_at, order.ship_by), ("pack", order.packed_at, order.pack_by)):
            state = ("on_time" if due and done and done <= due else "late" if due and done and done > due else
                     "overdue" if done is None and due and due < now and order.status in OPEN_STATUSES else
                     "open" if done is None and due and due >= now and order.status in OPEN_STATUSES else None)
            if state:
                ops[(f.day, f.channel, f.tier, f.warehouse_id, f"{clock}_{state}")] += 1
        for name, start, end in STAGES:
            a, b = getattr(order, start[2:]), getattr(order, end[2:])
            if a is not None and b is not None and b >= a:
                seconds = max((b - a).total_seconds(), 0.1)
                stages[(f.day, f.channel, name, max(math.floor(math.log(seconds / 0.1) / (math.log(2) / BUCKETS_PER_DOUBLING)), 0))] += 1
        if order.ship_latitude is not None:
            for shipment in order.shipments.filter(status__in=["shipped", "delivered"]).select_related("warehouse"):
                def zone(w):
                    return shipping_zone(great_circle_km(order.ship_latitude, order.ship_longitude, w.latitude, w.longitude))
                for base in warehouses:
                    zones[(f.day, f.channel, shipment.warehouse_id, zone(shipment.warehouse), base.pk, zone(base))] += 1
    return {"ops": ops, "stages": stages, "zones": zones}


def _actual_orders() -> dict[str, Counter]:
    from bi.models import DailyOps, DailyShipZone, DailyStage

    ops = Counter()
    for row in DailyOps.objects.filter(grain="d").values():
        for key, value in row.items():
            if key.startswith(("ship_", "pack_")) and value:
                ops[(row["day"], row["channel"], row["tier"], row["warehouse_id"], key)] += value
    stages = Counter({(r.day, r.channel, r.stage, r.bucket): r.orders for r in DailyStage.objects.filter(grain="d")})
    zones = Counter({(r.day, r.channel, r.warehouse_id, r.zone, r.base_warehouse_id, r.base_zone): r.shipments
                     for r in DailyShipZone.objects.filter(grain="d")})
    return {"ops": ops, "stages": stages, "zones": zones}


def _assert_orders_equal():
    from bi.models import DailyOps, DailyShipZone, DailyStage

    expected, actual = _expected_orders(), _actual_orders()
    for name in ("ops", "stages", "zones"):
        assert expected[name] and +expected[name] == +actual[name], name
    for model in (DailyOps, DailyStage, DailyShipZone):
        measure = "ship_on_time" if model is DailyOps else "orders" if model is DailyStage else "shipments"
        days = model.objects.filter(grain="d").aggregate(s=Sum(measure))["s"]
        months = model.objects.filter(grain="m").aggregate(s=Sum(measure))["s"]
        assert days == months, model.__name__


def _actual() -> dict[str, dict]:
    out = {}
    for name, model, dims in (("total", DailyTotal, ("warehouse_id",)), ("creator", DailyCreator, ("creator_id",)),
                              ("sku", DailySku, ("warehouse_id", "sku_id"))):
        out[name] = {}
        for row in model.objects.values("grain", "day", "channel", "tier", *dims, *MEASURES):
            key = (row["grain"], row["day"], row["channel"], row["tier"]) + tuple(row[d] for d in dims)
            out[name][key] = {m: D(row[m]) for m in MEASURES}
    return out


def _assert_equal(expected, actual):
    for name in ("total", "creator", "sku"):
        assert set(actual[name]) == set(expected[name]), name
        wrong = {k: (expected[name][k], actual[name][k]) for k in expected[name] if expected[name][k] != actual[name][k]}
        assert not wrong, f"{name}: {len(wrong)} rows differ, e.g. {next(iter(wrong.items()))}"


@pytest.mark.parametrize("seed", [7, 2026])
def test_rollups_equal_a_direct_recomputation_and_follow_changes(alpha, seed, monkeypatch):
    rng = random.Random(seed)
    with tenant_context(alpha):
        shop = _shop(rng)
        orders = _orders(rng, shop, 70, f"R{seed}")
        _move(rng, orders)
        assert DirtyOrder.objects.exists()  # the triggers queued the changed orders
        done = refresh()
        assert done.orders == len(orders) and not DirtyOrder.objects.exists()
        expected = _expected()
        assert expected["total"] and any(k[0] == "m" for k in expected["total"])
        # The data is as mixed as meant: shipped and unshipped, returns, two currencies, several warehouses and tiers.
        facts = OrderFact.objects.all()
        assert facts.filter(net__isnull=True).exists() and facts.filter(net__isnull=False).exists()
        assert facts.filter(units_returned__gt=0).exists() and facts.values("warehouse_id").distinct().count() >= 3
        assert Order.objects.filter(currency="EUR").exclude(status="cancelled").exists()
        assert {t for t in facts.values_list("tier", flat=True)} >= {"S", "A", "B", ""}
        _assert_equal(expected, _actual())
        _assert_orders_equal()

        # The orders move on; only those changed are recomputed, and the rollups still match.
        more = _orders(rng, shop, 15, f"N{seed}")
        _move(rng, orders + more)
        changed = DirtyOrder.objects.values("order_id").distinct().count()
        assert 0 < changed < len(orders) + len(more) + 1
        assert refresh().orders == changed
        _assert_equal(_expected(), _actual())
        _assert_orders_equal()

        # A rebuild from scratch gives the same rows, also by the path a big history takes (one pass reading whole tables).
        before = _actual()
        monkeypatch.setattr("bi.services.refresh.ONE_PASS", 0)
        rebuild()
        assert _actual() == before


def test_a_cancelled_order_leaves_the_figures(alpha):
    with tenant_context(alpha):
        shop = _shop(random.Random(3))
        order = _orders(random.Random(3), shop, 1, "C")[0]
        refresh()
        assert OrderFact.objects.filter(order_id=order.pk).exists() and DailyTotal.objects.filter(grain="d").exists()
        order_cancel(order_id=order.pk, reason="test")
        refresh()
        assert not OrderFact.objects.filter(order_id=order.pk).exists()
        assert not DailyTotal.objects.exists()  # its day and month rows are gone, not left at zero
