"""A statement's life: draft → issued → confirmed or disputed (with the creator's comment) →
approved → paid (with the payout reference). A dispute is resolved with an adjustment (which may
be zero) and the statement is issued again as a new revision. Payouts go out in batches; paying
is posted to the ledger once per statement (idempotency key payout:<statement>)."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from commissions.events import statement_paid, statements_issued
from commissions.exceptions import SettlementError
from commissions.models import (
    Adjustment,
    EntryKind,
    PayoutBatch,
    SettlementPeriod,
    Statement,
    StatementEvent,
    StatementStatus,
)
from commissions.services.ledger import post


def _user(user):
    return user if getattr(user, "is_authenticated", False) else None


def _locked(statement_id: int) -> Statement:
    statement = Statement.objects.select_for_update().select_related("creator", "period").filter(pk=statement_id).first()
    if statement is None:
        raise SettlementError(_("No such statement."))
    return statement


def _event(statement: Statement, status: str, note: str = "", user=None) -> None:
    StatementEvent.objects.create(statement=statement, status=status, note=note, actor=_user(user))


def issue_drafts(*, period: SettlementPeriod, user=None) -> int:
    """Issue every draft statement of `period` (one UPDATE, one INSERT of history rows)."""
    with connection.cursor() as cursor:
        cursor.execute("""
            WITH issued AS (
                UPDATE commissions_statement SET status = 'issued', issued_at = now()
                WHERE period_id = %s AND status = 'draft' RETURNING id
            )
            INSERT INTO commissions_statementevent (statement_id, status, note, at, actor_id)
            SELECT id, 'issued', '', now(), %s FROM issued RETURNING statement_id""", [period.pk, getattr(_user(user), "pk", None)])
        issued = [row[0] for row in cursor.fetchall()]
    if issued:
        statements_issued.send(sender="commissions", statement_ids=issued)
    return len(issued)


def _recompute(statement: Statement) -> None:
    minimum = statement.minimum_payout
    statement.closing = statement.opening + statement.lines_total + statement.adjustments_total
    statement.payout_due = statement.closing if statement.closing >= minimum and statement.closing > 0 else Decimal(0)
    statement.carried_forward = statement.closing - statement.payout_due


@transaction.atomic
def statement_confirm(*, statement_id: int, user=None, note: str = "") -> Statement:
    statement = _locked(statement_id)
    if statement.status != StatementStatus.ISSUED:
        raise SettlementError(_("Statement %(number)s is %(status)s; only an issued statement can be confirmed.")
                              % {"number": statement.number, "status": statement.get_status_display().lower()})
    statement.status, statement.confirmed_at = StatementStatus.CONFIRMED, timezone.now()
    statement.save(update_fields=["status", "confirmed_at"])
    _event(statement, StatementStatus.CONFIRMED, note, user)
    return statement


@transaction.atomic
def statement_dispute(*, statement_id: int, comment: str, user=None) -> Statement:
    statement = _locked(statement_id)
    comment = (comment or "").strip()
    if statement.status not in (StatementStatus.ISSUED, StatementStatus.CONFIRMED):
        raise SettlementError(_("Statement %(number)s is %(status)s and can no longer be disputed.")
                              % {"number": statement.number, "status": statement.get_status_display().lower()})
    if not comment:
        raise SettlementError(_("Say what is wrong: a dispute needs the creator's comment."))
    statement.status, statement.disputed_at, statement.dispute_comment = StatementStatus.DISPUTED, timezone.now(), comment[:2000]
    statement.save(update_fields=["status", "disputed_at", "dispute_comment"])
    _event(statement, StatementStatus.DISPUTED, comment, user)
    return statement


def parse_amount(text) -> Decimal:
    try:
        amount = Decimal(str(text).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        raise SettlementError(_("“%(value)s” is not an amount; write it like 12.50 or -3.00.") % {"value": text}) from None
    if not amount.is_finite() or amount != amount.quantize(Decimal("0.01")) or abs(amount) >= Decimal("1e9"):
        raise SettlementError(_("“%(value)s” is not an amount in cents; write it like 12.50 or -3.00.") % {"value": text})
    return amount


@transaction.atomic
def statement_resolve(*, statement_id: int, amount, note: str, user=None) -> Statement:
    """Resolve a dispute: post the adjustment (zero when the statement stands) and issue the
    statement again. When a later statement of the creator exists, the adjustment waits for
    the next one instead, so no issued balance changes under anyone's feet."""
    statement = _locked(statement_id)
    amount = parse_amount(amount)
    note = (note or "").strip()
    if statement.status != StatementStatus.DISPUTED:
        raise SettlementError(_("Statement %(number)s is not disputed.") % {"number": statement.number})
    if not note:
        raise SettlementError(_("Write what was decided; the creator sees it on the statement."))
    later = (Statement.objects.filter(creator_id=statement.creator_id, currency=statement.currency, period__last_day__gt=statement.period.last_day)
             .exists())
    if amount:
        adjustment = Adjustment.objects.create(creator_id=statement.creator_id, statement=None if later else statement, amount=amount,
                                               currency=statement.currency, reason=note[:300], created_by=_user(user))
        entry, _created = post(kind=EntryKind.ADJUSTMENT, key=f"adjustment:{adjustment.pk}", creator_id=statement.creator_id, amount=amount,
                               currency=statement.currency, memo=note, user=user)
        adjustment.entry = entry
        adjustment.save(update_fields=["entry"])
        if not later:
            statement.adjustments_total += amount
            _recompute(statement)
    statement.status, statement.issued_at, statement.revision = StatementStatus.ISSUED, timezone.now(), statement.revision + 1
    statement.confirmed_at = None
    statement.save()
    if later and amount:
        note = _("%(note)s (adjustment of %(amount)s %(currency)s goes on the next statement)") % {
            "note": note, "amount": f"{amount:.2f}", "currency": statement.currency}
    _event(statement, StatementStatus.ISSUED, note, user)
    statements_issued.send(sender="commissions", statement_ids=[statement.pk])
    return statement


@transaction.atomic
def statement_approve(*, statement_id: int, user=None) -> Statement:
    statement = _locked(statement_id)
    if statement.status != StatementStatus.CONFIRMED:
        raise SettlementError(_("Statement %(number)s is %(status)s; the creator must confirm it before it is approved.")
                              % {"number": statement.number, "status": statement.get_status_display().lower()})
    statement.status, statement.approved_at, statement.approved_by = StatementStatus.APPROVED, timezone.now(), _user(user)
    statement.save(update_fields=["status", "approved_at", "approved_by"])
    _event(statement, StatementStatus.APPROVED, "", user)
    return statement


def _payable(statement: Statement) -> None:
    if statement.status == StatementStatus.PAID:
        raise SettlementError(_("Statement %(number)s is already paid (%(reference)s).")
                              % {"number": statement.number, "reference": statement.payout_reference})
    if statement.status != StatementStatus.APPROVED:
        raise SettlementError(_("Statement %(number)s is %(status)s; only a confirmed and approved statement can be paid.")
                              % {"number": statement.number, "status": statement.get_status_display().lower()})
    if statement.payout_due <= 0:
        raise SettlementError(_("Statement %(number)s has nothing to pay; its balance is carried forward.") % {"number": statement.number})


@transaction.atomic
def statement_pay(*, statement_id: int, reference: str, user=None) -> Statement:
    """Record that the statement's payout went out (once: the ledger key is payout:<statement>)."""
    statement = _locked(statement_id)
    reference = (reference or "").strip()
    _payable(statement)
    if not reference:
        raise SettlementError(_("Enter the payout reference (bank or PayPal transaction id)."))
    post(kind=EntryKind.PAYOUT, key=f"payout:{statement.pk}", creator_id=statement.creator_id, amount=-statement.payout_due,
         currency=statement.currency, memo=reference, user=user)
    statement.status, statement.paid_at, statement.payout_reference = StatementStatus.PAID, timezone.now(), reference[:80]
    statement.save(update_fields=["status", "paid_at", "payout_reference"])
    _event(statement, StatementStatus.PAID, reference, user)
    statement_paid.send(sender="commissions", statement_id=statement.pk)
    return statement


@transaction.atomic
def payout_batch_create(*, statement_ids: list[int], user=None) -> PayoutBatch:
    """Put approved statements with something to pay in one batch (one currency)."""
    if not statement_ids:
        raise SettlementError(_("Choose the approved statements to pay."))
    statements = list(Statement.objects.select_for_update().filter(pk__in=statement_ids).order_by("pk"))
    if len(statements) != len(set(statement_ids)):
        raise SettlementError(_("Some of the chosen statements do not exist."))
    for statement in statements:
        _payable(statement)
        if statement.batch_id:
            raise SettlementError(_("Statement %(number)s is already in batch %(batch)s.") % {"number": statement.number, "batch": statement.batch.number})
    currencies = {s.currency for s in statements}
    if len(currencies) > 1:
        raise SettlementError(_("A batch pays in one currency; these statements are in %(currencies)s.") % {"currencies": ", ".join(sorted(currencies))})
    today = timezone.now().strftime("%Y%m%d")
    n = (PayoutBatch.objects.filter(number__startswith=f"PB-{today}-").count()) + 1
    batch = PayoutBatch.objects.create(number=f"PB-{today}-{n:03d}", currency=currencies.pop(), total=sum((s.payout_due for s in statements), Decimal(0)),
                                       statements_count=len(statements), created_by=_user(user))
    Statement.objects.filter(pk__in=[s.pk for s in statements]).update(batch=batch)
    return batch


@transaction.atomic
def payout_batch_paid(*, batch_id: int, reference: str, user=None) -> PayoutBatch:
    batch = PayoutBatch.objects.select_for_update().filter(pk=batch_id).first()
    if batch is None:
        raise SettlementError(_("No such payout batch."))
    reference = (reference or "").strip()
    if batch.paid_at:
        raise SettlementError(_("Batch %(batch)s was already paid on %(day)s.") % {"batch": batch.number, "day": batch.paid_at.date()})
    if not reference:
        raise SettlementError(_("Enter the payout reference of the bank or PayPal run."))
    for statement_id in batch.statements.order_by("pk").values_list("pk", flat=True):
        statement_pay(statement_id=statement_id, reference=reference, user=user)
    batch.paid_at, batch.reference = timezone.now(), reference[:80]
    batch.save(update_fields=["paid_at", "reference"])
    return batch

