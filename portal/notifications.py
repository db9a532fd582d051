"""Portal notifications: statement issued, payment sent, order shipped.

Each is written by a receiver of the commissions/orders signals in the same transaction as the
event (in a savepoint: a failure is logged and never undoes the shipment or statement), once per
account and event (unique key), for creators with an open portal account. After commit, tasks of
25 email the new ones to creators who keep email notifications on; `emailed_at` makes each go out
once even when a task runs twice, and a beat task every 10 minutes queues any still unsent."""
import logging
from datetime import timedelta
from functools import partial, wraps

from django.db import transaction
from django.dispatch import receiver
from django.urls import reverse
from django.utils.translation import gettext as _

from commissions.events import statement_paid, statements_issued
from orders.events import shipment_shipped
from portal.models import CreatorAccount, Notification, NotificationKind


def _open_accounts(creator_ids) -> dict[int, int]:
    """{creator id: account id} of the creators among `creator_ids` who use the portal."""
    return dict(CreatorAccount.objects.filter(creator_id__in=list(creator_ids), is_active=True, accepted_at__isnull=False)
                .values_list("creator_id", "pk"))


log = logging.getLogger("fanout.portal")
EMAIL_BATCH = 25


def _never_fails(receiver):
    """A notification must not break the event it tells of: its writes go in a savepoint, and
    an error is logged instead of raised."""

    @wraps(receiver)
    def wrapped(*args, **kwargs):
        try:
            with transaction.atomic():
                receiver(*args, **kwargs)
        except Exception:
            log.exception("portal notification %s failed", receiver.__name__)

    return wrapped


def _write(rows: list[Notification]) -> None:
    if not rows:
        return
    Notification.objects.bulk_create(rows, ignore_conflicts=True)  # an event notifies once
    keys = [(r.account_id, r.key) for r in rows]
    transaction.on_commit(partial(_email_later, keys), robust=True)  # a broker error must not fail the request


def _email_later(keys) -> None:
    ids = list(Notification.objects.filter(account_id__in={a for a, _k in keys}, key__in={k for _a, k in keys}, emailed_at__isnull=True)
               .values_list("pk", flat=True))
    notifications_email_queue(ids)


def notifications_email_queue(ids) -> int:
    from portal.tasks import notifications_email

    ids = list(ids)
    for i in range(0, len(ids), EMAIL_BATCH):
        notifications_email.delay(ids[i:i + EMAIL_BATCH])
    return len(ids)


def notifications_pending(*, older_than=timedelta(minutes=10)) -> list[int]:
    from django.utils import timezone

    return list(Notification.objects.filter(emailed_at__isnull=True, created_at__lt=timezone.now() - older_than)
                .order_by("pk").values_list("pk", flat=True)[:5000])


def statements_issued_notify(*, statement_ids) -> None:
    from commissions.models import Statement

    statements = list(Statement.objects.filter(pk__in=list(statement_ids)).only("pk", "creator_id", "number", "revision", "closing",
                                                                                    "payout_due", "currency"))
    accounts = _open_accounts({s.creator_id for s in statements})
    _write([Notification(account_id=accounts[s.creator_id], kind=NotificationKind.STATEMENT_ISSUED, key=f"statement:{s.pk}:r{s.revision}",
                         object_id=s.pk, data={"number": s.number, "closing": f"{s.closing:.2f}", "payout_due": f"{s.payout_due:.2f}",
                                               "currency": s.currency, "revision": s.revision})
            for s in statements if s.creator_id in accounts])


def statement_paid_notify(*, statement_id) -> None:
    from commissions.models import Statement

    s = Statement.objects.get(pk=statement_id)
    accounts = _open_accounts([s.creator_id])
    if s.creator_id in accounts:
        _write([Notification(account_id=accounts[s.creator_id], kind=NotificationKind.PAYMENT_SENT, key=f"payout:{s.pk}", object_id=s.pk,
                             data={"number": s.number, "amount": f"{s.payout_due:.2f}", "currency": s.currency, "reference": s.payout_reference})])


def shipment_shipped_notify(*, shipment) -> None:
    """Only the orders a creator placed themselves (portal and wholesale): not every sale they made."""
    from orders.models import Channel

    order = shipment.order
    if not order.creator_id or order.channel not in (Channel.PORTAL, Channel.WHOLESALE):
        return
    accounts = _open_accounts([order.creator_id])
    if order.creator_id in accounts:
        _write([Notification(account_id=accounts[order.creator_id], kind=NotificationKind.ORDER_SHIPPED, key=f"shipment:{shipment.pk}",
                             object_id=order.pk, data={"order": order.external_id, "carrier": shipment.carrier, "tracking": shipment.tracking_number})])


@receiver(statements_issued, dispatch_uid="portal.statements_issued")
@_never_fails
def _on_statements_issued(sender, statement_ids, **kwargs):
    statements_issued_notify(statement_ids=statement_ids)


@receiver(statement_paid, dispatch_uid="portal.statement_paid")
@_never_fails
def _on_statement_paid(sender, statement_id, **kwargs):
    statement_paid_notify(statement_id=statement_id)


@receiver(shipment_shipped, dispatch_uid="portal.shipment_shipped")
@_never_fails
def _on_shipment_shipped(sender, shipment, **kwargs):
    shipment_shipped_notify(shipment=shipment)


# ---------------------------------------------------------------------------- reading them
def notification_text(n: Notification) -> str:
    d = n.data
    if n.kind == NotificationKind.STATEMENT_ISSUED:
        if d.get("revision", 1) > 1:
            return _("Statement %(number)s was issued again after your dispute: %(amount)s %(currency)s. Please check it.") % {
                "number": d["number"], "amount": d["closing"], "currency": d["currency"]}
        return _("Statement %(number)s is ready: %(amount)s %(currency)s. Please check and confirm it.") % {
            "number": d["number"], "amount": d["closing"], "currency": d["currency"]}
    if n.kind == NotificationKind.PAYMENT_SENT:
        return _("We sent you %(amount)s %(currency)s for statement %(number)s (reference %(reference)s).") % {
            "amount": d["amount"], "currency": d["currency"], "number": d["number"], "reference": d["reference"]}
    return _("Your order %(order)s shipped: %(carrier)s %(tracking)s.") % {"order": d["order"], "carrier": d["carrier"], "tracking": d["tracking"]}


def notification_path(n: Notification) -> str:
    if n.kind == NotificationKind.ORDER_SHIPPED:
        return reverse("portal:order", args=[n.object_id])
    return reverse("portal:statement", args=[n.object_id])


def notifications_email_send(*, notification_ids, site_url: str) -> int:
    """Email each notification once (skipping accounts that turned email off). Returns how many went."""
    from django.core.mail import send_mail
    from django.template.loader import render_to_string
    from django.utils import timezone, translation

    sent = 0
    with translation.override("en"):
        for n_id in notification_ids:
            with transaction.atomic():
                n = (Notification.objects.select_for_update(of=("self",)).select_related("account__creator")
                     .filter(pk=n_id, emailed_at__isnull=True).first())
                if n is None:  # sent already (by this task's earlier try or the pending sweep)
                    continue
                if n.account.email_notifications and n.account.can_sign_in:
                    text = notification_text(n)
                    send_mail(subject=f"{NotificationKind(n.kind).label}: {text[:80]}",
                              message=render_to_string("portal/email/notification.txt", {"text": text, "link": site_url + notification_path(n),
                                                                                           "account": n.account, "site_url": site_url}),
                              from_email=None, recipient_list=[n.account.email])
                    sent += 1
                # Marked after sending, in the same transaction: a failed send raises, the task
                # retries it later and the beat sweep catches what the retries do not.
                n.emailed_at = timezone.now()
                n.save(update_fields=["emailed_at"])
    return sent

