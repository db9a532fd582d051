"""Channel webhooks that concern orders: each fetches the order through the platform client (the
webhook only says that something changed) and upserts it."""
from connectors.models import Platform, WebhookEvent
from connectors.services.webhooks import webhook_batch_handler, webhook_failure_listener, webhook_handler
from orders.exceptions import IntakeRejected
from orders.models import Channel

TIKTOK_ORDER_TOPICS = ("1", "3", "4", "11")
SHOPIFY_ORDER_TOPICS = ("orders/create", "orders/updated", "orders/cancelled", "orders/fulfilled")


def _tiktok_order_id(event: WebhookEvent) -> str:
    data = event.payload.get("data") if isinstance(event.payload, dict) else None
    return str((data or {}).get("order_id") or "") if isinstance(data, dict) else ""


def _shopify_order_id(event: WebhookEvent) -> str:
    payload = event.payload if isinstance(event.payload, dict) else {}
    return str(payload.get("admin_graphql_api_id") or (f"gid://shopify/Order/{payload['id']}" if payload.get("id") else ""))


@webhook_batch_handler(Platform.TIKTOK_SHOP, *TIKTOK_ORDER_TOPICS, size=50)
def _tiktok_orders_changed(events: list[WebhookEvent]) -> dict[int, Exception]:
    """ORDER_STATUS_CHANGE, RECIPIENT_ADDRESS_UPDATE, PACKAGE_UPDATE, CANCELLATION_STATUS_CHANGE:
    the orders of all these events are fetched in one call (Get Order Detail takes up to 50 ids)
    and each is upserted on its own, so one bad order fails only its own events."""
    from orders.services.channels import tiktok_orders_sync

    failed: dict[int, Exception] = {}
    by_order: dict[str, list[int]] = {}
    for event in events:
        order_id = _tiktok_order_id(event)
        if order_id:
            by_order.setdefault(order_id, []).append(event.pk)
        else:
            failed[event.pk] = IntakeRejected("the notification has no data.order_id")
    if by_order:
        for order_id, exc in tiktok_orders_sync(account=events[0].account, external_ids=list(by_order)).items():
            for pk in by_order[order_id]:
                failed[pk] = exc
    return failed


@webhook_handler(Platform.TIKTOK_SHOP, "12")
def _tiktok_return(event: WebhookEvent) -> None:
    """RETURN_STATUS_CHANGE: a completed return restocks the returned lines at FIFO cost."""
    from orders.services.channels import tiktok_return

    tiktok_return(account=event.account, data=event.payload.get("data") or {})


@webhook_handler(Platform.SHOPIFY, *SHOPIFY_ORDER_TOPICS)
def _shopify_order_changed(event: WebhookEvent) -> None:
    from orders.services.channels import shopify_order_sync

    order_id = _shopify_order_id(event)
    if not order_id:
        raise IntakeRejected("the webhook body has no order id")
    shopify_order_sync(account=event.account, external_id=order_id)


# An order notification that failed, whatever the error, shows with the exceptions (orders.IntakeFailure).
@webhook_failure_listener(Platform.TIKTOK_SHOP, *TIKTOK_ORDER_TOPICS)
def _tiktok_order_failed(event: WebhookEvent, exc: BaseException) -> None:
    from orders.services.intake_failures import intake_failure_record

    intake_failure_record(channel=Channel.TIKTOK_SHOP, external_id=_tiktok_order_id(event), source="webhook", exc=exc,
                          account_id=event.account_id, event_id=event.pk)


@webhook_failure_listener(Platform.SHOPIFY, *SHOPIFY_ORDER_TOPICS)
def _shopify_order_failed(event: WebhookEvent, exc: BaseException) -> None:
    from orders.services.intake_failures import intake_failure_record

    intake_failure_record(channel=Channel.SHOPIFY, external_id=_shopify_order_id(event), source="webhook", exc=exc,
                          account_id=event.account_id, event_id=event.pk)
