"""Replayed and stale deliveries. Shopify signs only the body: the topic and event id are headers
anyone can change, so a captured signed body resent as app/uninstalled must not disconnect a shop
that Shopify says still has the app. A delivery whose signed time is outside the window is
refused, and the windows outlast the platforms' own retries (TikTok 72 h, Shopify 4 h)."""
import time

import httpx
import pytest
from django.conf import settings
from django_tenants.utils import tenant_context

from connectors.models import AccountStatus, ChannelAccount, InboxStatus, WebhookEvent
from connectors.services import webhook_process
from tests.connectors.factories import shopify_shop, tiktok_shop
from tests.connectors.webhook_support import shopify_time, tiktok_body, tiktok_post, webhook_state_clear
from tests.support import client_for

HOUR = 3600


@pytest.fixture
def shops(alpha, sandbox):
    url, _store = sandbox
    webhook_state_clear(alpha)
    with tenant_context(alpha):
        shopify, shopify_remote = shopify_shop(url)
        tiktok, tiktok_remote = tiktok_shop(url)
        yield {"url": url, "seller": alpha, "client": client_for(alpha), "shopify": shopify, "shopify_remote": shopify_remote,
               "tiktok": tiktok, "tiktok_remote": tiktok_remote}


def _sent_by_sandbox(deliveries: list[dict]) -> dict:
    """The request the sandbox would have sent (its shops here have no webhook URL)."""
    assert len(deliveries) == 1 and deliveries[0]["status"] is None, deliveries
    return deliveries[0]["request"]


def _post(client, request: dict, **headers):
    """Send a captured Shopify request to our endpoint, with some headers changed."""
    sent = dict(request["headers"], **headers)
    meta = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in sent.items() if name != "Content-Type"}
    return client.post("/hooks/shopify/", data=request["body"].encode(), content_type=sent["Content-Type"], **meta)


def _shopify_events(shops, *events) -> dict:
    domain = shops["shopify_remote"]["domain"]
    return _sent_by_sandbox(httpx.post(f"{shops['url']}/_sandbox/shopify/{domain}/webhooks", json={"events": list(events)}).json()["deliveries"])


def test_webhook_process_ignores_an_order_body_replayed_as_app_uninstalled_while_shopify_still_answers(shops):
    domain = shops["shopify_remote"]["domain"]
    order = httpx.post(f"{shops['url']}/_sandbox/shopify/{domain}/orders", json={"lines": []}).json()
    captured = _sent_by_sandbox(order["deliveries"])
    assert _post(shops["client"], captured).status_code == 200
    # The attacker resends the same signed body with another topic and a new event id.
    replay = _post(shops["client"], captured, **{"X-Shopify-Topic": "app/uninstalled", "X-Shopify-Event-Id": "forged-1"})
    assert replay.status_code == 200  # the body is Shopify's own: only Shopify can tell the topic is not
    event = WebhookEvent.objects.get(event_id="forged-1")
    assert webhook_process(event_id=event.pk) == InboxStatus.IGNORED
    event.refresh_from_db()
    account = ChannelAccount.objects.get(pk=shops["shopify"].pk)
    assert account.status == AccountStatus.CONNECTED, account.status_detail
    assert event.status == InboxStatus.IGNORED and "still answers" in event.error and "app is installed" in event.error


def test_webhook_process_marks_the_shop_when_shopify_confirms_the_app_was_uninstalled(shops):
    domain = shops["shopify_remote"]["domain"]
    captured = _sent_by_sandbox(httpx.post(f"{shops['url']}/_sandbox/shopify/{domain}/uninstall").json()["deliveries"])
    assert captured["headers"]["X-Shopify-Topic"] == "app/uninstalled" and captured["headers"]["X-Shopify-Triggered-At"].endswith("Z")
    assert _post(shops["client"], captured).status_code == 200
    event = WebhookEvent.objects.get(event_id=captured["headers"]["X-Shopify-Event-Id"])
    assert webhook_process(event_id=event.pk) == InboxStatus.PROCESSED
    account = ChannelAccount.objects.get(pk=shops["shopify"].pk)
    assert account.status == AccountStatus.NEEDS_REAUTH and "uninstalled" in account.status_detail


def test_webhook_receive_refuses_a_tiktok_delivery_whose_signed_timestamp_is_past_the_window(shops):
    remote = shops["tiktok_remote"]
    key = {"app_key": remote["app_key"], "app_secret": remote["app_secret"]}
    stale = tiktok_body(event_id="OLD-1", shop_id=remote["shop_id"], timestamp=int(time.time()) - 5 * 24 * HOUR)
    refused = tiktok_post(shops["client"], stale, **key)
    assert refused.status_code == 400 and "replayed or stale" in refused.json()["error"]
    retried = tiktok_body(event_id="RETRY-1", shop_id=remote["shop_id"], timestamp=int(time.time()) - 71 * HOUR)  # TikTok still retrying
    assert tiktok_post(shops["client"], retried, **key).status_code == 200
    assert list(WebhookEvent.objects.values_list("event_id", flat=True)) == ["RETRY-1"]


def test_webhook_receive_refuses_a_shopify_delivery_triggered_or_updated_past_the_window(shops):
    now = time.time()
    order = {"id": 450789469, "admin_graphql_api_id": "gid://shopify/Order/450789469"}
    # Shopify's last retry, just under 4 hours after the event: taken in.
    retry = _shopify_events(shops, {"topic": "orders/updated", "id": "late-1", "triggered_at": now - 3.9 * HOUR,
                                    "data": order | {"updated_at": shopify_time(now - 3.9 * HOUR)}})
    assert _post(shops["client"], retry).status_code == 200
    # A day-old event, resent as it was captured: refused by its Triggered-At.
    old = _shopify_events(shops, {"topic": "orders/updated", "id": "old-1", "triggered_at": now - 26 * HOUR,
                                  "data": order | {"updated_at": shopify_time(now - 26 * HOUR)}})
    answer = _post(shops["client"], old)
    assert answer.status_code == 400 and "X-Shopify-Triggered-At" in answer.json()["error"]
    # ... and with a fresh Triggered-At and event id forged: the signed updated_at still tells.
    answer = _post(shops["client"], old, **{"X-Shopify-Triggered-At": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                            "X-Shopify-Event-Id": "old-1-again"})
    assert answer.status_code == 400 and "updated_at" in answer.json()["error"]
    assert list(WebhookEvent.objects.values_list("event_id", flat=True)) == ["late-1"]


def test_webhook_windows_outlast_the_platforms_retries():
    assert settings.FANOUT_WEBHOOK_TIKTOK_MAX_AGE_S > 72 * HOUR
    assert settings.FANOUT_WEBHOOK_SHOPIFY_MAX_AGE_S > 4 * HOUR
