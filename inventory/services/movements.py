"""Receipts, adjustments, transfers and returns: every one writes the ledger and the lots."""
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import transaction
from djmoney.money import Money

from erp.l10n import business_today
from inventory.events import sellable_changed_on_commit
from inventory.exceptions import InventoryError
from inventory.models import CostLot, LotConsumption, MoveKind, StockMove
from inventory.services.fx import CENT, to_base
from inventory.services.levels import (
    lot_create,
    lots_consume_fifo,
    money_round_cents,
    moves_record,
    pool_add_on_hand,
    pool_lock,
    stock_add_on_hand,
)


def _positive_int(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InventoryError(f"{what} must be a whole number above zero, got {value!r}")
    return value


def _warehouse(warehouse_id: int):
    from warehouses.models import Warehouse

    warehouse = Warehouse.objects.filter(pk=warehouse_id).first()
    if warehouse is None:
        raise InventoryError(f"unknown warehouse id {warehouse_id}")
    return warehouse


@dataclass(frozen=True)
class ReceiptLine:
    sku_id: int
    quantity: int
    unit_cost: Money


def _spread_landed_cost(lines: list[ReceiptLine], landed_cost: Money | None) -> list[Decimal]:
    """Split landed cost (freight, duty) over the lines by units, to the cent, handing leftover
    cents to the lines with the largest remainders so the parts add up to the whole."""
    if landed_cost is None or landed_cost.amount == 0:
        return [Decimal(0)] * len(lines)
    total_units = sum(line.quantity for line in lines)
    cents = int((Decimal(landed_cost.amount) * 100).to_integral_value())
    exact = [Decimal(cents) * line.quantity / total_units for line in lines]
    floors = [int(x) for x in exact]
    leftover = cents - sum(floors)
    for i in sorted(range(len(lines)), key=lambda i: exact[i] - floors[i], reverse=True)[:leftover]:
        floors[i] += 1
    return [Decimal(c) / 100 for c in floors]


@transaction.atomic
def stock_receive(*, warehouse_id: int, lines: list[ReceiptLine], reference: str, landed_cost: Money | None = None, actor=None,
                  received_on: date | None = None) -> list[CostLot]:
    """Put received units on hand and create one cost lot per line at its landed unit cost in the
    seller's base currency: unit cost converted at the receipt date's rate (4 decimal places) +
    its share of `landed_cost` (converted to the cent, then spread by units). Lots keep the
    invoiced unit cost and the rate used. A missing rate refuses the whole receipt."""
    _warehouse(warehouse_id)
    if not lines:
        raise InventoryError("a receipt needs at least one line")
    for line in lines:
        _positive_int(line.quantity, "received quantity")
        if line.unit_cost.amount < 0:
            raise InventoryError("unit cost cannot be negative")
    on = received_on or business_today()
    rates: dict = {}  # one rate lookup per currency, not per line
    landed_base = to_base(landed_cost, on, places=CENT, rates=rates).amount if landed_cost is not None and landed_cost.amount else None
    converted = [to_base(line.unit_cost, on, rates=rates) for line in lines]
    shares = _spread_landed_cost(lines, landed_base)
    skus = pool_lock(line.sku_id for line in lines)
    missing = sorted({line.sku_id for line in lines} - set(skus))
    if missing:
        raise InventoryError(f"unknown SKU id(s): {', '.join(map(str, missing))}")
    lots = []
    for line, share, conv in sorted(zip(lines, shares, converted), key=lambda triple: triple[0].sku_id):
        pool_add_on_hand(sku_id=line.sku_id, delta=line.quantity)
        stock_add_on_hand(sku_id=line.sku_id, warehouse_id=warehouse_id, delta=line.quantity)
        unit = Decimal(conv.amount.amount) + share / line.quantity
        lots.append(lot_create(sku_id=line.sku_id, warehouse_id=warehouse_id, quantity=line.quantity,
                               unit_cost=Money(unit, conv.amount.currency), reference=reference,
                               source_unit_cost=line.unit_cost if conv.rate is not None else None, fx_rate=conv.rate))
    moves_record([
        StockMove(sku_id=line.sku_id, warehouse_id=warehouse_id, kind=MoveKind.RECEIPT, on_hand_delta=line.quantity,
                  reference=reference, actor=actor)
        for line in lines
    ])
    sellable_changed_on_commit(skus)
    return lots


@transaction.atomic
def stock_adjust(*, sku_id: int, warehouse_id: int, delta: int, reason: str, actor=None, unit_cost: Money | None = None) -> None:
    """Correct on hand after a count, damage or loss. A reason is required. Units found create a
    lot at `unit_cost` (default: the SKU's default unit cost); units lost leave the oldest lots.
    Never removes units that are reserved."""
    if isinstance(delta, bool) or not isinstance(delta, int) or delta == 0:
        raise InventoryError(f"adjustment must be a whole number other than zero, got {delta!r}")
    if not reason.strip():
        raise InventoryError("an adjustment needs a reason")
    _warehouse(warehouse_id)
    skus = pool_lock([sku_id])
    if sku_id not in skus:
        raise InventoryError(f"unknown SKU id {sku_id}")
    reference = f"adjust:{reason.strip()[:80]}"
    if delta < 0:
        if not stock_add_on_hand(sku_id=sku_id, warehouse_id=warehouse_id, delta=delta):
            raise InventoryError(f"cannot remove {-delta} units: fewer unreserved units are on hand at this warehouse")
        pool_add_on_hand(sku_id=sku_id, delta=delta)
        lots_consume_fifo(sku_id=sku_id, warehouse_id=warehouse_id, quantity=-delta, reference=reference)
    else:
        pool_add_on_hand(sku_id=sku_id, delta=delta)
        stock_add_on_hand(sku_id=sku_id, warehouse_id=warehouse_id, delta=delta)
        cost = unit_cost or skus[sku_id].default_unit_cost
        conv = to_base(cost, business_today())
        lot_create(sku_id=sku_id, warehouse_id=warehouse_id, quantity=delta, unit_cost=conv.amount, reference=reference,
                   source_unit_cost=cost if conv.rate is not None else None, fx_rate=conv.rate)
    moves_record([StockMove(sku_id=sku_id, warehouse_id=warehouse_id, kind=MoveKind.ADJUST, on_hand_delta=delta,
                            reason=reason.strip(), reference=reference, actor=actor)])
    sellable_changed_on_commit([sku_id])


@transaction.atomic
def stock_transfer(*, sku_id: int, from_warehouse_id: int, to_warehouse_id: int, quantity: int, reference: str, actor=None) -> None:
    """Move unreserved units between warehouses; their cost lots move with them (same unit cost
    and receipt date, so FIFO order is kept)."""
    _positive_int(quantity, "transfer quantity")
    if from_warehouse_id == to_warehouse_id:
        raise InventoryError("a transfer needs two different warehouses")
    _warehouse(from_warehouse_id)
    _warehouse(to_warehouse_id)
    if sku_id not in pool_lock([sku_id]):
        raise InventoryError(f"unknown SKU id {sku_id}")
    # Stock rows in warehouse id order (the module's lock order).
    first, second = sorted([(from_warehouse_id, -quantity), (to_warehouse_id, quantity)])
    for warehouse_id, delta in (first, second):
        if not stock_add_on_hand(sku_id=sku_id, warehouse_id=warehouse_id, delta=delta):
            raise InventoryError(f"cannot transfer {quantity} units: fewer unreserved units are on hand at the source")
    for lot, units in lots_consume_fifo(sku_id=sku_id, warehouse_id=from_warehouse_id, quantity=quantity, reference=f"transfer:{reference}"):
        lot_create(sku_id=sku_id, warehouse_id=to_warehouse_id, quantity=units, unit_cost=lot.unit_cost,
                   reference=f"transfer:{reference}", received_at=lot.received_at)
    moves_record([
        StockMove(sku_id=sku_id, warehouse_id=from_warehouse_id, kind=MoveKind.TRANSFER_OUT, on_hand_delta=-quantity, reference=reference, actor=actor),
        StockMove(sku_id=sku_id, warehouse_id=to_warehouse_id, kind=MoveKind.TRANSFER_IN, on_hand_delta=quantity, reference=reference, actor=actor),
    ])


@transaction.atomic
def stock_return(*, reservation_reference: str, sku_id: int, warehouse_id: int, quantity: int, actor=None) -> Money:
    """Take returned units back on hand at their original cost: the most recently consumed units
    of that shipment line go back into their own lot (or a lot at the same cost when they come
    back to another warehouse). Returns the cost of the returned units (half-up to the cent).
    Refuses to take back more than was shipped and not yet returned."""
    from inventory.services.reservations import consumption_reference

    _positive_int(quantity, "returned quantity")
    _warehouse(warehouse_id)
    if sku_id not in pool_lock([sku_id]):
        raise InventoryError(f"unknown SKU id {sku_id}")
    ref = consumption_reference(reference=reservation_reference, sku_id=sku_id)
    consumptions = list(LotConsumption.objects.select_for_update().select_related("lot").filter(reference=ref).order_by("-lot__received_at", "-pk"))
    returnable = sum(c.quantity - c.returned for c in consumptions)
    if quantity > returnable:
        raise InventoryError(f"only {returnable} unit(s) of this shipment line can still be returned, not {quantity}")
    pool_add_on_hand(sku_id=sku_id, delta=quantity)
    stock_add_on_hand(sku_id=sku_id, warehouse_id=warehouse_id, delta=quantity)
    remaining, cost = quantity, Decimal(0)
    currency = None
    for consumption in consumptions:
        units = min(consumption.quantity - consumption.returned, remaining)
        if units <= 0:
            continue
        lot = consumption.lot
        if lot.warehouse_id == warehouse_id:
            _lot_put_back(lot, units)
        else:
            lot_create(sku_id=sku_id, warehouse_id=warehouse_id, quantity=units, unit_cost=lot.unit_cost, reference=f"return:{ref}", received_at=lot.received_at)
        consumption.returned += units
        consumption.save(update_fields=["returned"])
        cost += Decimal(lot.unit_cost.amount) * units
        currency = lot.unit_cost.currency
        remaining -= units
        if remaining == 0:
            break
    moves_record([StockMove(sku_id=sku_id, warehouse_id=warehouse_id, kind=MoveKind.RETURN, on_hand_delta=quantity,
                            reference=reservation_reference, actor=actor)])
    sellable_changed_on_commit([sku_id])
    return Money(money_round_cents(cost), currency)


def _lot_put_back(lot: CostLot, units: int) -> None:
    from django.db.models import F

    CostLot.objects.filter(pk=lot.pk).update(quantity_remaining=F("quantity_remaining") + units)
