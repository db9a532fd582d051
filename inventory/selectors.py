"""Reads of stock. `sellable_quantity` is THE rule for how much a holder may take; every page,
the reservation service and the channel stock sync use it.

The rule (documented on the SKU page too):
  pool_free    = on hand − reserved − safety stock           (all warehouses; never below 0)
  safety stock = max(safety units, ⌈on hand × safety % / 100⌉)
  open quota   = quota − used, for each allocation of the SKU
  unallocated  = max(pool_free − Σ open quotas, 0)
  sellable(holder) = min(pool_free, holder's open quota + unallocated)
A holder takes from its own quota first and may then dip into the unallocated remainder, never
into another holder's ring-fenced quota or into safety stock.
Example: 100 on hand, safety 20 → pool_free 80. With no allocations any distributor sees 80.
A holds 50 and B 30 → unallocated 0: A sees 50, B sees 30 and C sees 0 (C cannot reserve 40).
"""
import math
from dataclasses import dataclass
from decimal import Decimal

from inventory.models import SKU, Allocation, HolderKind


@dataclass(frozen=True)
class Holder:
    kind: str
    ref: str

    @classmethod
    def channel(cls, name: str) -> "Holder":
        return cls(HolderKind.CHANNEL, name)

    @classmethod
    def creator(cls, creator_id) -> "Holder":
        return cls(HolderKind.CREATOR, str(creator_id))

    def __str__(self) -> str:
        return f"{self.kind}:{self.ref}"


def safety_units(*, on_hand: int, units: int, percent: Decimal) -> int:
    return max(units, math.ceil(on_hand * Decimal(percent) / 100))


def pool_free(*, sku: SKU) -> int:
    safety = safety_units(on_hand=sku.on_hand, units=sku.safety_stock_units, percent=sku.safety_stock_percent)
    return max(sku.on_hand - sku.reserved - safety, 0)


def sellable_quantity(*, sku: SKU, holder: Holder, allocation: Allocation | None = None) -> int:
    """Units `holder` may reserve of `sku` right now (pool counters as loaded on `sku`)."""
    if allocation is None:
        allocation = Allocation.objects.filter(sku=sku, holder_kind=holder.kind, holder_ref=holder.ref).first()
    return _sellable(sku, allocation)


def _sellable(sku: SKU, allocation: Allocation | None) -> int:
    own_open = (allocation.quota - allocation.used) if allocation else 0
    free = pool_free(sku=sku)
    unallocated = max(free - sku.quota_open, 0)
    return min(free, own_open + unallocated)


def sellable_quantities(*, skus, holder: Holder) -> dict[int, int]:
    """`sellable_quantity` for many SKUs (counters as loaded) in one query for the allocations."""
    skus = list(skus)
    allocations = {a.sku_id: a for a in Allocation.objects.filter(sku__in=[s.pk for s in skus], holder_kind=holder.kind, holder_ref=holder.ref)}
    return {sku.pk: _sellable(sku, allocations.get(sku.pk)) for sku in skus}


def stock_overview(*, search: str = "", category_id: int | None = None, alerts_only: bool = False, include_inactive: bool = False):
    """SKUs for the stock overview page with their per-warehouse levels and an open-alert flag,
    in a fixed number of queries whatever the page size."""
    from django.db.models import Exists, OuterRef, Prefetch, Q

    from inventory.models import AlertStatus, ReorderAlert, Stock

    qs = SKU.objects.select_related("product__category").annotate(
        has_alert=Exists(ReorderAlert.objects.filter(sku=OuterRef("pk"), status=AlertStatus.OPEN))
    ).prefetch_related(Prefetch("stocks", queryset=Stock.objects.select_related("warehouse").order_by("warehouse__code")))
    if not include_inactive:
        qs = qs.filter(is_active=True)
    if search:
        qs = qs.filter(Q(code__icontains=search) | Q(title__icontains=search))
    if category_id:
        qs = qs.filter(product__category_id=category_id)
    if alerts_only:
        qs = qs.filter(has_alert=True)
    return qs.order_by("code")


def sku_ledger(*, sku: SKU):
    from inventory.models import StockMove

    return StockMove.objects.filter(sku=sku).select_related("warehouse", "actor").order_by("-created_at", "-pk")


def sku_open_lots(*, sku: SKU):
    from inventory.models import CostLot

    return CostLot.objects.filter(sku=sku, quantity_remaining__gt=0).select_related("warehouse").order_by("received_at", "pk")
