from django.dispatch import receiver

from inventory.events import sellable_changed


@receiver(sellable_changed, dispatch_uid="creators.supply_queue")
def _stock_changed(sender, sku_ids, fell=False, **kwargs):
    # Stock arrived or was released: serve the supply-priority queue of those SKUs, if any waits.
    if fell:
        return
    from creators.services.supply import supply_drain_if_waiting

    supply_drain_if_waiting(sku_ids=sku_ids)
