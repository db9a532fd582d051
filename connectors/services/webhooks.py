"""Webhook intake: verify the signature on the raw body, store the event once in the inbox
(unique platform event id), answer fast, and process it later in Celery.

Rejected deliveries store nothing in the inbox; their reason goes to the log and to a short list
of recent rejections (Redis, per seller) shown on the channels page."""
import hmac
import json
import logging
import time
from datetime import datetime, timedelta, timezone as dt_timezone
from functools import partial

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from connectors.clients.shopify import shopify_webhook_signature
from connectors.clients.tiktok import tiktok_webhook_signature
from connectors.exceptions import WebhookRejected
from connectors.models import AccountStatus, ChannelAccount, InboxStatus, Platform, WebhookEvent
from connectors.services.redis_keys import redis_client, tenant_key

log = logging.getLogger("fanout.connectors.webhooks")

REJECTIONS_KEPT = 50

def _reject(platform: str, status: int, template: str, *, shop: str = "") -> WebhookRejected:
    """`template` is marked with gettext_noop: the platform gets it in English, the page translates it."""
    reason = template % {"shop": shop}
    log.warning("webhook rejected: %s %s (shop %s): %s", platform, status, shop or "?", reason)
    entry = json.dumps({"at": time.time(), "platform": platform, "status": status, "template": template, "shop": shop[:120]})
    try:
        client = redis_client()
        key = tenant_key("webhook-rejections")
        client.lpush(key, entry)
        client.ltrim(key, 0, REJECTIONS_KEPT - 1)
    except Exception:  # the log line above is enough if Redis is down; never turn a 401 into a 500
        log.exception("could not record the webhook rejection")
    return WebhookRejected(status, reason)


def webhook_rejections_recent() -> list[dict]:
    rows = [json.loads(r) for r in redis_client().lrange(tenant_key("webhook-rejections"), 0, REJECTIONS_KEPT - 1)]
    labels = dict(Platform.choices)
    for row in rows:
        row["at"] = datetime.fromtimestamp(row["at"], tz=dt_timezone.utc)
        row["platform_label"] = labels.get(row.get("platform"), row.get("platform"))
        if row.get("template"):
            row["reason"] = gettext(row["template"]) % {"shop": row.get("shop", "")}
    return rows


def _account(platform: str, shop_id: str) -> ChannelAccount | None:
    return (ChannelAccount.objects.filter(platform=platform, shop_id=shop_id).exclude(status=AccountStatus.DISCONNECTED)
            .order_by("-pk").first())


def _store(*, account: ChannelAccount, event_id: str, topic: str, payload: dict, raw_body: bytes, occurred_at=None) -> tuple[WebhookEvent, bool]:
    """One statement: insert the event unless (platform, event id) is already there. A burst of
    deliveries is answered without a transaction, savepoint or second look-up per delivery."""
    from connectors import tasks

    event = WebhookEvent(account=account, platform=account.platform, event_id=event_id, topic=topic, payload=payload,
                         raw_body=raw_body.decode("utf-8", "replace"), occurred_at=occurred_at, received_at=timezone.now(),
                         status=InboxStatus.PENDING, attempts=0, error="")
    fields = [f for f in WebhookEvent._meta.concrete_fields if not f.primary_key]
    values = [f.get_db_prep_save(f.pre_save(event, add=True), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {connection.ops.quote_name(WebhookEvent._meta.db_table)} ({', '.join(connection.ops.quote_name(f.column) for f in fields)}) "
            f"VALUES ({', '.join(['%s'] * len(fields))}) ON CONFLICT (platform, event_id) DO NOTHING RETURNING id", values)
        row = cursor.fetchone()
    if row is None:
        return WebhookEvent.objects.get(platform=account.platform, event_id=event_id), False
    event.pk = row[0]
    transaction.on_commit(partial(tasks.webhook_process.delay, event.pk))
    return event, True


EVENT_ID_MAX = WebhookEvent._meta.get_field("event_id").max_length
TOPIC_MAX = WebhookEvent._meta.get_field("topic").max_length


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(text)
    return value


def _not_json(text: str):
    raise ValueError(text)  # NaN and Infinity are JavaScript, not JSON, and PostgreSQL's jsonb refuses them


def _unstorable(value) -> bool:
    """A string jsonb/text cannot hold: a NUL character or half of a UTF-16 surrogate pair."""
    if isinstance(value, str):
        return "\x00" in value or any("\ud800" <= c <= "\udfff" for c in value)
    if isinstance(value, list):
        return any(_unstorable(v) for v in value)
    if isinstance(value, dict):
        return any(_unstorable(k) or _unstorable(v) for k, v in value.items())
    return False


def _payload(platform: str, raw_body: bytes | None, *, shop: str = ""):
    """The body as a JSON object that PostgreSQL can store, or the refusal naming what is wrong."""
    if raw_body is None:
        raise _reject(platform, 413, gettext_noop("the body is larger than Fanout accepts (2.5 MB)"), shop=shop)
    try:
        payload = json.loads(raw_body, parse_float=_finite_float, parse_constant=_not_json)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise _reject(platform, 400, gettext_noop("the body is not valid JSON (truncated?)"), shop=shop) from None
    if not isinstance(payload, dict):
        raise _reject(platform, 400, gettext_noop("the body is not a JSON object"), shop=shop)
    if _unstorable(payload):
        raise _reject(platform, 400, gettext_noop("the body contains a NUL character or a broken surrogate pair"), shop=shop)
    return payload


def webhook_receive_tiktok(*, raw_body: bytes | None, authorization: str) -> tuple[WebhookEvent, bool]:
    """Body {type, tts_notification_id, shop_id, timestamp, data}; header Authorization =
    hex HMAC-SHA256(app_secret, app_key + raw body). Returns (event, created). `raw_body` None
    means the body was too large to read."""
    platform = Platform.TIKTOK_SHOP
    payload = _payload(platform, raw_body)
    if not payload.get("shop_id") or not payload.get("tts_notification_id"):
        raise _reject(platform, 400, gettext_noop("the body lacks shop_id or tts_notification_id"))
    shop_id = str(payload["shop_id"])
    account = _account(platform, shop_id)
    if account is None:
        raise _reject(platform, 404, gettext_noop("no connected TikTok shop with id %(shop)s"), shop=shop_id)
    expected = tiktok_webhook_signature(app_key=account.app_key, app_secret=account.app_secret, raw_body=raw_body)
    # compare_digest refuses non-ASCII text: a garbled header is simply a signature that does not match.
    given = authorization.strip().lower().encode("utf-8", "surrogateescape")
    if not authorization or not hmac.compare_digest(expected.encode(), given):
        raise _reject(platform, 401, gettext_noop("the Authorization signature does not match the body"), shop=shop_id)
    event_id, topic = str(payload["tts_notification_id"]), str(payload.get("type", ""))
    if len(event_id) > EVENT_ID_MAX:
        raise _reject(platform, 400, gettext_noop("tts_notification_id is longer than 200 characters"), shop=shop_id)
    if len(topic) > TOPIC_MAX:
        raise _reject(platform, 400, gettext_noop("type is longer than 100 characters"), shop=shop_id)
    if payload.get("data") is not None and not isinstance(payload["data"], dict):
        raise _reject(platform, 400, gettext_noop("data is not a JSON object"), shop=shop_id)
    occurred = payload.get("timestamp")
    occurred_at = None
    if isinstance(occurred, int) and not isinstance(occurred, bool):
        try:
            occurred_at = datetime.fromtimestamp(occurred, tz=dt_timezone.utc)
        except (OverflowError, OSError, ValueError):
            raise _reject(platform, 400, gettext_noop("timestamp is not a Unix time in seconds"), shop=shop_id) from None
    return _store(account=account, event_id=event_id, topic=topic, payload=payload, raw_body=raw_body, occurred_at=occurred_at)


def webhook_receive_shopify(*, raw_body: bytes | None, headers) -> tuple[WebhookEvent, bool]:
    """Headers X-Shopify-Hmac-Sha256 (base64 HMAC-SHA256 of the raw body with the app secret),
    X-Shopify-Shop-Domain, X-Shopify-Topic and X-Shopify-Event-Id (the dedupe key). `raw_body`
    None means the body was too large to read."""
    platform = Platform.SHOPIFY
    domain = headers.get("X-Shopify-Shop-Domain", "").strip().lower()
    account = _account(platform, domain) if domain and not _unstorable(domain) else None
    if account is None:
        raise _reject(platform, 404, gettext_noop("no connected Shopify shop %(shop)s") if domain else gettext_noop("no X-Shopify-Shop-Domain header"),
                      shop=domain.replace("\x00", ""))
    if raw_body is None:
        raise _reject(platform, 413, gettext_noop("the body is larger than Fanout accepts (2.5 MB)"), shop=domain)
    secret = account.webhook_secret or account.app_secret
    expected = shopify_webhook_signature(secret=secret, raw_body=raw_body)
    given = headers.get("X-Shopify-Hmac-Sha256", "").strip().encode("utf-8", "surrogateescape")
    if not hmac.compare_digest(expected.encode(), given):
        raise _reject(platform, 401, gettext_noop("X-Shopify-Hmac-Sha256 does not match the body"), shop=domain)
    event_id = headers.get("X-Shopify-Event-Id") or headers.get("X-Shopify-Webhook-Id")
    if not event_id:
        raise _reject(platform, 400, gettext_noop("no X-Shopify-Event-Id header"), shop=domain)
    topic = headers.get("X-Shopify-Topic", "")
    if len(event_id) > EVENT_ID_MAX or _unstorable(event_id):
        raise _reject(platform, 400, gettext_noop("X-Shopify-Event-Id is longer than 200 characters or not text"), shop=domain)
    if len(topic) > TOPIC_MAX or _unstorable(topic):
        raise _reject(platform, 400, gettext_noop("X-Shopify-Topic is longer than 100 characters or not text"), shop=domain)
    payload = _payload(platform, raw_body, shop=domain)
    return _store(account=account, event_id=event_id, topic=topic, payload=payload, raw_body=raw_body)


# ---------------------------------------------------------------------------- processing
HANDLERS: dict[tuple[str, str], object] = {}
# Handlers that take a list of events at once: (platform, topic) -> (function, the topics it batches with, batch size).
BATCH_HANDLERS: dict[tuple[str, str], tuple[object, tuple[str, ...], int]] = {}


def webhook_handler(platform: str, *topics: str):
    """Register the function that acts on events of these topics. Other apps (orders) add theirs."""
    def register(func):
        for topic in topics:
            HANDLERS[(platform, topic)] = func
        return func
    return register


def webhook_batch_handler(platform: str, *topics: str, size: int = 50):
    """Register a function taking a list of events (of any of these topics, one account) and
    returning {event pk: the exception it met} for those that failed. During a burst, the task of
    one event takes up to `size` pending events of the same shop with it: one platform call for
    all of them instead of one each."""
    def register(func):
        for topic in topics:
            BATCH_HANDLERS[(platform, topic)] = (func, tuple(topics), size)
        return func
    return register


# (platform, topic) -> function(event, exception) told when an event of the topic failed (orders records
# the order that did not arrive where Operations look). Called in a savepoint; its own failure is logged.
FAILURE_LISTENERS: dict[tuple[str, str], object] = {}


def webhook_failure_listener(platform: str, *topics: str):
    def register(func):
        for topic in topics:
            FAILURE_LISTENERS[(platform, topic)] = func
        return func
    return register


def _event_failed(event: WebhookEvent, exc: BaseException) -> None:
    """Mark the event failed with its error, and tell the topic's listener."""
    WebhookEvent.objects.filter(pk=event.pk).update(status=InboxStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:500])
    listener = FAILURE_LISTENERS.get((event.platform, event.topic))
    if listener is None:
        return
    try:
        with transaction.atomic():
            listener(event, exc)
    except Exception:  # the event stays failed in the inbox either way
        log.exception("the failure of inbox event %s could not be recorded by its listener", event.pk)


def webhook_process(*, event_id: int) -> str:
    """Run the handler for one inbox event. Safe to run twice: a processed event is skipped.
    A handler's exception marks the event failed (with the error) and propagates, so Celery
    retries transient failures; the status page offers a manual retry for the rest."""
    claimed = WebhookEvent.objects.filter(pk=event_id, status__in=[InboxStatus.PENDING, InboxStatus.FAILED]).update(
        attempts=F("attempts") + 1
    )
    if not claimed:
        return "skipped"
    event = WebhookEvent.objects.select_related("account").get(pk=event_id)
    batch = BATCH_HANDLERS.get((event.platform, event.topic))
    if batch is not None:
        return _process_batch(event, *batch)
    handler = HANDLERS.get((event.platform, event.topic))
    if handler is None:
        WebhookEvent.objects.filter(pk=event_id).update(status=InboxStatus.IGNORED, processed_at=timezone.now(), error="")
        return InboxStatus.IGNORED
    try:
        with transaction.atomic():
            handler(event)
            WebhookEvent.objects.filter(pk=event_id).update(status=InboxStatus.PROCESSED, processed_at=timezone.now(), error="")
    except Exception as exc:
        _event_failed(event, exc)
        raise
    return InboxStatus.PROCESSED


def _process_batch(event: WebhookEvent, handler, topics: tuple[str, ...], size: int) -> str:
    """This event and up to size-1 other pending ones of its shop, in one transaction. Rows
    another worker is processing are skipped (SKIP LOCKED), so two workers never wait on each
    other; an event whose row is held by another worker's batch is that worker's to finish."""
    from connectors import tasks

    siblings: list[int] = []
    try:
        with transaction.atomic():
            own = WebhookEvent.objects.select_for_update(skip_locked=True).filter(pk=event.pk, status__in=[InboxStatus.PENDING, InboxStatus.FAILED])
            if not own.exists():
                return "skipped"
            siblings = list(WebhookEvent.objects.select_for_update(skip_locked=True)
                            .filter(account_id=event.account_id, platform=event.platform, topic__in=topics, status=InboxStatus.PENDING)
                            .exclude(pk=event.pk).order_by("pk").values_list("pk", flat=True)[: size - 1])
            events = [event] + list(WebhookEvent.objects.filter(pk__in=siblings).select_related("account").order_by("pk"))
            failed = handler(events)
            now = timezone.now()
            done = [e.pk for e in events if e.pk not in failed]
            WebhookEvent.objects.filter(pk__in=done).update(status=InboxStatus.PROCESSED, processed_at=now, error="")
            if siblings:
                WebhookEvent.objects.filter(pk__in=siblings).update(attempts=F("attempts") + 1)
            by_pk = {e.pk: e for e in events}
            for pk, exc in failed.items():
                _event_failed(by_pk[pk], exc)
    except Exception as exc:
        # Nothing of the batch stayed: this event is retried by Celery; the others get their own turn again.
        _event_failed(event, exc)
        for pk in siblings:
            transaction.on_commit(partial(tasks.webhook_process.apply_async, (pk,), countdown=2))
        raise
    if event.pk in failed:
        raise failed[event.pk]
    return InboxStatus.PROCESSED


def webhooks_resume(*, now=None, limit: int = 1000) -> int:
    """Queue again the inbox events still pending after FANOUT_RESUME_AFTER_S: their task was lost
    with a killed worker (Redis gives it back only after an hour) or never sent (Redis away when
    the webhook was stored). Processing is safe to run twice. Beat runs this every two minutes."""
    from django.conf import settings

    from connectors import tasks
    from erp.celery import resume_due

    before = (now or timezone.now()) - timedelta(seconds=settings.FANOUT_RESUME_AFTER_S)
    pending = list(WebhookEvent.objects.filter(status=InboxStatus.PENDING, received_at__lt=before)
                   .order_by("pk").values_list("pk", flat=True)[:limit])
    pending = resume_due("webhook", pending)
    for pk in pending:
        tasks.webhook_process.delay(pk)
    return len(pending)


def webhook_retry(*, event_id: int) -> None:
    from connectors import tasks

    WebhookEvent.objects.filter(pk=event_id, status=InboxStatus.FAILED).update(status=InboxStatus.PENDING)
    transaction.on_commit(partial(tasks.webhook_process.delay, event_id))


# Built-in handlers: authorisation and platform-side stock changes.
@webhook_handler(Platform.TIKTOK_SHOP, "6")
def _tiktok_deauthorized(event: WebhookEvent) -> None:
    from connectors.services.accounts import account_mark_needs_reauth

    account_mark_needs_reauth(account_id=event.account_id, reason="TikTok Shop: the seller deauthorised Fanout (SELLER_DEAUTHORIZATION)")


@webhook_handler(Platform.TIKTOK_SHOP, "7")
def _tiktok_expiring(event: WebhookEvent) -> None:
    from connectors.services.accounts import account_mark_needs_reauth

    expires = (event.payload.get("data") or {}).get("expire_time")
    account_mark_needs_reauth(account_id=event.account_id, reason=f"TikTok Shop: the authorisation expires soon (expire_time {expires}); re-authorise the shop")


@webhook_handler(Platform.SHOPIFY, "app/uninstalled")
def _shopify_uninstalled(event: WebhookEvent) -> None:
    from connectors.services.accounts import account_mark_needs_reauth

    account_mark_needs_reauth(account_id=event.account_id, reason="Shopify: the app was uninstalled from the shop")


@webhook_handler(Platform.TIKTOK_SHOP, "68")
@webhook_handler(Platform.SHOPIFY, "inventory_levels/update")
def _platform_stock_changed(event: WebhookEvent) -> None:
    """Someone changed stock on the platform itself: check the shop against our pool and push our
    number back where they differ (the pool is the one source of truth)."""
    from connectors.services.stock_sync import stock_reconcile_later

    data = event.payload.get("data") or {} if event.platform == Platform.TIKTOK_SHOP else event.payload
    item = str(data.get("sku_id") or data.get("inventory_item_id") or "")
    if event.platform == Platform.SHOPIFY and item and not item.startswith("gid://"):
        item = f"gid://shopify/InventoryItem/{item}"
    stock_reconcile_later(account_id=event.account_id, external_sku_ids=[item] if item else None)
