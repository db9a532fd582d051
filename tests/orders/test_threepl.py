"""A warehouse worked by a 3PL: shipments reserved there go to the 3PL's order API (the sandbox
implements its contract), once, with a clear exception and a retry when the 3PL refuses."""
import httpx
import pytest
from django_tenants.utils import tenant_context

from accounts.modules import Role
from orders.models import ExceptionReason, OrderStatus, Shipment
from orders.services.pipeline import order_pipeline, order_retry, threepl_send
from tests.inventory.factories import make_sku, make_warehouses, receive
from tests.orders.factories import place
from tests.support import client_for, make_user
from warehouses.threepl import ThreePLTransientError


@pytest.fixture
def threepl(alpha, sandbox):
    url, _store = sandbox
    with tenant_context(alpha):
        warehouses = make_warehouses()
        make_sku("TPL-1")
        from inventory.models import SKU

        receive(SKU.objects.get(code="TPL-1"), warehouses["LA"], 10)
        account = httpx.post(f"{url}/_sandbox/3pl/accounts", json={"name": "West Coast 3PL"}).json()
        staff = client_for(alpha, make_user(alpha, role=Role.WAREHOUSE))
        yield {"url": url, "account": account, "wh": warehouses, "staff": staff}


def _remote_orders(threepl):
    return httpx.get(f"{threepl['url']}/_sandbox/3pl/{threepl['account']['account']}/orders").json()["orders"]


def test_a_3pl_warehouse_gets_its_shipments_through_the_api_once(threepl):
    staff, la = threepl["staff"], threepl["wh"]["LA"]
    page = staff.post(f"/warehouses/{la.pk}/fulfilment/", {"fulfilment": "3pl", "threepl_url": "", "threepl_api_key": ""})
    assert page.status_code == 200 and "enter the 3PL&#x27;s API address" in page.content.decode()
    api = f"{threepl['url']}/3pl/{threepl['account']['account']}"
    page = staff.post(f"/warehouses/{la.pk}/fulfilment/", {"fulfilment": "3pl", "threepl_url": api, "threepl_api_key": threepl["account"]["api_key"]})
    assert page.status_code == 302
    la.refresh_from_db()
    assert la.threepl_api_key == threepl["account"]["api_key"] and la.fulfilment == "3pl"

    order = place("TPL-A", [("TPL-1", 2)], to="CA")
    order_pipeline(order_id=order.pk)
    shipment = Shipment.objects.get(order=order)
    assert shipment.warehouse_id == la.pk and "LA (3PL)" in order.events.last().message
    assert threepl_send(shipment_id=shipment.pk) == "sent"  # the task the commit queues
    remote = _remote_orders(threepl)
    assert len(remote) == 1 and remote[0]["lines"] == [{"sku": "TPL-1", "quantity": 2}] and remote[0]["ship_to"]["postal_code"] == "92101"
    shipment.refresh_from_db()
    assert shipment.external_ref == remote[0]["id"] and shipment.handed_over_at is not None
    assert threepl_send(shipment_id=shipment.pk) == "done"
    Shipment.objects.filter(pk=shipment.pk).update(handed_over_at=None)  # as if our answer was lost: the resend is harmless
    assert threepl_send(shipment_id=shipment.pk) == "sent" and len(_remote_orders(threepl)) == 1
    queue = staff.get(f"/warehouses/{la.pk}/queue/").content.decode()
    assert f"With the 3PL as {remote[0]['id']}" in queue and "Print pick list" not in queue


def test_a_refusal_parks_the_order_and_retry_sends_again(threepl):
    la = threepl["wh"]["LA"]
    from warehouses.services import warehouse_fulfilment_set

    warehouse_fulfilment_set(warehouse_id=la.pk, fulfilment="3pl", threepl_url=f"{threepl['url']}/3pl/{threepl['account']['account']}",
                             threepl_api_key=threepl["account"]["api_key"])
    order = place("TPL-B", [("TPL-1", 1)], to="CA")
    order_pipeline(order_id=order.pk)
    shipment = Shipment.objects.get(order=order)
    fail = f"{threepl['url']}/_sandbox/3pl/{threepl['account']['account']}/fail"
    httpx.post(fail, json={"failures": [{"status": 503}, {"status": 422}]})
    with pytest.raises(ThreePLTransientError):
        threepl_send(shipment_id=shipment.pk, last_try=False)  # Celery tries again later
    assert threepl_send(shipment_id=shipment.pk) == "failed"
    order.refresh_from_db()
    assert order.exception_reason == ExceptionReason.THREEPL_PUSH and "refused the shipment (HTTP 422)" in order.exception_detail
    assert order.status == OrderStatus.ROUTED and not _remote_orders(threepl)
    order_retry(order_id=order.pk)
    order.refresh_from_db()
    assert not order.exception_reason
    assert threepl_send(shipment_id=shipment.pk) == "sent" and len(_remote_orders(threepl)) == 1
