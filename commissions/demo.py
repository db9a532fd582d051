"""Demo settlement: accrue the demo seller's delivered creator orders, close the periods that have
ended (oldest first, so balances carry forward), and take the statements through the steps a
finance team would: most of the older ones paid in a payout batch, one disputed, some waiting
for the creator or for approval."""
from datetime import timedelta

from django.utils import timezone

from commissions.models import JournalEntry, Statement, StatementStatus
from commissions.periods import SettlementCycle, period_for_day
from erp.l10n import business_today


def _direct_deals(per_tier: int = 2) -> None:
    """TikTok pays most demo creators itself; the busiest two of each tier have a direct deal
    instead (the seller pays them), so there is something to settle."""
    from django.db.models import Count

    from creators.models import Creator, CreatorKind
    from orders.models import Channel, Order

    chosen = []
    for tier in ("S", "A", "B"):
        chosen += list(Creator.objects.filter(kind=CreatorKind.CREATOR, tier=tier).annotate(n=Count("orders")).order_by("-n", "pk")
                       .values_list("pk", flat=True)[:per_tier])
    Order.objects.filter(creator_id__in=chosen, channel=Channel.TIKTOK_SHOP).update(platform_pays_commission=False)


# What a one-pound ground parcel costs the demo seller by shipping zone 1–8 (its negotiated rate card).
DEMO_ZONES = ["4.35", "4.70", "5.25", "6.05", "6.95", "7.85", "8.80", "9.95"]


def _zone_estimates() -> None:
    """The demo's TikTok Shop and Shopify schedules estimate shipping by zone (the cockpit's warehouse economics use it)."""
    from decimal import Decimal

    from commissions.models import FeeSchedule

    FeeSchedule.objects.filter(channel__in=["tiktok_shop", "shopify"], category__isnull=True, zone_estimates=[]).update(
        zone_estimates=[Decimal(z) for z in DEMO_ZONES])


def demo_commissions_seed() -> bool:
    from commissions.services.accrual import accrue
    from commissions.services.settlement import period_close
    from commissions.services.statements import (
        payout_batch_create,
        payout_batch_paid,
        statement_approve,
        statement_confirm,
        statement_dispute,
    )

    if JournalEntry.objects.exists() or Statement.objects.exists():
        return False
    _zone_estimates()
    _direct_deals()
    accrue()
    today = business_today()
    closed = []
    for cycle, back in ((SettlementCycle.MONTHLY, 2), (SettlementCycle.SEMI_MONTHLY, 3), (SettlementCycle.WEEKLY, 4)):
        periods, day = [], today
        for _ in range(back):
            day = period_for_day(cycle, day).first_day - timedelta(days=1)
            periods.append(day)
        for day in reversed(periods):
            closed.append(period_close(cycle=cycle, day=day))
    statements = list(Statement.objects.filter(status=StatementStatus.ISSUED).select_related("period").order_by("period__last_day", "pk"))
    if not statements:
        return True
    newest = max(s.period.last_day for s in statements)
    older = [s for s in statements if s.period.last_day < newest]
    to_pay = []
    for i, statement in enumerate(older):
        statement_confirm(statement_id=statement.pk)
        if i % 7 == 3:
            continue  # confirmed, waiting for Finance
        statement_approve(statement_id=statement.pk)
        if statement.payout_due > 0:
            to_pay.append(statement.pk)
    if to_pay:
        batch = payout_batch_create(statement_ids=to_pay)
        payout_batch_paid(batch_id=batch.pk, reference=f"PAYPAL-{timezone.now():%Y%m%d}-DEMO")
    latest = [s for s in statements if s.period.last_day == newest and s.payout_due > 0]
    if latest:
        statement_dispute(statement_id=latest[0].pk, comment="Two orders from my live on the 12th are missing, about 18 USD of commission.")
    return bool(closed)
