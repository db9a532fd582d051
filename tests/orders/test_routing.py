"""Routing to the nearest warehouse that can fill the order, splitting and backordering, and the
stock consequences of cancelling and returning."""
from decimal import Decimal

import pytest
from django_tenants.utils import tenant_context

from inventory.models import SKU, Reservation, ReservationStatus
from orders.models import ExceptionReason, OrderStatus
from orders.services.pipeline import order_cancel, order_pipeline, order_return, shipment_pack, shipment_ship
from tests.inventory.factories import make_sku, make_warehouses, receive
from tests.orders.factories import place


@pytest.fixture
def shop(alpha):
    with tenant_context(alpha):
        warehouses = make_warehouses()
        sku = make_sku("LIP-1")
        for wh in warehouses.values():
            receive(sku, wh, 10, reference=f"PO-{wh.code}")
        yield {"wh": warehouses, "sku": sku}


def _routed(external_id, lines, to):
    order = place(external_id, lines, to=to)
    order_pipeline(order_id=order.pk)
    order.refresh_from_db()
    return order


@pytest.mark.parametrize("state, expected", [("CA", "LA"), ("IL", "CHI"), ("NY", "NJ")])
def test_routes_to_the_nearest_warehouse(shop, state, expected):
    order = _routed(f"R-{state}", [("LIP-1", 2)], state)
    assert order.status == OrderStatus.ROUTED
    assert [s.warehouse.code for s in order.shipments.all()] == [expected]
    assert order.reserved_at is not None and order.events.filter(to_status=OrderStatus.RESERVED).exists()


def test_skips_a_nearer_warehouse_that_cannot_fill_every_line(shop):
    other = make_sku("BLUSH-1")
    receive(other, shop["wh"]["CHI"], 5)
    order = _routed("R-2", [("LIP-1", 2), ("BLUSH-1", 1)], "CA")
    assert [s.warehouse.code for s in order.shipments.all()] == ["CHI"]


def test_splits_across_the_fewest_warehouses_when_none_can_fill_alone(shop):
    order = _routed("R-SPLIT", [("LIP-1", 15)], "CA")
    shipments = {s.warehouse.code: sum(l.quantity for l in s.lines.all()) for s in order.shipments.all()}
    assert shipments == {"LA": 10, "CHI": 5}  # two warehouses, nearest first; not three
    assert order.status == OrderStatus.ROUTED


def test_short_stock_backorders_with_a_reason_and_reserves_nothing(shop):
    order = _routed("R-SHORT", [("LIP-1", 31)], "CA")
    assert order.status == OrderStatus.BACKORDERED
    assert order.exception_reason == ExceptionReason.STOCK_SHORT
    assert "LIP-1: ordered 31, 30 free" in order.exception_detail
    assert not Reservation.objects.filter(reference__startswith=f"order:{order.pk}:").exists()
    assert SKU.objects.get(code="LIP-1").reserved == 0


def test_cancellation_after_reservation_releases_the_stock(shop):
    order = _routed("R-CANCEL", [("LIP-1", 15)], "CA")
    assert SKU.objects.get(code="LIP-1").reserved == 15
    order_cancel(order_id=order.pk, reason="buyer changed their mind")
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert SKU.objects.get(code="LIP-1").reserved == 0
    assert set(Reservation.objects.filter(reference__startswith=f"order:{order.pk}:").values_list("status", flat=True)) == {ReservationStatus.RELEASED}
    order_cancel(order_id=order.pk)  # twice is harmless
    assert SKU.objects.get(code="LIP-1").on_hand == 30


def test_a_return_restocks_at_the_fifo_cost_it_left_at(alpha):
    with tenant_context(alpha):
        la = make_warehouses()["LA"]
        sku = make_sku("RET-1")
        receive(sku, la, 2, unit_cost="4.00", reference="PO-OLD")
        receive(sku, la, 5, unit_cost="6.00", reference="PO-NEW")
        order = _routed("R-RET", [("RET-1", 3)], "CA")
        shipment = order.shipments.get()
        shipment_pack(shipment_id=shipment.pk)
        shipment_ship(shipment_id=shipment.pk, carrier="UPS", tracking_number="1Z999")
        assert SKU.objects.get(pk=sku.pk).on_hand == 4
        line = order.lines.get()
        cost = order_return(order_id=order.pk, quantities={line.pk: 1})
        # The last unit out was one of the 6.00 lot (FIFO took 2 × 4.00 then 1 × 6.00): it comes back at 6.00.
        assert cost == "6.00 USD"
        order.refresh_from_db()
        assert order.status == OrderStatus.SHIPPED and SKU.objects.get(pk=sku.pk).on_hand == 5
        cost = order_return(order_id=order.pk, quantities={line.pk: 2})
        assert cost == "8.00 USD"
        order.refresh_from_db()
        assert order.status == OrderStatus.RETURNED and order.lines.get().quantity_returned == 3
        assert Decimal(SKU.objects.get(pk=sku.pk).on_hand) == 7
