"""Orders arriving from the platforms (through our real clients against the sandbox): replays and
duplicate or out-of-order deliveries never make a second order; address changes, cancellations
and returns update the order; tracking goes back to the shop; SLA clocks at their boundaries."""
import hashlib
import hmac
import json
import time
from datetime import timedelta

import httpx
from django.utils import timezone

from connectors.models import InboxStatus, WebhookEvent
from connectors.services import webhook_process
from inventory.models import SKU
from orders.models import Channel, ExceptionReason, Order, OrderStatus, SlaState
from orders.services.channels import amazon_poll, shopify_order_sync
from orders.services.pipeline import order_pipeline, shipment_pack, shipment_ship, tracking_push
from orders.services.sla import sla_refresh, sla_state_of
from tests.connectors.factories import amazon_seller, shopify_shop
from tests.support import client_for


def _deliver(shop, event_id: str, type_: int, data: dict):
    """A signed TikTok webhook to our real endpoint, then processed as the worker would."""
    remote = shop["remote"]
    body = json.dumps({"type": type_, "tts_notification_id": event_id, "shop_id": remote["shop_id"], "timestamp": int(time.time()), "data": data}).encode()
    signature = hmac.new(remote["app_secret"].encode(), remote["app_key"].encode() + body, hashlib.sha256).hexdigest()
    answer = client_for(shop["seller"]).post("/hooks/tiktok-shop/", data=body, content_type="application/json", HTTP_AUTHORIZATION=signature)
    assert answer.status_code == 200
    event = WebhookEvent.objects.get(event_id=event_id)
    webhook_process(event_id=event.pk)
    return event


def _receive(shop, event_id: str, type_: int, data: dict) -> WebhookEvent:
    """A signed TikTok webhook to our real endpoint, stored in the inbox and not processed yet."""
    remote = shop["remote"]
    body = json.dumps({"type": type_, "tts_notification_id": event_id, "shop_id": remote["shop_id"], "timestamp": int(time.time()), "data": data}).encode()
    signature = hmac.new(remote["app_secret"].encode(), remote["app_key"].encode() + body, hashlib.sha256).hexdigest()
    answer = client_for(shop["seller"]).post("/hooks/tiktok-shop/", data=body, content_type="application/json", HTTP_AUTHORIZATION=signature)
    assert answer.status_code == 200
    return WebhookEvent.objects.get(event_id=event_id)


def _buy(shop, quantity=1, **extra) -> str:
    body = {"lines": [{"sku_id": f"T{shop['sku'].pk}", "quantity": quantity, "price": "29.99"}], "silent": True, **extra}
    return httpx.post(f"{shop['url']}/_sandbox/tiktok/{shop['remote']['shop_id']}/orders", json=body).json()["order_id"]


def _change(shop, order_id, **change):
    httpx.post(f"{shop['url']}/_sandbox/tiktok/{shop['remote']['shop_id']}/orders/{order_id}", json=change).raise_for_status()


def test_duplicate_and_replayed_deliveries_make_one_order(shop):
    order_id = _buy(shop, 2)
    for _ in range(3):
        _deliver(shop, "E-1", 1, {"order_id": order_id})  # the same delivery three times
    _deliver(shop, "E-2", 1, {"order_id": order_id})  # another event for the same order
    order = Order.objects.get(channel=Channel.TIKTOK_SHOP, external_id=order_id)
    assert Order.objects.count() == 1 and WebhookEvent.objects.filter(status=InboxStatus.PROCESSED).count() == 2
    assert order.lines.get().quantity == 2 and order.lines.get().sku_id == shop["sku"].pk
    assert order.ship_zip == "90001" and order.ship_state == "California" and str(order.total) == "59.98"
    assert order.ship_by == order.placed_at + timedelta(hours=48)  # TikTok's own deadline from the order
    order_pipeline(order_id=order.pk)
    order_pipeline(order_id=order.pk)  # a retried task does nothing twice
    order.refresh_from_db()
    assert order.status == OrderStatus.ROUTED and SKU.objects.get(pk=shop["sku"].pk).reserved == 2


def test_a_burst_is_fetched_in_one_call_and_one_unknown_order_fails_only_its_event(shop, sandbox):
    _url, store = sandbox
    ids = [_buy(shop) for _ in range(5)]
    events = [_receive(shop, f"B-{i}", 1, {"order_id": order_id}) for i, order_id in enumerate(ids)]
    events.append(_receive(shop, "B-dup", 4, {"order_id": ids[0]}))  # another event for an order of the burst
    events.append(_receive(shop, "B-ghost", 1, {"order_id": "404404"}))  # TikTok does not know this one
    calls = store.requests.get("tiktok", 0)
    assert webhook_process(event_id=events[0].pk) == InboxStatus.PROCESSED
    assert store.requests["tiktok"] == calls + 1  # one Get Order Detail call for the whole burst
    assert Order.objects.filter(external_id__in=ids).count() == 5
    statuses = dict(WebhookEvent.objects.values_list("event_id", "status"))
    assert statuses.pop("B-ghost") == InboxStatus.FAILED and set(statuses.values()) == {InboxStatus.PROCESSED}
    assert "does not know order 404404" in WebhookEvent.objects.get(event_id="B-ghost").error
    assert [webhook_process(event_id=e.pk) for e in events[1:-1]] == ["skipped"] * 5  # their own tasks find nothing to do


def test_out_of_order_cancellation_releases_and_is_never_undone(shop):
    order_id = _buy(shop, 3)
    _deliver(shop, "C-1", 1, {"order_id": order_id})
    order = Order.objects.get(external_id=order_id)
    order_pipeline(order_id=order.pk)
    assert SKU.objects.get(pk=shop["sku"].pk).reserved == 3
    _change(shop, order_id, status="CANCELLED")
    _deliver(shop, "C-3", 11, {"order_id": order_id})
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED and SKU.objects.get(pk=shop["sku"].pk).reserved == 0
    # A late redelivery of an older state changes nothing.
    event = WebhookEvent.objects.get(event_id="C-1")
    WebhookEvent.objects.filter(pk=event.pk).update(status=InboxStatus.PENDING)
    webhook_process(event_id=event.pk)
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED and Order.objects.count() == 1


def test_cancelled_before_we_heard_of_it_reserves_nothing(shop):
    order_id = _buy(shop, 1)
    _change(shop, order_id, status="CANCELLED")
    _deliver(shop, "Z-2", 11, {"order_id": order_id})
    order = Order.objects.get(external_id=order_id)
    assert order.status == OrderStatus.CANCELLED and SKU.objects.get(pk=shop["sku"].pk).reserved == 0


def test_invalid_address_is_parked_and_the_buyers_correction_routes_it(shop):
    bad = {"name": "Sam", "address_line1": "1 Nowhere", "postal_code": "00000", "region_code": "US"}
    order_id = _buy(shop, 1, address=bad)
    _deliver(shop, "A-1", 1, {"order_id": order_id})
    order = Order.objects.get(external_id=order_id)
    order_pipeline(order_id=order.pk)
    order.refresh_from_db()
    assert order.status == OrderStatus.ADDRESS_INVALID and "unknown US ZIP code 00000" in order.exception_detail
    _change(shop, order_id, address=bad | {"postal_code": "10118", "district_info": [{"address_level_name": "State", "address_name": "New York"}]})
    _deliver(shop, "A-2", 3, {"order_id": order_id})
    order.refresh_from_db()
    assert order.status == OrderStatus.RECEIVED and order.exception_reason == ""
    order_pipeline(order_id=order.pk)
    order.refresh_from_db()
    assert order.status == OrderStatus.ROUTED and order.shipments.get().warehouse.code == "LA"  # only LA has stock
    assert "Ship-to address changed by TikTok Shop" in " ".join(order.events.values_list("message", flat=True))


def test_unknown_sku_and_bad_quantity_park_the_order_instead_of_losing_it(shop):
    body = {"lines": [{"sku_id": "NOT-LISTED", "quantity": 1}, {"sku_id": f"T{shop['sku'].pk}", "quantity": 0}], "silent": True}
    order_id = httpx.post(f"{shop['url']}/_sandbox/tiktok/{shop['remote']['shop_id']}/orders", json=body).json()["order_id"]
    _deliver(shop, "U-1", 1, {"order_id": order_id})
    order = Order.objects.get(external_id=order_id)
    assert order.exception_reason == ExceptionReason.UNKNOWN_SKU and not order.lines.exists()
    assert "line 1: unknown SKU NOT-LISTED" in order.exception_detail and "line 2: quantity must be a whole number above zero, got 0" in order.exception_detail
    assert order.intake_lines[0]["sku"] == "NOT-LISTED"
    assert str(order.total) == "29.99"  # as sold, from the readable line (the zero-quantity one adds nothing)
    assert SKU.objects.get(pk=shop["sku"].pk).reserved == 0


def test_tracking_goes_back_to_tiktok_and_a_return_restocks(shop):
    order_id = _buy(shop, 2)
    _deliver(shop, "T-1", 1, {"order_id": order_id})
    order = Order.objects.get(external_id=order_id)
    order_pipeline(order_id=order.pk)
    shipment = order.shipments.get()
    shipment_pack(shipment_id=shipment.pk)
    shipment_ship(shipment_id=shipment.pk, carrier="USPS", tracking_number="9400111")
    assert tracking_push(shipment_id=shipment.pk) == "pushed"
    detail = httpx.get(f"{shop['url']}/_sandbox/health")  # the sandbox is up; read the order through our client
    assert detail.status_code == 200
    from connectors.clients import client_class

    with client_class("tiktok_shop")(shop["account"]) as client:
        remote = client.orders_detail([order_id])[0]
    assert remote["tracking_number"] == "9400111" and remote["status"] == "IN_TRANSIT"
    order.refresh_from_db()
    assert order.status == OrderStatus.SHIPPED and order.tracking_pushed_at is not None
    _change(shop, order_id, status="DELIVERED")
    _deliver(shop, "T-2", 1, {"order_id": order_id})
    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED
    _change(shop, order_id, return_items=[{"sku_id": f"T{shop['sku'].pk}", "quantity": 2}])
    _deliver(shop, "T-3", 12, {"order_id": order_id, "return_status": "RETURN_OR_REFUND_REQUEST_COMPLETE",
                                "return_line_items": [{"sku_id": f"T{shop['sku'].pk}", "quantity": 2}]})
    order.refresh_from_db()
    assert order.status == OrderStatus.RETURNED and SKU.objects.get(pk=shop["sku"].pk).on_hand == 20


def test_shopify_and_amazon_orders_come_in_once(shop):
    url = shop["url"]
    account, remote = shopify_shop(url, skus=[shop["sku"]])
    created = httpx.post(f"{url}/_sandbox/shopify/{remote['domain']}/orders",
                         json={"lines": [{"inventory_item_id": f"gid://shopify/InventoryItem/{shop['sku'].pk}", "quantity": 1, "price": "19.99"}]}).json()
    shopify_order_sync(account=account, external_id=created["order_id"])
    shopify_order_sync(account=account, external_id=created["order_id"])
    order = Order.objects.get(channel=Channel.SHOPIFY)
    assert order.ship_state == "IL" and order.lines.get().sku_id == shop["sku"].pk and order.external_data["fulfillment_order_id"]
    amazon, seller = amazon_seller(url, skus=[shop["sku"]])
    httpx.post(f"{url}/_sandbox/amazon/{seller['seller_id']}/orders", json={"lines": [{"seller_sku": "VIRAL-1", "quantity": 2, "price": "24.99"}]})
    assert amazon_poll() == 1
    amazon_poll()
    assert Order.objects.filter(channel=Channel.AMAZON).count() == 1
    assert Order.objects.get(channel=Channel.AMAZON).ship_state == "NJ"


def test_sla_states_at_the_boundaries(shop):
    from tests.orders.factories import place

    order = place("SLA-1", [("VIRAL-1", 1)])
    now = timezone.now()
    order.pack_by = now + timedelta(days=1)
    for left, expected in [(timedelta(hours=6), SlaState.OK), (timedelta(hours=6) - timedelta(seconds=1), SlaState.AT_RISK),
                           (timedelta(0), SlaState.AT_RISK), (-timedelta(seconds=1), SlaState.OVERDUE)]:
        order.ship_by = now + left
        assert sla_state_of(order, now=now) == expected, left
        Order.objects.filter(pk=order.pk).update(ship_by=order.ship_by, pack_by=order.pack_by, sla_state=SlaState.OK)
        sla_refresh(now=now)
        assert Order.objects.get(pk=order.pk).sla_state == expected
    # The pack target (6 h from receipt) is at risk in its last 2 hours and stops once packed.
    order.ship_by = now + timedelta(days=2)
    order.pack_by = now + timedelta(hours=2)
    assert sla_state_of(order, now=now) == SlaState.OK
    assert sla_state_of(order, now=now + timedelta(seconds=1)) == SlaState.AT_RISK
    assert sla_state_of(order, now=now + timedelta(hours=2, seconds=1)) == SlaState.OVERDUE
    order.packed_at = now
    assert sla_state_of(order, now=now + timedelta(hours=3)) == SlaState.OK
    order.status = OrderStatus.SHIPPED
    assert sla_state_of(order, now=now + timedelta(days=5)) == SlaState.DONE


def test_an_amazon_order_ships_with_its_tracking_confirmed_to_amazon(shop):
    url = shop["url"]
    amazon, seller = amazon_seller(url, skus=[shop["sku"]])
    created = httpx.post(f"{url}/_sandbox/amazon/{seller['seller_id']}/orders",
                         json={"lines": [{"seller_sku": "VIRAL-1", "quantity": 2, "price": "24.99"}]}).json()
    assert amazon_poll() == 1
    order = Order.objects.get(channel=Channel.AMAZON)
    order_pipeline(order_id=order.pk)
    shipment = order.shipments.get()
    shipment_ship(shipment_id=shipment.pk, carrier="UPS", tracking_number="1ZAMZ0001")
    assert tracking_push(shipment_id=shipment.pk) == "pushed"
    remote = httpx.get(f"{url}/_sandbox/amazon/{seller['seller_id']}/orders/{created['order_id']}").json()
    assert remote["OrderStatus"] == "Shipped" and remote["Shipments"][0]["trackingNumber"] == "1ZAMZ0001"
    assert remote["Shipments"][0]["orderItems"] == [{"orderItemId": remote["OrderItems"][0]["OrderItemId"], "quantity": 2}]
    order.refresh_from_db()
    assert order.tracking_pushed_at is not None and "Tracking 1ZAMZ0001 sent to Amazon" in order.events.last().message


def test_a_creator_tagged_order_is_tiktok_paid_only_when_tiktok_takes_a_commission(shop):
    """TikTok pays the creator of an affiliate order it charges a commission on; a creator tagged
    without one is on a direct deal, paid by the seller (accrued, settled and paid by us)."""
    from tests.creators.factories import make_creator

    mia = make_creator("mia.direct")
    affiliate = _buy(shop, creator_username="mia.direct", commission_rate=1000, affiliate_commission="3.00")
    direct = _buy(shop, creator_username="@Mia.Direct")
    _deliver(shop, "CR-1", 1, {"order_id": affiliate})
    _deliver(shop, "CR-2", 1, {"order_id": direct})
    orders = {o.external_id: o for o in Order.objects.filter(external_id__in=[affiliate, direct])}
    assert (orders[affiliate].creator_id, orders[affiliate].platform_pays_commission) == (mia.pk, True)
    assert (orders[direct].creator_id, orders[direct].platform_pays_commission) == (mia.pk, False)
    assert orders[direct].lines.get().commission_rate is None
