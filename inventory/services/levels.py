"""Low-level writes on stock counters, lots and the ledger, shared by the inventory services.

Lock order, followed by every writer so that no two transactions can deadlock:
  allocations (by id)  →  SKU pool rows (by id)  →  Stock rows (by SKU id, then warehouse id)  →  lots.
Every counter change is a single UPDATE whose WHERE clause (or a CheckConstraint) refuses to go
negative or over-reserve, so the database — not a read in Python — decides.
"""
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection
from django.utils.translation import gettext as _
from djmoney.money import Money

from inventory.exceptions import InventoryError
from inventory.models import SKU, CostLot, LotConsumption, StockMove

CENT = Decimal("0.01")
UNIT_COST_PLACES = Decimal("0.0001")

# pool_free in SQL, the same formula as inventory.selectors.pool_free.
POOL_FREE_SQL = "(on_hand - reserved - GREATEST(safety_stock_units, CEIL(on_hand * safety_stock_percent / 100.0)))"


def money_round_cents(amount: Decimal) -> Decimal:
    """The one rounding rule for money: half-up to the cent."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def pool_lock(sku_ids) -> dict[int, SKU]:
    """Lock SKU pool rows in id order and return them."""
    return {s.pk: s for s in SKU.objects.select_for_update().filter(pk__in=sorted(set(sku_ids))).order_by("pk")}


def pool_add_on_hand(*, sku_id: int, delta: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE inventory_sku SET on_hand = on_hand + %s WHERE id = %s AND on_hand + %s >= reserved",
            [delta, sku_id, delta],
        )
        if cursor.rowcount != 1:
            raise InventoryError(_("pool on hand would drop below reserved units"))


def stock_add_on_hand(*, sku_id: int, warehouse_id: int, delta: int) -> bool:
    """Change on hand at one warehouse; never below what is reserved there. Creates the row."""
    with connection.cursor() as cursor:
        if delta >= 0:
            cursor.execute(
                "INSERT INTO inventory_stock (sku_id, warehouse_id, on_hand, reserved) VALUES (%s, %s, %s, 0) "
                "ON CONFLICT (sku_id, warehouse_id) DO UPDATE SET on_hand = inventory_stock.on_hand + EXCLUDED.on_hand",
                [sku_id, warehouse_id, delta],
            )
            return True
        cursor.execute(
            "UPDATE inventory_stock SET on_hand = on_hand + %s WHERE sku_id = %s AND warehouse_id = %s AND on_hand - reserved >= %s",
            [delta, sku_id, warehouse_id, -delta],
        )
        return cursor.rowcount == 1


def stock_unreserved(*, sku_id: int, warehouse_id: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT on_hand - reserved FROM inventory_stock WHERE sku_id = %s AND warehouse_id = %s", [sku_id, warehouse_id])
        row = cursor.fetchone()
    return row[0] if row else 0


def lot_create(*, sku_id: int, warehouse_id: int, quantity: int, unit_cost: Money, reference: str, received_at=None,
               source_unit_cost: Money | None = None, fx_rate=None) -> CostLot:
    amount = Decimal(unit_cost.amount).quantize(UNIT_COST_PLACES, rounding=ROUND_HALF_UP)
    kwargs = {"received_at": received_at} if received_at else {}
    if source_unit_cost is not None:
        kwargs.update(source_unit_cost=source_unit_cost, fx_rate=fx_rate)
    return CostLot.objects.create(
        sku_id=sku_id, warehouse_id=warehouse_id, quantity_received=quantity, quantity_remaining=quantity,
        unit_cost=Money(amount, unit_cost.currency), reference=reference, **kwargs,
    )


def lots_consume_fifo(*, sku_id: int, warehouse_id: int, quantity: int, reference: str) -> list[tuple[CostLot, int]]:
    """Take `quantity` units from the oldest open lots at a warehouse. Returns (lot, units) taken."""
    taken: list[tuple[CostLot, int]] = []
    remaining = quantity
    lots = (
        CostLot.objects.select_for_update()
        .filter(sku_id=sku_id, warehouse_id=warehouse_id, quantity_remaining__gt=0)
        .order_by("received_at", "pk")
    )
    for lot in lots:
        if remaining == 0:
            break
        units = min(lot.quantity_remaining, remaining)
        lot.quantity_remaining -= units
        remaining -= units
        taken.append((lot, units))
    if remaining:
        raise InventoryError(
            _("cost lots hold %(held)s of %(quantity)s units for SKU %(sku)s at warehouse %(warehouse)s")
            % {"held": quantity - remaining, "quantity": quantity, "sku": sku_id, "warehouse": warehouse_id}
        )
    CostLot.objects.bulk_update([lot for lot, _u in taken], ["quantity_remaining"])
    LotConsumption.objects.bulk_create(LotConsumption(lot=lot, reference=reference, quantity=units) for lot, units in taken)
    return taken


def cogs_of(taken: list[tuple[CostLot, int]]) -> Money | None:
    if not taken:
        return None
    currency = taken[0][0].unit_cost.currency
    total = sum((Decimal(lot.unit_cost.amount) * units for lot, units in taken), Decimal(0))
    return Money(money_round_cents(total), currency)


def moves_record(moves: list[StockMove]) -> None:
    StockMove.objects.bulk_create(moves)
