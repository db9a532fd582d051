"""The profit of each order line, component by component:

    net profit = price − FIFO cost − platform fee − creator commission − payment fee − shipping − refund admin fee

Shipping per shipment is what its label cost when that was entered, else the fee schedule's
estimate for the shipment's zone (distance from warehouse to buyer), else its flat estimate.

Rounding rule (one for all money): every component is rounded half-up to the cent on its own,
then subtracted, so the parts always add up to the price exactly. Amounts shared by several lines
(a shipment's shipping, a lot's cost over lines of the same SKU) are split by `allocate`, which
hands the leftover cents to the largest remainders so the split sums to the whole.

The brief's example: 29.99 − 15.00 − 1.50 (5%) − 6.00 (20%) − 0.75 (2.5%) − 5.00 = 1.74."""
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

from erp.l10n import business_date_of
from inventory.services.levels import money_round_cents

CENT = Decimal("0.01")


def allocate(total: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """Split `total` (cents) in proportion to `weights`; the parts sum to `total` exactly.
    Each part gets its share rounded down, then the leftover cents go one by one to the parts
    with the largest remainders (ties: the earlier part)."""
    total = money_round_cents(Decimal(total))
    if not weights:
        return []
    weight_sum = sum(weights, Decimal(0))
    if weight_sum == 0:
        weights, weight_sum = [Decimal(1)] * len(weights), Decimal(len(weights))
    exact = [total * w / weight_sum for w in weights]
    parts = [e.quantize(CENT, rounding=ROUND_DOWN) for e in exact]
    left = int((total - sum(parts, Decimal(0))) / CENT)
    order = sorted(range(len(parts)), key=lambda i: (-(exact[i] - parts[i]), i))
    step = CENT if left >= 0 else -CENT
    for i in order[: abs(left)]:
        parts[i] += step
    return parts


# US carriers' zones by distance from the origin, in miles: zone 1 up to 50, 2 up to 150, … 8 beyond 1,800.
ZONE_LIMITS_MILES = (50, 150, 300, 600, 1000, 1400, 1800)


def shipping_zone(km: float) -> int:
    miles = km / 1.609344
    return next((zone for zone, limit in enumerate(ZONE_LIMITS_MILES, start=1) if miles <= limit), 8)


def shipment_cost(shipment, order, schedule) -> Decimal:
    """The label cost when it was entered, else the schedule's estimate for the shipment's zone,
    else its flat estimate."""
    if shipment is not None and shipment.shipping_cost is not None:
        return Decimal(shipment.shipping_cost)
    if schedule is None:
        return Decimal(0)
    zones = list(schedule.zone_estimates or [])
    warehouse = getattr(shipment, "warehouse", None)
    if len(zones) == 8 and warehouse is not None and order.ship_latitude is not None and order.ship_longitude is not None:
        from orders.services.routing import great_circle_km

        km = great_circle_km(float(order.ship_latitude), float(order.ship_longitude), float(warehouse.latitude), float(warehouse.longitude))
        return Decimal(zones[shipping_zone(km) - 1])
    return Decimal(schedule.shipping_estimate.amount)


@dataclass
class LineProfit:
    line: object
    price: Decimal
    cost: Decimal | None  # None until the units have shipped (FIFO cost is known then)
    platform_fee: Decimal
    commission: Decimal
    commission_rate: Decimal
    commission_source: str  # creator / product / tier / platform / margin (plan: sales − plan price) / plan (wholesale at plan price) / ""
    payment_fee: Decimal
    shipping: Decimal
    refund_admin_fee: Decimal
    platform_pays_commission: bool
    plan_price: Decimal | None = None  # margin-plan lines: the buyer's unit price under the plan

    @property
    def net(self) -> Decimal | None:
        if self.cost is None:
            return None
        return self.price - self.cost - self.platform_fee - self.commission - self.payment_fee - self.shipping - self.refund_admin_fee


@dataclass
class OrderProfit:
    currency: str
    lines: list[LineProfit] = field(default_factory=list)
    schedule: object = None

    def total(self, name: str) -> Decimal | None:
        values = [getattr(p, name) for p in self.lines]
        return None if any(v is None for v in values) else sum(values, Decimal(0))


def order_profit(order) -> OrderProfit:
    """The waterfall of every line of `order`, from its fee schedule, commission rates, FIFO
    cost lots and shipments."""
    from commissions.services.fees import fee_schedule_in_force
    from commissions.services.margins import MARGIN_KINDS, margin_plan_in_force, plan_unit_price
    from commissions.services.rates import commission_rate_for
    from inventory.models import LotConsumption
    from inventory.services.reservations import consumption_reference
    from orders.models import OrderType, ShipmentLine, ShipmentStatus

    on = business_date_of(order.placed_at)
    # In id order: the order's shipping estimate comes from its first line's fee schedule, and splits give
    # leftover cents to the earlier line, so the order must not depend on where rows sit on disk.
    lines = list(order.lines.select_related("sku__product").order_by("pk"))
    result = OrderProfit(currency=order.currency)
    if not lines:
        return result
    sold = {line.pk: money_round_cents(Decimal(line.unit_price.amount) * (line.quantity - line.quantity_returned)
                                       - Decimal(line.discount.amount) * (line.quantity - line.quantity_returned) / line.quantity)
            for line in lines}
    # FIFO cost: what each shipment's lots cost, split over its lines of that SKU by units.
    shipment_lines = list(ShipmentLine.objects.filter(order_line__order=order).exclude(shipment__status=ShipmentStatus.CANCELLED)
                          .select_related("shipment__warehouse").order_by("pk"))
    consumed_as = {consumption_reference(reference=sl.shipment.reservation_reference, sku_id=sl.sku_id): (sl.shipment.reservation_reference, sl.sku_id)
                   for sl in shipment_lines}
    lot_cost: dict[tuple[str, int], Decimal] = defaultdict(Decimal)
    for c in LotConsumption.objects.filter(reference__in=list(consumed_as)).select_related("lot"):
        lot_cost[consumed_as[c.reference]] += Decimal(c.lot.unit_cost.amount) * (c.quantity - c.returned)
    cost: dict[int, Decimal] = defaultdict(Decimal)
    shipped_units: dict[int, int] = defaultdict(int)
    by_ref_sku: dict[tuple[str, int], list] = defaultdict(list)
    for sl in shipment_lines:
        if sl.shipment.status in (ShipmentStatus.SHIPPED, ShipmentStatus.DELIVERED):
            by_ref_sku[(sl.shipment.reservation_reference, sl.sku_id)].append(sl)
            shipped_units[sl.order_line_id] += sl.quantity
    for key, group in by_ref_sku.items():
        if key not in lot_cost:
            continue  # no lots recorded for this shipment
        for sl, part in zip(group, allocate(lot_cost[key], [Decimal(sl.quantity - sl.quantity_returned) for sl in group])):
            cost[sl.order_line_id] += part
    # Shipping: each live shipment's label cost if entered, else the estimate for its zone, else the flat
    # estimate; split over its lines by price. Not routed yet → one shipment (flat estimate) for all lines.
    shipping: dict[int, Decimal] = defaultdict(Decimal)
    groups: dict[int, list] = defaultdict(list)
    shipments = {}
    for sl in shipment_lines:
        groups[sl.shipment_id].append(sl.order_line_id)
        shipments[sl.shipment_id] = sl.shipment
    if not groups:
        groups[0] = [line.pk for line in lines]
    schedules: dict = {}  # one look-up per category, not per line
    for line in lines:
        category_id = line.sku.product.category_id if line.sku_id else None
        if category_id not in schedules:
            schedules[category_id] = fee_schedule_in_force(channel=order.channel, category_id=category_id, on=on)
        line._schedule = schedules[category_id]
        result.schedule = result.schedule or line._schedule
    for shipment_id, line_ids in groups.items():
        this_shipment = shipment_cost(shipments.get(shipment_id), order, result.schedule)
        for line_id, part in zip(line_ids, allocate(this_shipment, [sold[i] for i in line_ids])):
            shipping[line_id] += part
    creator = order.creator
    rates: dict = {}  # one resolution per product
    plan = margin_plan_in_force(creator_id=order.creator_id, on=on) if creator is not None and creator.kind in MARGIN_KINDS else None
    for line in lines:
        schedule = line._schedule
        price = sold[line.pk]
        fee_rate = schedule.marketplace_fee_rate if schedule else Decimal(0)
        commission = None
        units_left = line.quantity - line.quantity_returned
        plan_price = plan_unit_price(plan, line.sku if line.sku_id else None, order.currency)
        if order.platform_pays_commission and line.commission_rate is not None:
            rate, source = line.commission_rate, "platform"
        elif plan is not None and order.order_type == OrderType.WHOLESALE:
            rate, source = Decimal(0), "plan"  # they bought at the plan price: their margin is theirs to make
        elif plan_price is not None:  # sold on at retail, shipped by us: we owe them the sale less the plan price
            rate, source = plan.discount_rate, "margin"
            commission = max(price - plan_price * units_left, Decimal(0))
        else:
            product_id = line.sku.product_id if line.sku_id else None
            if product_id not in rates:
                rates[product_id] = commission_rate_for(creator=creator, product_id=product_id, on=on)
            rate, source = rates[product_id].rate, rates[product_id].source
        refund_admin = Decimal(0)
        if line.quantity_returned and schedule and schedule.refund_admin_fee_rate:
            returned_value = Decimal(line.unit_price.amount) * line.quantity_returned
            refund_admin = money_round_cents(returned_value * fee_rate * schedule.refund_admin_fee_rate)
            if schedule.refund_admin_fee_cap is not None:
                refund_admin = min(refund_admin, Decimal(schedule.refund_admin_fee_cap.amount))
        # Known once every unit shipped and the stock ledger recorded the lots it took (history imported
        # without the ledger has none: its cost stays unknown rather than zero).
        recorded = line.pk in cost
        known_cost = cost[line.pk] if recorded and shipped_units.get(line.pk, 0) >= line.quantity else (Decimal(0) if units_left == 0 else None)
        result.lines.append(LineProfit(
            line=line, price=price, cost=money_round_cents(known_cost) if known_cost is not None else None,
            platform_fee=money_round_cents(price * fee_rate), commission=commission if commission is not None else money_round_cents(price * rate),
            commission_rate=rate, plan_price=plan_price if source == "margin" else None,
            commission_source=source, payment_fee=money_round_cents(price * (schedule.payment_fee_rate if schedule else Decimal(0))),
            shipping=shipping.get(line.pk, Decimal(0)), refund_admin_fee=refund_admin, platform_pays_commission=order.platform_pays_commission,
        ))
    return result
