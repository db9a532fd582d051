import re

from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context, tenant_context

from accounts.modules import Role
from erp.tenancy import seller_site_url
from sellers.models import Seller
from tests.support import PASSWORD, client_for, make_user


def test_staff_resets_a_forgotten_password_by_email(alpha):
    user = make_user(alpha, role=Role.FINANCE)
    client = client_for(alpha)
    sent = client.post("/password-reset/", {"email": user.email.upper()}, follow=True)
    assert "Check your email" in sent.content.decode()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [user.email]
    link = re.search(re.escape(seller_site_url(schema_name=alpha.schema_name)) + r"(/password-reset/[^\s]+/)", mail.outbox[0].body).group(1)

    form = client.get(link, follow=True)
    assert "Choose a new password" in form.content.decode()
    new_password = "Brand-new-secret-77"
    done = client.post(form.redirect_chain[-1][0], {"new_password1": new_password, "new_password2": new_password}, follow=True)
    assert "Password changed" in done.content.decode()
    assert client.post("/login/", {"username": user.email, "password": new_password}).status_code == 302
    # The link is single-use.
    assert "invalid or was already used" in client_for(alpha).get(link, follow=True).content.decode()


def test_password_reset_for_an_unknown_email_says_the_same_and_sends_nothing(alpha):
    response = client_for(alpha).post("/password-reset/", {"email": "owner@beta.test"}, follow=True)
    assert "Check your email" in response.content.decode()
    assert mail.outbox == []


def test_staff_changes_their_password(alpha):
    user = make_user(alpha, role=Role.ANALYST)
    client = client_for(alpha, user)
    wrong = client.post("/account/password/", {"old_password": "nope", "new_password1": "Another-pass-88", "new_password2": "Another-pass-88"})
    assert "Your old password was entered incorrectly" in wrong.content.decode()
    ok = client.post("/account/password/", {"old_password": PASSWORD, "new_password1": "Another-pass-88", "new_password2": "Another-pass-88"}, follow=True)
    assert "Your new password is in use" in ok.content.decode()
    with tenant_context(alpha):
        user.refresh_from_db()
        assert user.check_password("Another-pass-88")


def test_suspended_seller_site_is_closed_until_reactivated(alpha):
    owner = make_user(alpha, role=Role.OWNER)
    client = client_for(alpha, owner)
    with schema_context("public"):
        Seller.objects.filter(pk=alpha.pk).update(is_active=False)
    for path in ("/", "/login/", "/admin/", "/orders/"):
        response = client.get(path)
        assert response.status_code == 403 and "suspended" in response.content.decode(), path
    with schema_context("public"):
        Seller.objects.filter(pk=alpha.pk).update(is_active=True)
    assert client.get("/").status_code == 200


def test_a_host_name_is_looked_up_once_within_the_tenant_cache_time(alpha, settings):
    from erp.middleware import CachedTenantMiddleware

    settings.FANOUT_TENANT_CACHE_S = 60
    CachedTenantMiddleware._cache.clear()
    client = client_for(alpha, make_user(alpha, role=Role.OWNER))
    client.get("/")
    with CaptureQueriesContext(connection) as cached:
        assert client.get("/").status_code == 200
    settings.FANOUT_TENANT_CACHE_S = 0
    with CaptureQueriesContext(connection) as uncached:
        assert client.get("/").status_code == 200
    assert len(uncached.captured_queries) == len(cached.captured_queries) + 2  # SET search_path to public, and the domain
    assert not any("tenants_domain" in q["sql"] or "sellers_domain" in q["sql"] for q in cached.captured_queries)
    CachedTenantMiddleware._cache.clear()


def _reset(client, email):
    return client.post("/password-reset/", {"email": email})


def test_reset_requests_are_throttled_per_address_with_the_same_answer_for_any_address(alpha, settings):
    settings.FANOUT_RESET_LIMIT_PER_ADDRESS = 3
    user = make_user(alpha, role=Role.FINANCE)
    for email in (user.email, "nobody.here@alpha.test"):
        client = client_for(alpha)
        for _ in range(3):
            assert _reset(client, email).status_code == 302
        refused = [_reset(client_for(alpha), email.upper()) for _ in range(2)]
        for answer in refused:
            text = answer.content.decode()
            assert answer.status_code == 429 and "Too many reset requests" in text and "Links already sent still work" in text
    assert len(mail.outbox) == 3  # the real account's three; nothing for the made-up address, nothing once throttled
    # Whether an account exists does not show: both refusals read the same.
    assert "nobody.here" not in text and user.email not in text


def test_reset_requests_are_throttled_per_address_of_the_requester(alpha, settings):
    settings.FANOUT_RESET_LIMIT_PER_IP = 4
    for n in range(4):
        assert _reset(client_for(alpha), f"someone{n}@alpha.test").status_code == 302
    assert _reset(client_for(alpha), "someone.else@alpha.test").status_code == 429
    from django.test import Client

    elsewhere = Client(HTTP_HOST="alpha.localhost", REMOTE_ADDR="198.51.100.40")
    assert _reset(elsewhere, "someone.else@alpha.test").status_code == 302
