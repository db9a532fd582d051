"""Which commission rate a creator earns on a product on a given day: the creator's own
negotiated rate, else a product-specific rate, else the default of the creator's tier."""
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.db.models import Q

from commissions.models import ProductCommissionRate


@dataclass(frozen=True)
class Rate:
    rate: Decimal
    source: str  # "creator", "product", "tier" or "" (no creator)


def commission_rate_for(*, creator, product_id: int | None, on: date) -> Rate:
    if creator is None:
        return Rate(Decimal(0), "")
    if creator.commission_rate_override is not None:
        return Rate(creator.commission_rate_override, "creator")
    if product_id:
        product = (ProductCommissionRate.objects.filter(product_id=product_id, valid_from__lte=on)
                   .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=on)).order_by("-valid_from").first())
        if product is not None:
            return Rate(product.rate, "product")
    from creators.services.policy import creator_terms

    terms = creator_terms(creator, on)
    return Rate(terms.commission_rate or Decimal(0), "tier" if terms.commission_rate is not None else "")


@transaction.atomic
def product_rate_save(*, product, rate: Decimal, valid_from: date, valid_to: date | None = None, actor=None) -> ProductCommissionRate:
    """A dated commission rate for every creator selling `product` (a fraction), audited with the actor."""
    from accounts.services import audit_record
    from commissions.services.fees import percent

    saved = ProductCommissionRate(product=product, rate=rate, valid_from=valid_from, valid_to=valid_to)
    saved.full_clean()
    saved.save()
    audit_record(actor=actor, verb="product_rate.created", target=saved, data={
        "product": product.title, "rate": percent(rate), "valid_from": valid_from.isoformat(),
        "valid_to": valid_to.isoformat() if valid_to else ""})
    return saved


def terms_ctes(source: str) -> str:
    """The same resolution in SQL, for many lines at once (accrual, cockpit facts): CTEs over `source`
    (a CTE with day, creator_id and product_id columns), each ending with a comma:
    policy_on(day, policy_id), tier_on(creator_id, day, tier, override, discount: the margin plan's,
    for distributors and wholesale buyers) and product_rate(product_id, day, rate)."""
    return f"""policy_on AS (
    SELECT d.day, (SELECT p.id FROM creators_tierpolicy p WHERE p.effective_from <= d.day
                   ORDER BY p.effective_from DESC, p.version DESC LIMIT 1) AS policy_id
    FROM (SELECT DISTINCT day FROM {source}) d
),
tier_on AS (
    SELECT cd.creator_id, cd.day, COALESCE(
        (SELECT tc.to_tier FROM creators_tierchange tc WHERE tc.creator_id = cd.creator_id AND tc.effective_from <= cd.day
         ORDER BY tc.effective_from DESC, tc.id DESC LIMIT 1),
        (SELECT tc.from_tier FROM creators_tierchange tc WHERE tc.creator_id = cd.creator_id ORDER BY tc.effective_from, tc.id LIMIT 1),
        c.tier) AS tier, c.commission_rate_override AS override,
        CASE WHEN c.kind IN ('distributor', 'wholesale') THEN
            (SELECT mp.discount_rate FROM commissions_marginplan mp WHERE mp.creator_id = cd.creator_id AND mp.valid_from <= cd.day
             AND (mp.valid_to IS NULL OR mp.valid_to >= cd.day) ORDER BY mp.valid_from DESC LIMIT 1) END AS discount
    FROM (SELECT DISTINCT creator_id, day FROM {source} WHERE creator_id IS NOT NULL) cd JOIN creators_creator c ON c.id = cd.creator_id
),
product_rate AS (
    SELECT pd.product_id, pd.day, (SELECT r.rate FROM commissions_productcommissionrate r
        WHERE r.product_id = pd.product_id AND r.valid_from <= pd.day AND (r.valid_to IS NULL OR r.valid_to >= pd.day)
        ORDER BY r.valid_from DESC LIMIT 1) AS rate
    FROM (SELECT DISTINCT product_id, day FROM {source} WHERE product_id IS NOT NULL AND creator_id IS NOT NULL) pd
),
"""
