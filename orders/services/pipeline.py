"""The automated order pipeline and the operations people do on orders.

Every step locks the order row, checks the status it expects and moves it forward in one
transaction, so running a step twice (a retried task, a double click) does nothing the second
time. Follow-up steps are queued after commit. A step that fails parks the order in the
exceptions queue with a reason code; `order_retry` puts it back on the line.

received → (address check, route, reserve) → reserved → (shipments handed to the warehouse
queue) → routed → (pick list printed) → packing → packed → (carrier + tracking) → shipped →
(tracking pushed to the channel) → delivered."""
import logging
from contextlib import nullcontext
from datetime import timedelta
from functools import partial

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from erp.ids import whole
from inventory.exceptions import InsufficientStock, InventoryError
from inventory.models import Reservation, ReservationStatus
from inventory.selectors import Holder
from orders.events import shipment_shipped
from orders.exceptions import OrderError
from orders.models import (
    OPEN_STATUSES,
    Channel,
    ExceptionReason,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    OrderType,
    Shipment,
    ShipmentLine,
    ShipmentStatus,
)
from orders.services.address import address_check
from orders.services.routing import route_plan, warehouses_by_distance
from orders.services.sla import sla_state_of

log = logging.getLogger("fanout.orders")

_STAMPS = {OrderStatus.RESERVED: "reserved_at", OrderStatus.PACKED: "packed_at", OrderStatus.SHIPPED: "shipped_at",
           OrderStatus.DELIVERED: "delivered_at"}
# Statuses a person may put on hold (before anything is packed).
HOLDABLE = (OrderStatus.RECEIVED, OrderStatus.RESERVED, OrderStatus.ROUTED, OrderStatus.BACKORDERED,
            OrderStatus.ADDRESS_INVALID, OrderStatus.AWAITING_SUPPLY)
CANCELLABLE = OPEN_STATUSES


# ---------------------------------------------------------------------------- plumbing
def pipeline_later(order_id: int, *, here: bool = False) -> None:
    """Run the pipeline of this order once the current transaction commits: as its own Celery
    task, or with `here=True` at once in this process when it is already a worker running a task
    (an order fetched by a webhook or poll task goes straight on instead of queueing again). If
    that in-place run fails unexpectedly, the order is queued as a task after all."""
    transaction.on_commit(partial(_pipeline_start, order_id, here))


def _pipeline_start(order_id: int, here: bool) -> None:
    from celery import current_task

    from orders import tasks

    if here and current_task and not current_task.request.called_directly and not current_task.request.is_eager:
        try:
            order_pipeline(order_id=order_id)
            return
        except Exception:
            log.exception("the pipeline of order %s failed in place; queued as a task", order_id)
    tasks.order_pipeline.delay(order_id)


def _accrue_now(order_id: int) -> None:
    from commissions import tasks

    tasks.accrue.delay([order_id])


def _locked(order_id: int) -> Order:
    order = Order.objects.select_for_update().filter(pk=order_id).first()
    if order is None:
        raise OrderError(_("No such order."))
    return order


def transition(order: Order, to: str, *, actor=None, message: str = "", at=None, also=()) -> None:
    """Move `order` to status `to` and write the timeline entry (the caller holds the row lock).
    `also` names further fields the caller changed on `order`, saved in the same UPDATE."""
    transitions(order, [(to, message)], actor=actor, at=at, also=also)


def transitions(order: Order, hops: list[tuple[str, str]], *, actor=None, at=None, also=()) -> None:
    """Move `order` through each (status, message) of `hops` at the same instant: a timeline
    entry for each, one UPDATE of the order."""
    at = at or timezone.now()
    events, fields = [], ["status", "status_changed_at", "sla_state", "updated_at", *also]
    for to, message in hops:
        events.append(OrderEvent(order=order, at=at, from_status=order.status, to_status=to, message=message[:500], actor=actor))
        order.status = to
        stamp = _STAMPS.get(to)
        if stamp and getattr(order, stamp) is None:
            setattr(order, stamp, at)
            fields.append(stamp)
            if to == OrderStatus.DELIVERED and order.creator_id:
                transaction.on_commit(partial(_accrue_now, order.pk))
    OrderEvent.objects.bulk_create(events)
    order.status_changed_at = at
    if actor is not None:
        order.handled_by = actor
        fields.append("handled_by")
    order.sla_state = sla_state_of(order, now=at)
    order.save(update_fields=fields)


def note(order: Order, message: str, *, actor=None) -> None:
    OrderEvent.objects.create(order=order, message=message[:500], actor=actor)


def park(order: Order, reason: str, detail: str, *, status: str | None = None, actor=None, also=()) -> None:
    """Put the order in the exceptions queue (optionally with an exception status)."""
    order.exception_reason, order.exception_detail, order.exception_at = reason, detail[:500], timezone.now()
    order.save(update_fields=["exception_reason", "exception_detail", "exception_at", "updated_at", *also])
    label = ExceptionReason(reason).label
    if status and status != order.status:
        transition(order, status, message=f"{label}: {detail}", actor=actor)
    else:
        note(order, f"{label}: {detail}", actor=actor)


def _clear_exception(order: Order, actor=None) -> None:
    if order.exception_reason:
        if actor is not None:  # a person dealt with it (counted per person on the team page)
            OrderEvent.objects.create(order=order, actor=actor, resolved_exception=order.exception_reason,
                                      message=_("Exception cleared: %(reason)s") % {"reason": ExceptionReason(order.exception_reason).label})
        order.exception_reason, order.exception_detail, order.exception_at = "", "", None
        order.save(update_fields=["exception_reason", "exception_detail", "exception_at", "updated_at"])


def holder_of(order: Order) -> Holder:
    """Whose stock an order draws on: a creator's allocation for their wholesale/portal orders,
    else the shop's (or channel's) share of the pool."""
    if order.creator_id and order.channel in (Channel.WHOLESALE, Channel.PORTAL):
        return Holder.creator(order.creator_id)
    if order.account_id:
        return Holder.channel(f"{order.channel}:{order.account_id}")
    return Holder.channel(order.channel)


def _reference(order: Order, warehouse_id: int) -> str:
    return f"order:{order.pk}:w{warehouse_id}"


def order_id_of_reference(reference: str) -> int | None:
    parts = reference.split(":")
    if len(parts) == 3 and parts[0] == "order":
        return whole(parts[1])
    return None


def _uses_supply_queue(order: Order) -> bool:
    return bool(order.creator_id) and order.order_type in (OrderType.DROPSHIP, OrderType.WHOLESALE)


# ---------------------------------------------------------------------------- the pipeline
def order_pipeline(*, order_id: int) -> str:
    """Run the automatic steps of one order as far as they go; returns its status."""
    for _step in range(4):
        try:
            with transaction.atomic():
                order = Order.objects.select_for_update().filter(pk=order_id).first()
                if order is None:
                    return "missing"
                step = _STEPS.get(order.status)
                if step is None or (order.exception_reason and order.status == OrderStatus.RECEIVED):
                    return order.status
                moved = step(order)
        except (InventoryError, OrderError) as exc:
            with transaction.atomic():
                order = _locked(order_id)
                park(order, ExceptionReason.PIPELINE_ERROR, str(exc))
            return order.status
        if not moved:
            return order.status
    return order.status


# What the address check fills in on the order, saved with whatever the step does next.
_CHECKED = ("ship_latitude", "ship_longitude", "ship_city", "ship_state")


def _wanted(order_lines) -> dict[int, int]:
    lines: dict[int, int] = {}
    for line in order_lines:
        lines[line.sku_id] = lines.get(line.sku_id, 0) + line.quantity
    return lines


def _step_received(order: Order) -> bool:
    order_lines = list(order.lines.all())
    lines = _wanted(order_lines)
    if not lines:
        park(order, ExceptionReason.BAD_LINES, _("the order has no lines"))
        return False
    checked = address_check(name=order.ship_name, line1=order.ship_line1, zip_code=order.ship_zip, state=order.ship_state,
                            country=order.ship_country)
    if checked.problems:
        park(order, ExceptionReason.ADDRESS_INVALID, "; ".join(checked.problems), status=OrderStatus.ADDRESS_INVALID)
        return False
    order.ship_latitude, order.ship_longitude = checked.latitude, checked.longitude
    order.ship_city = order.ship_city or checked.city
    order.ship_state = checked.state
    ranked = warehouses_by_distance(checked.latitude, checked.longitude)
    if not ranked:
        park(order, ExceptionReason.NO_WAREHOUSE, _("add a warehouse first"), status=OrderStatus.BACKORDERED, also=_CHECKED)
        return False
    if _uses_supply_queue(order):
        return _reserve_through_supply_queue(order, lines, ranked, order_lines)
    plan = route_plan(lines=lines, ranked=ranked)
    if plan is None:
        park(order, ExceptionReason.STOCK_SHORT, _shortage_text(lines), status=OrderStatus.BACKORDERED, also=_CHECKED)
        return False
    from inventory.services.reservations import reservation_create

    holder = holder_of(order)
    try:
        # One reservation per warehouse; a split order needs all of them or none.
        with transaction.atomic() if len(plan) > 1 else nullcontext():
            for part in plan:
                reservation_create(reference=_reference(order, part.warehouse.pk), warehouse_id=part.warehouse.pk, holder=holder,
                                   lines=sorted(part.lines.items()))
    except InsufficientStock as exc:  # safety stock, another shop's allocation, or a race
        park(order, ExceptionReason.STOCK_SHORT, str(exc), status=OrderStatus.BACKORDERED, also=_CHECKED)
        return False
    where = ", ".join(f"{p.warehouse.code} ({p.distance_km:,.0f} km)" for p in plan)
    _reserved_and_queued(order, plan, order_lines, _("Reserved at %(where)s") % {"where": where}, also=_CHECKED)
    return False


def _reserved_and_queued(order: Order, plan, order_lines, message: str, *, also=()) -> None:
    """Stock is reserved: create the shipments and hand them to their warehouses' queues (the
    warehouse works them in Fanout), in one step: reserved → routed."""
    from warehouses.models import Fulfilment

    for shipment in _shipments_create(order, plan, order_lines):
        if shipment.warehouse.fulfilment == Fulfilment.THREEPL:
            threepl_send_later(shipment.pk)
    codes = ", ".join(f"{part.warehouse.code} (3PL)" if part.warehouse.fulfilment == Fulfilment.THREEPL else part.warehouse.code for part in plan)
    transitions(order, [(OrderStatus.RESERVED, message), (OrderStatus.ROUTED, _("In the queue of %(where)s") % {"where": codes})], also=also)


def _shortage_text(lines: dict[int, int]) -> str:
    from django.db.models import Sum

    from inventory.models import SKU, Stock

    codes = dict(SKU.objects.filter(pk__in=list(lines)).values_list("pk", "code"))
    free = {row["sku_id"]: (row["on"] or 0) - (row["res"] or 0) for row in
            Stock.objects.filter(sku_id__in=list(lines), warehouse__is_active=True).values("sku_id").annotate(on=Sum("on_hand"), res=Sum("reserved"))}
    short = [_("%(sku)s: ordered %(n)s, %(free)s free") % {"sku": codes.get(s, s), "n": q, "free": free.get(s, 0)}
             for s, q in sorted(lines.items()) if free.get(s, 0) < q]
    return "; ".join(short) or _("stock is held by safety stock or other holders")


def _reserve_through_supply_queue(order: Order, lines: dict[int, int], ranked, order_lines) -> bool:
    """Creator wholesale/dropship orders take their turn in the supply-priority queue, from one
    warehouse: the nearest that can fill every line, else the nearest."""
    from creators.exceptions import CreatorError
    from creators.models import SupplyStatus
    from creators.services.supply import supply_request_submit

    plan = route_plan(lines=lines, ranked=ranked)
    warehouse, distance = (plan[0].warehouse, plan[0].distance_km) if plan and len(plan) == 1 else ranked[0]
    reference = _reference(order, warehouse.pk)
    try:
        request = supply_request_submit(reference=reference, creator_id=order.creator_id, warehouse_id=warehouse.pk,
                                        lines=sorted(lines.items()))
    except CreatorError as exc:
        park(order, ExceptionReason.PIPELINE_ERROR, str(exc), also=_CHECKED)
        return False
    if request.status != SupplyStatus.SERVED:
        park(order, ExceptionReason.AWAITING_SUPPLY, request.wait_reason or _("waiting for stock"), status=OrderStatus.AWAITING_SUPPLY,
             also=_CHECKED)
        return False
    from orders.services.routing import Part

    _reserved_and_queued(order, [Part(warehouse, distance, dict(lines))], order_lines,
                         _("Reserved at %(where)s (supply priority)") % {"where": warehouse.code}, also=_CHECKED)
    return False


def _step_awaiting_supply(order: Order) -> bool:
    """The supply queue served this order's request: its reservation now exists."""
    from orders.services.routing import great_circle_km
    from warehouses.models import Warehouse

    reservation = Reservation.objects.filter(reference__startswith=f"order:{order.pk}:w", status=ReservationStatus.ACTIVE).first()
    if reservation is None:
        return False
    order_lines = list(order.lines.all())
    warehouse = Warehouse.objects.get(pk=reservation.warehouse_id)
    from orders.services.routing import Part

    distance = great_circle_km(order.ship_latitude, order.ship_longitude, warehouse.latitude, warehouse.longitude) if order.ship_latitude else 0
    _clear_exception(order)
    _reserved_and_queued(order, [Part(warehouse, distance, _wanted(order_lines))], order_lines,
                         _("Served by the supply-priority queue at %(where)s") % {"where": warehouse.code})
    return False


def _shipments_create(order: Order, plan, order_lines) -> list[Shipment]:
    if order.shipments.exclude(status=ShipmentStatus.CANCELLED).exists():
        return []
    created = []
    for part in plan:
        shipment = Shipment.objects.create(order=order, warehouse=part.warehouse, reservation_reference=_reference(order, part.warehouse.pk),
                                           distance_km=round(part.distance_km, 1))
        rows = []
        for sku_id, qty in part.lines.items():
            left = qty
            for line in order_lines:  # hand the part's units to the order's lines of that SKU
                if line.sku_id != sku_id or left == 0:
                    continue
                already = getattr(line, "_assigned", 0)
                take = min(line.quantity - already, left)
                if take > 0:
                    rows.append(ShipmentLine(shipment=shipment, order_line=line, sku_id=sku_id, quantity=take))
                    line._assigned = already + take
                    left -= take
        ShipmentLine.objects.bulk_create(rows)
        created.append(shipment)
    return created


def _step_reserved(order: Order) -> bool:
    """Hand the shipments to their warehouses' queues (the warehouse works them in Fanout)."""
    codes = ", ".join(order.shipments.exclude(status=ShipmentStatus.CANCELLED).values_list("warehouse__code", flat=True))
    transition(order, OrderStatus.ROUTED, message=_("In the queue of %(where)s") % {"where": codes})
    return False


_STEPS = {
    OrderStatus.RECEIVED: _step_received,
    OrderStatus.RESERVED: _step_reserved,
    OrderStatus.AWAITING_SUPPLY: _step_awaiting_supply,
}


def work_resume(*, now=None, limit: int = 1000) -> dict[str, int]:
    """Queue again the automatic work a lost task left undone (a worker killed with the task in
    hand: Redis gives its message back only after the visibility timeout, an hour; or Redis restarted
    without persistence and took its queue with it). Every step is safe to run twice, so an order whose
    task is merely slow is at worst looked at twice. Run by beat every two minutes; an item counts as
    stuck after FANOUT_RESUME_AFTER_S.

    Also what arriving stock should have set off: backordered orders it can now fill, and the supply
    queue of SKUs that have stock again (their tasks are queued by the stock change, not by a row)."""
    from django.conf import settings

    from creators.services.supply import supply_queue_resume
    from erp.celery import resume_due
    from orders import tasks
    from warehouses.models import Fulfilment

    before = (now or timezone.now()) - timedelta(seconds=settings.FANOUT_RESUME_AFTER_S)
    orders = list(Order.objects.filter(status__in=[OrderStatus.RECEIVED, OrderStatus.RESERVED], exception_reason="",
                                       status_changed_at__lt=before).order_by("pk").values_list("pk", flat=True)[:limit])
    pushes = list(Shipment.objects.filter(status__in=[ShipmentStatus.SHIPPED, ShipmentStatus.DELIVERED], tracking_pushed_at__isnull=True,
                                          push_error="", shipped_at__lt=before, order__exception_reason="")
                  .order_by("pk").values_list("pk", flat=True)[:limit])
    handovers = list(Shipment.objects.filter(status=ShipmentStatus.OPEN, warehouse__fulfilment=Fulfilment.THREEPL, handed_over_at__isnull=True,
                                             push_error="", created_at__lt=before, order__exception_reason="")
                     .order_by("pk").values_list("pk", flat=True)[:limit])
    backordered = resume_due("backorders", _backordered_skus_with_stock(before=before, limit=limit))
    orders, pushes, handovers = resume_due("order", orders), resume_due("push", pushes), resume_due("handover", handovers)
    for pk in orders:
        tasks.order_pipeline.delay(pk)
    for pk in pushes:
        tasks.tracking_push.delay(pk)
    for pk in handovers:
        tasks.threepl_send.delay(pk)
    if backordered:
        tasks.backorders_retry.delay(backordered)
    supply = supply_queue_resume(before=before, limit=limit)
    if orders or pushes or handovers or backordered or supply:
        log.warning("resumed stuck work: %s order(s), %s tracking push(es), %s 3PL hand-over(s), %s backordered SKU(s), %s supply SKU(s)",
                    len(orders), len(pushes), len(handovers), len(backordered), len(supply))
    return {"orders": len(orders), "tracking_pushes": len(pushes), "handovers": len(handovers), "backordered_skus": len(backordered),
            "supply_skus": len(supply)}


def _backordered_skus_with_stock(*, before, limit: int) -> list[int]:
    """SKUs of orders backordered (stock short) since before `before` that have free stock now: the retry
    their stock's arrival queued was lost, or is overdue."""
    from django.db.models import F, Sum

    from inventory.models import Stock

    wanted = (OrderLine.objects.filter(order__status=OrderStatus.BACKORDERED, order__exception_reason=ExceptionReason.STOCK_SHORT,
                                       order__status_changed_at__lt=before).values_list("sku_id", flat=True).distinct()[:limit])
    return sorted(Stock.objects.filter(sku_id__in=list(wanted), warehouse__is_active=True).values("sku_id")
                  .annotate(free=Sum(F("on_hand") - F("reserved"))).filter(free__gt=0).values_list("sku_id", flat=True))


# ---------------------------------------------------------------------------- people's actions
@transaction.atomic
def order_retry(*, order_id: int, actor=None) -> Order:
    """One click on an exception: re-match parked lines, re-check, re-route or re-push."""
    order = _locked(order_id)
    if not order.exception_reason and order.status not in (OrderStatus.BACKORDERED, OrderStatus.ADDRESS_INVALID):
        return order
    reason = order.exception_reason
    if reason == ExceptionReason.TRACKING_PUSH:
        _clear_exception(order, actor)
        note(order, _("Retrying the tracking push"), actor=actor)
        for shipment in order.shipments.filter(status__in=[ShipmentStatus.SHIPPED, ShipmentStatus.DELIVERED], tracking_pushed_at__isnull=True):
            tracking_push_later(shipment.pk)
        return order
    if reason == ExceptionReason.THREEPL_PUSH:
        _clear_exception(order, actor)
        note(order, _("Retrying the hand-over to the 3PL"), actor=actor)
        for shipment in order.shipments.filter(status=ShipmentStatus.OPEN, handed_over_at__isnull=True):
            threepl_send_later(shipment.pk)
        return order
    if reason == ExceptionReason.CANCELLED_AFTER_SHIPPING:
        _clear_exception(order, actor)
        note(order, _("Marked as handled"), actor=actor)
        return order
    if order.intake_lines:
        from orders.services.intake import lines_rematch

        problems = lines_rematch(order)
        if problems:
            park(order, order.exception_reason or ExceptionReason.UNKNOWN_SKU, problems, actor=actor)
            return order
    if order.status == OrderStatus.AWAITING_SUPPLY:
        from creators.services.supply import supply_drain_if_waiting

        supply_drain_if_waiting(sku_ids=list(order.lines.values_list("sku_id", flat=True)))
        note(order, _("Asked the supply-priority queue to serve waiting requests"), actor=actor)
        return order
    _clear_exception(order, actor)
    if order.status in (OrderStatus.BACKORDERED, OrderStatus.ADDRESS_INVALID, OrderStatus.RECEIVED):
        transition(order, OrderStatus.RECEIVED, actor=actor, message=_("Retry"))
    pipeline_later(order.pk)
    return order


@transaction.atomic
def order_hold(*, order_id: int, actor=None, reason: str = "") -> Order:
    order = _locked(order_id)
    if order.status == OrderStatus.ON_HOLD:
        return order
    if order.status not in HOLDABLE:
        raise OrderError(_("Order %(order)s is %(status)s and can no longer be held.") % {"order": order.external_id, "status": order.get_status_display()})
    transition(order, OrderStatus.ON_HOLD, actor=actor, message=reason or _("Put on hold"))
    return order


@transaction.atomic
def order_release(*, order_id: int, actor=None) -> Order:
    order = _locked(order_id)
    if order.status != OrderStatus.ON_HOLD:
        return order
    has_shipments = order.shipments.exclude(status=ShipmentStatus.CANCELLED).exists()
    transition(order, OrderStatus.ROUTED if has_shipments else OrderStatus.RECEIVED, actor=actor, message=_("Released from hold"))
    if not has_shipments:
        _clear_exception(order, actor)
        pipeline_later(order.pk)
    return order


@transaction.atomic
def order_cancel(*, order_id: int, actor=None, reason: str = "") -> Order:
    """Cancel and give the stock back. After something shipped only the rest is cancelled and
    the order goes to the exceptions queue (the parcel is already on its way)."""
    from creators.models import SupplyRequest, SupplyStatus
    from creators.services.supply import supply_request_cancel
    from inventory.services.reservations import reservation_release

    order = _locked(order_id)
    if order.status == OrderStatus.CANCELLED:
        return order
    shipped = order.shipments.filter(status__in=[ShipmentStatus.SHIPPED, ShipmentStatus.DELIVERED]).exists()
    for shipment in order.shipments.select_for_update().exclude(status__in=[ShipmentStatus.SHIPPED, ShipmentStatus.DELIVERED, ShipmentStatus.CANCELLED]):
        if Reservation.objects.filter(reference=shipment.reservation_reference, status=ReservationStatus.ACTIVE).exists():
            reservation_release(reference=shipment.reservation_reference, actor=actor)
        shipment.status = ShipmentStatus.CANCELLED
        shipment.save(update_fields=["status"])
        if shipment.handed_over_at:
            note(order, _("%(number)s was already with the 3PL as %(ref)s: cancel it there too.") % {
                "number": shipment.number, "ref": shipment.external_ref}, actor=actor)
    for request in SupplyRequest.objects.filter(reference__startswith=f"order:{order.pk}:w", status=SupplyStatus.WAITING):
        supply_request_cancel(request_id=request.pk)
    message = reason or _("Cancelled")
    if shipped:
        park(order, ExceptionReason.CANCELLED_AFTER_SHIPPING, message, actor=actor)
        return order
    if order.status not in CANCELLABLE:
        raise OrderError(_("Order %(order)s is %(status)s and cannot be cancelled.") % {"order": order.external_id, "status": order.get_status_display()})
    _clear_exception(order, actor)
    transition(order, OrderStatus.CANCELLED, actor=actor, message=message)
    return order


# ---------------------------------------------------------------------------- warehouse work
def _order_progress(order: Order, *, actor=None) -> None:
    """Set the order's status from its shipments' (the slowest live shipment decides)."""
    live = list(order.shipments.exclude(status=ShipmentStatus.CANCELLED).values_list("status", flat=True))
    if not live or order.status in (OrderStatus.CANCELLED, OrderStatus.ON_HOLD):
        return
    rank = [ShipmentStatus.OPEN, ShipmentStatus.PICKING, ShipmentStatus.PACKED, ShipmentStatus.SHIPPED, ShipmentStatus.DELIVERED]
    slowest = min(live, key=rank.index)
    target = {ShipmentStatus.OPEN: OrderStatus.ROUTED, ShipmentStatus.PICKING: OrderStatus.PACKING, ShipmentStatus.PACKED: OrderStatus.PACKED,
              ShipmentStatus.SHIPPED: OrderStatus.SHIPPED, ShipmentStatus.DELIVERED: OrderStatus.DELIVERED}[slowest]
    if any(s in (ShipmentStatus.PICKING, ShipmentStatus.PACKED, ShipmentStatus.SHIPPED) for s in live) and target == OrderStatus.ROUTED:
        target = OrderStatus.PACKING
    order_rank = [OrderStatus.RESERVED, OrderStatus.ROUTED, OrderStatus.PACKING, OrderStatus.PACKED, OrderStatus.SHIPPED, OrderStatus.DELIVERED]
    if order.status in order_rank and order_rank.index(target) <= order_rank.index(order.status):
        return
    done = sum(1 for s in live if rank.index(s) >= rank.index(ShipmentStatus.SHIPPED))
    message = _("%(done)s of %(n)s shipments shipped") % {"done": done, "n": len(live)} if len(live) > 1 else ""
    transition(order, target, actor=actor, message=message)


def _locked_shipments(shipment_ids) -> list[Shipment]:
    return list(Shipment.objects.select_for_update().select_related("order", "warehouse").filter(pk__in=list(shipment_ids)).order_by("pk"))


@transaction.atomic
def shipments_pick(*, shipment_ids, actor=None) -> list[Shipment]:
    """The pick list was printed: open shipments move to picking, their orders to packing."""
    shipments = _locked_shipments(shipment_ids)
    now = timezone.now()
    for shipment in shipments:
        if shipment.status == ShipmentStatus.OPEN and shipment.order.status != OrderStatus.ON_HOLD:
            shipment.status, shipment.picked_at = ShipmentStatus.PICKING, now
            shipment.save(update_fields=["status", "picked_at"])
            _order_progress(_locked(shipment.order_id), actor=actor)
    return shipments


@transaction.atomic
def shipment_pack(*, shipment_id: int, actor=None) -> Shipment:
    shipments = _locked_shipments([shipment_id])
    if not shipments:
        raise OrderError(_("No such shipment."))
    shipment = shipments[0]
    if shipment.status in (ShipmentStatus.PACKED, ShipmentStatus.SHIPPED, ShipmentStatus.DELIVERED):
        return shipment
    if shipment.status == ShipmentStatus.CANCELLED or shipment.order.status == OrderStatus.ON_HOLD:
        raise OrderError(_("Shipment %(number)s is cancelled or on hold; do not pack it.") % {"number": shipment.number})
    shipment.status, shipment.packed_at = ShipmentStatus.PACKED, timezone.now()
    shipment.picked_at = shipment.picked_at or shipment.packed_at
    shipment.save(update_fields=["status", "packed_at", "picked_at"])
    _order_progress(_locked(shipment.order_id), actor=actor)
    return shipment


@transaction.atomic
def shipment_ship(*, shipment_id: int, carrier: str, tracking_number: str, actor=None, shipping_cost=None) -> Shipment:
    """Hand the parcel to the carrier: the reservation is consumed (stock leaves at FIFO cost)
    and the tracking number is pushed to the channel after commit."""
    from inventory.services.reservations import reservation_consume

    carrier, tracking_number = (carrier or "").strip(), (tracking_number or "").strip()
    if not carrier or not tracking_number:
        raise OrderError(_("Enter both the carrier and the tracking number."))
    shipments = _locked_shipments([shipment_id])
    if not shipments:
        raise OrderError(_("No such shipment."))
    shipment = shipments[0]
    if shipment.status in (ShipmentStatus.SHIPPED, ShipmentStatus.DELIVERED):
        if shipment.tracking_number == tracking_number:
            return shipment  # the same entry twice
        raise OrderError(_("Shipment %(number)s already shipped with %(tracking)s.") % {"number": shipment.number, "tracking": shipment.tracking_number})
    if shipment.status == ShipmentStatus.CANCELLED or shipment.order.status in (OrderStatus.ON_HOLD, OrderStatus.CANCELLED):
        raise OrderError(_("Shipment %(number)s is cancelled or on hold; do not ship it.") % {"number": shipment.number})
    reservation_consume(reference=shipment.reservation_reference, actor=actor)
    now = timezone.now()
    shipment.status, shipment.carrier, shipment.tracking_number, shipment.shipped_at = ShipmentStatus.SHIPPED, carrier[:40], tracking_number[:80], now
    shipment.picked_at = shipment.picked_at or now
    shipment.packed_at = shipment.packed_at or now
    if shipping_cost is not None:
        if shipping_cost < 0:
            raise OrderError(_("The label cost cannot be negative."))
        shipment.shipping_cost = shipping_cost
    shipment.save(update_fields=["status", "carrier", "tracking_number", "shipped_at", "picked_at", "packed_at", "shipping_cost"])
    order = _locked(shipment.order_id)
    if order.packed_at is None and not order.shipments.exclude(status__in=[ShipmentStatus.PACKED, ShipmentStatus.SHIPPED, ShipmentStatus.DELIVERED, ShipmentStatus.CANCELLED]).exists():
        order.packed_at = now
        order.save(update_fields=["packed_at"])
    note(order, _("%(number)s shipped from %(wh)s: %(carrier)s %(tracking)s") % {
        "number": shipment.number, "wh": shipment.warehouse.code, "carrier": carrier, "tracking": tracking_number}, actor=actor)
    _order_progress(order, actor=actor)
    tracking_push_later(shipment.pk)
    shipment.order = order
    shipment_shipped.send(sender="orders", shipment=shipment)
    return shipment


@transaction.atomic
def shipment_deliver(*, shipment_id: int, actor=None) -> Shipment:
    shipments = _locked_shipments([shipment_id])
    if not shipments:
        raise OrderError(_("No such shipment."))
    shipment = shipments[0]
    if shipment.status == ShipmentStatus.DELIVERED:
        return shipment
    if shipment.status != ShipmentStatus.SHIPPED:
        raise OrderError(_("Shipment %(number)s has not shipped yet.") % {"number": shipment.number})
    shipment.status, shipment.delivered_at = ShipmentStatus.DELIVERED, timezone.now()
    shipment.save(update_fields=["status", "delivered_at"])
    _order_progress(_locked(shipment.order_id), actor=actor)
    return shipment


@transaction.atomic
def order_deliver(*, order_id: int, actor=None) -> Order:
    order = _locked(order_id)
    for shipment_id in order.shipments.filter(status=ShipmentStatus.SHIPPED).values_list("pk", flat=True):
        shipment_deliver(shipment_id=shipment_id, actor=actor)
    order.refresh_from_db()
    return order


@transaction.atomic
def order_return(*, order_id: int, quantities: dict[int, int], actor=None) -> str:
    """Take returned units back (order line id → units) at the FIFO cost they left at, into
    the warehouse that shipped them. The order becomes `returned` when every unit is back.
    Returns the cost of the returned units as text."""
    from decimal import Decimal

    from inventory.services.movements import stock_return

    order = _locked(order_id)
    total, currency = Decimal(0), "USD"
    lines = {line.pk: line for line in order.lines.select_for_update()}
    for line_id, qty in quantities.items():
        if not qty:
            continue
        line = lines.get(int(line_id))
        if line is None:
            raise OrderError(_("Line %(line)s is not on this order.") % {"line": line_id})
        if not isinstance(qty, int) or qty < 0:
            raise OrderError(_("Returned quantity must be a whole number, not %(q)s.") % {"q": qty})
        left = qty
        for sline in (ShipmentLine.objects.select_for_update().select_related("shipment")
                      .filter(order_line=line, shipment__status__in=[ShipmentStatus.SHIPPED, ShipmentStatus.DELIVERED]).order_by("pk")):
            take = min(sline.quantity - sline.quantity_returned, left)
            if take <= 0:
                continue
            cost = stock_return(reservation_reference=sline.shipment.reservation_reference, sku_id=line.sku_id,
                                warehouse_id=sline.shipment.warehouse_id, quantity=take, actor=actor)
            total += cost.amount
            currency = str(cost.currency)
            sline.quantity_returned += take
            sline.save(update_fields=["quantity_returned"])
            left -= take
            if not left:
                break
        if left:
            raise OrderError(_("Only %(n)s unit(s) of %(sku)s shipped and are not yet returned.") % {"n": qty - left, "sku": line.sku.code})
        line.quantity_returned += qty
        line.save(update_fields=["quantity_returned"])
    if order.creator_id:
        from commissions.services.accrual import clawback_order

        clawback_order(order_id=order.pk)  # commission already accrued on returned units comes back
    units = sum(quantities.values())
    everything = all(line.quantity_returned >= line.quantity for line in lines.values())
    message = _("%(units)s unit(s) returned and restocked at cost %(cost)s %(currency)s") % {"units": units, "cost": f"{total:.2f}", "currency": currency}
    if everything:
        transition(order, OrderStatus.RETURNED, actor=actor, message=message)
    else:
        note(order, message, actor=actor)
    return f"{total:.2f} {currency}"


# ---------------------------------------------------------------------------- tracking to the channel
def tracking_push_later(shipment_id: int) -> None:
    from orders import tasks

    transaction.on_commit(partial(tasks.tracking_push.delay, shipment_id))


def tracking_push(*, shipment_id: int) -> str:
    """Tell the channel the parcel shipped. Channels we do not sell through (wholesale, manual,
    portal) need no push: the creator sees the tracking in the portal at once."""
    from connectors.clients import ChannelError, client_class

    shipment = Shipment.objects.select_related("order", "order__account").get(pk=shipment_id)
    order = shipment.order
    if shipment.tracking_pushed_at:
        return "done"
    account = order.account
    if order.channel in (Channel.TIKTOK_SHOP, Channel.SHOPIFY, Channel.AMAZON) and account is not None:
        try:
            with client_class(account.platform)(account) as client:
                if order.channel == Channel.TIKTOK_SHOP:
                    package = (order.external_data or {}).get("package_id")
                    if not package:
                        raise OrderError(_("the TikTok order has no package id"))
                    client.package_ship(package_id=package, tracking_number=shipment.tracking_number,
                                        shipping_provider_id=shipment.carrier)
                elif order.channel == Channel.SHOPIFY:
                    fulfillment_order = (order.external_data or {}).get("fulfillment_order_id")
                    if not fulfillment_order:
                        raise OrderError(_("the Shopify order has no fulfillment order id"))
                    client.fulfillment_create(fulfillment_order_id=fulfillment_order, company=shipment.carrier, number=shipment.tracking_number)
                else:
                    client.shipment_confirm(order_id=order.external_id, package_reference=shipment.number, carrier=shipment.carrier,
                                            tracking_number=shipment.tracking_number,
                                            ship_date=(shipment.shipped_at or timezone.now()).strftime("%Y-%m-%dT%H:%M:%SZ"),
                                            items=_amazon_items(order, shipment))
        except ChannelError as exc:
            if exc.retryable:
                raise
            return _shipment_failed(shipment, ExceptionReason.TRACKING_PUSH, exc)
        except OrderError as exc:
            return _shipment_failed(shipment, ExceptionReason.TRACKING_PUSH, exc)
    now = timezone.now()
    with transaction.atomic():
        locked = _locked(order.pk)
        Shipment.objects.filter(pk=shipment.pk).update(tracking_pushed_at=now, push_error="")
        if not locked.shipments.exclude(status=ShipmentStatus.CANCELLED).filter(tracking_pushed_at__isnull=True).exists():
            locked.tracking_pushed_at = now
            locked.save(update_fields=["tracking_pushed_at"])
        if account is not None:
            note(locked, _("Tracking %(tracking)s sent to %(channel)s") % {"tracking": shipment.tracking_number, "channel": locked.get_channel_display()})
    return "pushed"


def _amazon_items(order: Order, shipment: Shipment) -> list[tuple[str, int]]:
    """(Amazon's OrderItemId, units) of the shipment's lines, through the account's listings."""
    from connectors.models import ChannelListing

    item_ids = (order.external_data or {}).get("order_items") or {}
    seller_skus = dict(ChannelListing.objects.filter(account_id=order.account_id).values_list("sku_id", "external_sku_id"))
    items = []
    for line in shipment.lines.select_related("sku"):
        item_id = item_ids.get(seller_skus.get(line.sku_id, line.sku.code))
        if not item_id:
            raise OrderError(_("the Amazon order has no item for SKU %(sku)s") % {"sku": line.sku.code})
        items.append((item_id, line.quantity))
    return items


def _shipment_failed(shipment: Shipment, reason: str, exc: Exception) -> str:
    """Keep the error on the shipment and park its order in the exceptions queue."""
    with transaction.atomic():
        locked = _locked(shipment.order_id)
        Shipment.objects.filter(pk=shipment.pk).update(push_error=str(exc)[:500])
        park(locked, reason, str(exc))
    return "failed"


# ---------------------------------------------------------------------------- 3PL warehouses
def threepl_send_later(shipment_id: int) -> None:
    from orders import tasks

    transaction.on_commit(partial(tasks.threepl_send.delay, shipment_id))


def threepl_send(*, shipment_id: int, last_try: bool = True) -> str:
    """Hand one shipment to its warehouse's 3PL (warehouses/threepl.py). A refusal, or a
    transient failure on the last try, parks the order with the 3PL's message; retry resends
    (the 3PL's idempotency key makes a resend harmless)."""
    from warehouses.threepl import ThreePLError, shipment_send

    shipment = Shipment.objects.select_related("order", "warehouse").prefetch_related("lines__sku").get(pk=shipment_id)
    if shipment.handed_over_at or shipment.status != ShipmentStatus.OPEN:
        return "done"
    try:
        reference = shipment_send(shipment)
    except ThreePLError as exc:
        if exc.retryable and not last_try:
            raise
        return _shipment_failed(shipment, ExceptionReason.THREEPL_PUSH, exc)
    with transaction.atomic():
        locked = _locked(shipment.order_id)
        Shipment.objects.filter(pk=shipment.pk).update(handed_over_at=timezone.now(), external_ref=reference[:80], push_error="")
        note(locked, _("%(number)s handed to the 3PL of %(wh)s as %(ref)s") % {"number": shipment.number, "wh": shipment.warehouse.code,
                                                                              "ref": reference})
    return "sent"


def backorders_retry(*, sku_ids) -> int:
    """Backordered orders of these SKUs that stock could now fill go back on the line, oldest first."""
    from django.db.models import Sum

    from inventory.models import Stock

    candidates = list(Order.objects.filter(status=OrderStatus.BACKORDERED, exception_reason=ExceptionReason.STOCK_SHORT,
                                           lines__sku_id__in=list(sku_ids)).distinct().order_by("placed_at", "pk")[:500])
    if not candidates:
        return 0
    needs = {}
    for line in OrderLine.objects.filter(order__in=candidates):
        needs.setdefault(line.order_id, {}).setdefault(line.sku_id, 0)
        needs[line.order_id][line.sku_id] += line.quantity
    all_skus = {s for lines in needs.values() for s in lines}
    free = {row["sku_id"]: (row["on"] or 0) - (row["res"] or 0) for row in
            Stock.objects.filter(sku_id__in=all_skus, warehouse__is_active=True).values("sku_id").annotate(on=Sum("on_hand"), res=Sum("reserved"))}
    retried = 0
    for order in candidates:
        wanted = needs.get(order.pk, {})
        if wanted and all(free.get(s, 0) >= q for s, q in wanted.items()):
            for s, q in wanted.items():
                free[s] -= q
            order_retry(order_id=order.pk)
            retried += 1
    return retried
