import smtplib

from django.db import connection

from accounts import services
from erp.celery import fanout_task
from erp.tenancy import seller_site_url


@fanout_task(name="accounts.invitation_send_email", retry_also_for=(smtplib.SMTPException, ConnectionError, TimeoutError))
def invitation_send_email(self, invitation_id: int) -> bool:
    return services.invitation_email_send(invitation_id=invitation_id, site_url=seller_site_url(schema_name=connection.schema_name))


@fanout_task(name="accounts.invitations_expire")
def invitations_expire(self) -> int:
    return services.invitations_purge_expired()


@fanout_task(name="accounts.invitation_emails_resume")
def invitation_emails_resume(self) -> int:
    return services.invitation_emails_resume()
