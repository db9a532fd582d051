"""Shopify GraphQL Admin API. One endpoint per shop, `X-Shopify-Access-Token` header; throttling
arrives either as HTTP 429 or as a THROTTLED error in a 200 answer, and both are retried."""
import base64
import hashlib
import hmac
import re
import time
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from connectors.clients.base import (
    ApiClient,
    ChannelAuthError,
    ChannelRateLimited,
    ChannelRequestError,
    ChannelTokenError,
    StockItem,
    Tokens,
)
from erp.ids import whole
from erp.outbound import reply_summary, reply_text

API_VERSION = "2025-01"
BATCH = 250  # inventorySetQuantities takes at most 250 quantities per call

SET_QUANTITIES = """
mutation SetStock($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input) {
    inventoryAdjustmentGroup { reason changes { name delta } }
    userErrors { field message code }
  }
}"""

READ_LEVELS = """
query Levels($ids: [ID!]!, $locationId: ID!) {
  nodes(ids: $ids) {
    ... on InventoryItem { id inventoryLevel(locationId: $locationId) { quantities(names: ["available"]) { name quantity } } }
  }
}"""

ORDERS = """
query Orders($first: Int!, $after: String, $query: String) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    edges { node { id name createdAt updatedAt displayFinancialStatus displayFulfillmentStatus
      currentTotalPriceSet { shopMoney { amount currencyCode } }
      lineItems(first: 100) { edges { node { sku quantity originalUnitPriceSet { shopMoney { amount currencyCode } } } } } } }
    pageInfo { hasNextPage endCursor }
  }
}"""

ORDER = """
query Order($id: ID!) {
  order(id: $id) { id name createdAt processedAt updatedAt cancelledAt currencyCode displayFulfillmentStatus
    shippingAddress { name address1 address2 city provinceCode zip countryCodeV2 phone }
    lineItems(first: 100) { edges { node { sku quantity variant { inventoryItem { id } }
      originalUnitPriceSet { shopMoney { amount currencyCode } } } } }
    fulfillmentOrders(first: 5) { edges { node { id status } } } }
}"""

FULFILL = """
mutation Fulfil($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) {
    fulfillment { id status trackingInfo { company number url } }
    userErrors { field message }
  }
}"""

SHOP = "query { shop { name myshopifyDomain } }"


# A shop's permanent domain: <name>.myshopify.com, the name in lower-case letters, digits and hyphens.
SHOP_DOMAIN = re.compile(r"[a-z0-9][a-z0-9-]{0,62}\.myshopify\.com")


def shopify_domain_valid(domain: str) -> bool:
    """Whether `domain` is a myshopify.com shop domain (it becomes the API host, so nothing else is)."""
    return bool(SHOP_DOMAIN.fullmatch(domain or ""))


def shopify_webhook_signature(*, secret: str, raw_body: bytes) -> str:
    """`X-Shopify-Hmac-Sha256`: base64 of HMAC-SHA256(secret, raw body)."""
    return base64.b64encode(hmac.new(secret.encode(), raw_body, hashlib.sha256).digest()).decode()


def error_messages(errors) -> str:
    """The `message` fields of GraphQL `errors` / `userErrors` (a list, or one string), fit to show."""
    if isinstance(errors, str):
        return reply_text(errors)
    items = errors if isinstance(errors, list) else []
    return reply_text("; ".join(reply_text(e.get("message")) for e in items[:3] if isinstance(e, dict)), limit=300)


class ShopifyClient(ApiClient):
    platform = "Shopify"

    @property
    def endpoint(self) -> str:
        return f"{self.account.api_base_url.rstrip('/')}/admin/api/{API_VERSION}/graphql.json"

    def token_fresh(self) -> bool:
        # Offline tokens without an expiry never need refreshing.
        return bool(self.account.access_token) and (
            self.account.access_token_expires_at is None or super().token_fresh()
        )

    def refresh_tokens(self) -> Tokens:
        account = self.account
        if not account.refresh_token:
            raise ChannelAuthError("Shopify: the access token was refused and there is no refresh token; reconnect the shop",
                                   platform=self.platform)
        response = self.send("POST", account.auth_url, data={
            "client_id": account.app_key, "client_secret": account.app_secret,
            "grant_type": "refresh_token", "refresh_token": account.refresh_token,
        })
        data = self.json_of(response)
        if response.status_code != 200 or "access_token" not in data:
            raise ChannelAuthError(f"Shopify refused the token refresh: {reply_text(data.get('error_description')) or reply_text(data.get('error'))}",
                                   platform=self.platform, status=response.status_code)
        now = timezone.now()
        return Tokens(
            data["access_token"], now + timedelta(seconds=int(data["expires_in"])) if data.get("expires_in") else None,
            data.get("refresh_token", ""),
            now + timedelta(seconds=int(data["refresh_token_expires_in"])) if data.get("refresh_token_expires_in") else None,
        )

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        def once():
            for attempt in range(1, self.max_attempts + 1):
                response = self.send("POST", self.endpoint, json={"query": query, "variables": variables or {}},
                                     headers={"X-Shopify-Access-Token": self.account.access_token})
                if response.status_code in (401, 403):
                    raise ChannelTokenError(f"Shopify: access token refused (HTTP {response.status_code})",
                                           platform=self.platform, status=response.status_code)
                data = self.json_of(response)
                errors = data.get("errors") or []
                if isinstance(errors, list) and any(isinstance(e, dict) and (e.get("extensions") or {}).get("code") == "THROTTLED" for e in errors):
                    if attempt == self.max_attempts:
                        raise ChannelRateLimited("Shopify: query cost budget exhausted (THROTTLED)", platform=self.platform)
                    time.sleep(min(self.backoff_base * 2 ** (attempt - 1), settings.FANOUT_CHANNEL_MAX_BACKOFF_S))
                    continue
                if errors or response.status_code >= 400:
                    raise ChannelRequestError(f"Shopify: {error_messages(errors) or reply_summary(response.status_code)}", platform=self.platform,
                                              status=response.status_code)
                return data.get("data") or {}
            raise AssertionError("unreachable")

        return self.authed(once)

    # ---------------------------------------------------------------- documented operations
    def ping(self) -> str:
        return self.graphql(SHOP)["shop"]["name"]

    def orders(self, *, first: int = 50, after: str | None = None, query: str | None = None) -> dict:
        return self.graphql(ORDERS, {"first": first, "after": after, "query": query})["orders"]

    def order_get(self, order_id: str) -> dict | None:
        node = self.graphql(ORDER, {"id": order_id}).get("order")
        if node:  # flatten the variant's inventory item id, which is how our listings name the item
            for edge in (node.get("lineItems") or {}).get("edges") or []:
                variant = edge["node"].pop("variant", None) or {}
                edge["node"]["variantInventoryItemId"] = ((variant.get("inventoryItem") or {}).get("id")) or ""
        return node

    def inventory_set_quantities(self, quantities: list[dict], *, reason: str = "correction") -> list[dict]:
        """Set `available` with compare-and-set; returns the userErrors (empty when all were set)."""
        result = self.graphql(SET_QUANTITIES, {"input": {
            "name": "available", "reason": reason, "referenceDocumentUri": "fanout://stock-sync",
            "ignoreCompareQuantity": False, "quantities": quantities,
        }})["inventorySetQuantities"]
        return result.get("userErrors") or []

    def fulfillment_create(self, *, fulfillment_order_id: str, company: str, number: str, url: str = "") -> dict:
        result = self.graphql(FULFILL, {"fulfillment": {
            "lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fulfillment_order_id}],
            "trackingInfo": {"company": company, "number": number, "url": url}, "notifyCustomer": True,
        }})["fulfillmentCreate"]
        if result.get("userErrors"):
            raise ChannelRequestError(f"Shopify: {error_messages(result['userErrors'])}", platform=self.platform)
        return result["fulfillment"]

    # ---------------------------------------------------------------- stock sync
    def stock_read(self, items: list[StockItem]) -> dict[str, int]:
        found: dict[str, int] = {}
        for start in range(0, len(items), BATCH):
            ids = [i.external_sku_id for i in items[start:start + BATCH]]
            nodes = self.graphql(READ_LEVELS, {"ids": ids, "locationId": self.account.stock_location})["nodes"]
            for node in nodes:
                level = (node or {}).get("inventoryLevel")
                if level:
                    available = [q["quantity"] for q in level["quantities"] if q["name"] == "available"]
                    if available:
                        found[node["id"]] = int(available[0])
        return found

    def stock_push(self, items: list[StockItem]) -> dict[str, str]:
        """Compare-and-set against what we last read or pushed. When someone changed the level on
        Shopify meanwhile (COMPARE_QUANTITY_STALE), read the level again and set once more: our
        pool is the source of truth for what may be sold."""
        refused: dict[str, str] = {}
        for start in range(0, len(items), BATCH):
            batch = items[start:start + BATCH]
            unknown = [i for i in batch if i.expected is None]
            if unknown:
                current = self.stock_read(unknown)
                batch = [i if i.expected is not None else StockItem(i.external_product_id, i.external_sku_id, i.quantity,
                                                                   current.get(i.external_sku_id)) for i in batch]
                for item in [i for i in batch if i.expected is None]:
                    refused[item.external_sku_id] = "Shopify: the item is not stocked at this location"
                batch = [i for i in batch if i.expected is not None]
            if not batch:
                continue
            stale = self._set(batch, refused)
            if stale:
                current = self.stock_read(stale)
                retry = [StockItem(i.external_product_id, i.external_sku_id, i.quantity, current.get(i.external_sku_id)) for i in stale]
                for item in self._set(retry, refused):
                    refused[item.external_sku_id] = "Shopify: the level kept changing while we set it (compare-and-set)"
        return refused

    def _set(self, batch: list[StockItem], refused: dict[str, str]) -> list[StockItem]:
        quantities = [{"inventoryItemId": i.external_sku_id, "locationId": self.account.stock_location,
                       "quantity": i.quantity, "compareQuantity": i.expected} for i in batch]
        stale = []
        for error in self.inventory_set_quantities(quantities):
            field = error.get("field") or []
            index = whole(field[2]) if len(field) > 2 else None
            items = [batch[index]] if index is not None and index < len(batch) else batch
            for item in items:
                if error.get("code") == "COMPARE_QUANTITY_STALE":
                    stale.append(item)
                else:
                    refused[item.external_sku_id] = f"Shopify: {reply_text(error.get('message'))}"
        return stale
