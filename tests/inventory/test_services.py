from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django_tenants.utils import tenant_context

from inventory.audit import stock_audit_differences
from inventory.exceptions import InsufficientStock, InventoryError
from inventory.models import SKU, CostLot, Reservation, Stock, StockMove
from inventory.selectors import Holder, sellable_quantity
from inventory.services import (
    allocation_set,
    reservation_consume,
    reservation_create,
    reservation_release,
    stock_adjust,
    stock_receive,
    stock_return,
    stock_transfer,
)
from inventory.services.movements import ReceiptLine
from tests.inventory.factories import make_sku, make_warehouses, receive, usd
from warehouses.services import warehouse_delete, zip_location

TIKTOK = Holder.channel("tiktok_shop")
A, B, C = Holder.creator(1), Holder.creator(2), Holder.creator(3)


@pytest.fixture
def shop(alpha):
    with tenant_context(alpha):
        yield make_warehouses()


def _fresh(sku) -> SKU:
    return SKU.objects.get(pk=sku.pk)


def test_brief_example_safety_stock_and_allocations(shop):
    sku = make_sku("LIP-01", safety_units=20)
    receive(sku, shop["LA"], 100)
    assert sellable_quantity(sku=_fresh(sku), holder=C) == 80  # safety 20 held back

    allocation_set(sku_id=sku.pk, holder=A, quota=50)
    allocation_set(sku_id=sku.pk, holder=B, quota=30)
    sku = _fresh(sku)
    assert [sellable_quantity(sku=sku, holder=h) for h in (A, B, C)] == [50, 30, 0]
    with pytest.raises(InsufficientStock) as exc:
        reservation_create(reference="C-1", warehouse_id=shop["LA"].pk, holder=C, lines=[(sku.pk, 40)])
    assert exc.value.shortages[0].sku_code == "LIP-01" and exc.value.shortages[0].available == 0
    assert "LIP-01: asked 40, 0 available" in str(exc.value)

    reservation_create(reference="A-1", warehouse_id=shop["LA"].pk, holder=A, lines=[(sku.pk, 50)])
    with pytest.raises(InsufficientStock):
        reservation_create(reference="A-2", warehouse_id=shop["LA"].pk, holder=A, lines=[(sku.pk, 1)])
    assert sellable_quantity(sku=_fresh(sku), holder=B) == 30
    with pytest.raises(InventoryError, match="free to ring-fence"):
        allocation_set(sku_id=sku.pk, holder=C, quota=1)
    assert stock_audit_differences() == []


def test_percent_safety_stock_and_unallocated_remainder(shop):
    sku = make_sku("PCT-01", safety_units=5, safety_percent="10")
    receive(sku, shop["LA"], 200)
    assert sellable_quantity(sku=_fresh(sku), holder=TIKTOK) == 180  # max(5, 10% of 200)
    allocation_set(sku_id=sku.pk, holder=A, quota=100)
    sku = _fresh(sku)
    assert sellable_quantity(sku=sku, holder=A) == 180  # own 100 + unallocated 80
    assert sellable_quantity(sku=sku, holder=TIKTOK) == 80
    res = reservation_create(reference="A-9", warehouse_id=shop["LA"].pk, holder=A, lines=[(sku.pk, 120)])
    assert res.lines.get().from_quota == 100
    assert sellable_quantity(sku=_fresh(sku), holder=TIKTOK) == 60
    reservation_release(reference="A-9")
    assert sellable_quantity(sku=_fresh(sku), holder=A) == 180
    assert stock_audit_differences() == []


def test_reservation_is_all_or_nothing_and_lists_every_short_line(shop):
    lip, eye, nail = make_sku("LIP-02"), make_sku("EYE-02"), make_sku("NAIL-02")
    receive(lip, shop["LA"], 10)
    receive(eye, shop["LA"], 3)
    receive(nail, shop["CHI"], 50)  # in Chicago, not LA
    moves_before = StockMove.objects.count()
    with pytest.raises(InsufficientStock) as exc:
        reservation_create(reference="ORD-1", warehouse_id=shop["LA"].pk, holder=TIKTOK,
                           lines=[(lip.pk, 5), (eye.pk, 4), (nail.pk, 1)])
    assert {(s.sku_code, s.requested, s.available) for s in exc.value.shortages} == {("EYE-02", 4, 3), ("NAIL-02", 1, 0)}
    assert not Reservation.objects.filter(reference="ORD-1").exists()
    assert StockMove.objects.count() == moves_before
    assert Stock.objects.get(sku=lip, warehouse=shop["LA"]).reserved == 0 and _fresh(lip).reserved == 0

    ok = reservation_create(reference="ORD-2", warehouse_id=shop["LA"].pk, holder=TIKTOK, lines=[(lip.pk, 5), (eye.pk, 3)])
    again = reservation_create(reference="ORD-2", warehouse_id=shop["LA"].pk, holder=TIKTOK, lines=[(lip.pk, 5), (eye.pk, 3)])
    assert again.pk == ok.pk and _fresh(lip).reserved == 5  # a replay reserves nothing more
    assert stock_audit_differences() == []


def test_fifo_costing_across_two_lots_with_landed_cost_and_return_at_original_cost(shop):
    sku = make_sku("FIFO-1")
    receive(sku, shop["LA"], 10, unit_cost="5.00", reference="PO-1")
    receive(sku, shop["LA"], 10, unit_cost="7.00", reference="PO-2", landed="3.00")  # 0.30 a unit → 7.30
    lots = list(CostLot.objects.filter(sku=sku).order_by("received_at", "pk"))
    assert [lot.unit_cost for lot in lots] == [usd("5.0000"), usd("7.3000")]

    reservation_create(reference="ORD-F", warehouse_id=shop["LA"].pk, holder=TIKTOK, lines=[(sku.pk, 15)])
    cogs = reservation_consume(reference="ORD-F")
    assert cogs[sku.pk] == usd("86.50")  # 10 × 5.00 + 5 × 7.30
    assert [lot.quantity_remaining for lot in CostLot.objects.filter(sku=sku).order_by("received_at", "pk")] == [0, 5]
    assert reservation_consume(reference="ORD-F") == cogs  # replay: same COGS, nothing shipped twice
    assert _fresh(sku).on_hand == 5

    refund = stock_return(reservation_reference="ORD-F", sku_id=sku.pk, warehouse_id=shop["LA"].pk, quantity=3)
    assert refund == usd("21.90")  # the last units shipped came from the 7.30 lot
    assert CostLot.objects.get(pk=lots[1].pk).quantity_remaining == 8
    with pytest.raises(InventoryError, match="only 12 unit"):
        stock_return(reservation_reference="ORD-F", sku_id=sku.pk, warehouse_id=shop["LA"].pk, quantity=13)
    assert stock_audit_differences() == []


def test_landed_cost_is_spread_to_the_cent(shop):
    skus = [make_sku(f"SPLIT-{i}") for i in range(3)]
    lots = stock_receive(warehouse_id=shop["NJ"].pk, reference="PO-S", landed_cost=usd("10.00"),
                         lines=[ReceiptLine(s.pk, 1, usd("1.00")) for s in skus])
    shares = sorted(Decimal(lot.unit_cost.amount) - 1 for lot in lots)
    assert shares == [Decimal("3.33"), Decimal("3.33"), Decimal("3.34")] and sum(shares) == Decimal("10.00")


def test_release_and_ship_rules(shop):
    sku = make_sku("REL-1")
    receive(sku, shop["CHI"], 10)
    reservation_create(reference="R-1", warehouse_id=shop["CHI"].pk, holder=TIKTOK, lines=[(sku.pk, 4)])
    reservation_release(reference="R-1")
    reservation_release(reference="R-1")  # idempotent
    assert _fresh(sku).reserved == 0
    with pytest.raises(InventoryError, match="released and cannot ship"):
        reservation_consume(reference="R-1")
    reservation_create(reference="R-2", warehouse_id=shop["CHI"].pk, holder=TIKTOK, lines=[(sku.pk, 4)])
    reservation_consume(reference="R-2")
    with pytest.raises(InventoryError, match="already shipped"):
        reservation_release(reference="R-2")
    assert stock_audit_differences() == []


def test_adjustments_and_transfers_keep_lots_and_ledger_in_step(shop):
    sku = make_sku("ADJ-1", cost="4.00")
    receive(sku, shop["LA"], 10, unit_cost="4.00")
    reservation_create(reference="ADJ-R", warehouse_id=shop["LA"].pk, holder=TIKTOK, lines=[(sku.pk, 6)])
    with pytest.raises(InventoryError, match="fewer unreserved units"):
        stock_adjust(sku_id=sku.pk, warehouse_id=shop["LA"].pk, delta=-5, reason="damaged")
    with pytest.raises(InventoryError, match="needs a reason"):
        stock_adjust(sku_id=sku.pk, warehouse_id=shop["LA"].pk, delta=-1, reason="  ")
    stock_adjust(sku_id=sku.pk, warehouse_id=shop["LA"].pk, delta=-2, reason="damaged in transit")
    stock_adjust(sku_id=sku.pk, warehouse_id=shop["NJ"].pk, delta=7, reason="found in cycle count")
    stock_transfer(sku_id=sku.pk, from_warehouse_id=shop["NJ"].pk, to_warehouse_id=shop["CHI"].pk, quantity=5, reference="T-1")
    with pytest.raises(InventoryError, match="fewer unreserved units"):
        stock_transfer(sku_id=sku.pk, from_warehouse_id=shop["LA"].pk, to_warehouse_id=shop["CHI"].pk, quantity=3, reference="T-2")
    levels = {s.warehouse.code: (s.on_hand, s.reserved) for s in Stock.objects.filter(sku=sku).select_related("warehouse")}
    assert levels == {"LA": (8, 6), "NJ": (2, 0), "CHI": (5, 0)}
    assert _fresh(sku).on_hand == 15
    moved = CostLot.objects.get(sku=sku, warehouse=shop["CHI"])
    assert moved.unit_cost == usd("4.0000") and moved.quantity_remaining == 5
    assert stock_audit_differences() == []


@pytest.mark.parametrize("quantity", [0, -3, 2.5, "4", True])
def test_bad_quantities_are_refused_and_change_nothing(shop, quantity):
    sku = make_sku("BAD-1")
    receive(sku, shop["LA"], 10)
    moves = StockMove.objects.count()
    with pytest.raises(InventoryError, match="whole number"):
        reservation_create(reference="BAD", warehouse_id=shop["LA"].pk, holder=TIKTOK, lines=[(sku.pk, quantity)])
    with pytest.raises(InventoryError, match="whole number"):
        stock_receive(warehouse_id=shop["LA"].pk, lines=[ReceiptLine(sku.pk, quantity, usd("1"))], reference="X")
    assert StockMove.objects.count() == moves and _fresh(sku).on_hand == 10


def test_unknown_sku_or_warehouse_is_refused(shop):
    sku = make_sku("UNK-1")
    receive(sku, shop["LA"], 5)
    with pytest.raises(InventoryError, match="unknown SKU id"):
        reservation_create(reference="U1", warehouse_id=shop["LA"].pk, holder=TIKTOK, lines=[(sku.pk, 1), (999999, 1)])
    with pytest.raises(InventoryError, match="unknown or inactive warehouse"):
        reservation_create(reference="U2", warehouse_id=999999, holder=TIKTOK, lines=[(sku.pk, 1)])
    with pytest.raises(InventoryError, match="unknown warehouse"):
        receive(sku, type("W", (), {"pk": 999999})(), 1)
    assert _fresh(sku).reserved == 0 and _fresh(sku).on_hand == 5


def test_the_database_itself_refuses_negative_or_over_reserved_stock(shop):
    sku = make_sku("DB-1")
    receive(sku, shop["LA"], 5)
    for sql in (
        "UPDATE inventory_stock SET reserved = on_hand + 1 WHERE sku_id = %s",
        "UPDATE inventory_stock SET on_hand = -1, reserved = 0 WHERE sku_id = %s",
        "UPDATE inventory_sku SET reserved = on_hand + 1 WHERE id = %s",
    ):
        with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [sku.pk])


def test_stock_audit_reports_a_level_that_disagrees_with_the_ledger(shop):
    sku = make_sku("AUD-1")
    receive(sku, shop["LA"], 5)
    assert stock_audit_differences() == []
    Stock.objects.filter(sku=sku).update(on_hand=6)
    problems = stock_audit_differences()
    assert any("ledger says 5/0" in p for p in problems) and any("AUD-1" in p for p in problems)


def test_warehouses_get_coordinates_offline_and_are_not_deleted_with_stock(shop):
    assert zip_location("60607")["city"] == "Chicago"
    la = shop["LA"]
    assert (la.city, la.state) == ("Los Angeles", "CA") and Decimal("33") < la.latitude < Decimal("35")
    with pytest.raises(ValidationError, match="unknown US ZIP code"):
        zip_location("00000")
    sku = make_sku("WH-1")
    receive(sku, la, 3)
    with pytest.raises(ValidationError, match="still holds 3 unit"):
        warehouse_delete(warehouse_id=la.pk)
    stock_adjust(sku_id=sku.pk, warehouse_id=la.pk, delta=-3, reason="write-off")
    warehouse_delete(warehouse_id=la.pk)
    la.refresh_from_db()
    assert la.is_active is False  # it has history, so it is kept but closed
