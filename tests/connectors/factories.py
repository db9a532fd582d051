"""Shops on the sandbox, connected through Fanout's own connect service."""
import httpx

from connectors.models import ChannelAccount, ChannelListing
from connectors.services import AccountInput, account_connect


def tiktok_shop(sandbox_url: str, *, skus=(), quantity: int = 0, webhook_url: str = "", name: str = "Alpha TikTok") -> tuple[ChannelAccount, dict]:
    items = [{"product_id": f"P{sku.product_id}", "sku_id": f"T{sku.pk}", "quantity": quantity} for sku in skus]
    shop = httpx.post(f"{sandbox_url}/_sandbox/tiktok/shops", json={"name": name, "items": items, "webhook_url": webhook_url}).json()
    account = account_connect(data=AccountInput(
        platform="tiktok_shop", name=name, shop_id=shop["shop_id"], shop_cipher=shop["cipher"], stock_location=shop["warehouse_id"],
        app_key=shop["app_key"], app_secret=shop["app_secret"], access_token=shop["access_token"], refresh_token=shop["refresh_token"],
        use_sandbox=True,
    ))
    ChannelListing.objects.bulk_create(ChannelListing(account=account, sku=sku, external_product_id=f"P{sku.product_id}", external_sku_id=f"T{sku.pk}") for sku in skus)
    return account, shop


def shopify_shop(sandbox_url: str, *, skus=(), quantity: int = 0, webhook_url: str = "", name: str = "Alpha Shopify") -> tuple[ChannelAccount, dict]:
    items = [{"inventory_item_id": f"gid://shopify/InventoryItem/{sku.pk}", "quantity": quantity} for sku in skus]
    shop = httpx.post(f"{sandbox_url}/_sandbox/shopify/shops", json={"name": name, "items": items, "webhook_url": webhook_url}).json()
    account = account_connect(data=AccountInput(
        platform="shopify", name=name, shop_id=shop["domain"], stock_location=shop["location_id"], app_key=shop["client_id"],
        app_secret=shop["client_secret"], access_token=shop["access_token"], refresh_token=shop["refresh_token"],
        webhook_secret=shop["webhook_secret"], use_sandbox=True,
    ))
    ChannelListing.objects.bulk_create(ChannelListing(account=account, sku=sku, external_sku_id=f"gid://shopify/InventoryItem/{sku.pk}") for sku in skus)
    return account, shop


def amazon_seller(sandbox_url: str, *, skus=(), quantity: int = 0, name: str = "Alpha Amazon") -> tuple[ChannelAccount, dict]:
    items = [{"seller_sku": sku.code, "quantity": quantity} for sku in skus]
    seller = httpx.post(f"{sandbox_url}/_sandbox/amazon/sellers", json={"name": name, "items": items}).json()
    account = account_connect(data=AccountInput(
        platform="amazon", name=name, shop_id=seller["seller_id"], stock_location=seller["marketplace_id"], app_key=seller["client_id"],
        app_secret=seller["client_secret"], access_token=seller["access_token"], refresh_token=seller["refresh_token"], use_sandbox=True,
    ))
    ChannelListing.objects.bulk_create(ChannelListing(account=account, sku=sku, external_sku_id=sku.code) for sku in skus)
    return account, seller


def sandbox_stock(sandbox_url: str) -> dict:
    return httpx.get(f"{sandbox_url}/_sandbox/stock").json()
