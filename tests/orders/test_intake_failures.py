"""No order is lost in silence: every channel order that fails to arrive — whatever the error — shows on
the Exceptions page Operations use (with the platform's order id, the reason in words, retry and
dismiss) and counts on the home page, until it arrives."""
import httpx
import pytest
from django_tenants.utils import tenant_context

from accounts.models import AuditEvent
from accounts.modules import Role
from connectors.models import InboxStatus, WebhookEvent
from orders.models import Channel, IntakeFailure, IntakeFailureReason, Order
from orders.services.channels import amazon_poll
from tests.connectors.factories import amazon_seller, shopify_shop
from tests.orders.test_intake import _buy, _deliver
from tests.support import client_for, make_user


def _ops(shop):
    return client_for(shop["seller"], make_user(shop["seller"], role=Role.OPERATIONS))


def _missing(page: str) -> str:
    """The "did not arrive" section of the Exceptions page."""
    return page.split('id="missing"', 1)[1].split("</section>", 1)[0] if 'id="missing"' in page else ""


def test_a_tiktok_commission_rate_in_hundredths_of_a_percent_is_read_as_a_rate(shop):
    """1500 is 15.00% in TikTok's affiliate unit; it used to overflow and lose the order."""
    from tests.creators.factories import make_creator

    make_creator("rate.fifteen")
    order_id = _buy(shop, creator_username="rate.fifteen", commission_rate=1500, affiliate_commission="4.50")
    _deliver(shop, "RATE-1", 1, {"order_id": order_id})
    order = Order.objects.get(external_id=order_id)
    assert str(order.lines.get().commission_rate) == "0.1500" and order.platform_pays_commission
    assert not IntakeFailure.objects.exists()


def test_each_kind_of_failure_shows_where_operations_look_and_counts_on_the_home_page(shop, sandbox):
    ops = _ops(shop)
    assert ops.get("/").context["orders"]["exceptions"] == 0

    # 1. A value TikTok would never send (a rate of 2500%): the order cannot be read.
    bad_rate = _buy(shop, creator_username="someone", commission_rate=250000)
    # 2. A notification for an order the shop does not return.
    # 3. A notification that names no order.
    # 4. The shop's authorisation refused when fetching the order.
    # 5. A value that does not fit our columns (4 billion units): an unexpected database error.
    huge = _buy(shop, quantity=4_000_000_000)
    events = [_deliver_failing(shop, "KIND-1", {"order_id": bad_rate}), _deliver_failing(shop, "KIND-2", {"order_id": "577000111"}),
              _deliver_failing(shop, "KIND-3", {"order_status": "AWAITING_SHIPMENT"}), _deliver_failing(shop, "KIND-5", {"order_id": huge})]
    denied = _buy(shop)
    httpx.post(f"{shop['url']}/_sandbox/tiktok/{shop['remote']['shop_id']}/revoke").raise_for_status()
    events.append(_deliver_failing(shop, "KIND-4", {"order_id": denied}))
    assert all(WebhookEvent.objects.get(pk=e.pk).status == InboxStatus.FAILED for e in events)

    failures = {f.external_id: f for f in IntakeFailure.objects.filter(resolved_at__isnull=True)}
    assert len(failures) == 5 and Order.objects.count() == 0
    assert failures[bad_rate].reason == IntakeFailureReason.UNREADABLE and "commission_rate 250000" in failures[bad_rate].detail
    assert failures["577000111"].reason == IntakeFailureReason.NOT_FOUND and "577000111" in failures["577000111"].detail
    assert failures[""].reason == IntakeFailureReason.UNREADABLE and "no data.order_id" in failures[""].detail
    assert failures[huge].reason == IntakeFailureReason.UNREADABLE and "does not fit" in failures[huge].detail
    assert failures[denied].reason == IntakeFailureReason.CHANNEL_AUTH and "reconnect the shop" in failures[denied].detail

    # Operations (who cannot open the webhook inbox) see every one, with the order id and the reason in words.
    page = ops.get("/orders/exceptions/")
    assert page.status_code == 200
    missing = _missing(page.content.decode())
    for external_id, failure in failures.items():
        assert f'id="missing-{failure.pk}"' in missing
        if external_id:
            assert external_id in missing
    assert "5 orders did not arrive" in missing and "commission_rate 250000 is not a TikTok rate" in missing
    assert "The channel does not know the order" in missing and "The shop&#x27;s authorisation was refused" in missing
    home = ops.get("/")
    assert home.context["orders"]["exceptions"] == 5 and "5 orders did not arrive" in home.content.decode()

    # The same delivery failing again is one entry, counted twice.
    _deliver_failing(shop, "KIND-2b", {"order_id": "577000111"})
    assert IntakeFailure.objects.get(external_id="577000111", resolved_at__isnull=True).attempts == 2
    assert ops.get("/").context["orders"]["exceptions"] == 5


def _deliver_failing(shop, event_id: str, data: dict) -> WebhookEvent:
    try:
        return _deliver(shop, event_id, 1, data)
    except Exception:  # the worker's task fails (and is retried by Celery); the inbox and the exceptions keep it
        return WebhookEvent.objects.get(event_id=event_id)


def test_retry_brings_a_missing_order_in_and_dismiss_needs_a_reason(shop, settings):
    ops = _ops(shop)
    late = _buy(shop)
    attempts = settings.FANOUT_CHANNEL_MAX_ATTEMPTS
    httpx.post(f"{shop['url']}/_sandbox/tiktok/{shop['remote']['shop_id']}/fail",
               json={"failures": [{"status": 503}] * attempts}).raise_for_status()  # TikTok is down for every attempt of one fetch
    event = _deliver_failing(shop, "DOWN-1", {"order_id": late})
    failure = IntakeFailure.objects.get(external_id=late)
    assert failure.reason == IntakeFailureReason.CHANNEL_DOWN and "retries on its own" in failure.detail
    assert _missing(ops.get("/orders/exceptions/").content.decode())

    # TikTok answers again; Operations click Retry: the event is queued again, processed, the order arrives.
    from connectors.services import webhook_process

    answer = ops.post(f"/orders/exceptions/missing/{failure.pk}/", {"action": "retry"}, follow=True)
    assert "Fetching order" in answer.content.decode()
    assert WebhookEvent.objects.get(pk=event.pk).status == InboxStatus.PENDING
    webhook_process(event_id=event.pk)  # the queued task, run here as the worker would
    assert Order.objects.filter(external_id=late).exists()
    failure.refresh_from_db()
    assert failure.resolved_at is not None and failure.resolution == "arrived"
    assert not _missing(ops.get("/orders/exceptions/").content.decode()) and ops.get("/").context["orders"]["exceptions"] == 0

    # An order the shop does not return can only be dismissed, with a reason, and that is audited.
    _deliver_failing(shop, "GONE-1", {"order_id": "577999"})
    gone = IntakeFailure.objects.get(external_id="577999")
    refused = ops.post(f"/orders/exceptions/missing/{gone.pk}/", {"action": "dismiss", "reason": " "}, follow=True)
    assert "Say why" in refused.content.decode() and IntakeFailure.objects.get(pk=gone.pk).resolved_at is None
    ops.post(f"/orders/exceptions/missing/{gone.pk}/", {"action": "dismiss", "reason": "test order from the TikTok console"})
    gone.refresh_from_db()
    assert gone.resolved_at and gone.resolution == "test order from the TikTok console" and gone.resolved_by.role == Role.OPERATIONS
    assert AuditEvent.objects.filter(verb="intake_failure.dismissed", target_id=str(gone.pk), actor=gone.resolved_by).exists()


def test_a_shopify_order_the_shop_does_not_return_is_shown(alpha, sandbox):
    url, _store = sandbox
    with tenant_context(alpha):
        account, remote = shopify_shop(url)
        event = WebhookEvent.objects.create(account=account, platform="shopify", event_id="sh-missing-1", topic="orders/create",
                                            payload={"id": 820982911946154508, "admin_graphql_api_id": "gid://shopify/Order/820982911946154508"})
        from connectors.services import webhook_process

        with pytest.raises(Exception):
            webhook_process(event_id=event.pk)
        failure = IntakeFailure.objects.get(channel=Channel.SHOPIFY)
        assert failure.external_id == "gid://shopify/Order/820982911946154508" and failure.reason == IntakeFailureReason.NOT_FOUND
        assert failure.event_id == event.pk and failure.source == "webhook"


def test_an_amazon_order_that_fails_does_not_hold_up_the_poll_and_can_be_retried(alpha, sandbox):
    from tests.inventory.factories import make_sku, make_warehouses, receive

    url, _store = sandbox
    with tenant_context(alpha):
        warehouses = make_warehouses()
        sku = make_sku("AMZ-FAIL-1")
        receive(sku, warehouses["LA"], 10)
        account, remote = amazon_seller(url, skus=[sku])
        bad = httpx.post(f"{url}/_sandbox/amazon/{remote['seller_id']}/orders",
                         json={"lines": [{"seller_sku": sku.code, "quantity": 4_000_000_000}]}).json()["order_id"]
        good = httpx.post(f"{url}/_sandbox/amazon/{remote['seller_id']}/orders", json={"lines": [{"seller_sku": sku.code, "quantity": 1}]}).json()["order_id"]
        assert amazon_poll() == 2  # no exception: the bad order is recorded, the good one arrives
        assert Order.objects.filter(external_id=good).exists() and not Order.objects.filter(external_id=bad).exists()
        failure = IntakeFailure.objects.get(external_id=bad)
        assert failure.source == "poll" and failure.reason == IntakeFailureReason.UNREADABLE and failure.payload["AmazonOrderId"] == bad
        amazon_poll()  # read again (the overlap): still one entry
        assert IntakeFailure.objects.filter(external_id=bad, resolved_at__isnull=True).count() == 1
        ops = client_for(alpha, make_user(alpha, role=Role.OPERATIONS))
        answer = ops.post(f"/orders/exceptions/missing/{failure.pk}/", {"action": "retry"}, follow=True).content.decode()
        assert "Still failing" in answer and "does not fit" in answer
