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
        manager = client_for(alpha, make_user(alpha, role=Role.MANAGER))
        yield {"url": url, "account": account, "wh": warehouses, "staff": staff, "manager": manager}


def _remote_orders(threepl):
    return httpx.get(f"{threepl['url']}/_sandbox/3pl/{threepl['account']['account']}/orders").json()["orders"]


def test_a_3pl_warehouse_gets_its_shipments_through_the_api_once(threepl):
    staff, manager, la = threepl["staff"], threepl["manager"], threepl["wh"]["LA"]
    page = manager.post(f"/warehouses/{la.pk}/fulfilment/", {"fulfilment": "3pl", "threepl_url": "", "threepl_api_key": ""})
    assert page.status_code == 200 and "enter the 3PL&#x27;s API address" in page.content.decode()
    api = f"{threepl['url']}/3pl/{threepl['account']['account']}"
    page = manager.post(f"/warehouses/{la.pk}/fulfilment/", {"fulfilment": "3pl", "threepl_url": api, "threepl_api_key": threepl["account"]["api_key"]})
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


# ---------------------------------------------------------------------------- who may point it where (issue 23)
def test_only_an_owner_or_manager_changes_the_3pl_address_and_each_change_names_them(threepl, alpha):
    from accounts.models import AuditEvent
    from warehouses.models import Warehouse

    staff, manager, la = threepl["staff"], threepl["manager"], threepl["wh"]["LA"]
    api = f"{threepl['url']}/3pl/{threepl['account']['account']}"
    page = staff.post(f"/warehouses/{la.pk}/fulfilment/", {"fulfilment": "3pl", "threepl_url": api, "threepl_api_key": "stolen-key"})
    assert page.status_code == 403
    la.refresh_from_db()
    assert la.fulfilment == "in_house" and not la.threepl_url and not la.threepl_api_key
    shown = staff.get(f"/warehouses/{la.pk}/fulfilment/").content.decode()
    assert "Only an Owner or a Manager can change" in shown and 'name="threepl_url"' not in shown

    assert manager.post(f"/warehouses/{la.pk}/fulfilment/", {"fulfilment": "3pl", "threepl_url": api,
                                                             "threepl_api_key": threepl["account"]["api_key"]}).status_code == 302
    with tenant_context(alpha):
        event = AuditEvent.objects.get(verb="warehouse.fulfilment_changed")
        assert event.actor.role == Role.MANAGER and event.data["to_url"] == api and event.data["key"] == "replaced"
        assert threepl["account"]["api_key"] not in str(event.data)  # never the key itself
        assert Warehouse.objects.get(pk=la.pk).threepl_key_host == f"127.0.0.1:{threepl['url'].rsplit(':', 1)[1]}"


def test_a_new_host_needs_the_key_again_and_a_stored_key_never_goes_elsewhere(threepl, alpha):
    from warehouses.models import Warehouse
    from warehouses.threepl import ThreePLError, shipment_send

    manager, la = threepl["manager"], threepl["wh"]["LA"]
    api = f"{threepl['url']}/3pl/{threepl['account']['account']}"
    key = threepl["account"]["api_key"]
    assert manager.post(f"/warehouses/{la.pk}/fulfilment/", {"fulfilment": "3pl", "threepl_url": api, "threepl_api_key": key}).status_code == 302
    # Same host, another path: the key stays.
    assert manager.post(f"/warehouses/{la.pk}/fulfilment/", {"fulfilment": "3pl", "threepl_url": f"{api}/", "threepl_api_key": ""}).status_code == 302
    # Another host without the key: asked for it, nothing changes.
    page = manager.post(f"/warehouses/{la.pk}/fulfilment/", {"fulfilment": "3pl", "threepl_url": "https://orders.other-3pl.example/v1",
                                                             "threepl_api_key": ""})
    assert page.status_code == 200 and "enter the 3PL&#x27;s API key for it again" in page.content.decode()
    with tenant_context(alpha):
        stored = Warehouse.objects.get(pk=la.pk)
        assert stored.threepl_url == f"{api}/" and stored.threepl_api_key == key

        # Had the address changed any other way, the worker still refuses to send the key there.
        Warehouse.objects.filter(pk=la.pk).update(threepl_url="https://collector.example/3pl")
        order = place("TPL-K", [("TPL-1", 1)], to="CA")
        order_pipeline(order_id=order.pk)
        shipment = Shipment.objects.select_related("order", "warehouse").get(order=order)
        with pytest.raises(ThreePLError, match="entered for 127.0.0.1:.*not for collector.example:443") as refused:
            shipment_send(shipment)
        assert not refused.value.retryable and not _remote_orders(threepl)


def test_a_3pl_address_inside_our_network_is_refused_on_the_form(threepl):
    manager, la = threepl["manager"], threepl["wh"]["LA"]
    port = threepl["url"].rsplit(":", 1)[1]
    for address in ("http://127.0.0.1:6379", f"http://localhost:{port}/3pl", "https://169.254.169.254/latest", "https://10.0.0.8/api",
                    "http://api.example-3pl.com/v1"):
        page = manager.post(f"/warehouses/{la.pk}/fulfilment/", {"fulfilment": "3pl", "threepl_url": address, "threepl_api_key": "k"})
        text = page.content.decode()
        assert page.status_code == 200 and ("does not send requests there" in text or "Only https://" in text), address
    la.refresh_from_db()
    assert la.fulfilment == "in_house" and not la.threepl_url


def test_the_3pl_answer_is_never_shown_raw(threepl, alpha, settings):
    """What the page shows of a refusal is the status and the 3PL's error field, escaped and cut
    short; an answer without one (another service's reply, say) shows only its status."""
    from tests.security.outbound_support import FakePlatform
    from warehouses.services import warehouse_fulfilment_set

    fake = FakePlatform()
    settings.FANOUT_PLATFORM_SANDBOX_URL = fake.url  # the one loopback origin the guard lets through in tests
    try:
        with tenant_context(alpha):
            warehouse_fulfilment_set(warehouse_id=threepl["wh"]["LA"].pk, fulfilment="3pl", threepl_url=f"{fake.url}/3pl", threepl_api_key="k")
            fake.answer(404, {"shops": [{"app_secret": "SECRET-FROM-ANOTHER-SERVICE"}]})
            first = place("TPL-R1", [("TPL-1", 1)], to="CA")
            order_pipeline(order_id=first.pk)
            assert threepl_send(shipment_id=Shipment.objects.get(order=first).pk) == "failed"
            fake.answer(422, {"error": "<script>alert(1)</script> bad ZIP " + "x" * 3000, "debug": "SECRET-DEBUG"})
            second = place("TPL-R2", [("TPL-1", 1)], to="CA")
            order_pipeline(order_id=second.pk)
            assert threepl_send(shipment_id=Shipment.objects.get(order=second).pk) == "failed"
            first.refresh_from_db()
            second.refresh_from_db()
    finally:
        fake.close()
    assert first.exception_detail.endswith("refused the shipment (HTTP 404)")
    assert "<script>alert(1)</script> bad ZIP" in second.exception_detail and len(second.exception_detail) < 300
    ops = client_for(alpha, make_user(alpha, role=Role.OPERATIONS))
    page = ops.get(f"/orders/{second.pk}/").content.decode() + ops.get(f"/orders/{first.pk}/").content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; bad ZIP" in page and "<script>alert(1)" not in page
    assert "SECRET" not in page
