from connectors.clients import ChannelTransientError
from erp.celery import fanout_task
from warehouses.threepl import ThreePLTransientError


@fanout_task(name="orders.pipeline")
def order_pipeline(self, order_id: int) -> str:
    from orders.services.pipeline import order_pipeline as run

    return run(order_id=order_id)


@fanout_task(name="orders.tracking_push", max_retries=8, retry_also_for=(ChannelTransientError,))
def tracking_push(self, shipment_id: int) -> str:
    from orders.services.pipeline import tracking_push as push

    return push(shipment_id=shipment_id)


@fanout_task(name="orders.threepl_send", max_retries=8, retry_also_for=(ThreePLTransientError,))
def threepl_send(self, shipment_id: int) -> str:
    from orders.services.pipeline import threepl_send as send

    return send(shipment_id=shipment_id, last_try=self.request.retries >= self.max_retries)


@fanout_task(name="orders.sla_refresh")
def sla_refresh(self) -> int:
    from orders.services.sla import sla_refresh as refresh

    return refresh()


@fanout_task(name="orders.work_resume")
def work_resume(self) -> dict:
    from orders.services.pipeline import work_resume as resume

    return resume()


@fanout_task(name="orders.backorders_retry")
def backorders_retry(self, sku_ids: list[int]) -> int:
    from orders.services.pipeline import backorders_retry as retry

    return retry(sku_ids=sku_ids)


@fanout_task(name="orders.amazon_poll", soft_time_limit=300, time_limit=360, retry_also_for=(ChannelTransientError,))
def amazon_poll(self) -> int:
    from orders.services.channels import amazon_poll as poll

    return poll()


@fanout_task(name="orders.demo_traffic")
def demo_traffic(self) -> str:
    """While `make run` is up (FANOUT_DEMO_TRAFFIC), a buyer places an order on the demo's
    sandbox TikTok shop now and then; it reaches Fanout through the webhook like a real one."""
    from django.conf import settings
    from django.db import connection

    from sellers.management.commands.seed_demo import DEMO_SUBDOMAIN

    if not settings.FANOUT_DEMO_TRAFFIC or getattr(connection.tenant, "subdomain", "") != DEMO_SUBDOMAIN:
        return "off"
    from orders.demo import demo_order_place

    return demo_order_place() or "no shop"
