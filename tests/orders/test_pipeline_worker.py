"""The pipeline end to end with a real Celery worker: intake commits → the worker routes and
reserves → the warehouse packs and ships → tracking is recorded; a backordered order moves on by
itself when stock arrives."""
import time

import pytest

from inventory.models import SKU
from orders.models import Order, OrderStatus
from orders.services.pipeline import shipment_pack, shipment_ship
from tests.inventory.factories import make_sku, make_warehouses, receive
from tests.orders.factories import place
from tests.support import committed_in

TABLES = (
    "orders_shipmentline, orders_shipment, orders_orderevent, orders_orderline, orders_order, "
    "inventory_lotconsumption, inventory_costlot, inventory_stockmove, inventory_reservationline, inventory_reservation, "
    "inventory_allocation, inventory_stock, inventory_sku, inventory_product, inventory_category, warehouses_warehouse"
)


def _wait_for(order, status, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        order.refresh_from_db()
        if order.status == status:
            return order
        time.sleep(0.2)
    raise AssertionError(f"order {order.external_id} is {order.status}, not {status}: {order.exception_detail}")


@pytest.mark.worker
def test_orders_flow_through_the_worker_and_backorders_wake_up(committed, worker):
    with committed_in("alpha", truncate=TABLES):
        warehouses = make_warehouses()
        sku = make_sku("FLOW-1")
        receive(sku, warehouses["CHI"], 5)
        ready = place("FLOW-A", [("FLOW-1", 2)], to="IL")  # commits; the worker runs the pipeline
        waiting = place("FLOW-B", [("FLOW-1", 9)], to="NY")
        _wait_for(ready, OrderStatus.ROUTED)
        _wait_for(waiting, OrderStatus.BACKORDERED)
        assert ready.shipments.get().warehouse.code == "CHI"

        shipment = ready.shipments.get()
        shipment_pack(shipment_id=shipment.pk)
        shipment_ship(shipment_id=shipment.pk, carrier="UPS", tracking_number="1ZFLOW")
        deadline = time.monotonic() + 30
        while Order.objects.get(pk=ready.pk).tracking_pushed_at is None and time.monotonic() < deadline:
            time.sleep(0.2)
        ready.refresh_from_db()
        assert ready.status == OrderStatus.SHIPPED and ready.tracking_pushed_at is not None
        assert SKU.objects.get(pk=sku.pk).on_hand == 3

        receive(sku, warehouses["NJ"], 10, reference="PO-FLOW")  # stock arrives: the backorder retries itself
        _wait_for(waiting, OrderStatus.ROUTED)
        assert waiting.shipments.get().warehouse.code == "NJ" and waiting.exception_reason == ""
        stages = [e.to_status for e in waiting.events.all() if e.to_status]
        assert stages == [OrderStatus.RECEIVED, OrderStatus.BACKORDERED, OrderStatus.RECEIVED, OrderStatus.RESERVED, OrderStatus.ROUTED]
