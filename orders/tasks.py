from connectors.clients import ChannelTransientError
from erp.celery import fanout_task


@fanout_task(name="orders.pipeline")
def order_pipeline(self, order_id: int) -> str:
    from orders.services.pipeline import order_pipeline as run

    return run(order_id=order_id)


@fanout_task(name="orders.tracking_push", max_retries=8, retry_also_for=(ChannelTransientError,))
def tracking_push(self, shipment_id: int) -> str:
    from orders.services.pipeline import tracking_push as push

    return push(shipment_id=shipment_id)


@fanout_task(name="orders.sla_refresh")
def sla_refresh(self) -> int:
    from orders.services.sla import sla_refresh as refresh

    return refresh()


@fanout_task(name="orders.backorders_retry")
def backorders_retry(self, sku_ids: list[int]) -> int:
    from orders.services.pipeline import backorders_retry as retry

    return retry(sku_ids=sku_ids)


@fanout_task(name="orders.amazon_poll", soft_time_limit=300, time_limit=360, retry_also_for=(ChannelTransientError,))
def amazon_poll(self) -> int:
    from orders.services.channels import amazon_poll as poll

    return poll()
