"""Real threads, real connections, committed data: the database must not let stock oversell."""
import random
import threading
from collections import Counter

import pytest
from django.db import connection

from inventory.audit import stock_audit_differences
from inventory.exceptions import InsufficientStock
from inventory.models import Reservation, ReservationLine, ReservationStatus, Stock, StockMove
from inventory.selectors import Holder
from inventory.services import allocation_set, reservation_consume, reservation_create, reservation_release
from tests.inventory.factories import make_sku, make_warehouses, receive
from tests.support import committed_in

HOLDERS = [Holder.channel("tiktok_shop"), Holder.channel("shopify"), Holder.creator(7), Holder.creator(8)]
INVENTORY_TABLES = (
    "inventory_lotconsumption, inventory_costlot, inventory_stockmove, inventory_reservationline, inventory_reservation, "
    "inventory_allocation, inventory_stock, inventory_sku, inventory_product, inventory_category, warehouses_warehouse"
)


@pytest.fixture
def alpha_committed(committed):
    with committed_in("alpha", truncate=INVENTORY_TABLES) as alpha:
        yield alpha


def test_10000_concurrent_random_reservations_never_oversell_and_the_ledger_reconciles(alpha_committed):
    rng = random.Random(20261124)
    warehouses = list(make_warehouses().values())
    skus = [make_sku(f"HOT-{i:02d}", safety_units=rng.choice([0, 0, 5])) for i in range(10)]
    received = Counter()
    for sku in skus:
        for wh in warehouses:
            qty = rng.randint(80, 220)
            receive(sku, wh, qty, reference=f"PO-{sku.code}-{wh.code}")
            received[(sku.pk, wh.pk)] += qty
        allocation_set(sku_id=sku.pk, holder=HOLDERS[2], quota=40)
        allocation_set(sku_id=sku.pk, holder=HOLDERS[3], quota=25)

    attempts, threads_n = 10_000, 8
    outcomes = Counter()
    errors: list[BaseException] = []
    lock = threading.Lock()

    def client(worker: int) -> None:
        local = random.Random(worker)
        connection.set_tenant(alpha_committed)
        try:
            for i in range(attempts // threads_n):
                ref = f"W{worker}-{i}"
                lines = [(s.pk, local.randint(1, 3)) for s in local.sample(skus, local.choice([1, 1, 2]))]
                try:
                    reservation_create(reference=ref, warehouse_id=local.choice(warehouses).pk, holder=local.choice(HOLDERS), lines=lines)
                except InsufficientStock:
                    result = "short"
                else:
                    roll = local.random()
                    if roll < 0.15:
                        reservation_release(reference=ref)
                        result = "released"
                    elif roll < 0.30:
                        reservation_consume(reference=ref)
                        result = "shipped"
                    else:
                        result = "reserved"
                with lock:
                    outcomes[result] += 1
        except BaseException as exc:  # surfaced below; a thread must not die silently
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(w,)) for w in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    assert sum(outcomes.values()) == attempts
    assert outcomes["short"] > 0 and outcomes["reserved"] > 0 and outcomes["shipped"] > 0  # stock really ran out
    # Oversold = units promised (reserved or shipped) beyond what each warehouse received.
    promised = Counter()
    for line in ReservationLine.objects.filter(reservation__status__in=[ReservationStatus.ACTIVE, ReservationStatus.CONSUMED]).select_related("reservation"):
        promised[(line.sku_id, line.reservation.warehouse_id)] += line.quantity
    oversold = sum(max(promised[key] - received[key], 0) for key in received)
    assert oversold == 0
    shipped = Counter()
    for line in ReservationLine.objects.filter(reservation__status=ReservationStatus.CONSUMED).select_related("reservation"):
        shipped[(line.sku_id, line.reservation.warehouse_id)] += line.quantity
    for stock in Stock.objects.all():
        assert 0 <= stock.reserved <= stock.on_hand
        assert stock.on_hand == received[(stock.sku_id, stock.warehouse_id)] - shipped[(stock.sku_id, stock.warehouse_id)]
    assert Reservation.objects.count() == attempts - outcomes["short"]
    assert StockMove.objects.filter(kind="reserve").count() >= attempts - outcomes["short"]
    assert stock_audit_differences() == []
