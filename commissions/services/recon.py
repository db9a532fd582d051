"""Platform-paid commissions: TikTok pays the creator on affiliate orders. We accrue our estimate
(for profit and creator metrics, never paid by us) and read what TikTok actually paid from its
finance statements (Get Statements → Get Statement Transactions, through our connector), then
list the orders where estimate and actual differ."""
import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import DecimalField, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from commissions.models import CommissionLine, PlatformCommissionCheck

log = logging.getLogger("fanout.commissions")
LOOKBACK = timedelta(days=90)


def _amount(value) -> Decimal:
    if isinstance(value, dict):
        value = value.get("amount", "0")
    try:
        return Decimal(str(value or "0"))
    except InvalidOperation:
        return Decimal(0)


def _pages(fetch, key: str):
    token = ""
    for _page in range(10_000):
        data = fetch(token)
        yield from data.get(key) or []
        token = data.get("next_page_token") or ""
        if not token:
            return


@dataclass(frozen=True)
class ReconResult:
    statements: int
    orders: int


def reconcile_account(account, *, since=None) -> ReconResult:
    """Read the account's statements of the last 90 days and record, per order, what the
    platform paid the creator. Upserts: running it again changes nothing."""
    from connectors.services.accounts import client_for
    from orders.models import Channel, Order

    client = client_for(account)
    since = since or timezone.now() - LOOKBACK
    actual: dict[str, Decimal] = defaultdict(Decimal)
    currency: dict[str, str] = {}
    statement_of: dict[str, str] = {}
    statements = list(_pages(lambda t: client.statements(statement_time_ge=int(since.timestamp()), page_token=t), "statements"))
    for st in statements:
        for tx in _pages(lambda t, sid=st["id"]: client.statement_transactions(statement_id=sid, page_token=t), "statement_transactions"):
            if tx.get("type", "ORDER") != "ORDER" or not tx.get("order_id"):
                continue
            oid = str(tx["order_id"])
            actual[oid] += _amount(tx.get("affiliate_commission_amount"))
            currency[oid] = tx.get("currency") or st.get("currency") or "USD"
            statement_of[oid] = str(st["id"])
    orders = dict(Order.objects.filter(channel=Channel.TIKTOK_SHOP, external_id__in=list(actual), platform_pays_commission=True)
                  .values_list("external_id", "pk"))
    now = timezone.now()
    with transaction.atomic():
        existing = {c.order_id: c for c in PlatformCommissionCheck.objects.select_for_update().filter(order_id__in=list(orders.values()))}
        new, changed = [], []
        for external_id, order_id in orders.items():
            check = existing.get(order_id)
            if check is None:
                new.append(PlatformCommissionCheck(order_id=order_id, actual=actual[external_id], currency=currency[external_id],
                                                   statement_id=statement_of[external_id], checked_at=now))
            else:
                check.actual, check.currency, check.statement_id, check.checked_at = (actual[external_id], currency[external_id],
                                                                                        statement_of[external_id], now)
                changed.append(check)
        PlatformCommissionCheck.objects.bulk_create(new)
        PlatformCommissionCheck.objects.bulk_update(changed, ["actual", "currency", "statement_id", "checked_at"])
    return ReconResult(statements=len(statements), orders=len(orders))


def reconcile_all() -> int:
    from connectors.models import ChannelAccount, Platform

    done = 0
    for account in ChannelAccount.objects.filter(platform=Platform.TIKTOK_SHOP):
        if not account.is_active:
            continue
        try:
            done += reconcile_account(account).orders
        except Exception:  # one shop's failure must not stop the others; it is retried tomorrow
            log.exception("reconciling TikTok statements of %s failed", account)
    return done


def checks_with_estimates():
    """Every checked order with our estimate (sum of its platform-paid commission lines, None
    before it is accrued) and the difference."""
    estimate = (CommissionLine.objects.filter(order_id=OuterRef("order_id"), platform_paid=True).order_by().values("order_id")
                .annotate(s=Sum("amount")).values("s"))
    return (PlatformCommissionCheck.objects.select_related("order", "order__creator")
            .annotate(estimate=Subquery(estimate, output_field=DecimalField(max_digits=14, decimal_places=2))))


def mismatches():
    from django.db.models import F, Q

    return (checks_with_estimates().annotate(diff=F("actual") - Coalesce(F("estimate"), Value(Decimal(0))))
            .filter(Q(estimate__isnull=True) | ~Q(estimate=F("actual"))).order_by("-checked_at", "-order_id"))
