"""The creators' ledger: double entry, in the seller's books.

Every change to what a creator is owed is a journal entry whose postings sum to zero:

    accrual, adjustment   Dr commission expense   Cr owed to creator
    clawback              Dr owed to creator      Cr commission expense   (a negative accrual)
    payout                Dr owed to creator      Cr cash

A posting's amount is positive for a debit and negative for a credit, so what a creator is
owed is minus the sum of their `creator` postings. Each entry has an idempotency key enforced by
a unique constraint: posting the same accrual, clawback, adjustment or payout twice is
impossible, whoever tries and however often."""
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import Sum
from django.utils import timezone

from commissions.models import Account, EntryKind, JournalEntry, Posting


def advisory_lock(name: str) -> None:
    """Hold a transaction-scoped lock named `name` in this seller's schema."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"{connection.schema_name}:{name}"])


@transaction.atomic
def post(*, kind: str, key: str, creator_id: int, amount: Decimal, currency: str, memo: str = "", user=None) -> tuple[JournalEntry, bool]:
    """Post `amount` (what it adds to the creator's balance; negative takes away) once per `key`.
    Returns (entry, created); a second call with the same key returns the first entry."""
    entry = JournalEntry.objects.filter(key=key).first()
    if entry is not None:
        return entry, False
    with transaction.atomic():  # the unique key decides a race; the loser reads the winner's entry
        try:
            entry = JournalEntry.objects.create(kind=kind, key=key, creator_id=creator_id, amount=amount, currency=currency, memo=memo[:200],
                                                created_by=user if getattr(user, "is_authenticated", False) else None, created_at=timezone.now())
        except IntegrityError:
            entry = None
    if entry is None:
        return JournalEntry.objects.get(key=key), False
    counter = Account.CASH if kind == EntryKind.PAYOUT else Account.EXPENSE
    Posting.objects.bulk_create([
        Posting(entry=entry, account=counter, creator=None, amount=amount, currency=currency),
        Posting(entry=entry, account=Account.CREATOR, creator_id=creator_id, amount=-amount, currency=currency),
    ])
    return entry, True


def creator_balance(creator_id: int, currency: str) -> Decimal:
    """What the seller owes the creator in `currency` (negative: the creator owes the seller)."""
    total = Posting.objects.filter(account=Account.CREATOR, creator_id=creator_id, currency=currency).aggregate(s=Sum("amount"))["s"]
    return -(total or Decimal(0))
