from erp.celery import fanout_task
from inventory.services.reorder import reorder_alerts_raise


@fanout_task(name="inventory.reorder_alerts_raise", soft_time_limit=300, time_limit=360)
def reorder_alerts_raise_task(self) -> dict:
    return reorder_alerts_raise()
