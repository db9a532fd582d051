from datetime import timedelta

from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client, RequestFactory
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.modules import Role
from erp.throttle import client_ip
from tests.support import PASSWORD, client_for, make_user


def test_login_locks_out_after_repeated_failures(alpha):
    user = make_user(alpha, role=Role.OPERATIONS, email="typo@alpha.test")
    client = client_for(alpha)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post("/login/", {"username": user.email, "password": "wrong-password"})
        assert response.status_code == 200 and "correct email and password" in response.content.decode()

    locked = client.post("/login/", {"username": user.email, "password": "wrong-password"})
    assert locked.status_code == 429
    assert "Too many failed sign-in attempts" in locked.content.decode()

    # Even the right password is refused while locked out.
    still = client.post("/login/", {"username": user.email, "password": PASSWORD})
    assert still.status_code == 429
    assert client.get("/").status_code == 302


def test_lockout_of_one_user_does_not_block_another(alpha):
    victim = make_user(alpha, role=Role.OPERATIONS, email="victim@alpha.test")
    other = make_user(alpha, role=Role.OPERATIONS, email="other@alpha.test")
    client = client_for(alpha)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/login/", {"username": victim.email, "password": "nope-nope"})
    ok = client.post("/login/", {"username": other.email, "password": PASSWORD})
    assert ok.status_code == 302 and ok["Location"] == "/"


def test_login_succeeds_and_lands_on_dashboard(alpha):
    user = make_user(alpha, role=Role.ANALYST, email="ana@alpha.test")
    client = client_for(alpha)
    response = client.post("/login/", {"username": "ANA@alpha.test", "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == "/"
    assert "Hello, Analyst" in response.content.decode()
    assert user.email == "ana@alpha.test"


def _from(seller, address: str | None = None) -> Client:
    """A browser on the seller's site; `address`: its own address as our proxy (127.0.0.1) reports it."""
    extra = {"HTTP_X_FORWARDED_FOR": address} if address else {}
    return Client(HTTP_HOST=f"{seller.subdomain}.localhost", **extra)


def test_the_client_address_comes_from_x_forwarded_for_only_through_a_trusted_proxy(settings):
    rf = RequestFactory()
    spoofed = rf.get("/", REMOTE_ADDR="198.51.100.20", HTTP_X_FORWARDED_FOR="10.9.9.9")
    settings.FANOUT_TRUSTED_PROXIES = []
    assert client_ip(spoofed) == "198.51.100.20"  # no proxy configured: the header is the client's own word
    settings.FANOUT_TRUSTED_PROXIES = ["127.0.0.1", "10.0.0.0/8"]
    assert client_ip(spoofed) == "198.51.100.20"  # not from a proxy of ours
    # Through two of our proxies: the nearest address that is not ours, whatever the client prepended.
    chain = rf.get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.9, 10.1.2.3")
    assert client_ip(chain) == "203.0.113.9"
    assert client_ip(rf.get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="unknown")) == "127.0.0.1"
    assert client_ip(rf.get("/", REMOTE_ADDR="127.0.0.1")) == "127.0.0.1"


def _at(seller, address: str) -> Client:
    """A browser connecting from `address` itself (no proxy)."""
    return Client(HTTP_HOST=f"{seller.subdomain}.localhost", REMOTE_ADDR=address)


def test_a_locked_account_is_locked_from_every_address_and_says_so_clearly(alpha, settings):
    user = make_user(alpha, role=Role.FINANCE, email="fin.locked@alpha.test")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _at(alpha, "203.0.113.9").post("/login/", {"username": user.email, "password": "guess-guess"})
    # The owner of the account, elsewhere, with the right password: refused, and told why and for how long.
    page = _at(alpha, "198.51.100.7").post("/login/", {"username": user.email.upper(), "password": PASSWORD})
    text = page.content.decode()
    assert page.status_code == 429 and "Too many failed sign-in attempts" in text
    assert "paused for about 15 minutes" in text and 'href="/password-reset/"' in text and page["Retry-After"] == "900"
    # The seller admin's sign-in is the same account.
    assert _at(alpha, "198.51.100.7").post("/admin/login/", {"username": user.email, "password": PASSWORD}).status_code == 429
    # After the cool-off it works again.
    with tenant_context(alpha):
        AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert _at(alpha, "198.51.100.7").post("/login/", {"username": user.email, "password": PASSWORD}).status_code == 302


def test_capitalisation_does_not_buy_more_guesses(alpha):
    user = make_user(alpha, role=Role.FINANCE, email="caps@alpha.test")
    client = client_for(alpha)
    for n in range(settings.AXES_FAILURE_LIMIT):
        client.post("/login/", {"username": user.email.upper() if n % 2 else f" {user.email.title()} ", "password": "guess-guess"})
    assert client.post("/login/", {"username": user.email, "password": PASSWORD}).status_code == 429


def test_a_password_reset_ends_the_lockout(alpha):
    import re

    from django.core import mail

    user = make_user(alpha, role=Role.FINANCE, email="forgot@alpha.test")
    client = client_for(alpha)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/login/", {"username": user.email, "password": "guess-guess"})
    client.post("/password-reset/", {"email": user.email})
    link = re.search(r"(/password-reset/[^\s]+/)", mail.outbox[-1].body).group(1)
    form = client.get(link, follow=True)
    new = "Fresh-start-2027"
    client.post(form.redirect_chain[-1][0], {"new_password1": new, "new_password2": new})
    assert client.post("/login/", {"username": user.email, "password": new}).status_code == 302


def test_spraying_one_password_across_accounts_from_one_address_is_stopped(alpha, settings):
    settings.FANOUT_SIGNIN_FAILURES_PER_IP = 8
    user = make_user(alpha, role=Role.OWNER, email="boss@alpha.test")
    attacker = client_for(alpha)
    for n in range(8):  # one guess per account: no account comes near its own lock
        answer = attacker.post("/login/", {"username": f"person{n}@alpha.test", "password": "Summer2026!"})
        assert answer.status_code == 200
    refused = attacker.post("/login/", {"username": user.email, "password": PASSWORD})
    text = refused.content.decode()
    assert refused.status_code == 429 and "Too many failed sign-ins from your network" in text and "about 15 minutes" in text
    # Made-up X-Forwarded-For headers do not make the attacker someone else (no trusted proxy).
    assert _from(alpha, "192.0.2.77").post("/login/", {"username": user.email, "password": PASSWORD}).status_code == 429
    assert _from(alpha).post("/admin/login/", {"username": user.email, "password": PASSWORD}).status_code == 429


def test_behind_a_proxy_one_persons_spraying_does_not_lock_out_the_others(alpha, settings):
    settings.FANOUT_TRUSTED_PROXIES = ["127.0.0.1"]  # every request below comes through our proxy
    settings.FANOUT_SIGNIN_FAILURES_PER_IP = 8
    colleague = make_user(alpha, role=Role.OPERATIONS, email="colleague@alpha.test")
    attacker = _from(alpha, "203.0.113.9")
    for n in range(8):
        attacker.post("/login/", {"username": f"person{n}@alpha.test", "password": "Summer2026!"})
    assert attacker.post("/login/", {"username": colleague.email, "password": PASSWORD}).status_code == 429
    # Everyone else behind the same proxy signs in as usual.
    assert _from(alpha, "198.51.100.7").post("/login/", {"username": colleague.email, "password": PASSWORD}).status_code == 302
    for n in range(3):  # and their own typos count against them alone
        _from(alpha, f"198.51.100.{n + 10}").post("/login/", {"username": f"typo{n}@alpha.test", "password": "oops-oops"})
    assert _from(alpha, "198.51.100.8").post("/login/", {"username": colleague.email, "password": PASSWORD}).status_code == 302


def test_the_only_silenced_check_is_axes_wanting_the_address_in_the_lock_key():
    """Accounts lock whatever the address (axes.W006 would have the address in the key); the
    address limit across accounts is accounts.signin's and is tested above."""
    assert settings.SILENCED_SYSTEM_CHECKS == ["axes.W006"] and settings.AXES_LOCKOUT_PARAMETERS == ["username"]
