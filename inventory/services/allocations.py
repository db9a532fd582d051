from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from inventory.events import sellable_changed_on_commit
from inventory.exceptions import InventoryError
from inventory.models import Allocation
from inventory.selectors import Holder, pool_free
from inventory.services.levels import pool_lock


@transaction.atomic
def allocation_set(*, sku_id: int, holder: Holder, quota: int) -> Allocation:
    """Ring-fence `quota` units of a SKU's pool for `holder` (0 removes the ring-fence).
    Refuses a quota below what the holder already has reserved out of it, and refuses to
    ring-fence more than the pool can sell now (safety stock and other quotas stay whole)."""
    if isinstance(quota, bool) or not isinstance(quota, int) or quota < 0:
        raise InventoryError(_("quota must be a whole number of zero or more, got %(quota)s") % {"quota": repr(quota)})
    # Lock order: allocation, then the SKU pool row.
    allocation = Allocation.objects.select_for_update().filter(sku_id=sku_id, holder_kind=holder.kind, holder_ref=holder.ref).first()
    skus = pool_lock([sku_id])
    if sku_id not in skus:
        raise InventoryError(_("unknown SKU id %(sku)s") % {"sku": sku_id})
    sku = skus[sku_id]
    used = allocation.used if allocation else 0
    old_open = (allocation.quota - allocation.used) if allocation else 0
    if quota < used:
        raise InventoryError(
            _("%(holder)s already has %(used)s unit(s) reserved from this quota; the quota cannot go below that")
            % {"holder": holder, "used": used}
        )
    new_open = quota - used
    others_open = sku.quota_open - old_open
    free = pool_free(sku=sku)
    if new_open > old_open and others_open + new_open > free:
        raise InventoryError(
            _("only %(free_now)s unit(s) of %(sku)s are free to ring-fence (%(sellable)s sellable, %(others)s already allocated to others)")
            % {"free_now": max(free - others_open, 0), "sku": sku.code, "sellable": free, "others": others_open}
        )
    try:
        if allocation is None:
            allocation = Allocation.objects.create(sku_id=sku_id, holder_kind=holder.kind, holder_ref=holder.ref, quota=quota)
        else:
            allocation.quota = quota
            allocation.save(update_fields=["quota"])
    except IntegrityError as exc:
        raise InventoryError(_("allocation for %(holder)s changed at the same time; try again") % {"holder": holder}) from exc
    sku.quota_open = others_open + new_open
    sku.save(update_fields=["quota_open"])
    # Every holder's share of the unallocated remainder may have moved.
    sellable_changed_on_commit([sku_id])
    return allocation
