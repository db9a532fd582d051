from django.db import connection

from erp.celery import fanout_task


@fanout_task(name="portal.notifications_email")
def notifications_email(self, notification_ids: list[int]) -> int:
    from erp.tenancy import seller_site_url
    from portal.notifications import notifications_email_send

    return notifications_email_send(notification_ids=notification_ids, site_url=seller_site_url(schema_name=connection.schema_name))
