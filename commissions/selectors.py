"""Read-side queries of the commissions pages."""
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.utils import timezone

from commissions.models import Account, CommissionLine, Posting, Statement, StatementStatus
from erp import paging
from erp.l10n import business_day_range

PAGE_SIZE = 50


def liability_summary(now=None) -> list[dict]:
    """Per currency: accrued but still in the return window, payable (owed, not yet paid: on
    statements or waiting for one; negative balances reduce it), paid out, and what the platform
    pays creators itself (recorded, never paid by us)."""
    now = now or timezone.now()
    out: dict[str, dict] = {}

    def row(currency):
        return out.setdefault(currency, {"currency": currency, "held": Decimal(0), "owed": Decimal(0), "paid": Decimal(0),
                                         "platform": Decimal(0), "negative_creators": 0})

    for r in (CommissionLine.objects.filter(platform_paid=False, statement__isnull=True, payable_at__gt=now)
              .values("currency").annotate(s=Sum("amount")).order_by()):
        row(r["currency"])["held"] = r["s"]
    for r in (Posting.objects.filter(account=Account.CREATOR).values("currency", "creator_id").annotate(s=Sum("amount")).order_by()
              .values_list("currency", "s")):
        currency, s = r
        row(currency)["owed"] += -s
        if s > 0:
            row(currency)["negative_creators"] += 1
    for r in Statement.objects.filter(status=StatementStatus.PAID).values("currency").annotate(s=Sum("payout_due")).order_by():
        row(r["currency"])["paid"] = r["s"]
    for r in CommissionLine.objects.filter(platform_paid=True).values("currency").annotate(s=Sum("amount")).order_by():
        row(r["currency"])["platform"] = r["s"]
    for r in out.values():
        r["payable"] = r["owed"] - r["held"]
    return sorted(out.values(), key=lambda r: r["currency"])


def lines_filtered(data: dict, now=None):
    now = now or timezone.now()
    qs = CommissionLine.objects.select_related("creator", "order", "statement")
    q = (data.get("q") or "").strip().lstrip("@")
    if q:
        qs = qs.filter(Q(creator__handle__iexact=q) | Q(order__external_id=q))
    if data.get("kind"):
        qs = qs.filter(kind=data["kind"])
    state = data.get("state")
    if state == "held":
        qs = qs.filter(platform_paid=False, statement__isnull=True, payable_at__gt=now)
    elif state == "payable":
        qs = qs.filter(platform_paid=False, statement__isnull=True, payable_at__lte=now)
    elif state == "settled":
        qs = qs.filter(statement__isnull=False)
    elif state == "platform":
        qs = qs.filter(platform_paid=True)
    if data.get("earned_from"):
        qs = qs.filter(earned_at__gte=business_day_range(data["earned_from"])[0])
    if data.get("earned_to"):
        qs = qs.filter(earned_at__lt=business_day_range(data["earned_to"])[1])
    return qs


def keyset_page(qs, *, after: str = ""):
    """Newest first by (earned_at, pk)."""
    return paging.keyset_page(qs, field="earned_at", after=after, size=PAGE_SIZE)


def statement_counts() -> dict:
    return dict(Statement.objects.values_list("status").annotate(n=Count("pk")).order_by())
