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

CENTS_ZERO = Decimal("0.00")  # shown as 0.00, like every other amount

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
    """The creator's figures in a few queries, whatever their order count: one pass over their
    orders by business day (period totals, the chart and this month's count are sums of days),
    one over those orders' lines by SKU (units and top products), two over their commission lines."""
    from commissions.periods import period_for_day
    from commissions.services.ledger import creator_balance
    from creators.services.policy import bands_of, creator_terms, tier_policy_in_force

    now = now or timezone.now()
    today = business_today()
    tz = seller_time_zone()
    policy = tier_policy_in_force(today)  # with its bands, read once for the terms and the ladder
    terms = creator_terms(creator, today, policy=policy)
    period = period_for_day(terms.settlement_cycle, today)
    window_first = today - timedelta(days=days - 1)
    month_first = today.replace(day=1)
    first = min(period.first_day, window_first, month_first)
    since = business_day_range(first, first, tz)[0]
    live = Order.objects.filter(creator=creator, placed_at__gte=since).exclude(status=OrderStatus.CANCELLED)
    by_day = {row["day"]: row for row in live.annotate(day=TruncDate("placed_at", tzinfo=tz)).values("day")
              .annotate(n=Count("*"), gmv=Sum("total")).order_by()}

    def days_sum(key, lo, hi):
        return sum((row[key] or 0 for day, row in by_day.items() if lo <= day <= hi), 0)

    window_start = business_day_range(window_first, window_first, tz)[0]
    period_start = period.starts_at
    skus = list(OrderLine.objects.filter(order__creator=creator, order__placed_at__gte=since).exclude(order__status=OrderStatus.CANCELLED).values(title=F("sku__title"), code=F("sku__code"))
                .annotate(window=Sum("quantity", filter=Q(order__placed_at__gte=window_start)),
                          period=Sum("quantity", filter=Q(order__placed_at__gte=period_start, order__placed_at__lt=period.ends_at)))
                .order_by())
    top = sorted(({"title": r["title"], "code": r["code"], "units": r["window"]} for r in skus if r["window"]),
                 key=lambda r: (-r["units"], r["code"]))[:5]
    mine = CommissionLine.objects.filter(creator=creator)
    earned = mine.filter(earned_at__gte=period.starts_at, earned_at__lt=period.ends_at).aggregate(s=Sum("amount"))["s"] or CENTS_ZERO
    held = mine.filter(platform_paid=False, statement__isnull=True, payable_at__gt=now).aggregate(s=Sum("amount"))["s"] or CENTS_ZERO
    payable = creator_balance(creator.pk, seller_base_currency()) - held  # everything owed (ledger) less what is still in the return window
    series = [{"day": day, "orders": by_day.get(day, {}).get("n", 0), "gmv": by_day.get(day, {}).get("gmv") or Decimal(0)}
              for day in (window_first + timedelta(days=i) for i in range(days))]
    next_tier = None
    bands = bands_of(policy)
    current = bands.get(terms.tier)
    better = sorted((b for b in bands.values() if current is None or b.supply_priority < current.supply_priority), key=lambda b: b.supply_priority)
    if better:
        target = better[-1]  # the next one up
        next_tier = {"tier": target.tier, "orders": target.min_monthly_orders, "conversion": target.min_conversion_rate, "roi": target.min_roi,
                     "orders_this_month": days_sum("n", month_first, today)}
    return Dashboard(period_first=period.first_day, period_last=period.last_day, next_settlement=period.last_day + timedelta(days=1),
                     orders=days_sum("n", period.first_day, period.last_day), units=sum(r["period"] or 0 for r in skus),
                     gmv=days_sum("gmv", period.first_day, period.last_day) or CENTS_ZERO, earned=earned, held=held, payable=payable,
                     currency=seller_base_currency(), series=series, top_products=top, terms=terms, next_tier=next_tier)


def creator_orders(creator, *, status: str = "", search: str = "", since: date | None = None, until: date | None = None, source: str = ""):
    """Their attributed orders; `source` "sales" keeps the orders of their customers, "purchases"
    the orders they placed themselves (in the portal or as wholesale)."""
    from orders.models import Channel

    qs = Order.objects.filter(creator=creator)
    placed_by_them = Q(channel__in=[Channel.PORTAL, Channel.WHOLESALE])
    if source == "purchases":
        qs = qs.filter(placed_by_them)
    elif source == "sales":
        qs = qs.exclude(placed_by_them)
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


# ---------------------------------------------------------------------------- the shop
@dataclass
class ShopTerms:
    """What a creator may order in the portal. Portal orders are purchases: the creator pays for
    them at their margin plan's price (shipped to themselves, or to their customer as dropship),
    and earns nothing more on them. Without a plan in force they can browse but not order."""
    currency: str
    plan: object  # the margin plan in force, or None
    order_types: list[str]


def shop_terms(creator) -> ShopTerms:
    from commissions.services.margins import MARGIN_KINDS, margin_plan_in_force
    from orders.models import OrderType

    plan = margin_plan_in_force(creator_id=creator.pk, on=business_today()) if creator.kind in MARGIN_KINDS else None
    return ShopTerms(currency=seller_base_currency(), plan=plan, order_types=[OrderType.WHOLESALE, OrderType.DROPSHIP] if plan else [])


def shop_skus(currency: str):
    """The SKUs open to creators: active, with a list price in the seller's currency."""
    from inventory.models import SKU

    return SKU.objects.filter(is_active=True, list_price__isnull=False, list_price_currency=currency)


def unit_price(terms: ShopTerms, sku) -> Decimal | None:
    """What the creator pays a unit: the margin plan's price (None without a plan that prices it)."""
    from commissions.services.margins import plan_unit_price

    return plan_unit_price(terms.plan, sku, terms.currency)


def shop_catalogue(creator, terms: ShopTerms, *, search: str = ""):
    """The catalogue, SKUs allocated to the creator first (paginate it, then call `shop_rows`)."""
    from django.db.models import Exists, OuterRef

    from inventory.models import Allocation
    from inventory.selectors import Holder

    holder = Holder.creator(creator.pk)
    qs = shop_skus(terms.currency).annotate(mine=Exists(Allocation.objects.filter(sku=OuterRef("pk"), holder_kind=holder.kind,
                                                                                  holder_ref=holder.ref)))
    if search:
        qs = qs.filter(Q(code__icontains=search.strip()) | Q(title__icontains=search.strip()))
    return qs.order_by("-mine", "code")


def shop_rows(creator, terms: ShopTerms, skus) -> list[dict]:
    """Price and quantity the creator may take now (the inventory selector's rule) of each SKU."""
    from inventory.selectors import Holder, sellable_quantities

    skus = list(skus)
    available = sellable_quantities(skus=skus, holder=Holder.creator(creator.pk))
    return [{"sku": s, "available": available.get(s.pk, 0), "list_price": Decimal(s.list_price.amount),
             "wholesale_price": unit_price(terms, s)} for s in skus]


def last_ship_to(creator) -> dict:
    """The address of the creator's last wholesale order, to fill the next one in."""
    from orders.models import Channel, OrderType
    from orders.services.intake import ADDRESS_FIELDS

    last = (Order.objects.filter(creator=creator, channel__in=[Channel.PORTAL, Channel.WHOLESALE], order_type=OrderType.WHOLESALE)
            .order_by("-placed_at", "-pk")
            .values(*ADDRESS_FIELDS).first())
    return last or {}
