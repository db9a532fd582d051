"""SLA clocks. Ship-by: the channel's own deadline, else 48 h from payment (or placement). Pack
target: 6 h from receipt. A clock is *at risk* when less than its margin is left (6 h for ship-by,
2 h for the pack target — with a 6 h target, 6 h would flag every new order) and *overdue* once
the deadline has passed. An order's `sla_state` is the worse of its running clocks; beat refreshes
it every minute and every status change sets it at once."""
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import Case, Q, Value, When
from django.utils import timezone

from orders.models import OPEN_STATUSES, Order, OrderStatus, SlaState

PACK_TARGET = timedelta(hours=6)
SHIP_BY_DEFAULT = timedelta(hours=48)
SHIP_AT_RISK = timedelta(hours=6)
PACK_AT_RISK = timedelta(hours=2)

_PACK_CLOCK_STOPS = {OrderStatus.PACKED}


def deadlines_set(order: Order) -> None:
    """Fill `pack_by` and `ship_by` (unless the channel gave one)."""
    order.pack_by = order.pack_by or order.created_at + PACK_TARGET
    if order.ship_by is None:
        order.ship_by = (order.paid_at or order.placed_at) + SHIP_BY_DEFAULT


def _clock(deadline, margin, now) -> str:
    if deadline is None:
        return SlaState.OK
    if deadline < now:
        return SlaState.OVERDUE
    if deadline - now < margin:
        return SlaState.AT_RISK
    return SlaState.OK


def sla_state_of(order: Order, *, now=None) -> str:
    now = now or timezone.now()
    if order.status not in OPEN_STATUSES:
        return SlaState.DONE
    states = [_clock(order.ship_by, SHIP_AT_RISK, now)]
    if order.status not in _PACK_CLOCK_STOPS and order.packed_at is None:
        states.append(_clock(order.pack_by, PACK_AT_RISK, now))
    for worst in (SlaState.OVERDUE, SlaState.AT_RISK):
        if worst in states:
            return worst
    return SlaState.OK


def pack_clock_state(order: Order, *, now=None) -> str:
    now = now or timezone.now()
    if order.packed_at or order.status not in OPEN_STATUSES or order.status in _PACK_CLOCK_STOPS:
        return SlaState.DONE
    return _clock(order.pack_by, PACK_AT_RISK, now)


def ship_clock_state(order: Order, *, now=None) -> str:
    now = now or timezone.now()
    if order.status not in OPEN_STATUSES:
        return SlaState.DONE
    return _clock(order.ship_by, SHIP_AT_RISK, now)


def sla_refresh(*, now=None) -> int:
    """Recompute `sla_state` of every open order in one UPDATE; returns how many changed."""
    now = now or timezone.now()
    pack_running = Q(packed_at__isnull=True) & ~Q(status__in=_PACK_CLOCK_STOPS)
    state = Case(
        When(Q(ship_by__lt=now) | (pack_running & Q(pack_by__lt=now)), then=Value(SlaState.OVERDUE)),
        When(Q(ship_by__lt=now + SHIP_AT_RISK) | (pack_running & Q(pack_by__lt=now + PACK_AT_RISK)), then=Value(SlaState.AT_RISK)),
        default=Value(SlaState.OK),
    )
    with transaction.atomic():
        # One refresh per seller at a time: two overlapping bulk UPDATEs could deadlock on each other's rows.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(hashtext(%s))", [f"{connection.schema_name}:orders.sla_refresh"])
            if not cursor.fetchone()[0]:
                return 0
        open_orders = Order.objects.filter(status__in=OPEN_STATUSES)
        changed = open_orders.exclude(sla_state=state).update(sla_state=state)
        # Orders that closed since: the filter matches the partial index of running clocks, not every closed order.
        changed += (Order.objects.filter(sla_state__in=[SlaState.OK, SlaState.AT_RISK, SlaState.OVERDUE]).exclude(status__in=OPEN_STATUSES)
                    .update(sla_state=SlaState.DONE))
    return changed
