from dataclasses import asdict

from django.db import connection

from connectors import services
from connectors.clients import ChannelTransientError
from connectors.models import AccountStatus, ChannelAccount
from erp.celery import fanout_task
from erp.tenancy import seller_site_url


@fanout_task(name="connectors.stock_flush", max_retries=3)
def stock_flush(self, account_id: int) -> dict:
    return asdict(services.stock_flush(account_id=account_id))


@fanout_task(name="connectors.stock_reconcile", soft_time_limit=600, time_limit=660)
def stock_reconcile(self, account_id: int, sku_ids: list[int] | None = None) -> dict:
    outcome = services.stock_reconcile(account_id=account_id, sku_ids=sku_ids)
    return {"checked": outcome.checked, "drifted": outcome.drifted, "missing": outcome.missing, "error": outcome.error}


@fanout_task(name="connectors.stock_reconcile_all")
def stock_reconcile_all(self) -> int:
    ids = list(ChannelAccount.objects.filter(status=AccountStatus.CONNECTED).values_list("pk", flat=True))
    for account_id in ids:
        stock_reconcile.delay(account_id)
    return len(ids)


@fanout_task(name="connectors.webhook_process", max_retries=8, retry_also_for=(ChannelTransientError,))
def webhook_process(self, event_id: int) -> str:
    return services.webhook_process(event_id=event_id)


@fanout_task(name="connectors.webhooks_resume")
def webhooks_resume(self) -> int:
    return services.webhooks_resume()


@fanout_task(name="connectors.account_alert_owners", retry_also_for=(ConnectionError, TimeoutError))
def account_alert_owners(self, account_id: int) -> int:
    from connectors.services.accounts import account_alert_owners_send

    return account_alert_owners_send(account_id=account_id, site_url=seller_site_url(schema_name=connection.schema_name))


@fanout_task(name="connectors.alerts_resume")
def alerts_resume(self) -> int:
    from connectors.services.accounts import account_alerts_resume

    return account_alerts_resume()
