from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from creators.exceptions import CreatorError
from creators.models import ContactMethod, SupplyRequest, SupplyStatus
from creators.selectors import supply_queue, this_month, to_call
from creators.services.care import contact_log_add, sample_send
from creators.services.policy import tier_policy_in_force
from creators.services.supply import sku_cover, supply_queue_drain, supply_request_cancel, supply_request_submit
from inventory.models import MoveKind, Reservation, StockMove
from inventory.selectors import Holder
from inventory.services import reservation_consume, reservation_create
from tests.creators.factories import add_orders, make_creator
from tests.inventory.factories import make_sku, make_warehouses, receive


@pytest.fixture
def scarce(alpha):
    """A SKU selling 3 a day (84 shipped over the 28-day window) with 16 left: 5.3 days of cover."""
    with tenant_context(alpha):
        warehouses = make_warehouses()
        la = warehouses["LA"]
        sku = make_sku("HOT-1")
        receive(sku, la, 100)
        reservation_create(reference="SOLD", warehouse_id=la.pk, holder=Holder.channel("tiktok_shop"), lines=[(sku.pk, 84)])
        reservation_consume(reference="SOLD")
        creators = {h: make_creator(h, tier=t) for h, t in [("s.one", "S"), ("a.one", "A"), ("a.two", "A"), ("b.one", "B")]}
        yield {"sku": sku, "la": la, "creators": creators}


def _submit(shop, ref, handle, qty):
    return supply_request_submit(reference=ref, creator_id=shop["creators"][handle].pk, warehouse_id=shop["la"].pk,
                                 lines=[(shop["sku"].pk, qty)])


def test_supply_queue_serves_by_priority_then_age_under_scarcity(scarce):
    sku = scarce["sku"]
    cover = sku_cover(sku_ids=[sku.pk])[sku.pk]
    assert (cover.free, cover.days, cover.scarce) == (16, Decimal("5.3"), True)
    b = _submit(scarce, "W-B1", "b.one", 5)
    assert (b.status, b.wait_reason) == (SupplyStatus.WAITING, "scarce")  # B waits while stock is scarce
    a1 = _submit(scarce, "W-A1", "a.one", 10)
    assert a1.status == SupplyStatus.SERVED and Reservation.objects.filter(reference="W-A1").exists()
    s = _submit(scarce, "W-S1", "s.one", 10)
    assert (s.status, s.wait_reason) == (SupplyStatus.WAITING, "short")  # 6 left
    a2 = _submit(scarce, "W-A2", "a.two", 3)
    assert (a2.status, a2.wait_reason) == (SupplyStatus.WAITING, "queue")  # 3 would fit, but S waits first
    assert [line.request.reference for line in supply_queue(sku_id=sku.pk)] == ["W-S1", "W-A2", "W-B1"]
    assert _submit(scarce, "W-A2", "a.two", 3).pk == a2.pk  # a replay changes nothing

    receive(sku, scarce["la"], 20, reference="PO-2")  # 26 free: S and A are served, B still waits (13 left, 4.3 days)
    assert supply_queue_drain(sku_ids=[sku.pk]) == ["W-S1", "W-A2"]
    assert SupplyRequest.objects.get(reference="W-B1").status == SupplyStatus.WAITING
    receive(sku, scarce["la"], 50, reference="PO-3")
    assert supply_queue_drain(sku_ids=[sku.pk]) == ["W-B1"]
    assert supply_queue_drain(sku_ids=[sku.pk]) == []
    served = SupplyRequest.objects.filter(status=SupplyStatus.SERVED).order_by("served_at", "pk")
    assert [r.reference for r in served] == ["W-A1", "W-S1", "W-A2", "W-B1"]


def test_a_short_head_of_queue_is_not_overtaken_and_cancel_frees_the_queue(scarce):
    sku = scarce["sku"]
    s = _submit(scarce, "BIG-S", "s.one", 40)  # more than there is
    small = _submit(scarce, "SMALL-A", "a.one", 2)
    assert s.wait_reason == "short" and small.wait_reason == "queue"
    assert supply_queue_drain(sku_ids=[sku.pk]) == []
    supply_request_cancel(request_id=s.pk)
    assert supply_queue_drain(sku_ids=[sku.pk]) == ["SMALL-A"]
    with pytest.raises(CreatorError, match="Only a waiting request"):
        supply_request_cancel(request_id=s.pk)


def test_supply_request_rejects_bad_lines(scarce):
    with pytest.raises(CreatorError, match="above zero"):
        _submit(scarce, "BAD-1", "a.one", 0)
    with pytest.raises(CreatorError, match="Unknown SKU"):
        supply_request_submit(reference="BAD-2", creator_id=scarce["creators"]["a.one"].pk, warehouse_id=scarce["la"].pk, lines=[(999999, 1)])
    assert not SupplyRequest.objects.filter(reference__startswith="BAD").exists()


def test_sample_ships_through_the_ledger_at_fifo_cost_and_counts_in_roi(alpha):
    with tenant_context(alpha):
        la = make_warehouses()["LA"]
        sku = make_sku("SAMPLE-1")
        receive(sku, la, 10, unit_cost="4.00", reference="PO-OLD")
        receive(sku, la, 10, unit_cost="6.00", reference="PO-NEW")
        creator = make_creator("sample.sue", tier="B")
        month = this_month()
        add_orders(creator, sku, month=month, count=10, price="30.00", commission="4.80")
        sample = sample_send(creator_id=creator.pk, sku_id=sku.pk, warehouse_id=la.pk, quantity=12, content_url="https://www.tiktok.com/@sample.sue/video/1")
        assert sample.cost.amount == Decimal("52.00")  # 10 × 4.00 + 2 × 6.00, oldest lot first
        ship = StockMove.objects.get(reference=sample.reference, kind=MoveKind.SHIP)
        assert ship.on_hand_delta == -12
        sku.refresh_from_db()
        assert sku.on_hand == 8
        row = creator.months.get(month=month)
        assert row.sample_cost.amount == Decimal("52.00")
        assert row.roi == Decimal("3.00")  # GMV 300.00 ÷ (commission 48.00 + samples 52.00)
        with pytest.raises(CreatorError, match="Not enough stock for the sample"):
            sample_send(creator_id=creator.pk, sku_id=sku.pk, warehouse_id=la.pk, quantity=9)
        assert creator.samples.count() == 1


def test_contact_log_and_the_s_tier_to_call_list(alpha):
    with tenant_context(alpha):
        policy = tier_policy_in_force()
        quiet = make_creator("quiet.star", tier="S")
        called = make_creator("called.star", tier="S")
        stale = make_creator("stale.star", tier="S")
        make_creator("a.tier", tier="A")
        contact_log_add(creator_id=called.pk, method=ContactMethod.CALL, summary="Planned the Black Friday live")
        contact_log_add(creator_id=stale.pk, method=ContactMethod.MESSAGE, summary="Sent the new catalogue",
                        contacted_at=timezone.now() - timedelta(days=8))
        assert [c.handle for c in to_call(policy=policy)] == ["quiet.star", "stale.star"]
        called.refresh_from_db()
        assert called.last_contacted_at is not None
        with pytest.raises(CreatorError, match="summary"):
            contact_log_add(creator_id=quiet.pk, method=ContactMethod.CALL, summary="  ")
        with pytest.raises(CreatorError, match="future"):
            contact_log_add(creator_id=quiet.pk, method=ContactMethod.CALL, summary="x", contacted_at=timezone.now() + timedelta(days=1))
