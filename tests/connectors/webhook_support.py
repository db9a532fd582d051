"""What the webhook tests share: signed deliveries to the real endpoints, the Redis state of the
intake (recent refusals, throttle counters) emptied, and the bytes a request wrote to the log."""
import hashlib
import hmac
import io
import json
import logging
import time
from contextlib import contextmanager
from datetime import UTC, datetime

from django_tenants.utils import tenant_context

from connectors.clients.shopify import shopify_webhook_signature
from connectors.services.redis_keys import redis_client, tenant_key
from erp.logs import ContextFilter, JsonLogFormatter


def webhook_state_clear(seller) -> None:
    """Recent refusals and every throttle counter of this seller's webhooks."""
    with tenant_context(seller):
        client = redis_client()
        client.delete(tenant_key("webhook-rejections"))
        keys = list(client.scan_iter(match=tenant_key("webhook-throttle", "*"), count=1000))
        if keys:
            client.delete(*keys)


def tiktok_body(*, event_id: str, shop_id: str, type_=1, timestamp: int | None = None, data: dict | None = None) -> bytes:
    return json.dumps({"type": type_, "tts_notification_id": event_id, "shop_id": shop_id,
                       "timestamp": int(time.time()) if timestamp is None else timestamp,
                       "data": {"order_id": "576", "order_status": "AWAITING_SHIPMENT"} if data is None else data}).encode()


def tiktok_post(client, body: bytes, *, app_key: str, app_secret: str, **extra):
    signature = hmac.new(app_secret.encode(), app_key.encode() + body, hashlib.sha256).hexdigest()
    return client.post("/hooks/tiktok-shop/", data=body, content_type="application/json", HTTP_AUTHORIZATION=signature, **extra)


def shopify_time(at: float | None = None) -> str:
    """A time as Shopify's REST payloads write it (updated_at)."""
    return datetime.fromtimestamp(time.time() if at is None else at, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def shopify_post(client, body: bytes, *, domain: str, secret: str, event_id: str, topic: str = "orders/create", **extra):
    headers = {"HTTP_X_SHOPIFY_HMAC_SHA256": shopify_webhook_signature(secret=secret, raw_body=body), "HTTP_X_SHOPIFY_SHOP_DOMAIN": domain,
               "HTTP_X_SHOPIFY_EVENT_ID": event_id, "HTTP_X_SHOPIFY_TOPIC": topic}
    return client.post("/hooks/shopify/", data=body, content_type="application/json", **(headers | extra))


@contextmanager
def log_bytes():
    """Everything logged meanwhile, formatted as the deployed JSON log at INFO (access lines
    included, tracebacks in full): yields a callable giving the bytes so far."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonLogFormatter())
    root = logging.getLogger()
    levels = {name: logging.getLogger(name).level for name in ("", "fanout", "fanout.access", "django.request")}
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    logging.getLogger("fanout").setLevel(logging.INFO)
    logging.getLogger("fanout.access").setLevel(logging.INFO)
    try:
        yield lambda: len(stream.getvalue().encode())
    finally:
        root.removeHandler(handler)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
