from django.dispatch import receiver

from inventory.events import sellable_changed


@receiver(sellable_changed, dispatch_uid="connectors.stock_sync")
def _stock_changed(sender, sku_ids, **kwargs):
    from connectors.services.stock_sync import stock_sync_request

    stock_sync_request(sku_ids=sku_ids)
