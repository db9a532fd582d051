"""What a webhook delivery must pass before it is stored, kept apart from the intake itself:

- the body, once its signature is verified, parsed into a JSON object of bounded depth that
  PostgreSQL can store (a refusal is a reason, never an exception from deep inside the parser);
- freshness: the time the platform signed (TikTok's `timestamp`, the `updated_at` of Shopify's
  resource) or stated (`X-Shopify-Triggered-At`) within a window longer than the platform's retries;
- throttling, counted in Redis: refused deliveries per client address (past the limit they are
  answered 429 and no longer logged one by one), and a generous ceiling of deliveries per shop.
  A delivery whose signature verifies is never held back by its address, so the platform's own
  bursts land even while someone floods the same seller from the same address."""
import ipaddress
import json
import logging
import re
import time
from datetime import UTC, datetime

from django.conf import settings
from django.utils.translation import gettext, gettext_noop

from connectors.exceptions import WebhookRejected
from connectors.models import Platform
from connectors.services.redis_keys import redis_client, tenant_key

log = logging.getLogger("fanout.connectors.webhooks")

# Deeper than any platform's payload (Shopify's orders nest about 6 levels), far below what the
# parser, PostgreSQL's jsonb and the pages that print a payload can take.
BODY_DEPTH_MAX = 64
WINDOW_S = 60

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class BodyRefused(Exception):
    """The verified body cannot be taken in; `template` (gettext_noop) says why."""

    def __init__(self, template: str):
        super().__init__(template)
        self.template = template


def text_unstorable(value: str) -> bool:
    """A NUL character or half of a UTF-16 surrogate pair: text/jsonb cannot hold it."""
    return bool(_UNSTORABLE.search(value))


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(text)
    return value


def _not_json(text: str):
    raise ValueError(text)  # NaN and Infinity are JavaScript, not JSON, and PostgreSQL's jsonb refuses them


def _refusal_of_tree(payload) -> str | None:
    """Walk the parsed body without recursion: the first reason it cannot be stored, or None."""
    stack = [(payload, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > BODY_DEPTH_MAX:
            return gettext_noop("the body is nested more than 64 levels deep")
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            if isinstance(key, str) and text_unstorable(key):
                return gettext_noop("the body contains a NUL character or a broken surrogate pair")
            if isinstance(item, (dict, list)):
                stack.append((item, depth + 1))
            elif isinstance(item, str) and text_unstorable(item):
                return gettext_noop("the body contains a NUL character or a broken surrogate pair")
    return None


def webhook_body_parse(raw_body: bytes) -> dict:
    """The (already verified) body as a JSON object PostgreSQL can store. Raises BodyRefused.
    The parser stops by itself where nesting passes Python's recursion limit; the walk after it
    refuses anything deeper than BODY_DEPTH_MAX, so no later reader meets a deep body."""
    try:
        payload = json.loads(raw_body, parse_float=_finite_float, parse_constant=_not_json)
    except RecursionError:
        raise BodyRefused(gettext_noop("the body is nested more than 64 levels deep")) from None
    except (ValueError, UnicodeDecodeError):
        raise BodyRefused(gettext_noop("the body is not valid JSON (truncated?)")) from None
    if not isinstance(payload, dict):
        raise BodyRefused(gettext_noop("the body is not a JSON object"))
    problem = _refusal_of_tree(payload)
    if problem:
        raise BodyRefused(problem)
    return payload


# ---------------------------------------------------------------------------- freshness
def webhook_instant(value) -> datetime | None:
    """A platform's time: Unix seconds (int) or ISO 8601 text (a naive one is UTC). None when absent or garbled."""
    try:
        if isinstance(value, int) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, tz=UTC)
        if isinstance(value, str) and 10 <= len(value) <= 40:
            instant = datetime.fromisoformat(value)
            return instant if instant.tzinfo else instant.replace(tzinfo=UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return None


def webhook_too_old(instant: datetime, *, max_age_s: int) -> bool:
    """Outside the window either way: a time far ahead is no fresher than one far behind."""
    return abs(time.time() - instant.timestamp()) > max_age_s


# ---------------------------------------------------------------------------- refusals
REJECTIONS_KEPT = 50


class Refusal(Exception):
    """Raised inside the intake; `refusal_guarded` turns it into the WebhookRejected the view answers."""

    def __init__(self, status: int, template: str, *, shop: str = "", **params):
        super().__init__(template)
        self.status, self.template, self.shop, self.params = status, template, shop.replace("\x00", "")[:120], params


def _remember(platform: str, status: int, template: str, shop: str, params: dict) -> str:
    """One bounded log line and one entry in the recent refusals; the English reason."""
    reason = template % {"shop": shop, **params}
    log.warning("webhook rejected: %s %s (shop %s): %s", platform, status, shop or "?", reason)
    entry = json.dumps({"at": time.time(), "platform": platform, "status": status, "template": template, "shop": shop, "params": params})
    try:
        client = redis_client()
        key = tenant_key("webhook-rejections")
        client.lpush(key, entry)
        client.ltrim(key, 0, REJECTIONS_KEPT - 1)
    except Exception as exc:  # noqa: BLE001 — the log line above is enough if Redis is down; never turn a 401 into a 500
        log.warning("could not record the webhook rejection: %s", str(exc)[:200])
    return reason


def refusal_guarded(platform: str, client_ip: str, receive) -> tuple:
    """Run one intake; a refusal is counted against the sending address. Past the limit of the
    minute the address is answered 429 (the platform retries later), logged once, not per delivery."""
    try:
        return receive()
    except Refusal as refusal:
        refused, retry_after = webhook_refusal_count(client_ip=client_ip)
        limit = refusals_limit()
        if refused <= limit:
            raise WebhookRejected(refusal.status, _remember(platform, refusal.status, refusal.template, refusal.shop, refusal.params)) from None
        if refused == limit + 1:
            _remember(platform, 429, gettext_noop("more than %(limit)s refused deliveries this minute from %(address)s: "
                                                  "further refusals are answered 429 and not recorded"),
                      refusal.shop, {"limit": limit, "address": client_ip[:64]})
        raise WebhookRejected(429, "too many refused deliveries from this address; retry later", retry_after=retry_after) from None


def webhook_rejections_recent() -> list[dict]:
    rows = [json.loads(r) for r in redis_client().lrange(tenant_key("webhook-rejections"), 0, REJECTIONS_KEPT - 1)]
    labels = dict(Platform.choices)
    for row in rows:
        row["at"] = datetime.fromtimestamp(row["at"], tz=UTC)
        row["platform_label"] = labels.get(row.get("platform"), row.get("platform"))
        if row.get("template"):
            row["reason"] = gettext(row["template"]) % {"shop": row.get("shop", ""), **row.get("params", {})}
    return rows


# ---------------------------------------------------------------------------- throttling
def _client_key(client_ip: str) -> str:
    """An IPv6 client is counted by its /64 (one machine holds a whole /64)."""
    try:
        address = ipaddress.ip_address(client_ip)
    except ValueError:
        return "unknown"
    if address.version == 6:
        if address.ipv4_mapped:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False).network_address)
    return str(address)


def _count(*parts) -> tuple[int, int]:
    """Add one to this minute's counter: (count so far, seconds until the minute ends). (0, 0) when Redis is away."""
    now = time.time()
    window = int(now // WINDOW_S)
    key = tenant_key("webhook-throttle", *parts, window)
    try:
        pipe = redis_client().pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, 2 * WINDOW_S)
        count = pipe.execute()[0]
    except Exception as exc:  # noqa: BLE001 — without Redis nothing is throttled; never a 500 for it
        log.warning("webhook throttle counter unavailable: %s", str(exc)[:200])
        return 0, 0
    return int(count), max(1, int((window + 1) * WINDOW_S - now) + 1)


def webhook_refusal_count(*, client_ip: str) -> tuple[int, int]:
    """One more refused delivery from this address this minute: (refusals so far, seconds until the count restarts)."""
    return _count("refused", _client_key(client_ip))


def webhook_shop_count(*, platform: str, shop_id: str) -> tuple[int, int]:
    """One more verified delivery for this shop this minute: (deliveries so far, seconds until the count restarts)."""
    return _count("shop", platform, shop_id[:120])


def refusals_limit() -> int:
    return settings.FANOUT_WEBHOOK_REFUSALS_PER_MINUTE


def shop_limit() -> int:
    return settings.FANOUT_WEBHOOK_SHOP_PER_MINUTE


def webhook_shop_admit(*, account) -> None:
    """The generous per-shop ceiling for a verified delivery: past it the platform is told to retry
    later (429, which it does), logged once a minute. Raises WebhookRejected."""
    delivered, retry_after = webhook_shop_count(platform=account.platform, shop_id=account.shop_id)
    limit = shop_limit()
    if delivered > limit:
        if delivered == limit + 1:
            _remember(account.platform, 429, gettext_noop("more than %(limit)s deliveries this minute for %(shop)s: the rest are "
                                                          "answered 429 and retried by the platform"), account.shop_id[:120], {"limit": limit})
        raise WebhookRejected(429, "too many deliveries for this shop this minute; retry later", retry_after=retry_after)
