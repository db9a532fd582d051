"""Connect the demo seller to the local platform sandbox: a TikTok shop, a Shopify store and an
Amazon seller account, each listing demo SKUs. The sandbox forgets everything when it stops, so
this runs on every `make run`: shops are registered again under the same ids and credentials,
fresh tokens are stored, and a reconcile pushes the current stock."""
import logging
from functools import partial

import httpx
from django.db import transaction

from connectors.models import AccountStatus, ChannelAccount, ChannelListing, Platform
from connectors.services.accounts import endpoints_for
from erp.outbound import OutboundRefused, outbound_client, sandbox_url

log = logging.getLogger("fanout.connectors")

DEMO_SHOPS = {
    Platform.TIKTOK_SHOP: ("Demo Beauty Co. (TikTok Shop)", "7494105515082810525"),
    Platform.SHOPIFY: ("Demo Beauty Co. (Shopify)", "demo-beauty.myshopify.com"),
    Platform.AMAZON: ("Demo Beauty Co. (Amazon)", "A2DEMOSELLER01"),
}


def demo_channels_seed(*, webhook_base_url: str) -> int:
    """Returns the number of shops (re)connected; 0 when no sandbox is configured or reachable."""
    from inventory.models import SKU

    sandbox = sandbox_url()
    if not sandbox:
        return 0
    skus = list(SKU.objects.filter(is_active=True).select_related("product").order_by("code"))
    accounts = {a.platform: a for a in ChannelAccount.objects.filter(shop_id__in=[v[1] for v in DEMO_SHOPS.values()])
                .exclude(status=AccountStatus.DISCONNECTED)}
    listed = {Platform.TIKTOK_SHOP: skus, Platform.SHOPIFY: skus[:15], Platform.AMAZON: skus[:10]}
    try:
        with outbound_client(base_url=sandbox, timeout=10) as http:
            made = [_seed_one(http, platform, accounts.get(platform), listed[platform], webhook_base_url) for platform in DEMO_SHOPS]
    except (httpx.HTTPError, OutboundRefused) as exc:
        log.warning("platform sandbox at %s not reachable (%s); the demo has no connected shops", sandbox, exc)
        return 0
    from connectors import tasks

    for account in made:
        transaction.on_commit(partial(tasks.stock_reconcile.delay, account.pk))
    return len(made)


def _item_ids(platform: str, sku) -> tuple[str, str]:
    if platform == Platform.TIKTOK_SHOP:
        return f"17{sku.product_id:08d}", f"29{sku.pk:08d}"
    if platform == Platform.SHOPIFY:
        return "", f"gid://shopify/InventoryItem/4{sku.pk:07d}"
    return "", sku.code


def _seed_one(http: httpx.Client, platform: str, account: ChannelAccount | None, skus, webhook_base_url: str) -> ChannelAccount:
    name, shop_id = DEMO_SHOPS[platform]
    if platform == Platform.TIKTOK_SHOP:
        body = {"shop_id": shop_id, "name": name, "webhook_url": f"{webhook_base_url}/hooks/tiktok-shop/",
                "items": [{"product_id": p, "sku_id": s, "quantity": 0} for p, s in (_item_ids(platform, k) for k in skus)]}
        if account:
            body |= {"app_key": account.app_key, "app_secret": account.app_secret, "cipher": account.shop_cipher,
                     "warehouse_id": account.stock_location}
        shop = http.post("/_sandbox/tiktok/shops", json=body).raise_for_status().json()
        fields = {"app_key": shop["app_key"], "app_secret": shop["app_secret"], "shop_cipher": shop["cipher"],
                  "stock_location": shop["warehouse_id"]}
    elif platform == Platform.SHOPIFY:
        body = {"domain": shop_id, "name": name, "webhook_url": f"{webhook_base_url}/hooks/shopify/",
                "items": [{"inventory_item_id": _item_ids(platform, k)[1], "quantity": 0} for k in skus]}
        if account:
            body |= {"client_id": account.app_key, "client_secret": account.app_secret, "webhook_secret": account.webhook_secret,
                     "location_id": account.stock_location}
        shop = http.post("/_sandbox/shopify/shops", json=body).raise_for_status().json()
        fields = {"app_key": shop["client_id"], "app_secret": shop["client_secret"], "webhook_secret": shop["webhook_secret"],
                  "stock_location": shop["location_id"]}
    else:
        body = {"seller_id": shop_id, "name": name, "items": [{"seller_sku": k.code, "quantity": 0} for k in skus]}
        if account:
            body |= {"client_id": account.app_key, "client_secret": account.app_secret}
        shop = http.post("/_sandbox/amazon/sellers", json=body).raise_for_status().json()
        fields = {"app_key": shop["client_id"], "app_secret": shop["client_secret"], "stock_location": shop["marketplace_id"]}
    api_base_url, auth_url = endpoints_for(platform=platform, shop_id=shop_id, sandbox=True)
    fields |= {"access_token": shop["access_token"], "refresh_token": shop["refresh_token"], "access_token_expires_at": None,
               "api_base_url": api_base_url, "auth_url": auth_url, "status": AccountStatus.CONNECTED, "status_detail": "",
               "name": name}
    if account is None:
        account = ChannelAccount(platform=platform, shop_id=shop_id)
    for key, value in fields.items():
        setattr(account, key, value)
    account.save()
    existing = set(ChannelListing.objects.filter(account=account).values_list("sku_id", flat=True))
    ChannelListing.objects.bulk_create(
        ChannelListing(account=account, sku=sku, external_product_id=_item_ids(platform, sku)[0], external_sku_id=_item_ids(platform, sku)[1])
        for sku in skus if sku.pk not in existing
    )
    # The sandbox starts every item at 0; forget what we last pushed so the reconcile pushes all.
    from connectors.models import StockSyncState

    StockSyncState.objects.filter(listing__account=account).delete()
    return account
