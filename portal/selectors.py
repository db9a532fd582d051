"""What a creator sees of their own business: always filtered by their creator id, never the
seller's cost, fees or margin."""
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from commissions.models import CommissionLine, Statement, StatementStatus
from erp.l10n import business_day_range, business_today, seller_base_currency, seller_time_zone
from orders.models import Order, OrderLine, OrderStatus

TRACKING_URLS = {
    "ups": "https://www.ups.com/track?tracknum={}",
    "fedex": "https://www.fedex.com/fedextrack/?trknbr={}",
    "usps": "https://tools.usps.com/go/TrackConfirmAction?tLabels={}",
    "dhl": "https://www.dhl.com/us-en/home/tracking.html?tracking-id={}",
}


def tracking_link(carrier: str, number: str) -> str:
    template = TRACKING_URLS.get((carrier or "").strip().lower().split(" ")[0])
    return template.format(number) if template and number else ""


@dataclass
class Dashboard:
    period_first: date
    period_last: date
    next_settlement: date
    orders: int
    units: int
    gmv: Decimal
    earned: Decimal
    held: Decimal
    payable: Decimal
    currency: str
    series: list[dict]
    top_products: list[dict]
    terms: object
    next_tier: dict | None


def dashboard(creator, *, days: int = 30, now=None) -> Dashboard:
    from commissions.periods import period_for_day
    from commissions.services.ledger import creator_balance
    from creators.services.policy import bands_of, creator_terms, tier_policy_in_force

    now = now or timezone.now()
    today = business_today()
    terms = creator_terms(creator, today)
    period = period_for_day(terms.settlement_cycle, today)
    live = ~Q(status=OrderStatus.CANCELLED)
    in_period = Order.objects.filter(live, creator=creator, placed_at__gte=period.starts_at, placed_at__lt=period.ends_at)
    totals = in_period.aggregate(n=Count("pk"), gmv=Sum("total"))
    units = OrderLine.objects.filter(order__in=in_period).aggregate(u=Sum("quantity"))["u"] or 0
    earned = (CommissionLine.objects.filter(creator=creator, earned_at__gte=period.starts_at, earned_at__lt=period.ends_at)
              .aggregate(s=Sum("amount"))["s"] or Decimal(0))
    held = CommissionLine.objects.filter(creator=creator, platform_paid=False, statement__isnull=True, payable_at__gt=now).aggregate(s=Sum("amount"))["s"] or Decimal(0)
    payable = creator_balance(creator.pk, seller_base_currency()) - held  # everything owed (ledger) less what is still in the return window
    start, _end = business_day_range(today - timedelta(days=days - 1), today, seller_time_zone())
    by_day = {row["day"]: row for row in Order.objects.filter(live, creator=creator, placed_at__gte=start)
              .annotate(day=TruncDate("placed_at", tzinfo=seller_time_zone())).values("day").annotate(n=Count("pk"), gmv=Sum("total"))}
    window = [today - timedelta(days=days - 1 - i) for i in range(days)]
    series = [{"day": day, "orders": by_day.get(day, {}).get("n", 0), "gmv": by_day.get(day, {}).get("gmv") or Decimal(0)} for day in window]
    top = list(OrderLine.objects.filter(order__creator=creator, order__placed_at__gte=start).exclude(order__status=OrderStatus.CANCELLED)
               .values(title=F("sku__title"), code=F("sku__code")).annotate(units=Sum("quantity")).order_by("-units", "code")[:5])
    next_tier = None
    bands = bands_of(tier_policy_in_force(today))
    ranked = sorted(bands.values(), key=lambda b: b.supply_priority)  # S first
    current = bands.get(terms.tier)
    better = [b for b in ranked if current is None or b.supply_priority < current.supply_priority]
    if better:
        target = better[-1]  # the next one up
        next_tier = {"tier": target.tier, "orders": target.min_monthly_orders, "conversion": target.min_conversion_rate, "roi": target.min_roi,
                     "orders_this_month": Order.objects.filter(live, creator=creator, placed_at__gte=business_day_range(
                         today.replace(day=1), today, seller_time_zone())[0]).count()}
    return Dashboard(period_first=period.first_day, period_last=period.last_day, next_settlement=period.last_day + timedelta(days=1),
                     orders=totals["n"] or 0, units=units, gmv=totals["gmv"] or Decimal(0), earned=earned, held=held, payable=payable,
                     currency=seller_base_currency(), series=series, top_products=top, terms=terms, next_tier=next_tier)


def creator_orders(creator, *, status: str = "", search: str = "", since: date | None = None, until: date | None = None):
    qs = Order.objects.filter(creator=creator)
    if status:
        qs = qs.filter(status=status)
    if search:
        qs = qs.filter(external_id__icontains=search.strip())
    tz = seller_time_zone()
    if since:
        qs = qs.filter(placed_at__gte=business_day_range(since, since, tz)[0])
    if until:
        qs = qs.filter(placed_at__lt=business_day_range(until, until, tz)[1])
    return qs.order_by("-placed_at", "-pk").only("pk", "channel", "external_id", "status", "placed_at", "total", "currency", "ship_city",
                                                   "ship_state", "order_type")


def line_status(line: CommissionLine, now) -> str:
    if line.kind == "clawback":
        return "clawed_back"
    if line.platform_paid:
        return "platform"
    if line.statement_id and line.statement.status == StatementStatus.PAID:
        return "paid"
    return "payable" if line.payable_at <= now else "held"


def creator_lines(creator):
    return (CommissionLine.objects.filter(creator=creator).select_related("order", "order_line__sku", "statement")
            .order_by("-earned_at", "-pk"))


def creator_statements(creator):
    return Statement.objects.filter(creator=creator).exclude(status=StatementStatus.DRAFT).select_related("period").order_by("-period__last_day", "-pk")
