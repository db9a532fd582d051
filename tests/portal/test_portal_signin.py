"""The portal's sign-in guards: an account locked by wrong passwords (from any address), spraying
across accounts from one address, and reset emails throttled per address and per requester,
each with the portal's own clear page."""
import re
from datetime import timedelta

from axes.models import AccessAttempt
from django.core import mail
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from portal.models import CreatorAccount
from portal.services import portal_accept
from tests.creators.factories import make_creator

GOOD = "Lip-gloss-2026!"


def _portal(seller, address=None) -> Client:
    extra = {"HTTP_X_FORWARDED_FOR": address} if address else {}
    return Client(HTTP_HOST=f"{seller.subdomain}.localhost", **extra)


def _account(seller, handle):
    with tenant_context(seller):
        creator = make_creator(handle, email=f"{handle}@creators.test")
        return portal_accept(account=CreatorAccount.objects.create(creator=creator, email=f"{handle}@creators.test"), password=GOOD)


def test_a_locked_portal_account_is_locked_from_every_address_with_the_portals_page(alpha, settings):
    account = _account(alpha, "pia.locked")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        Client(HTTP_HOST="alpha.localhost", REMOTE_ADDR="203.0.113.9").post("/portal/login/", {"email": account.email, "password": "wrong-wrong"})
    elsewhere = Client(HTTP_HOST="alpha.localhost", REMOTE_ADDR="198.51.100.7")
    page = elsewhere.post("/portal/login/", {"email": account.email.upper(), "password": GOOD})
    text = page.content.decode()
    assert page.status_code == 429 and "Too many failed sign-in attempts" in text and "about 15 minutes" in text
    assert "Creator portal" in text and 'href="/portal/reset/"' in text  # the portal's page, with its reset link
    with tenant_context(alpha):
        AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert elsewhere.post("/portal/login/", {"email": account.email, "password": GOOD}).status_code == 302


def test_spraying_the_portal_from_one_address_is_stopped_and_others_sign_in(alpha, settings):
    settings.FANOUT_TRUSTED_PROXIES = ["127.0.0.1"]
    settings.FANOUT_SIGNIN_FAILURES_PER_IP = 6
    account = _account(alpha, "sam.spray")
    attacker = _portal(alpha, "203.0.113.9")
    for n in range(6):
        assert attacker.post("/portal/login/", {"email": f"fan{n}@creators.test", "password": "Summer2026!"}).status_code == 200
    refused = attacker.post("/portal/login/", {"email": account.email, "password": GOOD})
    assert refused.status_code == 429 and "Too many failed sign-ins from your network" in refused.content.decode()
    # Staff sign-in from that address is refused too: the same failures count.
    assert attacker.post("/login/", {"username": "anyone@alpha.test", "password": "x-x-x-x-x"}).status_code == 429
    assert _portal(alpha, "198.51.100.7").post("/portal/login/", {"email": account.email, "password": GOOD}).status_code == 302


def test_portal_reset_emails_are_throttled_with_the_same_answer_for_any_address(alpha, settings):
    settings.FANOUT_RESET_LIMIT_PER_ADDRESS = 2
    account = _account(alpha, "rae.reset")
    for email in (account.email, "ghost@creators.test"):
        for _ in range(2):
            assert _portal(alpha).post("/portal/reset/", {"email": email}).status_code == 302
        refused = _portal(alpha).post("/portal/reset/", {"email": email})
        text = refused.content.decode()
        assert refused.status_code == 429 and "Too many reset requests" in text and "Creator portal" in text
    assert len(mail.outbox) == 2 and all(re.search(r"/portal/reset/\S+/\S+/", m.body) for m in mail.outbox)
