"""Fetch orders from the connected shops and upsert them: TikTok Shop and Shopify when their
webhooks say an order changed, Amazon by polling (it has no order webhooks for us)."""
import logging
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

from django.utils.translation import gettext as _

from connectors.clients import client_class
from connectors.models import AccountStatus, ChannelAccount, Platform
from orders.exceptions import ChannelOrderMissing
from orders.models import Channel, Order
from orders.services.intake import Intake, IntakeLine, _iso, intake_from_amazon, intake_from_tiktok, order_upsert

log = logging.getLogger("fanout.orders")


TIKTOK_DETAIL_MAX_IDS = 50  # Get Order Detail takes at most 50 order ids per call


def tiktok_order_sync(*, account: ChannelAccount, external_ids: list[str]) -> None:
    """Fetch and upsert these orders; the first problem raises (for callers that want all or nothing)."""
    failed = tiktok_orders_sync(account=account, external_ids=external_ids)
    if failed:
        raise next(iter(failed.values()))


def tiktok_orders_sync(*, account: ChannelAccount, external_ids: list[str]) -> dict[str, Exception]:
    """Fetch these orders in as few calls as the API allows and upsert each in its own savepoint.
    A failing call raises (the caller retries it all); a missing or failing order is returned
    with its error ({order id: exception}) while the others are kept."""
    from django.db import transaction

    with client_class(account.platform)(account) as client:
        found = {str(o.get("id")): o for start in range(0, len(external_ids), TIKTOK_DETAIL_MAX_IDS)
                 for o in client.orders_detail(external_ids[start:start + TIKTOK_DETAIL_MAX_IDS])}
    failed: dict[str, Exception] = {}
    for order_id in external_ids:
        data = found.get(order_id)
        if data is None:
            failed[order_id] = ChannelOrderMissing(_("TikTok Shop does not know order %(id)s (Get Order Detail returns nothing for it).") % {"id": order_id})
            continue
        try:
            with transaction.atomic():
                order_upsert(intake_from_tiktok(data, account=account))
        except Exception as exc:  # noqa: BLE001 — recorded on its events; the rest of the batch goes on
            log.exception("TikTok order %s could not be taken in", order_id)
            failed[order_id] = exc
    return failed


def tiktok_return(*, account: ChannelAccount, data: dict) -> None:
    """data: {order_id, return_status, return_line_items: [{sku_id, quantity}]}; only a completed
    return moves stock."""
    from orders.services.pipeline import note, order_return

    order = Order.objects.filter(channel=Channel.TIKTOK_SHOP, external_id=str(data.get("order_id", ""))).first()
    if order is None:
        tiktok_order_sync(account=account, external_ids=[str(data.get("order_id", ""))])
        order = Order.objects.get(channel=Channel.TIKTOK_SHOP, external_id=str(data.get("order_id", "")))
    status = str(data.get("return_status", ""))
    if status != "RETURN_OR_REFUND_REQUEST_COMPLETE":
        note(order, _("TikTok Shop return status: %(status)s") % {"status": status or "?"})
        return
    from connectors.models import ChannelListing

    listing = dict(ChannelListing.objects.filter(account=account).values_list("external_sku_id", "sku_id"))
    quantities: dict[int, int] = {}
    lines = list(order.lines.all())
    for item in data.get("return_line_items") or []:
        sku_id = listing.get(str(item.get("sku_id")))
        qty = int(item.get("quantity", 0))
        for line in lines:
            if line.sku_id == sku_id and qty > 0:
                take = min(qty, line.quantity - line.quantity_returned - quantities.get(line.pk, 0))
                if take > 0:
                    quantities[line.pk] = quantities.get(line.pk, 0) + take
                    qty -= take
    already = sum(line.quantity_returned for line in lines)
    if quantities and already < sum(line.quantity for line in lines):
        order_return(order_id=order.pk, quantities=quantities)


def intake_from_shopify(data: dict, *, account) -> Intake:
    address = data.get("shippingAddress") or {}
    fulfillment_orders = [e["node"]["id"] for e in ((data.get("fulfillmentOrders") or {}).get("edges") or [])]
    state = "cancelled" if data.get("cancelledAt") else ("delivered" if data.get("displayFulfillmentStatus") == "DELIVERED" else "")
    return Intake(
        channel=Channel.SHOPIFY, external_id=str(data["id"]), account_id=account.pk, currency=data.get("currencyCode") or "USD",
        placed_at=_iso(data.get("createdAt")), paid_at=_iso(data.get("processedAt") or data.get("createdAt")),
        lines=[IntakeLine(sku=str(e["node"].get("variantInventoryItemId") or e["node"].get("sku") or ""), quantity=e["node"].get("quantity", 1),
                          unit_price=((e["node"].get("originalUnitPriceSet") or {}).get("shopMoney") or {}).get("amount", "0"))
               for e in ((data.get("lineItems") or {}).get("edges") or [])],
        address={"ship_name": address.get("name", ""), "ship_line1": address.get("address1", ""), "ship_line2": address.get("address2") or "",
                 "ship_city": address.get("city", ""), "ship_state": address.get("provinceCode", ""), "ship_zip": address.get("zip", ""),
                 "ship_country": address.get("countryCodeV2", "US"), "ship_phone": address.get("phone") or ""},
        state=state, external_status=data.get("displayFulfillmentStatus", ""), external_updated_at=_iso(data.get("updatedAt")),
        external_data={"fulfillment_order_id": fulfillment_orders[0]} if fulfillment_orders else {},
    )


def shopify_order_sync(*, account: ChannelAccount, external_id: str) -> Order:
    with client_class(account.platform)(account) as client:
        data = client.order_get(external_id)
    if not data:
        raise ChannelOrderMissing(_("Shopify does not know order %(id)s.") % {"id": external_id})
    return order_upsert(intake_from_shopify(data, account=account))[0]


def amazon_poll(*, overlap: timedelta = timedelta(minutes=2)) -> int:
    """Read orders updated since the last poll of each connected Amazon account (with a small
    overlap; upserts make re-reading harmless). Returns the number of orders read.

    An order that cannot be taken in is recorded with the exceptions (orders.IntakeFailure, with the
    order as Amazon gave it, so a retry reads it again) and the poll goes on: one bad order never
    holds up the others. A shop whose authorisation is refused is marked for re-authorisation and the
    other shops are still polled; a shop that does not answer fails the run after the others (retried)."""
    from django.db import transaction

    from connectors.clients import ChannelAuthError, ChannelTransientError
    from connectors.services.redis_keys import redis_client, tenant_key
    from orders.services.intake_failures import intake_failure_record

    read, transient = 0, None
    for account in ChannelAccount.objects.filter(platform=Platform.AMAZON, status=AccountStatus.CONNECTED):
        key = tenant_key("amazon-orders-cursor", account.pk)
        since = redis_client().get(key) or (datetime.now(dt_timezone.utc) - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
        try:
            with client_class(account.platform)(account) as client:
                token, newest = None, since
                while True:
                    page = client.orders(last_updated_after=since, next_token=token)
                    for data in page.get("Orders") or []:
                        try:
                            with transaction.atomic():
                                order_upsert(intake_from_amazon(data, account=account))
                        except Exception as exc:  # noqa: BLE001 — recorded where Operations look; the poll goes on
                            log.warning("Amazon order %s could not be taken in: %s", data.get("AmazonOrderId"), exc)
                            intake_failure_record(channel=Channel.AMAZON, external_id=str(data.get("AmazonOrderId") or ""), source="poll",
                                                  exc=exc, account_id=account.pk, payload=data)
                        read += 1
                    token = page.get("NextToken")
                    newest = page.get("LastUpdatedBefore") or newest
                    if not token:
                        break
        except ChannelAuthError as exc:
            from connectors.services import account_mark_needs_reauth

            account_mark_needs_reauth(account_id=account.pk, reason=f"Amazon: {exc}")
            continue
        except ChannelTransientError as exc:
            log.warning("Amazon account %s did not answer: %s", account.pk, exc)
            transient = transient or exc
            continue
        cursor = (_iso(newest) or datetime.now(dt_timezone.utc)) - overlap
        redis_client().set(key, cursor.strftime("%Y-%m-%dT%H:%M:%SZ"))
    if transient is not None:
        raise transient
    return read
