"""The platform sandbox: a local stand-in for TikTok Shop, Shopify and Amazon's servers.

It implements the subset of each API that Fanout calls, checks credentials and signatures the way
the platform does (its own implementation, not Fanout's), keeps state in memory (shops, stock,
orders, tracking) and can send signed webhooks to Fanout — duplicated, reordered or corrupted on
request. It is a test double of *their* servers; none of Fanout's code runs in here.

Control endpoints live under /_sandbox/ (JSON); GET / is a page that shows what the shops hold.
Run it with `python -m connectors.sandbox --port 8025`.
"""
import base64
import hashlib
import hmac
import json
import random
import secrets
import threading
import time
from urllib.parse import urlsplit

import httpx
from flask import Flask, Response, abort, jsonify, render_template_string, request

TOKEN_TTL_S = 7 * 24 * 3600
SIGNATURE_MAX_AGE_S = 300


class Store:
    def __init__(self):
        self.lock = threading.RLock()
        self.reset()

    def reset(self):
        with getattr(self, "lock", threading.RLock()):
            self.tiktok: dict[str, dict] = {}
            self.shopify: dict[str, dict] = {}
            self.amazon: dict[str, dict] = {}
            self.threepl: dict[str, dict] = {}
            self.failures: dict[tuple[str, str], list[dict]] = {}
            self.history: list[dict] = []
            self.requests: dict[str, int] = {}
            self.deliveries: list[dict] = []
            self.counter = 1000

    def next_id(self) -> str:
        self.counter += 1
        return f"{int(time.time())}{self.counter}"


def shopify_rest_time(at: float | None = None) -> str:
    """A time as Shopify's REST resources (the webhook bodies) write it: 2026-05-08T09:42:51-00:00."""
    return time.strftime("%Y-%m-%dT%H:%M:%S-00:00", time.gmtime(time.time() if at is None else at))


def shopify_header_time(at: float) -> str:
    """X-Shopify-Triggered-At: UTC with nanoseconds, e.g. 2025-03-11T20:54:30.516267807Z."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(at)) + f".{int(at % 1 * 1e9):09d}Z"


def _token() -> str:
    return secrets.token_urlsafe(24)


def _issue_tokens(shop: dict) -> None:
    shop["access_token"] = _token()
    shop["refresh_token"] = _token()
    shop["token_expires_at"] = time.time() + TOKEN_TTL_S
    shop["revoked"] = False


DEFAULT_TIKTOK_ADDRESS = {
    "name": "Sandbox Buyer", "phone_number": "(+1)2135550100", "address_line1": "1 Sandbox Way", "postal_code": "90001", "region_code": "US",
    "full_address": "1 Sandbox Way, Los Angeles, CA 90001",
    "district_info": [{"address_level_name": "Country", "address_name": "United States"},
                      {"address_level_name": "State", "address_name": "California"}, {"address_level_name": "City", "address_name": "Los Angeles"}],
}


def create_app(store: Store | None = None) -> Flask:
    app = Flask("fanout-sandbox")
    store = store or Store()
    app.config["store"] = store

    def err(status: int, body: dict):
        response = jsonify(body)
        response.status_code = status
        return response

    def count(key: str) -> None:
        store.requests[key] = store.requests.get(key, 0) + 1

    def injected(platform: str, shop_key: str):
        """Answer with a queued failure (429 / 5xx / truncated JSON) if one is queued for this shop."""
        queue = store.failures.get((platform, shop_key))
        if not queue:
            return None
        fail = queue.pop(0)
        if fail.get("truncate"):
            return Response('{"code": 0, "data": {"sku', status=200, content_type="application/json")
        response = err(fail["status"], {"code": fail["status"], "message": "injected by the sandbox", "errors": [{"code": "QuotaExceeded", "message": "injected"}]})
        if fail.get("retry_after") is not None:
            response.headers["Retry-After"] = str(fail["retry_after"])
        return response

    def record(platform: str, shop: str, item: str, quantity: int) -> None:
        store.history.append({"t": time.time(), "platform": platform, "shop": shop, "item": item, "quantity": quantity})

    # ================================================================ TikTok Shop
    def tiktok_expected_sign(secret: str, path: str, body: bytes) -> str:
        params = {k: v for k, v in request.args.items() if k not in ("sign", "access_token")}
        text = path + "".join(f"{k}{params[k]}" for k in sorted(params))
        if request.method != "GET" and not (request.content_type or "").startswith("multipart/form-data"):
            text += body.decode()
        return hmac.new(secret.encode(), f"{secret}{text}{secret}".encode(), hashlib.sha256).hexdigest()

    def tiktok_auth(path: str):
        """(shop, None) when key, signature, timestamp and token check out; (None, error response) otherwise."""
        count("tiktok")
        app_key = request.args.get("app_key", "")
        shops = [s for s in store.tiktok.values() if s["app_key"] == app_key]
        if not shops:
            return None, err(401, {"code": 36009001, "message": "Invalid app_key", "request_id": store.next_id()})
        cipher = request.args.get("shop_cipher")
        token = request.headers.get("x-tts-access-token", "")
        if cipher:
            shops = [s for s in shops if s["cipher"] == cipher]
        else:
            shops = [s for s in shops if s["access_token"] == token] or shops[:1]
        if not shops:
            return None, err(400, {"code": 106011, "message": "Invalid shop_cipher", "request_id": store.next_id()})
        shop = shops[0]
        if not hmac.compare_digest(request.args.get("sign", ""), tiktok_expected_sign(shop["app_secret"], path, request.get_data())):
            return None, err(401, {"code": 106001, "message": "Invalid signature", "request_id": store.next_id()})
        try:
            age = abs(time.time() - int(request.args.get("timestamp", "0")))
        except ValueError:
            age = SIGNATURE_MAX_AGE_S + 1
        if age > SIGNATURE_MAX_AGE_S:
            return None, err(401, {"code": 106002, "message": "Timestamp expired", "request_id": store.next_id()})
        if shop["revoked"] or token != shop["access_token"]:
            return None, err(401, {"code": 105001, "message": "Access token is invalid", "request_id": store.next_id()})
        if shop["token_expires_at"] < time.time():
            return None, err(401, {"code": 105002, "message": "Access token is expired", "request_id": store.next_id()})
        failure = injected("tiktok", shop["shop_id"])
        if failure is not None:
            return None, failure
        return shop, None

    def tiktok_ok(data: dict):
        return jsonify({"code": 0, "message": "Success", "request_id": store.next_id(), "data": data})

    def tiktok_json():
        try:
            return json.loads(request.get_data() or b"{}")
        except ValueError:
            abort(err(400, {"code": 36009002, "message": "Invalid JSON body"}))

    @app.get("/tiktok/api/v2/token/refresh")
    def tiktok_refresh():
        count("tiktok")
        with store.lock:
            args = request.args
            for shop in store.tiktok.values():
                if shop["app_key"] == args.get("app_key") and shop["refresh_token"] == args.get("refresh_token"):
                    if args.get("app_secret") != shop["app_secret"] or shop["revoked"]:
                        break
                    failure = injected("tiktok-auth", shop["shop_id"])
                    if failure is not None:
                        return failure
                    _issue_tokens(shop)
                    return tiktok_ok({"access_token": shop["access_token"], "access_token_expire_in": int(shop["token_expires_at"]),
                                      "refresh_token": shop["refresh_token"], "refresh_token_expire_in": int(time.time() + 365 * 86400)})
            return jsonify({"code": 36004004, "message": "refresh token is invalid or expired", "data": None})

    @app.get("/tiktok/authorization/202309/shops")
    def tiktok_shops():
        with store.lock:
            shop, fail = tiktok_auth("/authorization/202309/shops")
            if fail:
                return fail
            return tiktok_ok({"shops": [{"id": shop["shop_id"], "name": shop["name"], "cipher": shop["cipher"], "region": "US"}]})

    @app.post("/tiktok/product/202309/products/<product_id>/inventory/update")
    def tiktok_inventory_update(product_id):
        with store.lock:
            shop, fail = tiktok_auth(f"/product/202309/products/{product_id}/inventory/update")
            if fail:
                return fail
            product = shop["products"].get(product_id)
            if product is None:
                return err(404, {"code": 12052048, "message": f"product {product_id} not found"})
            body = tiktok_json()
            for sku in body.get("skus", []):
                if sku.get("id") not in product:
                    return err(400, {"code": 12052700, "message": f"sku {sku.get('id')} does not belong to product {product_id}"})
                for inv in sku.get("inventory", []):
                    quantity = inv.get("quantity")
                    if str(inv.get("warehouse_id")) != shop["warehouse_id"]:
                        return err(400, {"code": 12052217, "message": f"unknown warehouse {inv.get('warehouse_id')}"})
                    if not isinstance(quantity, int) or quantity < 0 or quantity > 99999:
                        return err(400, {"code": 12052230, "message": f"quantity must be 0..99999, got {quantity!r}"})
            for sku in body.get("skus", []):
                for inv in sku.get("inventory", []):
                    product[sku["id"]] = inv["quantity"]
                    record("tiktok", shop["shop_id"], sku["id"], inv["quantity"])
            count("tiktok:inventory_update")
            return tiktok_ok({})

    @app.get("/tiktok/product/202309/products/<product_id>")
    def tiktok_product(product_id):
        with store.lock:
            shop, fail = tiktok_auth(f"/product/202309/products/{product_id}")
            if fail:
                return fail
            product = shop["products"].get(product_id)
            if product is None:
                return err(404, {"code": 12052048, "message": f"product {product_id} not found"})
            return tiktok_ok({"id": product_id, "skus": [
                {"id": sku_id, "inventory": [{"warehouse_id": shop["warehouse_id"], "quantity": qty}]} for sku_id, qty in product.items()
            ]})

    @app.post("/tiktok/order/202309/orders/search")
    def tiktok_orders_search():
        with store.lock:
            shop, fail = tiktok_auth("/order/202309/orders/search")
            if fail:
                return fail
            body = tiktok_json()
            orders = sorted(shop["orders"].values(), key=lambda o: (o["update_time"], o["id"]))
            if body.get("update_time_ge"):
                orders = [o for o in orders if o["update_time"] >= int(body["update_time_ge"])]
            if body.get("order_status"):
                orders = [o for o in orders if o["status"] == body["order_status"]]
            size = int(request.args.get("page_size", 50))
            start = int(request.args.get("page_token") or 0)
            page = orders[start:start + size]
            token = str(start + size) if start + size < len(orders) else ""
            return tiktok_ok({"orders": page, "next_page_token": token, "total_count": len(orders)})

    @app.get("/tiktok/order/202309/orders")
    def tiktok_orders_detail():
        with store.lock:
            shop, fail = tiktok_auth("/order/202309/orders")
            if fail:
                return fail
            ids = [i for i in request.args.get("ids", "").split(",") if i]
            if not ids or len(ids) > 50:
                return err(400, {"code": 36009003, "message": "ids must list 1 to 50 order ids"})
            return tiktok_ok({"orders": [shop["orders"][i] for i in ids if i in shop["orders"]]})

    @app.post("/tiktok/fulfillment/202309/packages/<package_id>/ship")
    def tiktok_package_ship(package_id):
        with store.lock:
            shop, fail = tiktok_auth(f"/fulfillment/202309/packages/{package_id}/ship")
            if fail:
                return fail
            orders = [o for o in shop["orders"].values() if any(p["id"] == package_id for p in o["packages"])]
            if not orders:
                return err(404, {"code": 21011001, "message": f"package {package_id} not found"})
            shipment = tiktok_json().get("self_shipment") or {}
            if not shipment.get("tracking_number"):
                return err(400, {"code": 21001002, "message": "tracking_number is required"})
            order = orders[0]
            order["tracking_number"] = shipment["tracking_number"]
            order["shipping_provider_id"] = shipment.get("shipping_provider_id", "")
            order["status"] = "IN_TRANSIT"
            order["update_time"] = int(time.time())
            return tiktok_ok({})

    @app.post("/tiktok/affiliate_seller/202410/orders/search")
    def tiktok_affiliate_orders():
        with store.lock:
            shop, fail = tiktok_auth("/affiliate_seller/202410/orders/search")
            if fail:
                return fail
            orders = [{"order_id": o["id"], "creator_username": o.get("creator_username"),
                       "commission_rate": o.get("commission_rate", 0),
                       "affiliate_commission_amount": {"amount": o.get("affiliate_commission", "0.00"), "currency": "USD"}}
                      for o in shop["orders"].values() if o.get("creator_username")]
            return tiktok_ok({"orders": orders, "next_page_token": ""})

    def statement_day(order) -> str:
        return time.strftime("%Y%m%d", time.gmtime(order["create_time"]))

    @app.get("/tiktok/finance/202309/statements")
    def tiktok_statements():
        """Get Statements: one statement per (UTC) day with orders, newest first; statement_time_ge filters."""
        with store.lock:
            shop, fail = tiktok_auth("/finance/202309/statements")
            if fail:
                return fail
            since = int(request.args.get("statement_time_ge") or 0)
            days = {}
            for o in shop["orders"].values():
                day = statement_day(o)
                days[day] = max(days.get(day, 0), o["create_time"])
            rows = [{"id": f"ST{shop['shop_id']}-{day}", "statement_time": stamp, "currency": "USD", "payment_status": "PAID"}
                    for day, stamp in sorted(days.items(), reverse=True) if stamp >= since]
            return tiktok_ok({"statements": rows, "next_page_token": ""})

    @app.get("/tiktok/finance/202309/statements/<statement_id>/statement_transactions")
    def tiktok_statement_transactions(statement_id):
        """The order transactions of a statement, `page_size` at a time (page_token = offset)."""
        with store.lock:
            shop, fail = tiktok_auth(f"/finance/202309/statements/{statement_id}/statement_transactions")
            if fail:
                return fail
            day = statement_id.rpartition("-")[2] if statement_id.startswith("ST") else ""
            rows = [{"id": f"T{o['id']}", "type": "ORDER", "order_id": str(o["id"]), "order_create_time": o["create_time"],
                     "revenue_amount": o["payment"]["total_amount"],
                     "affiliate_commission_amount": o.get("affiliate_commission", "0.00"), "currency": "USD"}
                    for o in sorted(shop["orders"].values(), key=lambda o: o["create_time"]) if not day or statement_day(o) == day]
            size = max(1, min(int(request.args.get("page_size") or 20), 100))
            start = int(request.args.get("page_token") or 0)
            page = rows[start:start + size]
            more = start + size < len(rows)
            return tiktok_ok({"statement_transactions": page, "next_page_token": str(start + size) if more else "",
                              "total_count": len(rows)})

    # ================================================================ Shopify
    def shopify_auth(domain: str):
        count("shopify")
        shop = store.shopify.get(domain)
        if shop is None:
            return None, err(404, {"errors": "Not Found"})
        token = request.headers.get("X-Shopify-Access-Token", "")
        if shop["revoked"] or token != shop["access_token"] or shop["token_expires_at"] < time.time():
            return None, err(401, {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"})
        failure = injected("shopify", domain)
        if failure is not None:
            return None, failure
        return shop, None

    @app.post("/shopify/<domain>/admin/oauth/access_token")
    def shopify_refresh(domain):
        count("shopify")
        with store.lock:
            shop = store.shopify.get(domain)
            form = request.form
            if (shop is None or shop["revoked"] or form.get("refresh_token") != shop["refresh_token"]
                    or form.get("client_secret") != shop["client_secret"]):
                return err(400, {"error": "invalid_grant", "error_description": "refresh token is invalid or was revoked"})
            _issue_tokens(shop)
            return jsonify({"access_token": shop["access_token"], "expires_in": TOKEN_TTL_S,
                            "refresh_token": shop["refresh_token"], "refresh_token_expires_in": 90 * 86400})

    @app.post("/shopify/<domain>/admin/api/<version>/graphql.json")
    def shopify_graphql(domain, version):
        with store.lock:
            shop, fail = shopify_auth(domain)
            if fail:
                return fail
            try:
                payload = json.loads(request.get_data())
            except ValueError:
                return err(400, {"errors": "Invalid JSON in request body"})
            query, variables = payload.get("query", ""), payload.get("variables") or {}
            if "inventorySetQuantities" in query:
                count("shopify:inventory_set")
                return jsonify({"data": {"inventorySetQuantities": shopify_set(shop, variables.get("input") or {})}})
            if "nodes(" in query:
                levels = []
                for gid in variables.get("ids", []):
                    qty = shop["levels"].get(gid) if variables.get("locationId") == shop["location_id"] else None
                    levels.append({"id": gid, "inventoryLevel": None if qty is None else {"quantities": [{"name": "available", "quantity": qty}]}})
                return jsonify({"data": {"nodes": levels}})
            if "orders(" in query:
                edges = [{"node": o} for o in sorted(shop["orders"].values(), key=lambda o: o["updatedAt"])]
                return jsonify({"data": {"orders": {"edges": edges, "pageInfo": {"hasNextPage": False, "endCursor": None}}}})
            if "fulfillmentCreate" in query:
                fulfillment = (variables.get("fulfillment") or {})
                tracking = fulfillment.get("trackingInfo") or {}
                if not tracking.get("number"):
                    return jsonify({"data": {"fulfillmentCreate": {"fulfillment": None, "userErrors": [{"field": ["fulfillment", "trackingInfo"], "message": "Tracking number is required"}]}}})
                shop["fulfillments"].append(fulfillment)
                return jsonify({"data": {"fulfillmentCreate": {"fulfillment": {"id": f"gid://shopify/Fulfillment/{store.next_id()}", "status": "SUCCESS", "trackingInfo": [tracking]}, "userErrors": []}}})
            if "order(id" in query:
                return jsonify({"data": {"order": shop["orders"].get(variables.get("id"))}})
            if "shop" in query:
                return jsonify({"data": {"shop": {"name": shop["name"], "myshopifyDomain": domain}}})
            return jsonify({"errors": [{"message": "this sandbox does not implement that query"}]})

    def shopify_set(shop: dict, data: dict) -> dict:
        errors = []
        if data.get("name") != "available":
            errors.append({"field": ["input", "name"], "message": "only 'available' can be set", "code": "INVALID_NAME"})
        quantities = data.get("quantities") or []
        if len(quantities) > 250:
            errors.append({"field": ["input", "quantities"], "message": "at most 250 quantities", "code": "INVALID_QUANTITY"})
        for i, q in enumerate(quantities):
            gid, qty = q.get("inventoryItemId"), q.get("quantity")
            if q.get("locationId") != shop["location_id"] or gid not in shop["levels"]:
                errors.append({"field": ["input", "quantities", str(i), "inventoryItemId"], "message": "The specified inventory item could not be found.", "code": "INVALID_INVENTORY_ITEM"})
            elif not isinstance(qty, int) or qty < 0:
                errors.append({"field": ["input", "quantities", str(i), "quantity"], "message": "quantity must be zero or more", "code": "INVALID_QUANTITY"})
            elif not data.get("ignoreCompareQuantity") and q.get("compareQuantity") != shop["levels"][gid]:
                errors.append({"field": ["input", "quantities", str(i), "compareQuantity"],
                               "message": "The compareQuantity argument no longer matches the persisted quantity.", "code": "COMPARE_QUANTITY_STALE"})
        if errors:  # the mutation is all-or-nothing
            return {"inventoryAdjustmentGroup": None, "userErrors": errors}
        changes = []
        for q in quantities:
            changes.append({"name": "available", "delta": q["quantity"] - shop["levels"][q["inventoryItemId"]]})
            shop["levels"][q["inventoryItemId"]] = q["quantity"]
            record("shopify", shop["domain"], q["inventoryItemId"], q["quantity"])
        return {"inventoryAdjustmentGroup": {"reason": data.get("reason"), "changes": changes}, "userErrors": []}

    # ================================================================ Amazon SP-API
    def amazon_auth():
        count("amazon")
        token = request.headers.get("x-amz-access-token", "")
        sellers = [s for s in store.amazon.values() if s["access_token"] == token and not s["revoked"]]
        if not sellers or sellers[0]["token_expires_at"] < time.time():
            return None, err(403, {"errors": [{"code": "Unauthorized", "message": "Access to requested resource is denied.", "details": "The access token you provided has expired or is invalid."}]})
        failure = injected("amazon", sellers[0]["seller_id"])
        if failure is not None:
            return None, failure
        return sellers[0], None

    @app.post("/amazon/auth/o2/token")
    def amazon_token():
        count("amazon")
        with store.lock:
            form = request.form
            for seller in store.amazon.values():
                if seller["refresh_token"] == form.get("refresh_token") and seller["client_id"] == form.get("client_id"):
                    if form.get("client_secret") != seller["client_secret"] or seller["revoked"]:
                        break
                    seller["access_token"] = _token()
                    seller["token_expires_at"] = time.time() + 3600
                    return jsonify({"access_token": seller["access_token"], "token_type": "bearer", "expires_in": 3600})
            return err(400, {"error": "invalid_grant", "error_description": "The request has an invalid grant parameter : refresh_token"})

    @app.get("/amazon/sellers/v1/marketplaceParticipations")
    def amazon_participations():
        with store.lock:
            seller, fail = amazon_auth()
            if fail:
                return fail
            return jsonify({"payload": [{"marketplace": {"id": seller["marketplace_id"], "name": "Amazon.com", "countryCode": "US"},
                                         "participation": {"isParticipating": True}}]})

    @app.route("/amazon/listings/2021-08-01/items/<seller_id>/<path:sku>", methods=["GET", "PATCH"])
    def amazon_listing(seller_id, sku):
        with store.lock:
            seller, fail = amazon_auth()
            if fail:
                return fail
            if seller["seller_id"] != seller_id or request.args.get("marketplaceIds") != seller["marketplace_id"]:
                return err(403, {"errors": [{"code": "Unauthorized", "message": "seller or marketplace not authorised"}]})
            if sku not in seller["listings"]:
                return err(404, {"errors": [{"code": "NOT_FOUND", "message": f"SKU '{sku}' not found in marketplace"}]})
            if request.method == "GET":
                return jsonify({"sku": sku, "fulfillmentAvailability": [{"fulfillmentChannelCode": "DEFAULT", "quantity": seller["listings"][sku]}]})
            try:
                body = json.loads(request.get_data())
            except ValueError:
                return err(400, {"errors": [{"code": "InvalidInput", "message": "Request body is not valid JSON"}]})
            issues, quantity = [], None
            for patch in body.get("patches", []):
                if patch.get("path") != "/attributes/fulfillment_availability" or patch.get("op") not in ("replace", "merge"):
                    issues.append({"code": "90000900", "message": f"unsupported patch {patch.get('op')} {patch.get('path')}", "severity": "ERROR"})
                    continue
                for value in patch.get("value") or []:
                    quantity = value.get("quantity")
            if not isinstance(quantity, int) or quantity < 0:
                issues.append({"code": "4000001", "message": f"quantity must be a whole number of zero or more, got {quantity!r}", "severity": "ERROR"})
            if issues:
                return jsonify({"sku": sku, "status": "INVALID", "submissionId": store.next_id(), "issues": issues})
            seller["listings"][sku] = quantity
            record("amazon", seller_id, sku, quantity)
            count("amazon:listing_patch")
            return jsonify({"sku": sku, "status": "ACCEPTED", "submissionId": store.next_id(), "issues": []})

    @app.get("/amazon/orders/v0/orders")
    def amazon_orders():
        with store.lock:
            seller, fail = amazon_auth()
            if fail:
                return fail
            after = request.args.get("LastUpdatedAfter", "")
            if not after:
                return err(400, {"errors": [{"code": "InvalidInput", "message": "LastUpdatedAfter or CreatedAfter is required"}]})
            orders = [o for o in seller["orders"].values() if o["LastUpdateDate"] >= after]
            return jsonify({"payload": {"Orders": orders, "LastUpdatedBefore": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}})

    @app.post("/amazon/orders/v0/orders/<order_id>/shipmentConfirmation")
    def amazon_shipment_confirmation(order_id):
        """confirmShipment: {"marketplaceId", "packageDetail": {"packageReferenceId", "carrierCode", "trackingNumber",
        "shipDate", "orderItems": [{"orderItemId", "quantity"}]}} → 204; items and quantities must belong to the order."""
        with store.lock:
            seller, fail = amazon_auth()
            if fail:
                return fail
            order = seller["orders"].get(order_id)
            if order is None:
                return err(404, {"errors": [{"code": "NotFound", "message": f"order {order_id} not found"}]})
            body = request.get_json(silent=True) or {}
            package = body.get("packageDetail") or {}
            problems = [f"{name} is required" for name in ("packageReferenceId", "carrierCode", "trackingNumber", "shipDate") if not package.get(name)]
            if body.get("marketplaceId") != seller["marketplace_id"]:
                problems.append("marketplaceId does not match the order")
            items = {i["OrderItemId"]: i for i in order["OrderItems"]}
            for entry in package.get("orderItems") or []:
                item = items.get(str(entry.get("orderItemId")))
                if item is None:
                    problems.append(f"unknown orderItemId {entry.get('orderItemId')}")
                elif int(entry.get("quantity") or 0) <= 0 or item["QuantityShipped"] + int(entry["quantity"]) > item["QuantityOrdered"]:
                    problems.append(f"quantity {entry.get('quantity')} is more than is left to ship of {item['OrderItemId']}")
            if not package.get("orderItems"):
                problems.append("orderItems is required")
            if problems:
                return err(400, {"errors": [{"code": "InvalidInput", "message": p} for p in problems]})
            for entry in package["orderItems"]:
                items[str(entry["orderItemId"])]["QuantityShipped"] += int(entry["quantity"])
            order["Shipments"].append(package)
            shipped_all = all(i["QuantityShipped"] >= i["QuantityOrdered"] for i in order["OrderItems"])
            order["OrderStatus"] = "Shipped" if shipped_all else "PartiallyShipped"
            order["LastUpdateDate"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            count("amazon:confirm_shipment")
            return Response(status=204)

    @app.get("/_sandbox/amazon/<seller_id>/orders/<order_id>")
    def control_amazon_order_get(seller_id, order_id):
        with store.lock:
            order = shop_of("amazon", seller_id)["orders"].get(order_id)
            return jsonify(order) if order else err(404, {"error": f"no order {order_id}"})

    # ================================================================ control API
    def control_json() -> dict:
        return request.get_json(silent=True) or {}

    @app.post("/_sandbox/reset")
    def control_reset():
        with store.lock:
            store.reset()
        return jsonify({"ok": True})

    @app.post("/_sandbox/tiktok/shops")
    def control_tiktok_shop():
        data = control_json()
        with store.lock:
            shop_id = str(data.get("shop_id") or store.next_id())
            shop = {"shop_id": shop_id, "name": data.get("name", f"Sandbox shop {shop_id}"), "cipher": data.get("cipher") or f"GCP_{secrets.token_hex(8)}",
                    "app_key": data.get("app_key") or f"sbx{secrets.token_hex(4)}", "app_secret": data.get("app_secret") or secrets.token_hex(16),
                    "warehouse_id": str(data.get("warehouse_id") or store.next_id()), "webhook_url": data.get("webhook_url", ""),
                    "products": {}, "orders": {}}
            for item in data.get("items", []):
                shop["products"].setdefault(str(item["product_id"]), {})[str(item["sku_id"])] = int(item.get("quantity", 0))
            _issue_tokens(shop)
            store.tiktok[shop_id] = shop
            return jsonify({k: shop[k] for k in ("shop_id", "name", "cipher", "app_key", "app_secret", "warehouse_id",
                                                 "access_token", "refresh_token")} | {"token_expires_at": int(shop["token_expires_at"])})

    @app.post("/_sandbox/shopify/shops")
    def control_shopify_shop():
        data = control_json()
        with store.lock:
            domain = data.get("domain") or f"sandbox-{secrets.token_hex(3)}.myshopify.com"
            shop = {"domain": domain, "name": data.get("name", domain), "id": int(store.next_id()), "created_at": time.time(),
                    "client_id": data.get("client_id") or secrets.token_hex(8),
                    "client_secret": data.get("client_secret") or secrets.token_hex(16),
                    "webhook_secret": data.get("webhook_secret") or secrets.token_hex(16),
                    "location_id": data.get("location_id") or f"gid://shopify/Location/{store.next_id()}",
                    "webhook_url": data.get("webhook_url", ""), "levels": {}, "orders": {}, "fulfillments": []}
            for item in data.get("items", []):
                shop["levels"][str(item["inventory_item_id"])] = int(item.get("quantity", 0))
            _issue_tokens(shop)
            store.shopify[domain] = shop
            return jsonify({k: shop[k] for k in ("domain", "name", "client_id", "client_secret", "webhook_secret", "location_id",
                                                 "access_token", "refresh_token")} | {"token_expires_at": int(shop["token_expires_at"])})

    @app.post("/_sandbox/amazon/sellers")
    def control_amazon_seller():
        data = control_json()
        with store.lock:
            seller_id = data.get("seller_id") or f"A{secrets.token_hex(6).upper()}"
            seller = {"seller_id": seller_id, "name": data.get("name", seller_id),
                      "client_id": data.get("client_id") or f"amzn1.application-oa2-client.{secrets.token_hex(8)}",
                      "client_secret": data.get("client_secret") or secrets.token_hex(16), "marketplace_id": "ATVPDKIKX0DER", "listings": {}, "orders": {}}
            for item in data.get("items", []):
                seller["listings"][str(item["seller_sku"])] = int(item.get("quantity", 0))
            _issue_tokens(seller)
            seller["token_expires_at"] = time.time() + 3600
            store.amazon[seller_id] = seller
            return jsonify({k: seller[k] for k in ("seller_id", "name", "client_id", "client_secret", "marketplace_id",
                                                   "access_token", "refresh_token")} | {"token_expires_at": int(seller["token_expires_at"])})

    # ================================================================ A 3PL (third-party warehouse)
    # POST /3pl/<account>/orders with "Authorization: Bearer <api key>" and "Idempotency-Key";
    # a replayed key returns the order made the first time. 422 when a line has no SKU or quantity.
    @app.post("/_sandbox/3pl/accounts")
    def control_threepl_account():
        data = control_json()
        with store.lock:
            account = data.get("account") or f"3pl-{secrets.token_hex(3)}"
            store.threepl[account] = {"account": account, "name": data.get("name", account), "api_key": data.get("api_key") or _token(),
                                      "orders": {}, "keys": {}}
            return jsonify({k: store.threepl[account][k] for k in ("account", "name", "api_key")})

    @app.get("/_sandbox/3pl/<account>/orders")
    def control_threepl_orders(account):
        with store.lock:
            return jsonify({"orders": list(shop_of("3pl", account)["orders"].values())})

    @app.post("/3pl/<account>/orders")
    def threepl_order_create(account):
        with store.lock:
            count("3pl")
            shop = store.threepl.get(account)
            if shop is None:
                return err(404, {"error": f"no 3PL account {account}"})
            if request.headers.get("Authorization", "") != f"Bearer {shop['api_key']}":
                return err(401, {"error": "invalid API key"})
            failure = injected("3pl", account)
            if failure is not None:
                return failure
            key = request.headers.get("Idempotency-Key", "")
            if not key:
                return err(400, {"error": "Idempotency-Key header is required"})
            if key in shop["keys"]:
                return jsonify(shop["orders"][shop["keys"][key]])
            body = request.get_json(silent=True) or {}
            lines = body.get("lines") or []
            if not lines or any(not line.get("sku") or int(line.get("quantity") or 0) <= 0 for line in lines):
                return err(422, {"error": "every line needs a sku and a quantity above zero"})
            if not (body.get("ship_to") or {}).get("postal_code"):
                return err(422, {"error": "ship_to.postal_code is required"})
            order_id = f"WH-{len(shop['orders']) + 1:06d}"
            shop["orders"][order_id] = {"id": order_id, "status": "received", "reference": body.get("reference", ""),
                                        "order_number": body.get("order_number", ""), "ship_to": body["ship_to"], "lines": lines}
            shop["keys"][key] = order_id
            return jsonify(shop["orders"][order_id]), 201

    def shop_of(platform: str, key: str) -> dict:
        shop = {"tiktok": store.tiktok, "shopify": store.shopify, "amazon": store.amazon, "3pl": store.threepl}.get(platform, {}).get(key)
        if shop is None:
            abort(err(404, {"error": f"no {platform} shop {key}"}))
        return shop

    @app.post("/_sandbox/<platform>/<key>/fail")
    def control_fail(platform, key):
        """Queue failures for the next calls: {"failures": [{"status": 429, "retry_after": 0}, {"truncate": true}]}."""
        with store.lock:
            shop_of(platform.removesuffix("-auth"), key)
            store.failures.setdefault((platform, key), []).extend(control_json().get("failures", []))
            return jsonify({"queued": len(store.failures[(platform, key)])})

    @app.post("/_sandbox/<platform>/<key>/expire-token")
    def control_expire(platform, key):
        with store.lock:
            shop_of(platform, key)["token_expires_at"] = time.time() - 1
            return jsonify({"ok": True})

    @app.post("/_sandbox/<platform>/<key>/revoke")
    def control_revoke(platform, key):
        with store.lock:
            shop_of(platform, key)["revoked"] = True
            return jsonify({"ok": True})

    @app.post("/_sandbox/shopify/<domain>/uninstall")
    def control_shopify_uninstall(domain):
        """The merchant removes the app: its tokens stop working at once (the Admin API answers 401,
        a refresh is refused) and app/uninstalled is sent with the shop resource as its body."""
        with store.lock:
            shop = shop_of("shopify", domain)
            shop["revoked"] = True
            body = {"id": shop["id"], "name": shop["name"], "domain": domain, "myshopify_domain": domain,
                    "created_at": shopify_rest_time(shop["created_at"]), "updated_at": shopify_rest_time(shop["created_at"])}
        return jsonify({"deliveries": deliver("shopify", domain, [{"topic": "app/uninstalled", "data": body}])})

    @app.post("/_sandbox/<platform>/<key>/stock")
    def control_stock(platform, key):
        """Change stock on the platform side (as a seller editing it there would): {"item": id, "quantity": n}."""
        data = control_json()
        with store.lock:
            shop = shop_of(platform, key)
            item, qty = str(data["item"]), int(data["quantity"])
            if platform == "tiktok":
                for product in shop["products"].values():
                    if item in product:
                        product[item] = qty
            elif platform == "shopify":
                shop["levels"][item] = qty
            else:
                shop["listings"][item] = qty
            return jsonify({"ok": True})

    @app.post("/tiktok-orders/<shop_id>")
    @app.post("/_sandbox/tiktok/<shop_id>/orders")
    def control_tiktok_order(shop_id):
        """A buyer places an order: {"lines": [{"sku_id", "quantity", "price"}], "creator_username": ...}.
        The order is stored and ORDER_STATUS_CHANGE is sent to the shop's webhook URL."""
        data = control_json() or {"lines": [{"sku_id": request.form.get("sku_id"), "quantity": int(request.form.get("quantity", 1)),
                                             "price": request.form.get("price", "29.99")}]}
        with store.lock:
            shop = shop_of("tiktok", shop_id)
            order_id = store.next_id()
            now = int(time.time())
            lines = [{"id": store.next_id(), "sku_id": str(line["sku_id"]), "quantity": int(line.get("quantity", 1)),
                      "sale_price": str(line.get("price", "29.99")), "currency": "USD"} for line in data.get("lines", [])]
            total = sum(float(line["sale_price"]) * line["quantity"] for line in lines)
            order = {"id": order_id, "status": "AWAITING_SHIPMENT", "create_time": now, "update_time": now, "paid_time": now,
                     "rts_sla_time": now + 48 * 3600, "shipping_due_time": now + 48 * 3600, "line_items": lines,
                     "payment": {"currency": "USD", "total_amount": f"{total:.2f}"},
                     "recipient_address": data.get("address") or dict(DEFAULT_TIKTOK_ADDRESS),
                     "packages": [{"id": store.next_id()}], "creator_username": data.get("creator_username"),
                     "commission_rate": int(data.get("commission_rate", 0)), "affiliate_commission": data.get("affiliate_commission", "0.00")}
            shop["orders"][order_id] = order
        if data.get("silent"):
            return jsonify({"order_id": order_id, "deliveries": []})
        results = deliver("tiktok", shop_id, [{"type": 1, "data": {"order_id": order_id, "order_status": "AWAITING_SHIPMENT", "update_time": now}}])
        if request.form:
            return Response(status=303, headers={"Location": "/"})
        return jsonify({"order_id": order_id, "deliveries": results})

    @app.post("/_sandbox/tiktok/<shop_id>/orders/<order_id>")
    def control_tiktok_order_change(shop_id, order_id):
        """The buyer or TikTok changes an order: {"status": "CANCELLED"|"DELIVERED"|..., "address": {...},
        "return_items": [{"sku_id", "quantity"}]}; the matching webhook is sent (cancellation 11,
        address 3, return 12, else status change 1)."""
        data = control_json()
        with store.lock:
            shop = shop_of("tiktok", shop_id)
            order = shop["orders"].get(order_id)
            if order is None:
                return err(404, {"error": f"no order {order_id}"})
            order["update_time"] = max(int(time.time()), order["update_time"] + 1)
            events = []
            if data.get("address"):
                order["recipient_address"] = data["address"]
                events.append({"type": 3, "data": {"order_id": order_id, "update_time": order["update_time"]}})
            if data.get("status"):
                order["status"] = data["status"]
                events.append({"type": 11 if data["status"] == "CANCELLED" else 1,
                               "data": {"order_id": order_id, "order_status": data["status"], "update_time": order["update_time"]}})
            if data.get("return_items"):
                events.append({"type": 12, "data": {"order_id": order_id, "return_status": "RETURN_OR_REFUND_REQUEST_COMPLETE",
                                                    "return_line_items": data["return_items"]}})
        return jsonify({"deliveries": deliver("tiktok", shop_id, events) if events else []})

    @app.post("/_sandbox/shopify/<domain>/orders")
    def control_shopify_order(domain):
        """A buyer checks out: {"lines": [{"inventory_item_id", "quantity", "price"}], "address": {...}}; orders/create is sent."""
        data = control_json()
        with store.lock:
            shop = shop_of("shopify", domain)
            number = store.next_id()
            gid = f"gid://shopify/Order/{number}"
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            shop["orders"][gid] = {
                "id": gid, "name": f"#{1000 + len(shop['orders'])}", "createdAt": stamp, "processedAt": stamp, "updatedAt": stamp,
                "cancelledAt": None, "currencyCode": "USD", "displayFulfillmentStatus": "UNFULFILLED",
                "shippingAddress": data.get("address") or {"name": "Sandbox Buyer", "address1": "233 S Wacker Dr", "address2": None, "city": "Chicago",
                                                           "provinceCode": "IL", "zip": "60606", "countryCodeV2": "US", "phone": None},
                "lineItems": {"edges": [{"node": {"sku": None, "quantity": int(line.get("quantity", 1)),
                                                  "variant": {"inventoryItem": {"id": str(line["inventory_item_id"])}},
                                                  "originalUnitPriceSet": {"shopMoney": {"amount": str(line.get("price", "19.99")), "currencyCode": "USD"}}}}
                                        for line in data.get("lines", [])]},
                "fulfillmentOrders": {"edges": [{"node": {"id": f"gid://shopify/FulfillmentOrder/{store.next_id()}", "status": "OPEN"}}]},
            }
        results = deliver("shopify", domain, [{"topic": "orders/create", "data": {"id": int(number), "admin_graphql_api_id": gid,
                                                                                  "created_at": shopify_rest_time(), "updated_at": shopify_rest_time()}}])
        return jsonify({"order_id": gid, "deliveries": results})

    @app.post("/_sandbox/amazon/<seller_id>/orders")
    def control_amazon_order(seller_id):
        """A buyer orders on Amazon: {"lines": [{"seller_sku", "quantity", "price"}], "address": {...}}. Fanout polls for it."""
        data = control_json()
        with store.lock:
            seller = shop_of("amazon", seller_id)
            order_id = f"114-{store.next_id().zfill(7)}-{secrets.randbelow(9999999):07d}"
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            total = sum(float(line.get("price", "24.99")) * int(line.get("quantity", 1)) for line in data.get("lines", []))
            seller["orders"][order_id] = {
                "AmazonOrderId": order_id, "PurchaseDate": stamp, "LastUpdateDate": stamp, "OrderStatus": data.get("status", "Unshipped"),
                "FulfillmentChannel": "MFN", "LatestShipDate": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 2 * 86400)),
                "OrderTotal": {"CurrencyCode": "USD", "Amount": f"{total:.2f}"},
                "ShippingAddress": data.get("address") or {"Name": "Sandbox Buyer", "AddressLine1": "1 Market St", "City": "Newark",
                                                            "StateOrRegion": "NJ", "PostalCode": "07102", "CountryCode": "US"},
                "OrderItems": [{"OrderItemId": f"{secrets.randbelow(10**13):014d}", "SellerSKU": str(line["seller_sku"]),
                                "QuantityOrdered": int(line.get("quantity", 1)), "QuantityShipped": 0,
                                "ItemPrice": {"CurrencyCode": "USD", "Amount": str(line.get("price", "24.99"))}} for line in data.get("lines", [])],
                "Shipments": [],
            }
        return jsonify({"order_id": order_id})

    @app.post("/_sandbox/<platform>/<key>/webhooks")
    def control_webhooks(platform, key):
        """Send events: {"events": [{"type"/"topic", "data", "id"?, "timestamp"? (TikTok), "triggered_at"? (Shopify; Unix
        seconds: a retry keeps its event's original time)}], "copies": 1, "order": "as_given|reverse|shuffle",
        "corrupt": null|"signature"|"truncate"}. Answers with what Fanout replied to each delivery (without a webhook URL:
        the request that would have been sent)."""
        data = control_json()
        with store.lock:
            shop_of(platform, key)
        return jsonify({"deliveries": deliver(platform, key, data.get("events", []), copies=int(data.get("copies", 1)),
                                              order=data.get("order", "as_given"), corrupt=data.get("corrupt"))})

    def deliver(platform: str, key: str, events: list[dict], *, copies: int = 1, order: str = "as_given", corrupt=None) -> list[dict]:
        with store.lock:
            shop = shop_of(platform, key)
            prepared = []
            for event in events:
                event_id = str(event.get("id") or store.next_id())
                triggered = float(event.get("triggered_at") or time.time())
                if platform == "tiktok":
                    body = json.dumps({"type": event["type"], "tts_notification_id": event_id, "shop_id": shop["shop_id"],
                                       "timestamp": int(event.get("timestamp") or time.time()), "data": event.get("data", {})}).encode()
                    signature = hmac.new(shop["app_secret"].encode(), shop["app_key"].encode() + body, hashlib.sha256).hexdigest()
                    headers = {"Authorization": signature, "Content-Type": "application/json"}
                else:
                    body = json.dumps(event.get("data", {})).encode()
                    signature = base64.b64encode(hmac.new(shop["webhook_secret"].encode(), body, hashlib.sha256).digest()).decode()
                    headers = {"X-Shopify-Hmac-Sha256": signature, "X-Shopify-Topic": event.get("topic", "orders/create"),
                               "X-Shopify-Shop-Domain": shop["domain"], "X-Shopify-Event-Id": event_id,
                               "X-Shopify-Webhook-Id": store.next_id(), "X-Shopify-API-Version": "2025-01",
                               "X-Shopify-Triggered-At": shopify_header_time(triggered), "Content-Type": "application/json"}
                if corrupt == "signature":
                    headers["Authorization" if platform == "tiktok" else "X-Shopify-Hmac-Sha256"] = "0" * 64
                if corrupt == "truncate":
                    body = body[: len(body) // 2]
                prepared.append((event_id, body, headers))
            url = shop.get("webhook_url", "")
        batch = [p for p in prepared for _ in range(max(copies, 1))]
        if order == "reverse":
            batch.reverse()
        elif order == "shuffle":
            random.shuffle(batch)
        results = []
        for event_id, body, headers in batch:
            results.append(post_webhook(url, body, headers) | {"event_id": event_id})
        with store.lock:
            store.deliveries.extend(results)
        return results

    def post_webhook(url: str, body: bytes, headers: dict) -> dict:
        if not url:  # what would have been sent, for whoever wants to send it (or replay it) themselves
            return {"status": None, "error": "the shop has no webhook URL", "request": {"headers": headers, "body": body.decode()}}
        parts = urlsplit(url)
        target, host = url, parts.netloc
        if parts.hostname and parts.hostname.endswith(".localhost"):
            # *.localhost may not resolve here; connect to loopback and name the seller in Host.
            target = url.replace(parts.hostname, "127.0.0.1", 1)
        try:
            response = httpx.post(target, content=body, headers=headers | {"Host": host}, timeout=10)
        except httpx.HTTPError as exc:
            return {"status": None, "error": str(exc)}
        return {"status": response.status_code, "body": response.text[:200]}

    @app.get("/_sandbox/stock")
    def control_stock_levels():
        with store.lock:
            return jsonify({
                "tiktok": {k: {sku: q for p in s["products"].values() for sku, q in p.items()} for k, s in store.tiktok.items()},
                "shopify": {k: dict(s["levels"]) for k, s in store.shopify.items()},
                "amazon": {k: dict(s["listings"]) for k, s in store.amazon.items()},
            })

    @app.get("/_sandbox/history")
    def control_history():
        since = float(request.args.get("since", 0))
        with store.lock:
            return jsonify({"history": [h for h in store.history if h["t"] >= since]})

    @app.get("/_sandbox/stats")
    def control_stats():
        with store.lock:
            return jsonify({"requests": dict(store.requests), "deliveries": len(store.deliveries)})

    @app.get("/_sandbox/health")
    def control_health():
        return jsonify({"ok": True})

    @app.get("/")
    def dashboard():
        with store.lock:
            return render_template_string(DASHBOARD, store=store, now=time.time())

    return app


DASHBOARD = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Platform sandbox</title>
<meta http-equiv="refresh" content="3">
<style>body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1f2933;background:#f7f8fa}h1{font-size:20px}
h2{font-size:16px;margin:20px 0 6px}.shop{background:#fff;border:1px solid #e1e4e8;border-radius:8px;padding:12px 16px;margin:12px 0}
table{border-collapse:collapse}td,th{padding:3px 10px;border-bottom:1px solid #eef0f2;text-align:left}th{color:#52606d;font-weight:600}
.num{text-align:right;font-variant-numeric:tabular-nums}.muted{color:#7b8794}form{display:inline}button{padding:3px 10px}</style></head><body>
<h1>Platform sandbox <span class="muted">— a local stand-in for TikTok Shop, Shopify and Amazon (refreshes every 3 s)</span></h1>
{% for shop in store.tiktok.values() %}<div class="shop"><h2>TikTok Shop · {{ shop.name }} <span class="muted">shop {{ shop.shop_id }}</span></h2>
<table><tr><th>product</th><th>SKU id</th><th class="num">stock</th><th></th></tr>
{% for pid, skus in shop.products.items() %}{% for sku, qty in skus.items() %}<tr><td>{{ pid }}</td><td>{{ sku }}</td><td class="num">{{ qty }}</td>
<td><form method="post" action="/tiktok-orders/{{ shop.shop_id }}"><input type="hidden" name="sku_id" value="{{ sku }}"><input type="hidden" name="quantity" value="1"><button>Place a test order</button></form></td></tr>{% endfor %}{% endfor %}</table>
<p class="muted">{{ shop.orders|length }} order(s) · webhooks to {{ shop.webhook_url or "nowhere" }}</p></div>{% endfor %}
{% for shop in store.shopify.values() %}<div class="shop"><h2>Shopify · {{ shop.name }} <span class="muted">{{ shop.domain }}</span></h2>
<table><tr><th>inventory item</th><th class="num">available</th></tr>{% for item, qty in shop.levels.items() %}<tr><td>{{ item }}</td><td class="num">{{ qty }}</td></tr>{% endfor %}</table></div>{% endfor %}
{% for seller in store.amazon.values() %}<div class="shop"><h2>Amazon · {{ seller.name }} <span class="muted">seller {{ seller.seller_id }}</span></h2>
<table><tr><th>seller SKU</th><th class="num">quantity</th></tr>{% for sku, qty in seller.listings.items() %}<tr><td>{{ sku }}</td><td class="num">{{ qty }}</td></tr>{% endfor %}</table></div>{% endfor %}
{% if not store.tiktok and not store.shopify and not store.amazon %}<p>No shops yet. Fanout's demo seed creates them.</p>{% endif %}
<h2>Recent stock updates</h2><table><tr><th>platform</th><th>item</th><th class="num">quantity</th><th>seconds ago</th></tr>
{% for h in store.history[-15:]|reverse %}<tr><td>{{ h.platform }}</td><td>{{ h.item }}</td><td class="num">{{ h.quantity }}</td><td class="num">{{ "%.1f"|format(now - h.t) }}</td></tr>{% endfor %}</table>
</body></html>"""
