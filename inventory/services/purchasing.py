"""Purchase orders: draft → sent → partially received → received, or cancelled."""
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from djmoney.money import Money

from erp.l10n import business_now, seller_base_currency
from inventory.exceptions import InventoryError
from inventory.models import SKU, POStatus, PurchaseOrder, PurchaseOrderLine, Supplier
from inventory.services.movements import ReceiptLine, stock_receive


def _next_number() -> str:
    last = PurchaseOrder.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    return f"PO-{business_now():%Y%m}-{last + 1:05d}"


@transaction.atomic
def purchase_order_create(*, supplier_id: int, warehouse_id: int, lines: list[tuple[int, int, Money]], actor=None,
                          currency: str = "") -> PurchaseOrder:
    """A draft PO with (sku_id, quantity, unit_cost) lines; one line per SKU. All unit costs are
    in the PO's currency (default: the currency of the first line, else the base currency); it is
    converted into the base currency at each receipt's date."""
    from warehouses.models import Warehouse

    if not Supplier.objects.filter(pk=supplier_id, is_active=True).exists():
        raise InventoryError(f"unknown or inactive supplier id {supplier_id}")
    if not Warehouse.objects.filter(pk=warehouse_id, is_active=True).exists():
        raise InventoryError(f"unknown or inactive warehouse id {warehouse_id}")
    if not lines:
        raise InventoryError("a purchase order needs at least one line")
    seen = set()
    for i, (sku_id, quantity, unit_cost) in enumerate(lines, start=1):
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
            raise InventoryError(f"line {i}: quantity must be a whole number above zero, got {quantity!r}")
        if unit_cost.amount < 0:
            raise InventoryError(f"line {i}: unit cost cannot be negative")
        if sku_id in seen:
            raise InventoryError(f"line {i}: the SKU appears twice")
        seen.add(sku_id)
    currency = (currency or (str(lines[0][2].currency) if lines else "") or seller_base_currency()).upper()
    if currency not in settings.CURRENCIES:
        raise InventoryError(_("unknown currency %(currency)s") % {"currency": currency})
    for i, (_sku_id, _quantity, unit_cost) in enumerate(lines, start=1):
        if str(unit_cost.currency) != currency:
            raise InventoryError(_("line %(line)s: the unit cost is in %(found)s but the purchase order is in %(currency)s")
                                 % {"line": i, "found": unit_cost.currency, "currency": currency})
    unknown = sorted(seen - set(SKU.objects.filter(pk__in=seen).values_list("pk", flat=True)))
    if unknown:
        raise InventoryError(f"unknown SKU id(s): {', '.join(map(str, unknown))}")
    po = PurchaseOrder.objects.create(number=_next_number(), supplier_id=supplier_id, warehouse_id=warehouse_id, created_by=actor,
                                      currency=currency)
    PurchaseOrderLine.objects.bulk_create(
        PurchaseOrderLine(purchase_order=po, sku_id=sku_id, quantity_ordered=q, unit_cost=cost) for sku_id, q, cost in lines
    )
    return po


@transaction.atomic
def purchase_order_send(*, po_id: int) -> PurchaseOrder:
    po = PurchaseOrder.objects.select_for_update().get(pk=po_id)
    if po.status != POStatus.DRAFT:
        raise InventoryError(f"{po.number} is {po.get_status_display()}; only drafts can be sent")
    po.status, po.sent_at = POStatus.SENT, timezone.now()
    po.save(update_fields=["status", "sent_at"])
    return po


@transaction.atomic
def purchase_order_receive(*, po_id: int, quantities: dict[int, int], landed_cost: Money | None = None, actor=None) -> PurchaseOrder:
    """Receive some or all open units, by SKU id. Creates cost lots and stock through the ledger
    (landed cost spread over this receipt's units). Refuses to receive more than is open on a
    line, SKUs not on the PO, and POs that are not sent or partially received — all or nothing."""
    po = PurchaseOrder.objects.select_for_update().get(pk=po_id)
    if po.status not in (POStatus.SENT, POStatus.PARTIAL):
        raise InventoryError(f"{po.number} is {po.get_status_display()}; only sent purchase orders can be received")
    lines = {line.sku_id: line for line in po.lines.select_for_update().select_related("sku")}
    receipt = []
    for sku_id, quantity in quantities.items():
        line = lines.get(sku_id)
        if line is None:
            raise InventoryError(f"SKU id {sku_id} is not on {po.number}")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
            raise InventoryError(f"{line.sku.code}: quantity must be a whole number of zero or more, got {quantity!r}")
        if quantity > line.quantity_open:
            raise InventoryError(f"{line.sku.code}: {quantity} received but only {line.quantity_open} still open on {po.number}")
        if quantity:
            receipt.append(ReceiptLine(sku_id, quantity, line.unit_cost))
            line.quantity_received += quantity
    if not receipt:
        raise InventoryError("enter at least one received quantity")
    stock_receive(warehouse_id=po.warehouse_id, lines=receipt, reference=po.number, landed_cost=landed_cost, actor=actor)
    PurchaseOrderLine.objects.bulk_update(lines.values(), ["quantity_received"])
    po.status = POStatus.RECEIVED if all(line.quantity_open == 0 for line in lines.values()) else POStatus.PARTIAL
    po.save(update_fields=["status"])
    return po


@transaction.atomic
def purchase_order_cancel(*, po_id: int) -> PurchaseOrder:
    po = PurchaseOrder.objects.select_for_update().get(pk=po_id)
    if po.status not in (POStatus.DRAFT, POStatus.SENT):
        raise InventoryError(f"{po.number} is {po.get_status_display()} and cannot be cancelled")
    po.status = POStatus.CANCELLED
    po.save(update_fields=["status"])
    return po
