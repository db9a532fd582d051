"""Our real HTTP clients against the platform sandbox: signatures, tokens, rate limits, errors."""
import httpx
import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from connectors.clients import ChannelAuthError, ChannelRequestError, ChannelResponseError, StockItem
from connectors.exceptions import ConnectorError
from connectors.models import ChannelAccount
from connectors.services import AccountInput, account_connect, client_for
from tests.connectors.factories import amazon_seller, sandbox_stock, shopify_shop, tiktok_shop
from tests.inventory.factories import make_sku


@pytest.fixture
def in_alpha(alpha):
    with tenant_context(alpha):
        yield alpha


def test_tiktok_signed_calls_are_accepted_and_a_wrong_secret_is_refused(in_alpha, sandbox):
    url, store = sandbox
    sku = make_sku("TT-1")
    account, shop = tiktok_shop(url, skus=[sku])
    with client_for(account) as api:
        assert api.ping() == "Alpha TikTok"
        assert api.stock_push([StockItem(f"P{sku.product_id}", f"T{sku.pk}", 42)]) == {}
    assert sandbox_stock(url)["tiktok"][shop["shop_id"]] == {f"T{sku.pk}": 42}

    account.app_secret = "not-the-secret"
    with pytest.raises(ChannelAuthError, match="Invalid signature"), client_for(account) as api:
        api.ping()


def test_connecting_with_bad_credentials_stores_nothing(in_alpha, sandbox):
    url, _store = sandbox
    shop = httpx.post(f"{url}/_sandbox/tiktok/shops", json={"name": "X"}).json()
    with pytest.raises(ConnectorError, match="refused"):
        account_connect(data=AccountInput(platform="tiktok_shop", name="X", shop_id=shop["shop_id"], shop_cipher=shop["cipher"],
                                          stock_location="1", app_key=shop["app_key"], app_secret="wrong", access_token="nope",
                                          use_sandbox=True))
    assert not ChannelAccount.objects.exists()


def test_an_expired_token_is_refreshed_and_the_new_one_is_stored_encrypted(in_alpha, sandbox):
    url, _store = sandbox
    account, shop = tiktok_shop(url)
    httpx.post(f"{url}/_sandbox/tiktok/{shop['shop_id']}/expire-token")
    with client_for(account) as api:
        assert api.ping() == "Alpha TikTok"
    stored = ChannelAccount.objects.get(pk=account.pk)
    assert stored.access_token and stored.access_token != shop["access_token"]
    assert stored.refresh_token != shop["refresh_token"]  # the sandbox rotates refresh tokens too
    with connection.cursor() as cursor:
        cursor.execute("SELECT access_token, app_secret FROM connectors_channelaccount WHERE id = %s", [account.pk])
        raw_token, raw_secret = cursor.fetchone()
    assert stored.access_token not in raw_token and shop["app_secret"] not in raw_secret


def test_a_revoked_authorisation_cannot_be_refreshed(in_alpha, sandbox):
    url, _store = sandbox
    account, shop = tiktok_shop(url)
    httpx.post(f"{url}/_sandbox/tiktok/{shop['shop_id']}/revoke")
    with pytest.raises(ChannelAuthError, match="refresh"), client_for(account) as api:
        api.ping()


def test_429_is_retried_after_retry_after_and_then_succeeds(in_alpha, sandbox):
    url, store = sandbox
    sku = make_sku("RL-1")
    account, seller = amazon_seller(url, skus=[sku])
    httpx.post(f"{url}/_sandbox/amazon/{seller['seller_id']}/fail", json={"failures": [{"status": 429, "retry_after": 0}, {"status": 503}]})
    before = store.requests.get("amazon", 0)
    with client_for(account) as api:
        assert api.stock_push([StockItem("", sku.code, 7)]) == {}
    assert store.requests["amazon"] - before == 3  # 429, 503, then the accepted patch
    assert sandbox_stock(url)["amazon"][seller["seller_id"]][sku.code] == 7


def test_truncated_json_and_unknown_items_give_clear_errors(in_alpha, sandbox):
    url, _store = sandbox
    sku = make_sku("TR-1")
    account, shop = tiktok_shop(url, skus=[sku])
    httpx.post(f"{url}/_sandbox/tiktok/{shop['shop_id']}/fail", json={"failures": [{"truncate": True}]})
    with pytest.raises(ChannelResponseError, match="not JSON"), client_for(account) as api:
        api.ping()
    with client_for(account) as api:
        refused = api.stock_push([StockItem("P-unknown", "T-unknown", 1)])
    assert "not found" in refused["T-unknown"]
    with pytest.raises(ChannelRequestError, match="does not belong"), client_for(account) as api:
        api.inventory_update(product_id=f"P{sku.product_id}", skus=[("T-other", account.stock_location, 1)])


def test_shopify_compare_and_set_rereads_a_level_changed_on_shopify(in_alpha, sandbox):
    url, _store = sandbox
    sku = make_sku("SH-1")
    account, shop = shopify_shop(url, skus=[sku], quantity=5)
    item = f"gid://shopify/InventoryItem/{sku.pk}"
    with client_for(account) as api:
        assert api.stock_read([StockItem("", item)]) == {item: 5}
        # We believe Shopify shows 5, but a Shopify order took one meanwhile.
        httpx.post(f"{url}/_sandbox/shopify/{shop['domain']}/stock", json={"item": item, "quantity": 4})
        assert api.stock_push([StockItem("", item, 9, expected=5)]) == {}
    assert sandbox_stock(url)["shopify"][shop["domain"]][item] == 9


def test_tiktok_orders_fulfilment_affiliate_and_finance_calls(in_alpha, sandbox):
    url, _store = sandbox
    sku = make_sku("OR-1")
    account, shop = tiktok_shop(url, skus=[sku])
    order = httpx.post(f"{url}/_sandbox/tiktok/{shop['shop_id']}/orders", json={
        "lines": [{"sku_id": f"T{sku.pk}", "quantity": 2, "price": "29.99"}], "creator_username": "glowwithmia",
        "commission_rate": 2000, "affiliate_commission": "12.00"}).json()
    with client_for(account) as api:
        found = api.orders_search(order_status="AWAITING_SHIPMENT")
        assert [o["id"] for o in found["orders"]] == [order["order_id"]]
        detail = api.orders_detail([order["order_id"]])[0]
        assert detail["payment"]["total_amount"] == "59.98"
        api.package_ship(package_id=detail["packages"][0]["id"], tracking_number="1Z999", shipping_provider_id="UPS")
        assert api.orders_detail([order["order_id"]])[0]["status"] == "IN_TRANSIT"
        affiliate = api.affiliate_orders_search()["orders"][0]
        assert affiliate["commission_rate"] == 2000 and affiliate["affiliate_commission_amount"]["amount"] == "12.00"
        assert api.statement_transactions(statement_id="S1")["statement_transactions"][0]["order_id"] == order["order_id"]


def test_shopify_orders_and_fulfilment_and_amazon_order_polling(in_alpha, sandbox):
    url, store = sandbox
    account, shop = shopify_shop(url)
    store.shopify[shop["domain"]]["orders"]["1"] = {"id": "gid://shopify/Order/1", "name": "#1001", "updatedAt": "2026-11-24T10:00:00Z"}
    with client_for(account) as api:
        assert api.orders(first=10)["edges"][0]["node"]["name"] == "#1001"
        with pytest.raises(ChannelRequestError, match="Tracking number"):
            api.fulfillment_create(fulfillment_order_id="gid://shopify/FulfillmentOrder/1", company="UPS", number="")
        assert api.fulfillment_create(fulfillment_order_id="gid://shopify/FulfillmentOrder/1", company="UPS", number="1Z9")["status"] == "SUCCESS"
    amazon, seller = amazon_seller(url)
    store.amazon[seller["seller_id"]]["orders"]["111-1"] = {"AmazonOrderId": "111-1", "LastUpdateDate": "2026-11-24T10:00:00Z"}
    with client_for(amazon) as api:
        assert [o["AmazonOrderId"] for o in api.orders(last_updated_after="2026-11-01T00:00:00Z")["Orders"]] == ["111-1"]
        assert api.orders(last_updated_after="2026-12-01T00:00:00Z")["Orders"] == []
