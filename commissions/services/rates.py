"""Which commission rate a creator earns on a product on a given day: the creator's own
negotiated rate, else a product-specific rate, else the default of the creator's tier."""
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

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
