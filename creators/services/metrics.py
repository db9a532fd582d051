"""Monthly creator metrics, rebuilt from their sources: attributed orders, samples and content stats.

Definitions (shown on the creator list and detail pages):
  orders          attributed orders placed in the month (business time zone), cancelled ones excluded
  GMV             Σ line quantity × unit price − line discount of those orders, before returns
  returns         units returned and their value (net of the line's discount share)
  commission      Σ commission on those lines (paid or owed; for platform-paid orders, TikTok's)
  sample cost     FIFO cost of samples sent in the month
  conversion rate orders ÷ clicks                       (empty when there were no clicks)
  ROI             GMV ÷ (commission + sample cost)      (empty when both are zero)
Amounts in another currency are converted into the base currency at the rate in force on the
month's last day (or today, for the month in progress). Rebuilding a month any number of times
gives the same rows: it is an upsert from the sources plus removal of rows whose sources vanished.
"""
import calendar
import logging
from collections import defaultdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection, transaction
from django.db.models import Count, DecimalField, ExpressionWrapper, F, Sum
from django.utils import timezone
from djmoney.money import Money

from creators.models import ContentStats, CreatorMonth, Sample
from erp.l10n import business_day_range, business_today, seller_base_currency

log = logging.getLogger(__name__)
CENT = Decimal("0.01")


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(month: date) -> date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def conversion_rate(orders: int, clicks: int) -> Decimal | None:
    return (Decimal(orders) / clicks).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP) if clicks else None


def roi(gmv: Decimal, commission: Decimal, sample_cost: Decimal) -> Decimal | None:
    cost = commission + sample_cost
    return (gmv / cost).quantize(CENT, rounding=ROUND_HALF_UP) if cost else None


def _order_figures(month: date, creator_ids) -> dict[int, dict]:
    from orders.models import OrderLine, OrderStatus

    starts_at, ends_at = business_day_range(month, month_end(month))
    money = DecimalField(max_digits=20, decimal_places=6)
    lines = OrderLine.objects.filter(order__creator__isnull=False, order__placed_at__gte=starts_at, order__placed_at__lt=ends_at) \
        .exclude(order__status=OrderStatus.CANCELLED)
    if creator_ids is not None:
        lines = lines.filter(order__creator_id__in=creator_ids)
    rows = lines.values("order__creator_id", "order__currency").annotate(
        n_orders=Count("order_id", distinct=True), n_units=Sum("quantity"), n_returned=Sum("quantity_returned"),
        v_gmv=Sum(ExpressionWrapper(F("unit_price") * F("quantity") - F("discount"), output_field=money)),
        v_returns=Sum(ExpressionWrapper((F("unit_price") * F("quantity") - F("discount")) * F("quantity_returned") / F("quantity"),
                                        output_field=money)),
        v_commission=Sum("commission"),
    )
    base = seller_base_currency()
    on = min(month_end(month), business_today())
    rates: dict = {}
    figures: dict[int, dict] = defaultdict(lambda: {"orders": 0, "units": 0, "returned_units": 0, "gmv": Decimal(0),
                                                    "returns_value": Decimal(0), "commission": Decimal(0)})
    for row in rows:
        f = figures[row["order__creator_id"]]
        f["orders"] += row["n_orders"]
        f["units"] += row["n_units"] or 0
        f["returned_units"] += row["n_returned"] or 0
        for key, value in (("gmv", row["v_gmv"]), ("returns_value", row["v_returns"]), ("commission", row["v_commission"])):
            f[key] += _in_base(Decimal(value or 0), row["order__currency"], base, on, rates)
    return figures


def _in_base(amount: Decimal, currency: str, base: str, on: date, rates: dict) -> Decimal:
    if currency == base or not amount:
        return amount
    from inventory.services.fx import MissingRate, to_base

    try:
        return to_base(Money(amount, currency), on, places=Decimal("0.000001"), rates=rates).amount.amount
    except MissingRate:
        log.warning("creator metrics: no %s rate on or before %s; those amounts are left out", currency, on)
        return Decimal(0)


@transaction.atomic
def metrics_refresh(*, months, creator_ids=None) -> int:
    """Rebuild the CreatorMonth rows of `months` (any days in them) for all creators, or only
    `creator_ids`. Idempotent; concurrent runs for the same month are serialised. Returns the
    number of rows written."""
    base = seller_base_currency()
    written = 0
    ids = list(creator_ids) if creator_ids is not None else None
    for month in sorted({month_start(m) for m in months}):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [741_001, month.toordinal()])
        figures = _order_figures(month, ids)
        samples = Sample.objects.filter(sent_on__gte=month, sent_on__lte=month_end(month))
        content = ContentStats.objects.filter(month=month)
        if ids is not None:
            samples, content = samples.filter(creator_id__in=ids), content.filter(creator_id__in=ids)
        sample_cost = {r["creator_id"]: r["cost"] for r in samples.values("creator_id").annotate(cost=Sum("cost"))}
        stats = {c.creator_id: c for c in content}
        now = timezone.now()
        rows = []
        for creator_id in set(figures) | set(sample_cost) | set(stats):
            f = figures.get(creator_id) or {"orders": 0, "units": 0, "returned_units": 0, "gmv": Decimal(0),
                                             "returns_value": Decimal(0), "commission": Decimal(0)}
            gmv, commission = (f["gmv"].quantize(CENT, ROUND_HALF_UP), f["commission"].quantize(CENT, ROUND_HALF_UP))
            samples_total = Decimal(sample_cost.get(creator_id) or 0).quantize(CENT, ROUND_HALF_UP)
            st = stats.get(creator_id)
            clicks = st.clicks if st else 0
            rows.append(CreatorMonth(
                creator_id=creator_id, month=month, orders=f["orders"], units=f["units"], returned_units=f["returned_units"],
                gmv=Money(gmv, base), returns_value=Money(f["returns_value"].quantize(CENT, ROUND_HALF_UP), base),
                commission=Money(commission, base), sample_cost=Money(samples_total, base),
                videos=st.videos if st else 0, views=st.views if st else 0, clicks=clicks,
                conversion_rate=conversion_rate(f["orders"], clicks), roi=roi(gmv, commission, samples_total), computed_at=now,
            ))
        fields = ["orders", "units", "returned_units", "gmv", "gmv_currency", "returns_value", "returns_value_currency", "commission",
                  "commission_currency", "sample_cost", "sample_cost_currency", "videos", "views", "clicks", "conversion_rate", "roi",
                  "computed_at"]
        CreatorMonth.objects.bulk_create(rows, batch_size=2000, update_conflicts=True, unique_fields=["creator", "month"], update_fields=fields)
        stale = CreatorMonth.objects.filter(month=month).exclude(creator_id__in=[r.creator_id for r in rows])
        if ids is not None:
            stale = stale.filter(creator_id__in=ids)
        stale.delete()
        written += len(rows)
    return written
