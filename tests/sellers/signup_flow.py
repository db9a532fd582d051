"""Sign up through the public site in-process, as a person does: the form, the emailed link, the
password, the progress page. The two tasks (the email, the provisioning) run here instead of in a
worker (the worker tests do the same over HTTP with a real worker)."""
import re

from django.core import mail
from django.test import Client
from django_tenants.utils import schema_context

from sellers.models import SignupRequest
from sellers.services.signup_requests import signup_email_send, signup_provision
from tests.support import PASSWORD


def form_data(**overrides) -> dict:
    data = {"company_name": "Newco Outfitters", "subdomain": "newco", "owner_email": "Boss@Newco.test"}
    data.update(overrides)
    return data


def confirmation_link(email: str) -> str:
    """The path of the newest confirmation link emailed to `email`."""
    for message in reversed(mail.outbox):
        if email.lower() in [to.lower() for to in message.to]:
            return re.search(r"https?://[^/\s]+(/signup/confirm/[^/\s]+/)", message.body).group(1)
    raise AssertionError(f"no confirmation email to {email}")


def signup_and_confirm(client: Client, data: dict, *, password: str = PASSWORD):
    """Post the form, send the email, open the link and choose the password; returns the SignupRequest
    (waiting for its seller)."""
    posted = client.post("/signup/", data)
    assert posted.status_code == 302 and posted["Location"] == "/signup/sent/", posted.content.decode()[:2000]
    with schema_context("public"):
        signup = SignupRequest.objects.get(subdomain=data["subdomain"], status="pending")
    signup_email_send(signup_id=signup.pk)
    link = confirmation_link(data["owner_email"])
    confirmed = client.post(link, {"password": password, "password_confirm": password})
    assert confirmed.status_code == 302 and confirmed["Location"] == "/signup/progress/", confirmed.content.decode()[:2000]
    signup.refresh_from_db()
    return signup


def signup_end_to_end(client: Client, data: dict, *, password: str = PASSWORD):
    """The whole sign-up; returns the progress page's answer once the seller exists (the redirect to
    the new site's one-time welcome link)."""
    signup = signup_and_confirm(client, data, password=password)
    signup_provision(signup_id=signup.pk)
    return client.get("/signup/progress/")
