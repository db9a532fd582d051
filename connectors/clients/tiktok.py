"""TikTok Shop Partner API (202309 versions). Every call is signed (see `tiktok_sign`) and carries
the access token in `x-tts-access-token`; answers are `{code, message, request_id, data}` with
code 0 for success."""
import hashlib
import hmac
import json
import time
from datetime import datetime
from datetime import timezone as dt_timezone

from connectors.clients.base import ApiClient, ChannelAuthError, ChannelRequestError, ChannelTokenError, StockItem, Tokens
from erp.outbound import reply_text

# TikTok's common error codes: a token that is invalid or expired (refresh may help), and a
# signature or app key that is refused (our credentials are wrong; refreshing will not help).
TOKEN_ERROR_CODES = {105000, 105001, 105002, 105003}
CREDENTIAL_ERROR_CODES = {106001, 106002, 36009001}


def tiktok_sign(*, app_secret: str, path: str, params: dict, body: str = "", content_type: str = "application/json") -> str:
    """The documented signature: drop `sign` and `access_token`, sort the other query parameters
    by key, concatenate key+value, prepend the path, append the raw body (not for multipart),
    wrap the string in the app secret on both sides, HMAC-SHA256 it keyed with the app secret and
    return lowercase hex."""
    pairs = "".join(f"{k}{params[k]}" for k in sorted(params) if k not in ("sign", "access_token"))
    text = path + pairs
    if body and not content_type.startswith("multipart/form-data"):
        text += body
    wrapped = f"{app_secret}{text}{app_secret}"
    return hmac.new(app_secret.encode(), wrapped.encode(), hashlib.sha256).hexdigest()


def tiktok_webhook_signature(*, app_key: str, app_secret: str, raw_body: bytes) -> str:
    """`Authorization` header of a TikTok Shop webhook: hex HMAC-SHA256(app_secret, app_key + body)."""
    return hmac.new(app_secret.encode(), app_key.encode() + raw_body, hashlib.sha256).hexdigest()


def _from_unix(value) -> datetime | None:
    return datetime.fromtimestamp(int(value), tz=dt_timezone.utc) if value else None


class TikTokShopClient(ApiClient):
    platform = "TikTok Shop"

    def refresh_tokens(self) -> Tokens:
        account = self.account
        if not account.refresh_token:
            raise ChannelAuthError("TikTok Shop: no refresh token; reconnect the shop", platform=self.platform)
        response = self.send("GET", account.auth_url, params={
            "app_key": account.app_key, "app_secret": account.app_secret,
            "refresh_token": account.refresh_token, "grant_type": "refresh_token",
        })
        data = self.json_of(response)
        if data.get("code") != 0:
            raise ChannelAuthError(f"TikTok Shop refused the token refresh: {reply_text(data.get('message'))} (code {reply_text(str(data.get('code')), limit=20)})",
                                   platform=self.platform, code=data.get("code"))
        d = data.get("data") or {}
        return Tokens(d["access_token"], _from_unix(d.get("access_token_expire_in")),
                      d.get("refresh_token", ""), _from_unix(d.get("refresh_token_expire_in")))

    def call(self, method: str, path: str, *, params: dict | None = None, body: dict | None = None) -> dict:
        def once():
            query = {"app_key": self.account.app_key, "timestamp": str(int(time.time()))}
            if self.account.shop_cipher:
                query["shop_cipher"] = self.account.shop_cipher
            query.update({k: str(v) for k, v in (params or {}).items()})
            raw = json.dumps(body, separators=(",", ":")) if body is not None else ""
            query["sign"] = tiktok_sign(app_secret=self.account.app_secret, path=path, params=query, body=raw)
            response = self.send(method, self.account.api_base_url.rstrip("/") + path, params=query, content=raw.encode() or None,
                                 headers={"x-tts-access-token": self.account.access_token, "content-type": "application/json"})
            data = self.json_of(response)
            code = data.get("code")
            if code == 0:
                return data.get("data") or {}
            message = (f"TikTok Shop {path}: {reply_text(data.get('message')) or 'error'} (code {reply_text(str(code), limit=20)}, "
                       f"HTTP {response.status_code})")
            if code in TOKEN_ERROR_CODES:
                raise ChannelTokenError(message, platform=self.platform, status=response.status_code, code=code)
            if code in CREDENTIAL_ERROR_CODES or response.status_code == 401:
                raise ChannelAuthError(message, platform=self.platform, status=response.status_code, code=code)
            raise ChannelRequestError(message, platform=self.platform, status=response.status_code, code=code)

        return self.authed(once)

    # ---------------------------------------------------------------- documented endpoints
    def shops(self) -> list[dict]:
        return self.call("GET", "/authorization/202309/shops").get("shops", [])

    def orders_search(self, *, update_time_ge: int | None = None, order_status: str | None = None,
                      page_size: int = 50, page_token: str = "") -> dict:
        body = {k: v for k, v in {"update_time_ge": update_time_ge, "order_status": order_status}.items() if v is not None}
        params = {"page_size": page_size} | ({"page_token": page_token} if page_token else {})
        return self.call("POST", "/order/202309/orders/search", params=params, body=body)

    def orders_detail(self, ids: list[str]) -> list[dict]:
        return self.call("GET", "/order/202309/orders", params={"ids": ",".join(ids)}).get("orders", [])

    def inventory_update(self, *, product_id: str, skus: list[tuple[str, str, int]]) -> dict:
        """Set stock of SKUs of one product: (sku_id, warehouse_id, quantity) each."""
        body = {"skus": [{"id": sku_id, "inventory": [{"warehouse_id": wh, "quantity": qty}]} for sku_id, wh, qty in skus]}
        return self.call("POST", f"/product/202309/products/{product_id}/inventory/update", body=body)

    def product_detail(self, product_id: str) -> dict:
        return self.call("GET", f"/product/202309/products/{product_id}")

    def package_ship(self, *, package_id: str, tracking_number: str, shipping_provider_id: str) -> dict:
        body = {"handover_method": "DROP_OFF",
                "self_shipment": {"tracking_number": tracking_number, "shipping_provider_id": shipping_provider_id}}
        return self.call("POST", f"/fulfillment/202309/packages/{package_id}/ship", body=body)

    def affiliate_orders_search(self, *, create_time_ge: int | None = None, page_size: int = 50, page_token: str = "") -> dict:
        body = {k: v for k, v in {"create_time_ge": create_time_ge}.items() if v is not None}
        params = {"page_size": page_size} | ({"page_token": page_token} if page_token else {})
        return self.call("POST", "/affiliate_seller/202410/orders/search", params=params, body=body)

    def statements(self, *, statement_time_ge: int | None = None, page_size: int = 50, page_token: str = "") -> dict:
        params = {"page_size": page_size, "sort_field": "statement_time"} | ({"page_token": page_token} if page_token else {})
        if statement_time_ge is not None:
            params["statement_time_ge"] = statement_time_ge
        return self.call("GET", "/finance/202309/statements", params=params)

    def statement_transactions(self, *, statement_id: str, page_size: int = 50, page_token: str = "") -> dict:
        params = {"page_size": page_size, "sort_field": "order_create_time"} | ({"page_token": page_token} if page_token else {})
        return self.call("GET", f"/finance/202309/statements/{statement_id}/statement_transactions", params=params)

    # ---------------------------------------------------------------- stock sync
    def ping(self) -> str:
        shops = self.shops()
        mine = [s for s in shops if str(s.get("id")) == self.account.shop_id]
        if not mine:
            raise ChannelRequestError(f"TikTok Shop: this authorisation does not cover shop {self.account.shop_id}", platform=self.platform)
        return mine[0].get("name", self.account.shop_id)

    def stock_push(self, items: list[StockItem]) -> dict[str, str]:
        by_product: dict[str, list[StockItem]] = {}
        for item in items:
            by_product.setdefault(item.external_product_id, []).append(item)
        refused: dict[str, str] = {}
        for product_id, group in by_product.items():
            try:
                self.inventory_update(product_id=product_id,
                                      skus=[(i.external_sku_id, self.account.stock_location, i.quantity) for i in group])
            except ChannelRequestError as exc:
                refused.update({i.external_sku_id: str(exc) for i in group})
        return refused

    def stock_read(self, items: list[StockItem]) -> dict[str, int]:
        found: dict[str, int] = {}
        for product_id in sorted({i.external_product_id for i in items}):
            for sku in self.product_detail(product_id).get("skus", []):
                levels = [inv for inv in sku.get("inventory", []) if str(inv.get("warehouse_id")) == self.account.stock_location]
                if levels:
                    found[str(sku["id"])] = int(levels[0]["quantity"])
        return found
