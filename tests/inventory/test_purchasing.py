import pytest
from django_tenants.utils import tenant_context

from inventory.audit import stock_audit_differences
from inventory.exceptions import InventoryError
from inventory.models import AlertStatus, CostLot, POStatus, ReorderAlert, Supplier
from inventory.selectors import Holder
from inventory.services import reservation_consume, reservation_create
from inventory.services.purchasing import purchase_order_cancel, purchase_order_create, purchase_order_receive, purchase_order_send
from inventory.services.reorder import reorder_alerts_raise, reorder_alerts_to_purchase_orders
from tests.inventory.factories import make_sku, make_warehouses, receive, usd


@pytest.fixture
def shop(alpha):
    with tenant_context(alpha):
        yield make_warehouses()


def test_purchase_order_partial_then_full_receipt_creates_lots_and_stock(shop):
    supplier = Supplier.objects.create(name="Shenzhen Beauty", lead_time_days=15)
    lip, eye = make_sku("PO-LIP"), make_sku("PO-EYE")
    po = purchase_order_create(supplier_id=supplier.pk, warehouse_id=shop["LA"].pk, lines=[(lip.pk, 100, usd("2.00")), (eye.pk, 50, usd("3.00"))])
    assert po.status == POStatus.DRAFT and po.number.startswith("PO-")
    with pytest.raises(InventoryError, match="only sent purchase orders"):
        purchase_order_receive(po_id=po.pk, quantities={lip.pk: 1})
    purchase_order_send(po_id=po.pk)

    po = purchase_order_receive(po_id=po.pk, quantities={lip.pk: 60}, landed_cost=usd("30.00"))
    assert po.status == POStatus.PARTIAL
    lot = CostLot.objects.get(sku=lip)
    assert (lot.quantity_received, lot.unit_cost) == (60, usd("2.5000"))  # 2.00 + 30.00 / 60
    with pytest.raises(InventoryError, match="only 40 still open"):
        purchase_order_receive(po_id=po.pk, quantities={lip.pk: 41, eye.pk: 50})
    assert CostLot.objects.filter(sku=eye).count() == 0  # the refused receipt changed nothing
    with pytest.raises(InventoryError, match="not on"):
        purchase_order_receive(po_id=po.pk, quantities={make_sku("PO-OTHER").pk: 1})
    with pytest.raises(InventoryError, match="whole number"):
        purchase_order_receive(po_id=po.pk, quantities={eye.pk: 1.5})

    po = purchase_order_receive(po_id=po.pk, quantities={lip.pk: 40, eye.pk: 50})
    assert po.status == POStatus.RECEIVED
    lip.refresh_from_db()
    assert lip.on_hand == 100
    with pytest.raises(InventoryError, match="cannot be cancelled"):
        purchase_order_cancel(po_id=po.pk)
    assert stock_audit_differences() == []


def test_purchase_order_refuses_bad_lines(shop):
    supplier = Supplier.objects.create(name="S2")
    sku = make_sku("PO-BAD")
    for lines, message in (
        ([(sku.pk, 0, usd("1"))], "whole number"),
        ([(sku.pk, 5, usd("-1"))], "cannot be negative"),
        ([(sku.pk, 5, usd("1")), (sku.pk, 1, usd("1"))], "appears twice"),
        ([(999999, 5, usd("1"))], "unknown SKU"),
        ([], "at least one line"),
    ):
        with pytest.raises(InventoryError, match=message):
            purchase_order_create(supplier_id=supplier.pk, warehouse_id=shop["LA"].pk, lines=lines)


def test_reorder_point_from_velocity_lead_time_and_cover_days(shop):
    supplier = Supplier.objects.create(name="Lead15", lead_time_days=15)
    sku = make_sku("RO-1")
    sku.preferred_supplier = supplier
    sku.save()
    # 2,800 units shipped in the 28-day window → 100 a day; 15 + 5 days → reorder point 2,000.
    receive(sku, shop["LA"], 2800 + 2000)
    reservation_create(reference="BIG", warehouse_id=shop["LA"].pk, holder=Holder.channel("tiktok_shop"), lines=[(sku.pk, 2800)])
    reservation_consume(reference="BIG")
    assert reorder_alerts_raise() == {"raised": 0, "resolved": 0}  # exactly 2,000: not below

    reservation_create(reference="ONE", warehouse_id=shop["LA"].pk, holder=Holder.channel("tiktok_shop"), lines=[(sku.pk, 1)])
    assert reorder_alerts_raise()["raised"] == 1
    alert = ReorderAlert.objects.get(sku=sku, status=AlertStatus.OPEN)
    assert (alert.reorder_point, alert.position, alert.daily_velocity) == (2000, 1999, 100)
    assert alert.suggested_quantity == 2000 + 500 - 1999
    assert str(alert.days_of_cover) == "20.0"  # 1,999 units at 100 a day
    assert reorder_alerts_raise()["raised"] == 0  # still one open alert, refreshed

    [po] = reorder_alerts_to_purchase_orders(alert_ids=[alert.pk], warehouse_id=shop["LA"].pk)
    assert po.status == POStatus.DRAFT and po.supplier == supplier
    assert po.lines.get().quantity_ordered == alert.suggested_quantity
    alert.refresh_from_db()
    assert alert.status == AlertStatus.ORDERED
    purchase_order_send(po_id=po.pk)
    reorder_alerts_raise()
    assert not ReorderAlert.objects.filter(sku=sku, status=AlertStatus.OPEN).exists()  # on order counts


def test_one_click_po_names_skus_without_a_supplier(shop):
    sku = make_sku("RO-ORPHAN")
    receive(sku, shop["LA"], 10)
    reservation_create(reference="O1", warehouse_id=shop["LA"].pk, holder=Holder.channel("shopify"), lines=[(sku.pk, 9)])
    reservation_consume(reference="O1")
    reorder_alerts_raise()
    alert = ReorderAlert.objects.get(sku=sku)
    with pytest.raises(InventoryError, match="RO-ORPHAN"):
        reorder_alerts_to_purchase_orders(alert_ids=[alert.pk], warehouse_id=shop["LA"].pk)
