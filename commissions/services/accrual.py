"""Accrual and clawback of creators' commissions, in set-based SQL (a month of a big seller is a
million order lines; one statement per step, not a Python loop per line).

- **Accrual**: every line of a delivered creator order gets one commission line (a partial unique
  index makes a second impossible): rate = the platform's rate when the platform pays the creator,
  else the creator's own rate > the product's rate > the creator's tier default, all as in force
  on the order date (the same resolution as the profit waterfall). amount = sales × rate, rounded
  half-up to the cent. A distributor with a margin plan in force earns nothing on wholesale orders
  (they bought at the plan price) and, on other orders, sales − plan price × units (see
  services/margins.py); a SKU the plan cannot price falls back to the rates. A line that earns
  nothing gets no commission line. It is payable once the return window after delivery has passed. Seller-paid
  lines are posted to the ledger, one journal entry per creator and run.
- **Clawback**: when units come back, a negative line takes the commission down to what the units
  kept earn (one per return: unique on the line and its returned count), payable at once; after a
  payout it makes the creator's balance negative, carried forward on the next statement.
"""
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from commissions.models import CommissionLine, EntryKind, LineKind, SettlementSettings
from commissions.services.ledger import advisory_lock, post
from commissions.services.rates import terms_ctes
from erp.l10n import seller_time_zone
from inventory.services.levels import money_round_cents


def settlement_settings() -> SettlementSettings:
    settings, _created = SettlementSettings.objects.get_or_create(pk=1)
    return settings


@transaction.atomic
def settlement_settings_save(*, return_window_days: int, minimum_payout: Decimal, actor=None) -> SettlementSettings:
    """Change the return window and the minimum payout (lines accrued and statements closed from
    now on follow them); audited with the actor when something changed."""
    from accounts.services import audit_record

    current = SettlementSettings.objects.select_for_update().get(pk=settlement_settings().pk)
    if (current.return_window_days, current.minimum_payout) == (return_window_days, minimum_payout):
        return current
    current.return_window_days, current.minimum_payout = return_window_days, minimum_payout
    current.full_clean()
    current.save()
    audit_record(actor=actor, verb="settlement_settings.changed", target=current, data={
        "return_window_days": return_window_days, "minimum_payout": str(minimum_payout)})
    return current


@dataclass(frozen=True)
class AccrualResult:
    lines: int
    entries: int
    amount: Decimal


_ACCRUE = """
CREATE TEMP TABLE _accrue ON COMMIT DROP AS
WITH todo AS (
    SELECT ol.id AS line_id, o.id AS order_id, o.creator_id, o.platform_pays_commission AS platform, o.currency,
           o.delivered_at, (o.placed_at AT TIME ZONE %(tz)s)::date AS day,
           ol.quantity - ol.quantity_returned AS units, ol.quantity_returned AS returned,
           round(ol.unit_price * (ol.quantity - ol.quantity_returned)
                 - ol.discount * (ol.quantity - ol.quantity_returned) / ol.quantity, 2) AS base,
           ol.commission_rate AS line_rate, s.product_id, o.order_type, s.list_price, s.list_price_currency
    FROM orders_orderline ol
    JOIN orders_order o ON o.id = ol.order_id
    LEFT JOIN inventory_sku s ON s.id = ol.sku_id
    WHERE o.creator_id IS NOT NULL AND o.delivered_at IS NOT NULL AND o.delivered_at <= %(now)s {only}
      AND ol.quantity > ol.quantity_returned
      AND NOT EXISTS (SELECT 1 FROM commissions_commissionline cl WHERE cl.order_line_id = ol.id AND cl.kind = 'accrual')
),
""" + terms_ctes("todo") + """priced AS (
    SELECT t.*, ton.tier, ton.override, ton.discount,
           CASE WHEN ton.discount IS NOT NULL AND t.list_price IS NOT NULL AND t.list_price_currency = t.currency
                THEN round(t.list_price * (1 - ton.discount), 2) END AS plan_price
    FROM todo t JOIN tier_on ton ON ton.creator_id = t.creator_id AND ton.day = t.day
),
rated AS (
    SELECT t.*,
           CASE WHEN t.platform AND t.line_rate IS NOT NULL THEN t.line_rate
                WHEN t.discount IS NOT NULL AND t.order_type = 'wholesale' THEN 0
                WHEN t.plan_price IS NOT NULL THEN t.discount
                ELSE COALESCE(t.override, pr.rate, b.default_rate, 0) END AS rate,
           CASE WHEN t.platform AND t.line_rate IS NOT NULL THEN 'platform'
                WHEN t.discount IS NOT NULL AND t.order_type = 'wholesale' THEN 'plan'
                WHEN t.plan_price IS NOT NULL THEN 'margin'
                WHEN t.override IS NOT NULL THEN 'creator' WHEN pr.rate IS NOT NULL THEN 'product'
                WHEN b.default_rate IS NOT NULL THEN 'tier' ELSE '' END AS rate_source
    FROM priced t
    JOIN policy_on po ON po.day = t.day
    LEFT JOIN creators_tierband b ON b.policy_id = po.policy_id AND b.tier = t.tier
    LEFT JOIN product_rate pr ON pr.product_id = t.product_id AND pr.day = t.day
)
SELECT * FROM (
    SELECT *, CASE WHEN rate_source = 'margin' THEN greatest(base - plan_price * units, 0) ELSE round(base * rate, 2) END AS amount FROM rated
) a
-- nothing owed (a wholesale buyer who bought at their plan price, no commission terms): no line
WHERE CASE WHEN rate_source = 'margin' THEN amount > 0 ELSE rate > 0 END
"""

_POST = """
WITH e AS (
    INSERT INTO commissions_journalentry (kind, key, creator_id, amount, currency, memo, created_at)
    SELECT 'accrual', 'accrual:' || creator_id || ':' || min(line_id), creator_id, sum(amount), currency, '', %(now)s
    FROM _accrue WHERE NOT platform GROUP BY creator_id, currency
    RETURNING id, creator_id, currency, amount
), p AS (
    INSERT INTO commissions_posting (entry_id, account, creator_id, amount, currency)
    SELECT id, 'expense', NULL, amount, currency FROM e
    UNION ALL SELECT id, 'creator', creator_id, -amount, currency FROM e
)
INSERT INTO commissions_commissionline (creator_id, order_id, order_line_id, kind, units, base, rate, rate_source, amount, currency,
                                        platform_paid, returned_through, earned_at, payable_at, entry_id, created_at, plan_price)
SELECT a.creator_id, a.order_id, a.line_id, 'accrual', a.units, a.base, a.rate, a.rate_source, a.amount, a.currency,
       a.platform, a.returned, a.delivered_at, a.delivered_at + %(window)s, e.id, %(now)s, CASE WHEN a.rate_source = 'margin' THEN a.plan_price END
FROM _accrue a LEFT JOIN e ON NOT a.platform AND e.creator_id = a.creator_id AND e.currency = a.currency
"""


@transaction.atomic
def accrue(*, order_ids: list[int] | None = None, now=None) -> AccrualResult:
    """Accrue every delivered creator order line that has no commission line yet (or only those
    of `order_ids`). Runs one at a time per seller; a re-run adds nothing."""
    now = now or timezone.now()
    advisory_lock("commissions.accrue")
    window = timedelta(days=settlement_settings().return_window_days)
    only = "AND o.id = ANY(%(orders)s)" if order_ids is not None else ""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '128MB'")
        cursor.execute(_ACCRUE.format(only=only), {"tz": str(seller_time_zone()), "now": now, "orders": list(order_ids or [])})
        cursor.execute("SELECT count(*), coalesce(sum(amount), 0) FROM _accrue")
        lines, amount = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM (SELECT DISTINCT creator_id, currency FROM _accrue WHERE NOT platform) k")
        entries = cursor.fetchone()[0]
        if lines:
            cursor.execute(_POST, {"now": now, "window": window})
        cursor.execute("DROP TABLE _accrue")
    return AccrualResult(lines=lines, entries=entries, amount=amount)


@transaction.atomic
def clawback_order(*, order_id: int, now=None) -> list[CommissionLine]:
    """After a return: take each accrued line's commission down to what its kept units earn."""
    from orders.models import OrderLine

    now = now or timezone.now()
    made = []
    lines = {}
    for cl in CommissionLine.objects.select_for_update().filter(order_id=order_id).order_by("pk"):
        lines.setdefault(cl.order_line_id, []).append(cl)
    for ol in OrderLine.objects.filter(pk__in=list(lines)).select_related("order"):
        history = lines[ol.pk]
        accrual = next((c for c in history if c.kind == LineKind.ACCRUAL), None)
        if accrual is None:
            continue
        kept = ol.quantity - ol.quantity_returned
        sales = money_round_cents(Decimal(ol.unit_price.amount) * kept - Decimal(ol.discount.amount) * kept / ol.quantity)
        if accrual.plan_price is not None:  # a margin-plan line: the kept units' sales less the plan price
            target = max(sales - accrual.plan_price * kept, Decimal(0))
        else:
            target = money_round_cents(sales * accrual.rate)
        so_far = sum((c.amount for c in history), Decimal(0))
        if target == so_far or any(c.returned_through >= ol.quantity_returned and c.kind == LineKind.CLAWBACK for c in history):
            continue
        line = CommissionLine(
            creator_id=accrual.creator_id, order_id=order_id, order_line=ol, kind=LineKind.CLAWBACK,
            units=kept - sum(c.units for c in history), base=sales - sum((c.base for c in history), Decimal(0)),
            rate=accrual.rate, rate_source=accrual.rate_source, plan_price=accrual.plan_price, amount=target - so_far, currency=accrual.currency,
            platform_paid=accrual.platform_paid, returned_through=ol.quantity_returned, earned_at=now, payable_at=now,
        )
        if not accrual.platform_paid:
            entry, _created = post(kind=EntryKind.CLAWBACK, key=f"clawback:{ol.pk}:{ol.quantity_returned}", creator_id=accrual.creator_id,
                                   amount=line.amount, currency=line.currency, memo=str(ol.order))
            line.entry = entry
        line.save()
        made.append(line)
    return made
