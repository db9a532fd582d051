"""Amazon Selling Partner API: Login with Amazon tokens (`x-amz-access-token`), stock through
`patchListingsItem` on /attributes/fulfillment_availability, and orders by polling."""
from datetime import timedelta
from urllib.parse import quote

from django.utils import timezone

from connectors.clients.base import ApiClient, ChannelAuthError, ChannelRequestError, ChannelTokenError, StockItem, Tokens
from erp.outbound import reply_text

LISTINGS = "/listings/2021-08-01/items"


class AmazonClient(ApiClient):
    platform = "Amazon"

    def refresh_tokens(self) -> Tokens:
        account = self.account
        response = self.send("POST", account.auth_url, data={
            "grant_type": "refresh_token", "refresh_token": account.refresh_token,
            "client_id": account.app_key, "client_secret": account.app_secret,
        })
        data = self.json_of(response)
        if response.status_code != 200 or "access_token" not in data:
            raise ChannelAuthError(f"Amazon refused the token refresh: {reply_text(data.get('error_description')) or reply_text(data.get('error'))}",
                                   platform=self.platform, status=response.status_code)
        return Tokens(data["access_token"], timezone.now() + timedelta(seconds=int(data.get("expires_in", 3600))))

    def call(self, method: str, path: str, *, params: dict | None = None, body: dict | None = None) -> dict:
        def once():
            response = self.send(method, self.account.api_base_url.rstrip("/") + path, params=params, json=body,
                                 headers={"x-amz-access-token": self.account.access_token})
            data = self.json_of(response) if response.status_code != 204 else {}
            if response.status_code in (401, 403):
                raise ChannelTokenError(f"Amazon: {self._errors(data)} (HTTP {response.status_code})",
                                       platform=self.platform, status=response.status_code)
            if response.status_code >= 400:
                raise ChannelRequestError(f"Amazon {path}: {self._errors(data)} (HTTP {response.status_code})",
                                          platform=self.platform, status=response.status_code)
            return data

        return self.authed(once)

    @staticmethod
    def _errors(data: dict) -> str:
        errors = [e for e in data.get("errors") or [] if isinstance(e, dict)][:3] if isinstance(data.get("errors"), list) else []
        return reply_text("; ".join(f"{reply_text(e.get('code'), limit=40)}: {reply_text(e.get('message'))}" for e in errors), limit=300) or "error"

    def _listing_path(self, seller_sku: str) -> str:
        return f"{LISTINGS}/{quote(self.account.shop_id, safe='')}/{quote(seller_sku, safe='')}"

    # ---------------------------------------------------------------- documented operations
    def ping(self) -> str:
        participations = self.call("GET", "/sellers/v1/marketplaceParticipations").get("payload", [])
        names = [p["marketplace"]["name"] for p in participations if p.get("marketplace")]
        return ", ".join(names) or self.account.shop_id

    def listing_patch_quantity(self, *, seller_sku: str, quantity: int) -> dict:
        body = {"productType": "PRODUCT", "patches": [{
            "op": "replace", "path": "/attributes/fulfillment_availability",
            "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": quantity}],
        }]}
        return self.call("PATCH", self._listing_path(seller_sku), params={"marketplaceIds": self.account.stock_location}, body=body)

    def listing_quantity(self, *, seller_sku: str) -> int | None:
        data = self.call("GET", self._listing_path(seller_sku),
                         params={"marketplaceIds": self.account.stock_location, "includedData": "fulfillmentAvailability"})
        for entry in data.get("fulfillmentAvailability") or []:
            if entry.get("fulfillmentChannelCode") == "DEFAULT":
                return int(entry.get("quantity") or 0)
        return None

    def orders(self, *, last_updated_after: str, next_token: str | None = None) -> dict:
        params = {"MarketplaceIds": self.account.stock_location, "LastUpdatedAfter": last_updated_after}
        if next_token:
            params["NextToken"] = next_token
        return self.call("GET", "/orders/v0/orders", params=params).get("payload", {})

    def shipment_confirm(self, *, order_id: str, package_reference: str, carrier: str, tracking_number: str, ship_date: str,
                         items: list[tuple[str, int]]) -> None:
        """confirmShipment (Orders API v0) for a merchant-fulfilled order: one package with its
        carrier, tracking number and (orderItemId, quantity) items. Amazon answers 204."""
        body = {"marketplaceId": self.account.stock_location, "packageDetail": {
            "packageReferenceId": package_reference, "carrierCode": carrier, "trackingNumber": tracking_number, "shipDate": ship_date,
            "orderItems": [{"orderItemId": item_id, "quantity": quantity} for item_id, quantity in items]}}
        self.call("POST", f"/orders/v0/orders/{quote(order_id, safe='')}/shipmentConfirmation", body=body)

    # ---------------------------------------------------------------- stock sync
    def stock_push(self, items: list[StockItem]) -> dict[str, str]:
        refused: dict[str, str] = {}
        for item in items:
            try:
                result = self.listing_patch_quantity(seller_sku=item.external_sku_id, quantity=item.quantity)
            except ChannelRequestError as exc:
                refused[item.external_sku_id] = str(exc)
                continue
            if result.get("status") != "ACCEPTED":
                issues = "; ".join(reply_text(i.get("message")) for i in (result.get("issues") or [])[:3] if isinstance(i, dict))
                refused[item.external_sku_id] = f"Amazon: listing update {reply_text(result.get('status'), limit=20)}: {reply_text(issues, limit=300)}"
        return refused

    def stock_read(self, items: list[StockItem]) -> dict[str, int]:
        found = {}
        for item in items:
            quantity = self.listing_quantity(seller_sku=item.external_sku_id)
            if quantity is not None:
                found[item.external_sku_id] = quantity
        return found
