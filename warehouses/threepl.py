"""Hand shipments to a third-party logistics provider (3PL) through its API.

A warehouse with fulfilment "3PL" is not worked in Fanout's queue: once stock is reserved there,
the shipment is sent to the 3PL's order API. The contract (the one the platform sandbox
implements, in the shape most 3PL order APIs take):

    POST {threepl_url}/orders
    Authorization: Bearer <API key>
    Idempotency-Key: <our reservation reference>   (a replay returns the order made the first time)
    {"reference": "S0000123", "order_number": "<channel order id>",
     "ship_to": {"name", "line1", "line2", "city", "state", "postal_code", "country", "phone"},
     "lines": [{"sku": "LIP-001", "quantity": 2}]}
    → 201/200 {"id": "<their id>", "status": "received"}

4xx: the 3PL refuses this shipment as sent (the order goes to the exceptions queue with the
status and their `error` field, never their whole answer; fix and retry). 429, 5xx and network
errors: tried again later. Tracking comes back as the 3PL's CSV export (the warehouse's page →
Tracking from CSV) or is typed in by hand."""
import httpx

from erp.outbound import OutboundRefused, endpoint_host, outbound_http, reply_summary, reply_text


class ThreePLError(Exception):
    def __init__(self, message: str, *, retryable: bool):
        super().__init__(message)
        self.retryable = retryable


class ThreePLTransientError(ThreePLError):
    def __init__(self, message: str):
        super().__init__(message, retryable=True)


def shipment_send(shipment) -> str:
    """Send one shipment (with its order, lines and warehouse loaded) to its warehouse's 3PL;
    returns the 3PL's id for it. The API key goes only to the host it was entered for, and only
    through the outbound guard (erp/outbound.py)."""
    warehouse, order = shipment.warehouse, shipment.order
    if not warehouse.threepl_url or not warehouse.threepl_api_key:
        raise ThreePLError(f"warehouse {warehouse.code} has no 3PL API address or key", retryable=False)
    host = endpoint_host(warehouse.threepl_url)
    if host != warehouse.threepl_key_host:
        raise ThreePLError(f"{warehouse.code}: the 3PL API key was entered for {warehouse.threepl_key_host or 'another address'}, "
                           f"not for {host}; an Owner or Manager must enter the key again for this address", retryable=False)
    body = {
        "reference": shipment.number, "order_number": order.external_id,
        "ship_to": {"name": order.ship_name, "line1": order.ship_line1, "line2": order.ship_line2, "city": order.ship_city,
                    "state": order.ship_state, "postal_code": order.ship_zip, "country": order.ship_country, "phone": order.ship_phone},
        "lines": [{"sku": line.sku.code, "quantity": line.quantity} for line in shipment.lines.all()],
    }
    headers = {"Authorization": f"Bearer {warehouse.threepl_api_key}", "Idempotency-Key": shipment.reservation_reference}
    try:
        response = outbound_http().post(f"{warehouse.threepl_url.rstrip('/')}/orders", json=body, headers=headers)
    except OutboundRefused as exc:
        raise ThreePLError(f"{warehouse.code}: {exc}", retryable=False) from None
    except httpx.HTTPError as exc:
        raise ThreePLTransientError(f"{warehouse.code}: the 3PL did not answer ({type(exc).__name__})") from exc
    if response.status_code == 429 or response.status_code >= 500:
        raise ThreePLTransientError(f"{warehouse.code}: the 3PL answered {reply_summary(response.status_code)}")
    if 300 <= response.status_code < 400:
        raise ThreePLError(f"{warehouse.code}: the 3PL answered {reply_summary(response.status_code)}, a redirect; "
                           "Fanout does not follow redirects", retryable=False)
    try:
        data = response.json()
    except ValueError:
        raise ThreePLTransientError(f"{warehouse.code}: the 3PL's answer is not JSON (HTTP {response.status_code})") from None
    if not isinstance(data, dict):
        raise ThreePLTransientError(f"{warehouse.code}: the 3PL's answer is not a JSON object (HTTP {response.status_code})")
    if response.status_code >= 400:
        detail = reply_text(data.get("error")) or reply_text(data.get("message"))
        raise ThreePLError(f"{warehouse.code}: the 3PL refused the shipment (HTTP {response.status_code})" + (f": {detail}" if detail else ""),
                           retryable=False)
    reference = reply_text(str(data.get("id") or ""), limit=80)
    if not reference:
        raise ThreePLTransientError(f"{warehouse.code}: the 3PL's answer has no order id")
    return reference
