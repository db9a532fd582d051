"""Webhook intake: verify the signature on the raw body before anything reads it, then parse it
(depth-limited), check it is fresh, store the event once in the inbox (unique platform event id),
answer fast, and process it later in Celery.

Refused deliveries store nothing in the inbox (webhook_guard keeps their reasons and counts them)."""
import hmac
import logging
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_noop

from connectors.clients.shopify import shopify_webhook_signature
from connectors.clients.tiktok import tiktok_webhook_signature
from connectors.exceptions import WebhookNotConfirmed
from connectors.models import AccountStatus, ChannelAccount, InboxStatus, Platform, WebhookEvent
from connectors.services import webhook_guard as guard
from connectors.services.webhook_guard import Refusal

log = logging.getLogger("fanout.connectors.webhooks")

TOO_LARGE = gettext_noop("the body is larger than Fanout accepts (2.5 MB)")


def _accounts(platform: str):
    return ChannelAccount.objects.filter(platform=platform).exclude(status=AccountStatus.DISCONNECTED)


def _store(*, account: ChannelAccount, event_id: str, topic: str, payload: dict, raw_body: bytes, occurred_at=None) -> tuple[WebhookEvent, bool]:
    """One statement: insert the event unless (platform, event id) is already there. A burst of
    deliveries is answered without a transaction, savepoint or second look-up per delivery."""
    from connectors import tasks

    guard.webhook_shop_admit(account=account)
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


def _parsed(raw_body: bytes, *, shop: str = "") -> dict:
    try:
        return guard.webhook_body_parse(raw_body)
    except guard.BodyRefused as exc:
        raise Refusal(400, exc.template, shop=shop) from None


def webhook_receive_tiktok(*, raw_body: bytes | None, authorization: str, client_ip: str = "") -> tuple[WebhookEvent, bool]:
    """Body {type, tts_notification_id, shop_id, timestamp, data}; header Authorization =
    hex HMAC-SHA256(app_secret, app_key + raw body). Returns (event, created). `raw_body` None
    means the body was too large to read. Raises WebhookRejected."""
    return guard.refusal_guarded(Platform.TIKTOK_SHOP, client_ip, partial(_receive_tiktok, raw_body, authorization))


def _receive_tiktok(raw_body: bytes | None, authorization: str) -> tuple[WebhookEvent, bool]:
    platform = Platform.TIKTOK_SHOP
    if raw_body is None:
        raise Refusal(413, TOO_LARGE)
    # The shop is named inside the body, which nobody may read before it is verified: try the
    # secrets of this seller's TikTok shops (a few; shops of one app share one) on the raw bytes.
    accounts = list(_accounts(platform).only("platform", "shop_id", "app_key", "app_secret", "status").order_by("-pk"))
    if not accounts:
        raise Refusal(404, gettext_noop("no TikTok shop is connected"))
    # compare_digest refuses non-ASCII text: a garbled header is simply a signature that does not match.
    given = authorization.strip().lower().encode("utf-8", "surrogateescape")
    verdicts: dict[tuple[str, str], bool] = {}
    signers = []
    for account in accounts:
        pair = (account.app_key, account.app_secret)
        if pair not in verdicts:
            expected = tiktok_webhook_signature(app_key=account.app_key, app_secret=account.app_secret, raw_body=raw_body)
            verdicts[pair] = bool(authorization) and hmac.compare_digest(expected.encode(), given)
        if verdicts[pair]:
            signers.append(account)
    if not signers:
        raise Refusal(401, gettext_noop("the Authorization signature does not match the body"))
    payload = _parsed(raw_body)
    shop_id = str(payload.get("shop_id") or "")[:120]
    if not shop_id or not payload.get("tts_notification_id"):
        raise Refusal(400, gettext_noop("the body lacks shop_id or tts_notification_id"))
    account = next((a for a in signers if a.shop_id == shop_id), None)
    if account is None:  # signed with the key of one of our shops, naming another shop
        raise Refusal(404, gettext_noop("no connected TikTok shop with id %(shop)s"), shop=shop_id)
    event_id, topic = str(payload["tts_notification_id"]), str(payload.get("type", ""))
    if len(event_id) > EVENT_ID_MAX:
        raise Refusal(400, gettext_noop("tts_notification_id is longer than 200 characters"), shop=shop_id)
    if len(topic) > TOPIC_MAX:
        raise Refusal(400, gettext_noop("type is longer than 100 characters"), shop=shop_id)
    if payload.get("data") is not None and not isinstance(payload["data"], dict):
        raise Refusal(400, gettext_noop("data is not a JSON object"), shop=shop_id)
    stamp = payload.get("timestamp")
    occurred_at = guard.webhook_instant(stamp) if isinstance(stamp, int) else None
    if occurred_at is None:
        raise Refusal(400, gettext_noop("timestamp is missing or not a Unix time in seconds"), shop=shop_id)
    max_age = settings.FANOUT_WEBHOOK_TIKTOK_MAX_AGE_S
    if guard.webhook_too_old(occurred_at, max_age_s=max_age):
        raise Refusal(400, gettext_noop("the signed timestamp is more than %(hours)s hours from now: a replayed or stale delivery"),
                       shop=shop_id, hours=max_age // 3600)
    return _store(account=account, event_id=event_id, topic=topic, payload=payload, raw_body=raw_body, occurred_at=occurred_at)


def webhook_receive_shopify(*, raw_body: bytes | None, headers, client_ip: str = "") -> tuple[WebhookEvent, bool]:
    """Headers X-Shopify-Hmac-Sha256 (base64 HMAC-SHA256 of the raw body with the app secret),
    X-Shopify-Shop-Domain, X-Shopify-Topic, X-Shopify-Event-Id (the dedupe key) and
    X-Shopify-Triggered-At. `raw_body` None means the body was too large to read. Raises WebhookRejected."""
    return guard.refusal_guarded(Platform.SHOPIFY, client_ip, partial(_receive_shopify, raw_body, headers))


# The app/uninstalled body is the shop, whose updated_at is when its settings last changed, not
# when the app was removed: that topic is confirmed with Shopify before it acts (processing).
SHOPIFY_BODY_TIME_NOT_THE_EVENT = {"app/uninstalled"}


def _receive_shopify(raw_body: bytes | None, headers) -> tuple[WebhookEvent, bool]:
    platform = Platform.SHOPIFY
    domain = headers.get("X-Shopify-Shop-Domain", "").strip().lower()
    account = (_accounts(platform).filter(shop_id=domain).only("platform", "shop_id", "app_secret", "webhook_secret", "status")
               .order_by("-pk").first() if domain and not guard.text_unstorable(domain) else None)
    if account is None:
        raise Refusal(404, gettext_noop("no connected Shopify shop %(shop)s") if domain else gettext_noop("no X-Shopify-Shop-Domain header"),
                       shop=domain)
    if raw_body is None:
        raise Refusal(413, TOO_LARGE, shop=domain)
    secret = account.webhook_secret or account.app_secret
    expected = shopify_webhook_signature(secret=secret, raw_body=raw_body)
    given = headers.get("X-Shopify-Hmac-Sha256", "").strip().encode("utf-8", "surrogateescape")
    if not hmac.compare_digest(expected.encode(), given):
        raise Refusal(401, gettext_noop("X-Shopify-Hmac-Sha256 does not match the body"), shop=domain)
    event_id = headers.get("X-Shopify-Event-Id") or headers.get("X-Shopify-Webhook-Id")
    if not event_id:
        raise Refusal(400, gettext_noop("no X-Shopify-Event-Id header"), shop=domain)
    topic = headers.get("X-Shopify-Topic", "")
    if len(event_id) > EVENT_ID_MAX or guard.text_unstorable(event_id):
        raise Refusal(400, gettext_noop("X-Shopify-Event-Id is longer than 200 characters or not text"), shop=domain)
    if len(topic) > TOPIC_MAX or guard.text_unstorable(topic):
        raise Refusal(400, gettext_noop("X-Shopify-Topic is longer than 100 characters or not text"), shop=domain)
    payload = _parsed(raw_body, shop=domain)
    # Freshness: the resource's updated_at is signed with the body; X-Shopify-Triggered-At is not,
    # but a retry keeps the original one, so an honest delivery past the window is caught by it.
    max_age = settings.FANOUT_WEBHOOK_SHOPIFY_MAX_AGE_S
    triggered_at = guard.webhook_instant(headers.get("X-Shopify-Triggered-At", ""))
    signed_at = None if topic in SHOPIFY_BODY_TIME_NOT_THE_EVENT else guard.webhook_instant(payload.get("updated_at"))
    for instant, template in ((triggered_at, gettext_noop("X-Shopify-Triggered-At is more than %(hours)s hours from now: a replayed or stale delivery")),
                              (signed_at, gettext_noop("the body's updated_at is more than %(hours)s hours from now: a replayed or stale delivery"))):
        if instant is not None and guard.webhook_too_old(instant, max_age_s=max_age):
            raise Refusal(400, template, shop=domain, hours=max_age // 3600)
    return _store(account=account, event_id=event_id, topic=topic, payload=payload, raw_body=raw_body, occurred_at=triggered_at or signed_at)


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
    except WebhookNotConfirmed as exc:
        log.warning("webhook %s (%s %s) not acted on: %s", event.event_id[:200], event.platform, event.topic[:100], exc)
        WebhookEvent.objects.filter(pk=event_id).update(status=InboxStatus.IGNORED, processed_at=timezone.now(), error=str(exc)[:500])
        return InboxStatus.IGNORED
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
    """The topic is an unsigned header: anyone holding one signed body of the shop can send it
    with this topic. So ask Shopify: only a refused token confirms the app is gone. A shop that
    still answers keeps its connection and the event is ignored, saying why; a timeout or 5xx
    fails the event for Celery to retry."""
    from connectors.clients import ChannelAuthError
    from connectors.services.accounts import account_mark_needs_reauth, client_for

    try:
        with client_for(event.account) as client:
            shop_name = client.ping()
    except ChannelAuthError as exc:
        account_mark_needs_reauth(account_id=event.account_id, reason=f"Shopify: the app was uninstalled from the shop (confirmed: {exc})")
        return
    raise WebhookNotConfirmed(f"Not acted on: {shop_name} still answers Fanout's access token, so the app is installed "
                              "(the topic header is not signed: a replayed or altered delivery?)")


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
