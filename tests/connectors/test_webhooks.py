"""Webhook endpoints: signature on the raw body, one inbox row per platform event id, clear refusals."""
import hashlib
import hmac
import json
import time

import pytest
from django_tenants.utils import tenant_context

from accounts.modules import Role
from connectors.clients.shopify import shopify_webhook_signature
from connectors.models import AccountStatus, ChannelAccount, InboxStatus, WebhookEvent
from connectors.services import webhook_process
from tests.connectors.webhook_support import webhook_state_clear
from tests.support import client_for, make_user


@pytest.fixture
def shops(alpha):
    webhook_state_clear(alpha)
    with tenant_context(alpha):
        tiktok = ChannelAccount.objects.create(platform="tiktok_shop", name="TT", shop_id="7494", app_key="6abc", app_secret="s3cret",
                                               access_token="t", api_base_url="http://127.0.0.1:9/tiktok", auth_url="http://127.0.0.1:9/auth")
        shopify = ChannelAccount.objects.create(platform="shopify", name="SH", shop_id="alpha.myshopify.com", app_secret="cs",
                                                webhook_secret="whsec", access_token="t", api_base_url="http://127.0.0.1:9/s", auth_url="http://127.0.0.1:9/a")
    return {"tiktok": tiktok, "shopify": shopify, "seller": alpha}


def _tiktok_body(event_id="N1", shop_id="7494", type_=1, data=None) -> bytes:
    return json.dumps({"type": type_, "tts_notification_id": event_id, "shop_id": shop_id, "timestamp": int(time.time()),
                       "data": data or {"order_id": "576", "order_status": "AWAITING_SHIPMENT"}}).encode()


def _post_tiktok(client, body: bytes, *, secret="s3cret", key="6abc"):
    signature = hmac.new(secret.encode(), key.encode() + body, hashlib.sha256).hexdigest()
    return client.post("/hooks/tiktok-shop/", data=body, content_type="application/json", HTTP_AUTHORIZATION=signature)


def test_a_tiktok_webhook_delivered_three_times_creates_one_inbox_row(shops):
    client = client_for(shops["seller"])
    body = _tiktok_body()
    answers = [_post_tiktok(client, body) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a.json()["duplicate"] for a in answers] == [False, True, True]
    with tenant_context(shops["seller"]):
        event = WebhookEvent.objects.get()
        assert event.event_id == "N1" and event.topic == "1" and event.payload["data"]["order_id"] == "576"
        assert event.raw_body == body.decode()


def test_bad_signature_truncated_json_and_unknown_shop_are_refused_and_store_nothing(shops):
    client = client_for(shops["seller"])
    assert _post_tiktok(client, _tiktok_body(), secret="wrong").status_code == 401
    assert _post_tiktok(client, _tiktok_body()[:40]).status_code == 400
    assert _post_tiktok(client, _tiktok_body(shop_id="999")).status_code == 404
    body = b'{"id": 1}'
    bad = client.post("/hooks/shopify/", data=body, content_type="application/json", HTTP_X_SHOPIFY_HMAC_SHA256="AAAA",
                      HTTP_X_SHOPIFY_SHOP_DOMAIN="alpha.myshopify.com", HTTP_X_SHOPIFY_EVENT_ID="e1", HTTP_X_SHOPIFY_TOPIC="orders/create")
    assert bad.status_code == 401
    with tenant_context(shops["seller"]):
        assert not WebhookEvent.objects.exists()
    owner = make_user(shops["seller"], role=Role.OWNER)
    page = client_for(shops["seller"], owner).get("/channels/")
    text = page.content.decode()
    assert "the Authorization signature does not match the body" in text
    assert "the body is not valid JSON (truncated?)" in text
    assert "no connected TikTok shop with id 999" in text
    assert "X-Shopify-Hmac-Sha256 does not match the body" in text


def test_shopify_webhook_is_verified_on_the_raw_body_and_deduplicated_on_the_event_id(shops):
    client = client_for(shops["seller"])
    body = b'{"id":820982911946154508,"email":"jon@example.com"}'
    headers = {"HTTP_X_SHOPIFY_HMAC_SHA256": shopify_webhook_signature(secret="whsec", raw_body=body),
               "HTTP_X_SHOPIFY_SHOP_DOMAIN": "alpha.myshopify.com", "HTTP_X_SHOPIFY_EVENT_ID": "evt-1", "HTTP_X_SHOPIFY_TOPIC": "orders/create"}
    assert client.post("/hooks/shopify/", data=body, content_type="application/json", **headers).status_code == 200
    assert client.post("/hooks/shopify/", data=body, content_type="application/json", **headers).json()["duplicate"] is True
    # Same body re-serialised (spaces) no longer matches its signature.
    assert client.post("/hooks/shopify/", data=body.replace(b",", b", "), content_type="application/json", **headers).status_code == 401
    with tenant_context(shops["seller"]):
        assert list(WebhookEvent.objects.values_list("event_id", "topic")) == [("evt-1", "orders/create")]


def test_deauthorisation_event_marks_the_shop_and_an_unhandled_topic_is_kept_for_later(shops):
    client = client_for(shops["seller"])
    _post_tiktok(client, _tiktok_body("D1", type_=6, data={"reason": "seller revoked"}))
    _post_tiktok(client, _tiktok_body("O1", type_=67, data={"order_id": "576"}))  # REFUND_SUCCESS: no handler yet
    with tenant_context(shops["seller"]):
        deauth, order = WebhookEvent.objects.get(event_id="D1"), WebhookEvent.objects.get(event_id="O1")
        assert webhook_process(event_id=deauth.pk) == InboxStatus.PROCESSED
        assert webhook_process(event_id=deauth.pk) == "skipped"  # safe to run twice
        assert webhook_process(event_id=order.pk) == InboxStatus.IGNORED
        account = ChannelAccount.objects.get(pk=shops["tiktok"].pk)
        assert account.status == AccountStatus.NEEDS_REAUTH and "deauthorised" in account.status_detail
