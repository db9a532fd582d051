"""Reserve, release and consume (ship) all lines of an order at one warehouse, or none."""
import threading
from contextlib import nullcontext

import psycopg
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils.translation import gettext as _
from djmoney.money import Money

from inventory.events import sellable_changed_on_commit
from inventory.exceptions import InsufficientStock, InventoryError, Shortage
from inventory.models import SKU, MoveKind, Reservation, ReservationLine, ReservationStatus, StockMove
from inventory.selectors import Holder, sellable_quantity
from inventory.services.levels import cogs_of, lots_consume_fifo, moves_record, stock_unreserved

# Caps how many reservations of this process talk to the database at once: beyond a handful,
# more clients on one hot SKU only queue on its row lock and slow everyone down.
_db_slots = threading.BoundedSemaphore(settings.FANOUT_RESERVATION_CONCURRENCY)

def _validated_lines(lines) -> dict[int, int]:
    merged: dict[int, int] = {}
    for i, line in enumerate(lines, start=1):
        sku_id, quantity = line
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
            raise InventoryError(
                _("line %(line)s: quantity must be a whole number above zero, got %(quantity)s") % {"line": i, "quantity": repr(quantity)}
            )
        merged[sku_id] = merged.get(sku_id, 0) + quantity
    if not merged:
        raise InventoryError(_("an order needs at least one line"))
    return merged


def reservation_create(*, reference: str, warehouse_id: int, holder: Holder, lines) -> Reservation:
    """Reserve every line (sku_id, quantity) at one warehouse for `holder`, or nothing.

    Guarantees: never oversells (pool and warehouse counters change only through conditional
    UPDATEs, backed by CheckConstraints); never deadlocks (locks taken in the module's fixed
    order); a replay with the same reference returns the existing reservation unchanged.
    The work is one call of the database function fanout_reserve (migration 0002): one round
    trip, so a hot SKU's row lock is held only for the statement itself.
    Raises InsufficientStock listing every short line, or InventoryError for bad input.
    """
    wanted = _validated_lines(lines)
    order = sorted(wanted)
    # In autocommit the call is its own transaction; inside a caller's transaction a savepoint
    # keeps a refused reservation from aborting the caller's work.
    guard = transaction.atomic() if connection.in_atomic_block else nullcontext()
    with _db_slots:
        try:
            with guard, connection.cursor() as cursor:
                cursor.execute(
                    "SELECT fanout_reserve(%s, %s, %s, %s, %s::bigint[], %s::int[])",
                    [reference, warehouse_id, holder.kind, holder.ref, order, [wanted[s] for s in order]],
                )
                reservation_id = cursor.fetchone()[0]
        except (DatabaseError, psycopg.Error) as exc:
            raise _translated(exc, wanted=wanted, warehouse_id=warehouse_id, holder=holder) from None
    if reservation_id < 0:  # a replay: the reservation made the first time
        return Reservation.objects.get(pk=-reservation_id)
    sellable_changed_on_commit(order, fell=True)
    return Reservation(
        pk=reservation_id, reference=reference, warehouse_id=warehouse_id, holder_kind=holder.kind, holder_ref=holder.ref,
        status=ReservationStatus.ACTIVE,
    )


def _translated(exc: Exception, *, wanted: dict[int, int], warehouse_id: int, holder: Holder) -> Exception:
    cause = exc.__cause__ if isinstance(exc, DatabaseError) and exc.__cause__ else exc
    diag = getattr(cause, "diag", None)
    message = getattr(diag, "message_primary", "") or ""
    if message == "fanout_bad_warehouse":
        return InventoryError(_("unknown or inactive warehouse id %(warehouse)s") % {"warehouse": warehouse_id})
    if message != "fanout_insufficient_stock":
        return exc
    # Unknown or inactive SKUs fail the pool update like short ones; tell them apart here.
    short = [int(x) for x in (diag.message_detail or "").split(",") if x]
    skus = {s.pk: s for s in SKU.objects.filter(pk__in=short)}
    unknown = sorted(set(short) - set(skus))
    if unknown:
        return InventoryError(_("unknown SKU id(s): %(ids)s") % {"ids": ", ".join(map(str, unknown))})
    inactive = sorted(s.code for s in skus.values() if not s.is_active)
    if inactive:
        return InventoryError(_("inactive SKU(s): %(codes)s") % {"codes": ", ".join(inactive)})
    return InsufficientStock([_shortage(skus[s], wanted[s], warehouse_id, holder) for s in short])


def _shortage(sku: SKU, requested: int, warehouse_id: int, holder: Holder) -> Shortage:
    sku.refresh_from_db(fields=["on_hand", "reserved", "quota_open"])
    available = min(sellable_quantity(sku=sku, holder=holder), stock_unreserved(sku_id=sku.pk, warehouse_id=warehouse_id))
    return Shortage(sku_code=sku.code, requested=requested, available=max(available, 0))


def _lock_active(reference: str) -> Reservation:
    reservation = Reservation.objects.select_for_update().filter(reference=reference).first()
    if reservation is None:
        raise InventoryError(_("no reservation %(reference)s") % {"reference": repr(reference)})
    return reservation


# Gives quota back (release) or spends it (consume) for all lines at once, in allocation id order.
_QUOTA_RETURN_SQL = """
WITH v AS (SELECT unnest(%(skus)s::bigint[]) AS sku_id, unnest(%(t)s::int[]) AS t),
old AS (
    SELECT a.id, v.t FROM inventory_allocation a JOIN v ON v.sku_id = a.sku_id
    WHERE a.holder_kind = %(kind)s AND a.holder_ref = %(ref)s AND v.t > 0 ORDER BY a.id FOR UPDATE OF a
)
UPDATE inventory_allocation a SET used = a.used - old.t, quota = a.quota - CASE WHEN %(consume)s THEN old.t ELSE 0 END
FROM old WHERE a.id = old.id
"""

# The stock row is updated only after (and because) the pool row was: one statement, fixed order.
_RELEASE_LINE_SQL = """
WITH p AS (
    UPDATE inventory_sku SET reserved = reserved - %(n)s, quota_open = quota_open + %(t)s WHERE id = %(sku)s RETURNING id
)
UPDATE inventory_stock SET reserved = reserved - %(n)s WHERE sku_id IN (SELECT id FROM p) AND warehouse_id = %(wh)s
"""

_CONSUME_LINE_SQL = """
WITH p AS (
    UPDATE inventory_sku SET reserved = reserved - %(n)s, on_hand = on_hand - %(n)s WHERE id = %(sku)s RETURNING id
)
UPDATE inventory_stock SET reserved = reserved - %(n)s, on_hand = on_hand - %(n)s
WHERE sku_id IN (SELECT id FROM p) AND warehouse_id = %(wh)s
"""


def _apply(reservation: Reservation, lines: list[ReservationLine], *, line_sql: str, consume: bool) -> None:
    with connection.cursor() as cursor:
        cursor.execute(_QUOTA_RETURN_SQL, {
            "skus": [line.sku_id for line in lines], "t": [line.from_quota for line in lines],
            "kind": reservation.holder_kind, "ref": reservation.holder_ref, "consume": consume,
        })
        for line in lines:
            cursor.execute(line_sql, {"n": line.quantity, "t": line.from_quota, "sku": line.sku_id, "wh": reservation.warehouse_id})
            if cursor.rowcount != 1:
                raise InventoryError(
                    _("stock row missing for SKU %(sku)s at warehouse %(warehouse)s")
                    % {"sku": line.sku_id, "warehouse": reservation.warehouse_id}
                )


@transaction.atomic
def reservation_release(*, reference: str, actor=None) -> Reservation:
    """Give every line of an active reservation back to the pool (and quota). Idempotent:
    releasing a released reservation does nothing; a shipped one cannot be released."""
    reservation = _lock_active(reference)
    if reservation.status == ReservationStatus.RELEASED:
        return reservation
    if reservation.status != ReservationStatus.ACTIVE:
        raise InventoryError(_("reservation %(reference)s was already shipped") % {"reference": reference})
    lines = list(reservation.lines.order_by("sku_id"))
    _apply(reservation, lines, line_sql=_RELEASE_LINE_SQL, consume=False)
    moves_record([
        StockMove(sku_id=line.sku_id, warehouse_id=reservation.warehouse_id, kind=MoveKind.RELEASE,
                  reserved_delta=-line.quantity, reference=reference, actor=actor)
        for line in lines
    ])
    reservation.status = ReservationStatus.RELEASED
    reservation.save(update_fields=["status"])
    sellable_changed_on_commit(line.sku_id for line in lines)
    return reservation


@transaction.atomic
def reservation_consume(*, reference: str, actor=None) -> dict[int, Money | None]:
    """Ship an active reservation: units leave on hand, the oldest cost lots at that warehouse
    are consumed and the cost of goods per line (half-up to the cent) is returned by SKU id.
    A replay returns the COGS already recorded and changes nothing."""
    reservation = _lock_active(reference)
    lines = list(reservation.lines.order_by("sku_id"))
    if reservation.status == ReservationStatus.CONSUMED:
        return {line.sku_id: recorded_cogs(reference=reference, sku_id=line.sku_id) for line in lines}
    if reservation.status != ReservationStatus.ACTIVE:
        raise InventoryError(_("reservation %(reference)s was released and cannot ship") % {"reference": reference})
    _apply(reservation, lines, line_sql=_CONSUME_LINE_SQL, consume=True)
    cogs = {}
    for line in lines:
        taken = lots_consume_fifo(sku_id=line.sku_id, warehouse_id=reservation.warehouse_id, quantity=line.quantity,
                                  reference=consumption_reference(reference=reference, sku_id=line.sku_id))
        cogs[line.sku_id] = cogs_of(taken)
    moves_record([
        StockMove(sku_id=line.sku_id, warehouse_id=reservation.warehouse_id, kind=MoveKind.SHIP, on_hand_delta=-line.quantity,
                  reserved_delta=-line.quantity, reference=reference, actor=actor)
        for line in lines
    ])
    reservation.status = ReservationStatus.CONSUMED
    reservation.save(update_fields=["status"])
    sellable_changed_on_commit(line.sku_id for line in lines)
    return cogs


def consumption_reference(*, reference: str, sku_id: int) -> str:
    return f"{reference}:{sku_id}"


def recorded_cogs(*, reference: str, sku_id: int) -> Money | None:
    from inventory.models import LotConsumption

    consumptions = LotConsumption.objects.select_related("lot").filter(reference=consumption_reference(reference=reference, sku_id=sku_id))
    return cogs_of([(c.lot, c.quantity) for c in consumptions])
