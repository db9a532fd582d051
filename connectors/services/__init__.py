from connectors.services.accounts import (
    AccountInput,
    account_connect,
    account_disconnect,
    account_mark_needs_reauth,
    account_test,
    client_for,
    listings_import,
)
from connectors.services.stock_sync import listings_push, stock_flush, stock_reconcile, stock_sync_request
from connectors.services.webhooks import webhook_process, webhook_receive_shopify, webhook_receive_tiktok, webhook_retry, webhooks_resume

__all__ = [
    "AccountInput", "account_connect", "account_disconnect", "account_mark_needs_reauth", "account_test", "client_for",
    "listings_import", "listings_push", "stock_flush", "stock_reconcile", "stock_sync_request", "webhook_process", "webhooks_resume",
    "webhook_receive_shopify", "webhook_receive_tiktok", "webhook_retry",
]
