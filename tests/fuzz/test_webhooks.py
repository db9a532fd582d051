"""The two webhook endpoints under hostile deliveries: random and mutated bodies, missing and
garbled headers. Never a 500; a refusal is a 4xx whose body says why and stores nothing; an
accepted event is stored whole, and processing it either takes the order in or fails the event
with a reason a person can act on (never half an order)."""
import hashlib
import hmac
import itertools
import json
import time
from decimal import Decimal

import httpx
import pytest
from django_tenants.utils import tenant_context
from hypothesis import given
from hypothesis import strategies as st

from connectors.clients.shopify import shopify_webhook_signature
from connectors.models import InboxStatus, WebhookEvent
from connectors.services import webhook_process
from connectors.services.webhooks import FAILURE_LISTENERS
from orders.models import IntakeFailure, Order, OrderLine
from tests.connectors.factories import shopify_shop, tiktok_shop
from tests.connectors.webhook_support import webhook_state_clear
from tests.fuzz.support import NASTY, count_case, fuzz_settings, garbage
from tests.inventory.factories import make_sku, make_warehouses, receive
from tests.support import client_for

SERIAL = itertools.count(1)
PYTHON_INTERNALS = ("AttributeError", "TypeError", "KeyError", "IndexError", "UnboundLocalError", "NameError")

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.integers(min_value=10**15, max_value=10**40) | st.floats(allow_nan=False)
    | st.sampled_from(NASTY) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)


@pytest.fixture
def shops(alpha, sandbox):
    url, _store = sandbox
    webhook_state_clear(alpha)
    with tenant_context(alpha):
        warehouses = make_warehouses()
        sku = make_sku("HOOK-1")
        receive(sku, warehouses["LA"], 500)
        tiktok, tiktok_remote = tiktok_shop(url, skus=[sku])
        shopify, shopify_remote = shopify_shop(url, skus=[sku])
        tiktok_order = httpx.post(f"{url}/_sandbox/tiktok/{tiktok_remote['shop_id']}/orders",
                                  json={"lines": [{"sku_id": f"T{sku.pk}", "quantity": 1, "price": "29.99"}], "silent": True}).json()["order_id"]
        shopify_order = httpx.post(f"{url}/_sandbox/shopify/{shopify_remote['domain']}/orders",
                                   json={"lines": [{"inventory_item_id": f"gid://shopify/InventoryItem/{sku.pk}", "quantity": 1, "price": "19.99"}]}
                                   ).json()["order_id"]
        yield {"seller": alpha, "client": client_for(alpha), "tiktok": tiktok_remote, "shopify": shopify_remote,
               "tiktok_order": tiktok_order, "shopify_order": shopify_order}


def _same_json(a, b) -> bool:
    """jsonb keeps numbers as exact decimals: 1e130 comes back as an integer of that value."""
    def normal(value):
        if isinstance(value, bool) or value is None or isinstance(value, str):
            return value
        if isinstance(value, (int, float)):
            return Decimal(repr(value))
        if isinstance(value, list):
            return [normal(v) for v in value]
        return {k: normal(v) for k, v in value.items()}
    return normal(a) == normal(b)


def _snapshot():
    return WebhookEvent.objects.count(), Order.objects.count(), OrderLine.objects.count()


def _check_answer(answer, before, *, event_id):
    """Never a 500; a refusal explains itself and stores nothing; an acceptance stored the event."""
    assert answer.status_code < 500, answer.content[:300]
    body = answer.json()
    if answer.status_code != 200:
        assert 400 <= answer.status_code < 500 and body["ok"] is False and isinstance(body["error"], str) and len(body["error"]) > 10, body
        assert _snapshot() == before
        return None
    assert body["ok"] is True
    event = WebhookEvent.objects.get(platform=answer.request["PATH_INFO"].split("/")[2].replace("-", "_"), event_id=body["event"])
    assert event_id is None or event.event_id == str(event_id)
    return event


def _process(event, before_orders):
    """Processing an accepted event ends in a state with a reason, and never leaves half an order."""
    count_case("webhook_processed")
    try:
        webhook_process(event_id=event.pk)
    except Exception:  # noqa: BLE001 — a failing handler propagates (for Celery's retry) after marking the event
        pass
    event.refresh_from_db()
    assert event.status in (InboxStatus.PROCESSED, InboxStatus.IGNORED, InboxStatus.FAILED), event.status
    if event.status == InboxStatus.FAILED:
        assert event.error and not event.error.startswith(PYTHON_INTERNALS), event.error
        assert (Order.objects.count(), OrderLine.objects.count()) == before_orders  # all or nothing
        if (event.platform, event.topic) in FAILURE_LISTENERS:  # an order notification: never lost in silence
            failure = IntakeFailure.objects.filter(event=event, resolved_at__isnull=True).first()
            assert failure is not None and failure.detail, event.error
    for order in Order.objects.all():
        assert order.lines.exists() or order.exception_reason, order  # an order never lands without its lines or a reason


@st.composite
def tiktok_deliveries(draw, shops):
    n = next(SERIAL)
    payload = {"type": 1, "tts_notification_id": f"FZ-{n:06d}", "shop_id": shops["tiktok"]["shop_id"], "timestamp": int(time.time()),
               "data": {"order_id": shops["tiktok_order"], "order_status": "AWAITING_SHIPMENT"}}
    kind = draw(st.sampled_from(["mutate", "mutate", "mutate", "drop", "extra", "random_json", "bytes", "truncate", "huge", "untouched"]))
    if kind == "mutate":
        path = draw(st.sampled_from(["type", "tts_notification_id", "shop_id", "timestamp", "data", "data.order_id", "data.order_status"]))
        target = payload["data"] if path.startswith("data.") else payload
        target[path.removeprefix("data.")] = draw(json_values)
    elif kind == "drop":
        payload.pop(draw(st.sampled_from(sorted(payload))))
    elif kind == "extra":
        payload[draw(st.text(max_size=10))] = draw(json_values)
    elif kind == "random_json":
        payload = draw(json_values)
    body = json.dumps(payload, ensure_ascii=draw(st.booleans())).encode()
    if kind == "bytes":
        body = draw(st.binary(max_size=400))
    elif kind == "truncate":
        body = body[: draw(st.integers(0, len(body) - 1))]
    elif kind == "huge":
        payload["data"]["blob"] = "x" * 3_000_000
        body = json.dumps(payload).encode()
    signature = hmac.new(shops["tiktok"]["app_secret"].encode(), shops["tiktok"]["app_key"].encode() + body, hashlib.sha256).hexdigest()
    auth = draw(st.sampled_from(["valid", "valid", "valid", "missing", "garbage", "upper", "other_key"]))
    headers = {}
    if auth == "valid":
        headers["HTTP_AUTHORIZATION"] = signature
    elif auth == "upper":
        headers["HTTP_AUTHORIZATION"] = f"  {signature.upper()} "
    elif auth == "garbage":
        headers["HTTP_AUTHORIZATION"] = draw(garbage.filter(lambda v: "\n" not in v and "\r" not in v))
    elif auth == "other_key":
        headers["HTTP_AUTHORIZATION"] = hmac.new(b"wrong", body, hashlib.sha256).hexdigest()
    content_type = draw(st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded", "", "application/octet-stream"]))
    event_id = payload.get("tts_notification_id") if isinstance(payload, dict) else None
    return body, headers, content_type, event_id


def test_tiktok_webhook_survives_hostile_deliveries(shops):
    outcomes = []

    @fuzz_settings(max_examples=100)
    @given(st.data())
    def run(data):
        count_case("webhook_tiktok")
        body, headers, content_type, event_id = data.draw(tiktok_deliveries(shops))
        before = _snapshot()
        answer = shops["client"].post("/hooks/tiktok-shop/", data=body, content_type=content_type, **headers)
        event = _check_answer(answer, before, event_id=event_id)
        outcomes.append(answer.status_code)
        if event is not None and not answer.json()["duplicate"]:  # a replayed event id keeps the first delivery
            assert event.raw_body == body.decode("utf-8", "replace") and _same_json(event.payload, json.loads(body))
            _process(event, before[1:])

    run()
    assert 200 in outcomes and any(400 <= s < 500 for s in outcomes)


@st.composite
def shopify_deliveries(draw, shops):
    n = next(SERIAL)
    numeric = shops["shopify_order"].rsplit("/", 1)[-1]
    payload = {"id": int(numeric) if numeric.isdigit() else numeric, "admin_graphql_api_id": shops["shopify_order"], "email": "jon@example.com"}
    kind = draw(st.sampled_from(["mutate", "mutate", "drop", "random_json", "bytes", "truncate", "untouched"]))
    if kind == "mutate":
        payload[draw(st.sampled_from(["id", "admin_graphql_api_id", "email"]))] = draw(json_values)
    elif kind == "drop":
        payload.pop(draw(st.sampled_from(sorted(payload))))
    elif kind == "random_json":
        payload = draw(json_values)
    body = json.dumps(payload).encode()
    if kind == "bytes":
        body = draw(st.binary(max_size=400))
    elif kind == "truncate":
        body = body[: draw(st.integers(0, len(body) - 1))]
    remote = shops["shopify"]
    header_value = garbage.filter(lambda v: "\n" not in v and "\r" not in v)
    headers = {
        "HTTP_X_SHOPIFY_HMAC_SHA256": draw(st.sampled_from(["valid"] * 4 + ["missing", "garbage"])),
        "HTTP_X_SHOPIFY_SHOP_DOMAIN": draw(st.sampled_from(["valid"] * 4 + ["missing", "garbage", "upper"])),
        "HTTP_X_SHOPIFY_EVENT_ID": draw(st.sampled_from(["valid"] * 4 + ["missing", "garbage", "huge"])),
        "HTTP_X_SHOPIFY_TOPIC": draw(st.sampled_from(["orders/create", "orders/updated", "orders/cancelled", "app/uninstalled",
                                                      "inventory_levels/update", "missing", "garbage", "huge"])),
    }
    valid = {"HTTP_X_SHOPIFY_HMAC_SHA256": shopify_webhook_signature(secret=remote["webhook_secret"], raw_body=body),
             "HTTP_X_SHOPIFY_SHOP_DOMAIN": remote["domain"], "HTTP_X_SHOPIFY_EVENT_ID": f"evt-fz-{n:06d}"}
    for name, how in list(headers.items()):
        if how == "valid":
            headers[name] = valid[name]
        elif how == "missing":
            del headers[name]
        elif how == "garbage":
            headers[name] = draw(header_value)
        elif how == "upper":
            headers[name] = f" {valid[name].upper()} "
        elif how == "huge":
            headers[name] = "h" * 5000
    return body, headers, headers.get("HTTP_X_SHOPIFY_EVENT_ID")


def test_shopify_webhook_survives_hostile_deliveries(shops):
    outcomes = []

    @fuzz_settings(max_examples=100)
    @given(st.data())
    def run(data):
        count_case("webhook_shopify")
        body, headers, event_id = data.draw(shopify_deliveries(shops))
        before = _snapshot()
        answer = shops["client"].post("/hooks/shopify/", data=body, content_type="application/json", **headers)
        event = _check_answer(answer, before, event_id=event_id)
        outcomes.append(answer.status_code)
        if event is not None and not answer.json()["duplicate"]:
            assert _same_json(event.payload, json.loads(body))
            _process(event, before[1:])

    run()
    assert 200 in outcomes and any(400 <= s < 500 for s in outcomes)
