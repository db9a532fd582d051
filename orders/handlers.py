"""Channel webhooks that concern orders: each fetches the order through the platform client (the
webhook only says that something changed) and upserts it."""
from connectors.models import Platform, WebhookEvent
from connectors.services.webhooks import webhook_batch_handler, webhook_handler


@webhook_batch_handler(Platform.TIKTOK_SHOP, "1", "3", "4", "11", size=50)
def _tiktok_orders_changed(events: list[WebhookEvent]) -> dict[int, Exception]:
    """ORDER_STATUS_CHANGE, RECIPIENT_ADDRESS_UPDATE, PACKAGE_UPDATE, CANCELLATION_STATUS_CHANGE:
    the orders of all these events are fetched in one call (Get Order Detail takes up to 50 ids)
    and each is upserted on its own, so one bad order fails only its own events."""
    from orders.services.channels import tiktok_orders_sync

    failed: dict[int, Exception] = {}
    by_order: dict[str, list[int]] = {}
    for event in events:
        order_id = str((event.payload.get("data") or {}).get("order_id") or "")
        if order_id:
            by_order.setdefault(order_id, []).append(event.pk)
        else:
            failed[event.pk] = ValueError("the event has no data.order_id")
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


@webhook_handler(Platform.SHOPIFY, "orders/create", "orders/updated", "orders/cancelled", "orders/fulfilled")
def _shopify_order_changed(event: WebhookEvent) -> None:
    from orders.services.channels import shopify_order_sync

    order_id = event.payload.get("admin_graphql_api_id") or (f"gid://shopify/Order/{event.payload['id']}" if event.payload.get("id") else "")
    if not order_id:
        raise ValueError("the webhook body has no order id")
    shopify_order_sync(account=event.account, external_id=order_id)
