"""Stock arriving drains the supply queue through a real Celery worker (the inventory signal →
creators' receiver → task after commit)."""
import time

import pytest

from creators.models import SupplyRequest, SupplyStatus
from creators.services.supply import supply_request_submit
from tests.creators.factories import make_creator
from tests.inventory.factories import make_sku, make_warehouses, receive
from tests.support import committed_in

TABLES = (
    "creators_supplyrequestline, creators_supplyrequest, creators_tierchange, creators_creator, "
    "inventory_lotconsumption, inventory_costlot, inventory_stockmove, inventory_reservationline, inventory_reservation, "
    "inventory_allocation, inventory_stock, inventory_sku, inventory_product, inventory_category, warehouses_warehouse"
)


@pytest.mark.worker
def test_a_receipt_serves_the_waiting_queue_in_priority_order(committed, worker):
    with committed_in("alpha", truncate=TABLES):
        la = make_warehouses()["LA"]
        sku = make_sku("ARRIVE-1")
        receive(sku, la, 3)
        s, b = make_creator("arrive.s", tier="S"), make_creator("arrive.b", tier="B")
        waiting_b = supply_request_submit(reference="ARR-B", creator_id=b.pk, warehouse_id=la.pk, lines=[(sku.pk, 5)])
        waiting_s = supply_request_submit(reference="ARR-S", creator_id=s.pk, warehouse_id=la.pk, lines=[(sku.pk, 4)])
        assert {waiting_b.status, waiting_s.status} == {SupplyStatus.WAITING}
        receive(sku, la, 20, reference="PO-ARRIVE")  # commits; the signal queues a drain for the worker
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            served = list(SupplyRequest.objects.filter(status=SupplyStatus.SERVED).order_by("served_at").values_list("reference", flat=True))
            if len(served) == 2:
                break
            time.sleep(0.2)
        assert served == ["ARR-S", "ARR-B"]
