"""Orders a channel announced that did not become orders in Fanout (orders.IntakeFailure).

Every notification or poll result that fails to become an order — whatever the error — is recorded here
with the platform's order id and the reason in words, shown to Operations with the exceptions and
counted on the home page, until the order arrives (any later intake of the same order resolves it: see
`intake_failures_resolve`, called by order_upsert), a retry brings it in, or a person dismisses it."""
from __future__ import annotations

import logging
from decimal import InvalidOperation

from django.db import DataError, IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from orders.exceptions import ChannelOrderMissing, IntakeRejected, OrderError
from orders.models import Channel, IntakeFailure, IntakeFailureReason

log = logging.getLogger("fanout.orders.intake")
DETAIL_MAX = IntakeFailure._meta.get_field("detail").max_length


def failure_reason_of(exc: BaseException) -> tuple[str, str]:
    """(reason code, detail in words) for what stopped an order's intake."""
    from connectors.clients import ChannelAuthError, ChannelTransientError

    text = str(exc).strip()
    if isinstance(exc, ChannelOrderMissing):
        return IntakeFailureReason.NOT_FOUND, text
    if isinstance(exc, IntakeRejected):
        return IntakeFailureReason.UNREADABLE, text
    if isinstance(exc, ChannelAuthError):
        return IntakeFailureReason.CHANNEL_AUTH, _("%(error)s — reconnect the shop under Channels, then retry.") % {"error": text}
    if isinstance(exc, ChannelTransientError):
        return IntakeFailureReason.CHANNEL_DOWN, _("%(error)s — Fanout retries on its own.") % {"error": text}
    if isinstance(exc, DataError):
        first = text.splitlines()[0] if text else type(exc).__name__
        return IntakeFailureReason.UNREADABLE, _("A value in the order does not fit: %(error)s") % {"error": first}
    if isinstance(exc, KeyError):
        return IntakeFailureReason.UNREADABLE, _("The order lacks the field %(field)s.") % {"field": text}
    if isinstance(exc, (ValueError, TypeError, InvalidOperation)):
        return IntakeFailureReason.UNREADABLE, f"{type(exc).__name__}: {text}"
    return IntakeFailureReason.ERROR, f"{type(exc).__name__}: {text}"


def intake_failure_record(*, channel: str, external_id: str, source: str, exc: BaseException, account_id: int | None = None,
                          event_id: int | None = None, payload: dict | None = None) -> IntakeFailure:
    """Record (or count once more) that this channel order failed to arrive. One open record per order
    (per inbox event when the notification named no order)."""
    reason, detail = failure_reason_of(exc)
    if not external_id and reason != IntakeFailureReason.NOT_FOUND and event_id is None:
        raise ValueError("an intake failure needs the order id or the inbox event")
    now = timezone.now()
    external_id = str(external_id or "")[:64]
    key = ({"channel": channel, "external_id": external_id} if external_id else {"event_id": event_id, "external_id": ""})
    changes = {"reason": reason, "detail": detail[:DETAIL_MAX], "last_failed_at": now, "source": source}
    changes.update({k: v for k, v in {"account_id": account_id, "event_id": event_id, "payload": payload}.items() if v is not None})
    for _attempt in range(2):
        if IntakeFailure.objects.filter(resolved_at__isnull=True, **key).update(attempts=F("attempts") + 1, **changes):
            return IntakeFailure.objects.get(resolved_at__isnull=True, **key)
        try:
            with transaction.atomic():
                return IntakeFailure.objects.create(channel=channel, external_id=external_id, first_failed_at=now, **changes)
        except IntegrityError:  # recorded at the same moment by another worker: count ours on it
            continue
    raise RuntimeError("intake failure not recorded")


def intake_failures_resolve(*, channel: str, external_ids: list[str], resolution: str = "arrived") -> int:
    """The orders arrived after all: their open failures are resolved."""
    ids = [str(i)[:64] for i in external_ids if i]
    if not ids:
        return 0
    return IntakeFailure.objects.filter(channel=channel, external_id__in=ids, resolved_at__isnull=True).update(
        resolved_at=timezone.now(), resolution=resolution)


def intake_failure_retry(*, failure_id: int, actor=None) -> str:
    """Try again: an announced order is fetched from the channel again (its inbox event is processed again,
    in the background); a polled one is read again from what the channel gave. Raises OrderError when it is
    already resolved or cannot be retried."""
    failure = IntakeFailure.objects.select_related("account").filter(pk=failure_id).first()
    if failure is None or failure.resolved_at:
        raise OrderError(_("This order is no longer missing."))
    if failure.event_id:
        from connectors.services import webhook_retry

        with transaction.atomic():
            webhook_retry(event_id=failure.event_id)
            IntakeFailure.objects.filter(pk=failure.pk).update(detail=(_("Retried by %(who)s; fetching the order again.") % {
                "who": actor or _("Fanout")})[:DETAIL_MAX])
        return "queued"
    if failure.payload is not None and failure.channel == Channel.AMAZON and failure.account is not None:
        from orders.services.intake import intake_from_amazon, order_upsert

        try:
            with transaction.atomic():
                order_upsert(intake_from_amazon(failure.payload, account=failure.account), actor=actor)
        except Exception as exc:  # noqa: BLE001 — recorded and shown, as on the first attempt
            intake_failure_record(channel=failure.channel, external_id=failure.external_id, source=failure.source, exc=exc,
                                  account_id=failure.account_id, payload=failure.payload)
            raise OrderError(_("Still failing: %(reason)s") % {"reason": failure_reason_of(exc)[1]}) from exc
        return "arrived"
    raise OrderError(_("This one cannot be retried from here; dismiss it once the order is handled on the channel."))


def intake_failure_dismiss(*, failure_id: int, actor, reason: str) -> IntakeFailure:
    """A person says the order needs nothing more from Fanout (a test order, another business's, handled by hand)."""
    from accounts.services import audit_record

    reason = (reason or "").strip()
    if not reason:
        raise OrderError(_("Say why this order can be left out."))
    with transaction.atomic():
        failure = IntakeFailure.objects.select_for_update().filter(pk=failure_id, resolved_at__isnull=True).first()
        if failure is None:
            raise OrderError(_("This order is no longer missing."))
        failure.resolved_at, failure.resolved_by, failure.resolution = timezone.now(), actor, reason[:200]
        failure.save(update_fields=["resolved_at", "resolved_by", "resolution"])
        audit_record(actor=actor, verb="intake_failure.dismissed", target=failure,
                     data={"channel": failure.channel, "order": failure.external_id, "reason": failure.resolution})
    return failure
