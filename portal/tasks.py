from smtplib import SMTPException

from django.db import connection

from erp.celery import fanout_task


@fanout_task(name="portal.notifications_email", retry_also_for=(SMTPException, OSError))
def notifications_email(self, notification_ids: list[int]) -> int:
    from erp.tenancy import seller_site_url
    from portal.notifications import notifications_email_send

    return notifications_email_send(notification_ids=notification_ids, site_url=seller_site_url(schema_name=connection.schema_name))


@fanout_task(name="portal.notifications_email_pending")
def notifications_email_pending(self) -> int:
    """Queue the notifications still unsent 10 minutes after they were made (a send that failed
    for good, a broker that was down)."""
    from portal.notifications import notifications_email_queue, notifications_pending

    return notifications_email_queue(notifications_pending())
