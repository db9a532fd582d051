"""Sign-up on the public site: the address is confirmed before anything is provisioned, the seller is
created by a task while a progress page waits, sign-ups are throttled per address and per client
IP, and abandoned ones are cleaned up."""
import re
import secrets
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from accounts.models import User
from accounts.modules import Role
from erp.celery import app
from sellers import tasks
from sellers.models import Domain, Seller, SignupRequest, SignupStatus
from sellers.services.signup_requests import (
    signup_email_send,
    signup_provision,
    signups_clean,
)
from tests.sellers.signup_flow import confirmation_link, form_data, signup_and_confirm
from tests.support import PASSWORD


def _schema_exists(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", [name])
        return cursor.fetchone() is not None


def _client() -> Client:
    """A visitor from an address of its own (the per-IP throttle counts in Redis, across tests and runs)."""
    return Client(HTTP_HOST="localhost", REMOTE_ADDR=f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.{1 + secrets.randbelow(254)}")


def test_signup_emails_a_link_and_provisions_only_once_the_owner_opens_it(db, django_capture_on_commit_callbacks):
    client = _client()
    with django_capture_on_commit_callbacks() as callbacks:
        posted = client.post("/signup/", form_data())
    assert posted.status_code == 302 and posted["Location"] == "/signup/sent/"
    sent = client.get("/signup/sent/").content.decode()
    assert "Check your email" in sent and "boss@newco.test" in sent
    # Nothing is provisioned yet: the subdomain is only held, and the email goes out from a task after commit.
    assert not Seller.objects.filter(subdomain="newco").exists() and not _schema_exists("newco")
    signup = SignupRequest.objects.get(subdomain="newco")
    assert (signup.status, signup.owner_email, signup.password) == (SignupStatus.PENDING, "boss@newco.test", "")
    assert [c.func for c in callbacks] == [tasks.signup_email_send.delay]
    assert signup_email_send(signup_id=signup.pk) is True
    assert signup_email_send(signup_id=signup.pk) is False  # a redelivered task sends nothing
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["boss@newco.test"]
    link = confirmation_link("boss@newco.test")
    assert "http://localhost:8000/signup/confirm/" in mail.outbox[0].body  # from FANOUT_SITE_URL, not the request's Host

    # Opening the link changes nothing (mail scanners open links): the owner chooses a password.
    page = client.get(link)
    assert page.status_code == 200 and "Newco Outfitters" in page.content.decode() and 'name="password_confirm"' in page.content.decode()
    for password, confirm, error in (("password", "password", "too common"), ("83749201836", "83749201836", "entirely numeric"),
                                     ("short1!", "short1!", "too short"), (PASSWORD, PASSWORD + "x", "The two passwords differ")):
        refused = client.post(link, {"password": password, "password_confirm": confirm})
        assert refused.status_code == 200 and error in refused.content.decode()
    signup.refresh_from_db()
    assert signup.status == SignupStatus.PENDING

    with django_capture_on_commit_callbacks() as callbacks:
        confirmed = client.post(link, {"password": PASSWORD, "password_confirm": PASSWORD})
    assert confirmed["Location"] == "/signup/progress/"
    assert [c.func for c in callbacks] == [tasks.signup_provision.delay]
    waiting = client.get("/signup/progress/")
    assert waiting.status_code == 200 and "Creating your seller site" in waiting.content.decode()
    assert 'http-equiv="refresh"' in waiting.content.decode()
    assert not Seller.objects.filter(subdomain="newco").exists()
    used = client.get(link)
    assert used.status_code == 410 and "already used" in used.content.decode()

    signup_provision(signup_id=signup.pk)
    signup_provision(signup_id=signup.pk)  # a redelivered task does nothing more
    seller = Seller.objects.get(subdomain="newco")
    assert seller.name == "Newco Outfitters" and _schema_exists("newco")
    assert Domain.objects.get(tenant=seller).domain == "newco.localhost"
    signup.refresh_from_db()
    assert (signup.status, signup.seller_id, signup.password) == (SignupStatus.READY, seller.pk, "")  # the hash is not kept
    with tenant_context(seller):
        owner = User.objects.get()
        assert (owner.email, owner.role, owner.is_superuser) == ("boss@newco.test", Role.OWNER, True)
        assert owner.check_password(PASSWORD)

    # The progress page hands the confirming browser over to its new site, signed in, once.
    ready = client.get("/signup/progress/")
    match = re.fullmatch(r"http://newco\.localhost/welcome/([^/]+)/", ready["Location"])
    assert match, ready["Location"]
    landed = Client(HTTP_HOST="newco.localhost").get(f"/welcome/{match.group(1)}/", follow=True)
    assert landed.redirect_chain[-1][0] == "/"
    assert "Newco Outfitters" in landed.content.decode() and "Welcome to Fanout" in landed.content.decode()
    again = client.get("/signup/progress/")
    assert again.status_code == 200 and "Your seller site is ready" in again.content.decode() and "/welcome/" not in again.content.decode()
    # Another browser has no sign-up to follow.
    assert _client().get("/signup/progress/")["Location"] == "/signup/"


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"subdomain": "alpha"}, "subdomain", "already taken"),
        ({"subdomain": "www"}, "subdomain", "reserved"),
        ({"subdomain": "admin"}, "subdomain", "reserved"),
        ({"subdomain": "public"}, "subdomain", "reserved"),
        ({"subdomain": "Bad_Name!"}, "subdomain", "lowercase letters"),
        ({"subdomain": "ab"}, "subdomain", "3–32"),
        ({"subdomain": "ends-"}, "subdomain", "not ending with a hyphen"),
        ({"owner_email": "not-an-email"}, "owner_email", "valid email"),
        ({"company_name": "   "}, "company_name", "required"),
    ],
)
def test_signup_rejects_bad_input_and_creates_nothing(db, overrides, field, message):
    response = _client().post("/signup/", form_data(**overrides))

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors, errors
    assert message in " ".join(errors[field])
    assert message.split()[0] in response.content.decode()  # shown on the page
    assert not SignupRequest.objects.exists() and not Seller.objects.filter(subdomain="newco").exists()
    assert mail.outbox == []


def test_signup_refuses_a_subdomain_whose_schema_exists(db):
    # A leftover schema without a seller row (e.g. restored by hand) must not be reused.
    with connection.cursor() as cursor:
        cursor.execute("CREATE SCHEMA orphan")
    response = _client().post("/signup/", form_data(subdomain="orphan"))
    assert "already taken" in " ".join(response.context["form"].errors["subdomain"])
    assert not SignupRequest.objects.exists()


def test_signup_holds_the_subdomain_for_its_address_and_a_new_link_replaces_the_old(db):
    client = _client()
    client.post("/signup/", form_data())
    signup_email_send(signup_id=SignupRequest.objects.get().pk)
    first = confirmation_link("boss@newco.test")

    taken = _client().post("/signup/", form_data(owner_email="someone@else.test"))
    assert "already taken" in " ".join(taken.context["form"].errors["subdomain"])

    # The same address asks again (the email did not come): a new link; the old one stops working.
    assert client.post("/signup/", form_data(company_name="Newco Outfitters Ltd"))["Location"] == "/signup/sent/"
    signup = SignupRequest.objects.get()
    assert signup.company_name == "Newco Outfitters Ltd"
    signup_email_send(signup_id=signup.pk)
    second = confirmation_link("boss@newco.test")
    assert second != first
    old = client.get(first)
    assert old.status_code == 410 and "A newer link was sent" in old.content.decode()
    assert client.get(second).status_code == 200
    assert client.get("/signup/confirm/not-a-token/").status_code == 410


def test_an_unconfirmed_signup_stops_holding_its_subdomain_when_it_expires(db, settings):
    _client().post("/signup/", form_data())
    SignupRequest.objects.update(created_at=timezone.now() - timedelta(hours=settings.FANOUT_SIGNUP_VERIFY_HOURS, minutes=1))
    assert _client().post("/signup/", form_data(owner_email="late@comer.test"))["Location"] == "/signup/sent/"
    assert list(SignupRequest.objects.values_list("owner_email", flat=True)) == ["late@comer.test"]


def test_signup_link_expires(db, settings):
    client = _client()
    client.post("/signup/", form_data())
    signup_email_send(signup_id=SignupRequest.objects.get().pk)
    settings.FANOUT_SIGNUP_VERIFY_HOURS = 0
    expired = client.get(confirmation_link("boss@newco.test"))
    assert expired.status_code == 410 and "This link has expired" in expired.content.decode()


def test_signup_is_throttled_per_address_and_per_ip_with_a_429_and_nothing_created(db, settings, django_capture_on_commit_callbacks):
    settings.FANOUT_SIGNUP_PER_ADDRESS = 2
    settings.FANOUT_SIGNUP_PER_IP = 3
    tag = timezone.now().strftime("%H%M%S%f")
    email = f"busy{tag}@throttle.test"

    client = _client()
    for i in range(2):
        assert client.post("/signup/", form_data(subdomain=f"addr{tag}{i}"[:30], owner_email=email)).status_code == 302
    with django_capture_on_commit_callbacks() as callbacks:
        refused = _client().post("/signup/", form_data(subdomain=f"addr{tag}x"[:30], owner_email=email))  # another network, same address
    assert refused.status_code == 429
    assert "Too many sign-ups with this email address. Please try again in 60 minutes." in refused.content.decode()
    assert callbacks == [] and SignupRequest.objects.count() == 2

    # One network, many addresses.
    network = _client()
    for i in range(3):
        assert network.post("/signup/", form_data(subdomain=f"ip{tag}{i}"[:30], owner_email=f"n{i}{tag}@throttle.test")).status_code == 302
    with django_capture_on_commit_callbacks() as callbacks:
        refused = network.post("/signup/", form_data(subdomain=f"ip{tag}x"[:30], owner_email=f"nx{tag}@throttle.test"))
    assert refused.status_code == 429 and "Too many sign-ups from your network" in refused.content.decode()
    assert 'name="subdomain"' in refused.content.decode()  # the form is still there, filled in
    assert callbacks == [] and SignupRequest.objects.count() == 5
    # A refused form is shown as such (it sends nothing, so it is not throttled); other visitors are unaffected.
    assert network.post("/signup/", form_data(subdomain="admin", owner_email=f"nx{tag}@throttle.test")).status_code == 200
    assert _client().post("/signup/", form_data(subdomain=f"ok{tag}"[:30], owner_email=f"ok{tag}@throttle.test")).status_code == 302


def test_signup_whose_provisioning_fails_says_why_and_frees_the_subdomain(db):
    client = _client()
    signup = signup_and_confirm(client, form_data())
    with connection.cursor() as cursor:  # someone made the schema by hand meanwhile
        cursor.execute("CREATE SCHEMA newco")
    signup_provision(signup_id=signup.pk)
    signup.refresh_from_db()
    assert signup.status == SignupStatus.FAILED and "already taken" in signup.error
    page = client.get("/signup/progress/")
    assert "Your site could not be created" in page.content.decode() and "This subdomain is already taken." in page.content.decode()
    assert not Seller.objects.filter(subdomain="newco").exists()
    with connection.cursor() as cursor:
        cursor.execute("DROP SCHEMA newco")
    # The subdomain is free again for anyone.
    assert _client().post("/signup/", form_data(owner_email="next@newco.test")).status_code == 302


def test_signups_clean_deletes_abandoned_signups_and_queues_lost_provisioning_again(db, settings, django_capture_on_commit_callbacks):
    now = timezone.now()
    hours = settings.FANOUT_SIGNUP_VERIFY_HOURS

    def make(subdomain, status, age, **extra):
        return SignupRequest.objects.create(company_name="X", subdomain=subdomain, owner_email=f"o@{subdomain}.test", time_zone="UTC",
                                            base_currency="USD", nonce="n", status=status, created_at=now - age, **extra)

    stale = make("stale", SignupStatus.PENDING, timedelta(hours=hours, minutes=1))
    fresh = make("fresh", SignupStatus.PENDING, timedelta(hours=hours - 1))
    failed_long_ago = make("gone", SignupStatus.FAILED, timedelta(hours=hours + 2), finished_at=now - timedelta(hours=hours, minutes=1))
    failed_now = make("recent", SignupStatus.FAILED, timedelta(hours=1), finished_at=now - timedelta(minutes=5))
    lost = make("lost", SignupStatus.PROVISIONING, timedelta(hours=1), verified_at=now - timedelta(seconds=settings.FANOUT_SIGNUP_STUCK_S + 60))
    hopeless = make("hopeless", SignupStatus.PROVISIONING, timedelta(hours=hours + 3), verified_at=now - timedelta(hours=hours, minutes=1))
    busy = make("busy", SignupStatus.PROVISIONING, timedelta(minutes=2), verified_at=now - timedelta(minutes=1))

    with django_capture_on_commit_callbacks() as callbacks:
        counts = signups_clean(now=now)
    assert counts == {"unconfirmed_deleted": 1, "failed_deleted": 1, "provisioning_resumed": 1}
    left = dict(SignupRequest.objects.values_list("subdomain", "status"))
    assert stale.subdomain not in left and failed_long_ago.subdomain not in left
    assert left[fresh.subdomain] == "pending" and left[failed_now.subdomain] == "failed" and left[busy.subdomain] == "provisioning"
    assert left[hopeless.subdomain] == "failed"  # given up on, deleted by a later run
    assert [(c.func, c.args) for c in callbacks] == [(tasks.signup_provision.delay, (lost.pk,))]
    with django_capture_on_commit_callbacks() as callbacks:
        signups_clean(now=now)
    assert callbacks == []  # not queued again before FANOUT_SIGNUP_STUCK_S


def test_signup_tasks_are_configured_and_the_cleanup_runs_hourly_in_the_public_schema():
    for task in (tasks.signup_email_send, tasks.signup_provision, tasks.signups_clean):
        assert task.name.startswith("sellers.") and task.acks_late is True and 0 < task.soft_time_limit < task.time_limit
    entry = app.conf.beat_schedule["sellers.signups_clean"]
    assert entry["task"] == "sellers.signups_clean" and entry["tenant_schemas"] == ["public"]
    assert entry["schedule"].minute == {35} and len(entry["schedule"].hour) == 24


def test_public_site_landing_and_signup_pages_render(db):
    client = Client(HTTP_HOST="localhost")
    landing = client.get("/")
    assert landing.status_code == 200 and "Create your seller account" in landing.content.decode()
    form = client.get("/signup/")
    assert form.status_code == 200 and "name=\"subdomain\"" in form.content.decode() and 'name="password"' not in form.content.decode()


def test_unknown_seller_host_is_not_found(db):
    assert Client(HTTP_HOST="nobody.localhost").get("/login/").status_code == 404


def test_platform_admin_lists_sellers_but_seller_admin_does_not(alpha):
    with schema_context("public"):
        admin = User.objects.create_superuser("root@platform.test", PASSWORD)
    platform = Client(HTTP_HOST="localhost")
    platform.force_login(admin, backend="django.contrib.auth.backends.ModelBackend")
    page = platform.get("/admin/sellers/seller/")
    assert page.status_code == 200 and "Alpha Goods" in page.content.decode() and "Beta Beauty" in page.content.decode()

    from tests.support import client_for

    with tenant_context(alpha):
        owner = User.objects.get(email="owner@alpha.test")
    seller_site = client_for(alpha, owner)
    assert seller_site.get("/admin/").status_code == 200
    assert seller_site.get("/admin/sellers/seller/").status_code == 404
    assert "Beta Beauty" not in seller_site.get("/admin/").content.decode()
