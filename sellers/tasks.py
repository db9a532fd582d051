"""Sign-up tasks. They run in the public schema (sent from it; the cleanup's beat entry names it)."""
import smtplib

from django.utils.translation import gettext_noop

from erp.celery import _transient_errors, fanout_task
from sellers.services import signup_requests


@fanout_task(name="sellers.signup_email_send", retry_also_for=(smtplib.SMTPException, ConnectionError, TimeoutError))
def signup_email_send(self, signup_id: int) -> bool:
    return signup_requests.signup_email_send(signup_id=signup_id)


# A new seller's schema takes ~1 s (sellers.schemas); recording the template after new migrations
# takes ~20 s, once per deployment: the limits leave room for that.
@fanout_task(name="sellers.signup_provision", soft_time_limit=240, time_limit=300)
def signup_provision(self, signup_id: int) -> str:
    try:
        return signup_requests.signup_provision(signup_id=signup_id).status
    except _transient_errors():
        raise  # retried with backoff; a sign-up still waiting later is queued again by signups_clean
    except Exception:
        signup_requests.signup_fail(signup_id=signup_id, reason=gettext_noop("Something went wrong while creating your site. Please sign up again."))
        raise


@fanout_task(name="sellers.signups_clean")
def signups_clean(self) -> dict[str, int]:
    return signup_requests.signups_clean()
