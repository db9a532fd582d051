from functools import partial

from django.db import transaction
from django.dispatch import receiver

from creators.services.supply import supply_served
from inventory.events import sellable_changed


@receiver(sellable_changed, dispatch_uid="orders.backorders")
def _stock_changed(sender, sku_ids, fell=False, **kwargs):
    # Stock arrived or was released: backordered orders waiting for those SKUs try again.
    if fell:
        return
    from orders import tasks
    from orders.models import Order, OrderStatus

    if Order.objects.filter(status=OrderStatus.BACKORDERED, exception_reason="stock_short", lines__sku_id__in=sku_ids).exists():
        tasks.backorders_retry.delay(list(sku_ids))


@receiver(supply_served, dispatch_uid="orders.supply_served")
def _supply_served(sender, references, **kwargs):
    # The supply-priority queue served requests; the orders among them move on.
    from orders import tasks
    from orders.services.pipeline import order_id_of_reference

    for reference in references:
        order_id = order_id_of_reference(reference)
        if order_id:
            transaction.on_commit(partial(tasks.order_pipeline.delay, order_id))
