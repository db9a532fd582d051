"""Sign-up on the public site, in three steps, none of which makes a request wait for a schema:

1. `signup_request_create`: the form. Throttled per address and per client IP (nothing is written
   when refused); writes a SignupRequest holding the subdomain and emails a confirmation link
   (a task, after commit).
2. `signup_confirm`: the owner opens the link and chooses a password. Only now is anything
   provisioned: the request becomes "provisioning" and a task creates the seller
   (`signup_provision`, ~1 s with the schema template). A person who did not sign up never gets an
   account in their name by someone else's doing, and nobody else chooses its password.
3. `signup_handoff`: the browser that confirmed follows the progress page until the site is ready,
   then is signed in on it, once.

`signups_clean` (periodic) deletes requests never confirmed within FANOUT_SIGNUP_VERIFY_HOURS and
failed ones after as long, and queues again provisioning that a lost task left waiting.
"""
from __future__ import annotations

import ipaddress
import logging
import secrets
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core import signing
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context, tenant_context

from accounts.models import User
from accounts.services import login_link_create, supported_language, valid_time_zone
from sellers.exceptions import SignupError, SignupLinkInvalid, SignupThrottled
from sellers.models import SignupRequest, SignupStatus
from sellers.services.provisioning import seller_signup, signup_validate

logger = logging.getLogger(__name__)
_SALT = "fanout.signup.confirm"
OPEN = (SignupStatus.PENDING, SignupStatus.PROVISIONING)


# --- 1. The form ---------------------------------------------------------------------------------

def _throttle_hit(*, owner_email: str, ip: str | None) -> None:
    """Count this sign-up against its address and its client IP (erp.throttle, the one counter); raise
    SignupThrottled past either limit within FANOUT_SIGNUP_WINDOW_S. Counted in Redis, so a refused
    attempt writes nothing to the database."""
    from erp.throttle import throttle_hit

    window = settings.FANOUT_SIGNUP_WINDOW_S
    limits = [("signup-address", owner_email, settings.FANOUT_SIGNUP_PER_ADDRESS, "address")]
    if ip:
        limits.append(("signup-ip", ip, settings.FANOUT_SIGNUP_PER_IP, "ip"))
    with schema_context("public"):
        over = [which for scope, key, limit, which in limits if throttle_hit(scope=scope, key=key, limit=limit, window_s=window)]
    if over:
        logger.info("sign-up throttled (%s)", ", ".join(over))
        raise SignupThrottled(minutes=max(1, round(window / 60)), by_address="address" in over)


def signup_expiry():
    """Sign-ups created before this were not confirmed in time."""
    return timezone.now() - timedelta(hours=settings.FANOUT_SIGNUP_VERIFY_HOURS)


def _valid_ip(ip: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address(ip)) if ip else None
    except ValueError:
        return None


def signup_request_create(*, company_name: str, subdomain: str, owner_email: str, time_zone: str = "", base_currency: str = "",
                          owner_language: str = "", owner_time_zone: str = "", ip: str | None = None) -> SignupRequest:
    """Hold `subdomain` for `owner_email` and email a confirmation link. The same address signing up
    again for the same subdomain gets a new link (the old one stops working). Raises
    SignupThrottled (nothing written) or SignupError (field -> messages)."""
    subdomain = subdomain.strip().lower()
    owner_email = owner_email.strip().lower()
    company_name = company_name.strip()
    with schema_context("public"):
        errors = signup_validate(company_name=company_name, subdomain=subdomain, owner_email=owner_email, password=None,
                                 open_signups_of=owner_email)
        if errors:
            raise SignupError(errors)
        _throttle_hit(owner_email=owner_email, ip=ip)  # counts the sign-ups that would send an email
        fields = {
            "company_name": company_name, "owner_email": owner_email,
            "time_zone": valid_time_zone(time_zone) or settings.FANOUT_DEFAULT_BUSINESS_TIME_ZONE,
            "base_currency": base_currency if base_currency in settings.CURRENCIES else settings.DEFAULT_CURRENCY,
            "owner_language": supported_language(owner_language), "owner_time_zone": valid_time_zone(owner_time_zone),
            "ip": _valid_ip(ip), "nonce": secrets.token_hex(16), "created_at": timezone.now(), "email_sent_at": None,
        }
        try:
            with transaction.atomic():
                # An expired sign-up of another address holds the subdomain no longer (signups_clean deletes it later anyway).
                SignupRequest.objects.filter(subdomain=subdomain, status=SignupStatus.PENDING, created_at__lt=signup_expiry()).exclude(
                    owner_email=owner_email).delete()
                signup = SignupRequest.objects.select_for_update().filter(subdomain=subdomain, status=SignupStatus.PENDING,
                                                                          owner_email=owner_email).first()
                if signup is None:
                    signup = SignupRequest.objects.create(subdomain=subdomain, **fields)
                else:
                    for name, value in fields.items():
                        setattr(signup, name, value)
                    signup.save()
                from sellers.tasks import signup_email_send

                transaction.on_commit(partial(signup_email_send.delay, signup.pk))
        except IntegrityError as exc:  # another address took the subdomain a moment ago
            raise SignupError({"subdomain": [_("This subdomain is already taken.")]}) from exc
    logger.info("sign-up for %s waits for its email address to be confirmed", subdomain)
    return signup


def signup_token(*, signup: SignupRequest) -> str:
    return signing.dumps({"r": signup.pk, "n": signup.nonce}, salt=_SALT, compress=True)


def signup_email_send(*, signup_id: int) -> bool:
    """Email the confirmation link once (claimed with a conditional update, so a redelivered task
    sends nothing). Links are built from FANOUT_SITE_URL, never from a request's Host header."""
    with schema_context("public"):
        claimed = SignupRequest.objects.filter(pk=signup_id, status=SignupStatus.PENDING, email_sent_at__isnull=True
                                               ).update(email_sent_at=timezone.now())
        if not claimed:
            return False
        signup = SignupRequest.objects.get(pk=signup_id)
        link = f"{settings.FANOUT_SITE_URL.rstrip('/')}/signup/confirm/{signup_token(signup=signup)}/"
        context = {"signup": signup, "link": link, "hours": settings.FANOUT_SIGNUP_VERIFY_HOURS,
                   "site": f"{signup.subdomain}.{settings.FANOUT_BASE_DOMAIN}"}
        try:
            with translation.override(signup.owner_language or "en"):
                send_mail(subject=_("Confirm your email to create your Fanout seller site"),
                          message=render_to_string("sellers/email/signup_confirm.txt", context),
                          from_email=None, recipient_list=[signup.owner_email])
        except Exception:
            SignupRequest.objects.filter(pk=signup_id).update(email_sent_at=None)  # the task's retry sends it
            raise
    return True


# --- 2. The emailed link ---------------------------------------------------------------------------

def signup_from_token(*, token: str) -> SignupRequest:
    """The sign-up a confirmation link stands for. Raises SignupLinkInvalid (with the reason)."""
    try:
        payload = signing.loads(token, salt=_SALT, max_age=timedelta(hours=settings.FANOUT_SIGNUP_VERIFY_HOURS))
    except signing.SignatureExpired as exc:
        raise SignupLinkInvalid(_("This link has expired. Please sign up again.")) from exc
    except signing.BadSignature as exc:
        raise SignupLinkInvalid(_("This link is not valid. Please sign up again.")) from exc
    with schema_context("public"):
        signup = SignupRequest.objects.filter(pk=payload.get("r")).first()
    if signup is None:
        raise SignupLinkInvalid(_("This sign-up has expired. Please sign up again."))
    if signup.status != SignupStatus.PENDING:
        raise SignupLinkInvalid(_("This link was already used. Sign in on your seller site instead."))
    if not secrets.compare_digest(signup.nonce, str(payload.get("n", ""))):
        raise SignupLinkInvalid(_("A newer link was sent for this sign-up: please use the latest email."))
    return signup


def signup_confirm(*, token: str, password: str) -> SignupRequest:
    """The owner confirmed the address and chose a password: the seller is created in the
    background (`signup_provision`). Raises SignupLinkInvalid, or ValidationError for a weak password."""
    signup = signup_from_token(token=token)
    validate_password(password, user=User(email=signup.owner_email, full_name=signup.company_name))
    with schema_context("public"), transaction.atomic():
        now = timezone.now()
        claimed = SignupRequest.objects.filter(pk=signup.pk, status=SignupStatus.PENDING, nonce=signup.nonce).update(
            status=SignupStatus.PROVISIONING, verified_at=now, password=make_password(password))
        if not claimed:
            raise SignupLinkInvalid(_("This link was already used. Sign in on your seller site instead."))
        from sellers.tasks import signup_provision

        transaction.on_commit(partial(signup_provision.delay, signup.pk))
        signup.refresh_from_db()
    logger.info("sign-up for %s confirmed; provisioning", signup.subdomain)
    return signup


def signup_provision(*, signup_id: int) -> SignupRequest:
    """Create the seller of a confirmed sign-up. Safe to run twice (the request row is locked and
    only a "provisioning" one is worked on). A refusal (the subdomain was taken meanwhile) marks it
    failed with the reason; other errors propagate for the task's retry."""
    with schema_context("public"):
        SignupRequest.objects.filter(pk=signup_id, status=SignupStatus.PROVISIONING).update(provisioning_started_at=timezone.now())
        try:
            with transaction.atomic():
                signup = SignupRequest.objects.select_for_update().get(pk=signup_id)
                if signup.status != SignupStatus.PROVISIONING:
                    return signup
                result = seller_signup(company_name=signup.company_name, subdomain=signup.subdomain, owner_email=signup.owner_email,
                                       password_hash=signup.password, time_zone=signup.time_zone, base_currency=signup.base_currency,
                                       owner_language=signup.owner_language, owner_time_zone=signup.owner_time_zone, signup_id=signup.pk)
                signup.status, signup.seller, signup.password, signup.finished_at = SignupStatus.READY, result.seller, "", timezone.now()
                signup.save(update_fields=["status", "seller", "password", "finished_at"])
        except SignupError as exc:
            reason = " ".join(m for messages in exc.errors.values() for m in messages)
            signup_fail(signup_id=signup_id, reason=reason)
        return SignupRequest.objects.get(pk=signup_id)


def signup_fail(*, signup_id: int, reason: str) -> None:
    """Provisioning gave up: the request says why (the progress page shows it) and frees the subdomain."""
    with schema_context("public"):
        SignupRequest.objects.filter(pk=signup_id, status=SignupStatus.PROVISIONING).update(
            status=SignupStatus.FAILED, error=reason[:500], password="", finished_at=timezone.now())
    logger.warning("sign-up %s failed: %s", signup_id, reason)


# --- 3. Hand-off ---------------------------------------------------------------------------------

def signup_handoff(*, signup_id: int) -> str | None:
    """A one-time sign-in token for the new seller's Owner, the first time the ready sign-up is
    handed off; None afterwards (or before it is ready)."""
    with schema_context("public"):
        claimed = SignupRequest.objects.filter(pk=signup_id, status=SignupStatus.READY, handed_off_at__isnull=True,
                                               seller__isnull=False).update(handed_off_at=timezone.now())
        if not claimed:
            return None
        signup = SignupRequest.objects.select_related("seller").get(pk=signup_id)
    with tenant_context(signup.seller):
        owner = User.objects.get(email=signup.owner_email)
        return login_link_create(user=owner, schema_name=signup.seller.schema_name)


# --- Cleanup -------------------------------------------------------------------------------------

def signups_clean(*, now=None) -> dict[str, int]:
    """Delete sign-ups never confirmed within FANOUT_SIGNUP_VERIFY_HOURS, and failed ones as long
    after they failed (their subdomain was freed when they failed); queue again, at most once per
    FANOUT_SIGNUP_STUCK_S, provisioning that waits longer than that (its task was lost). A
    provisioning that fails leaves no seller, domain or schema: it is one transaction."""
    from erp.celery import resume_due
    from sellers.tasks import signup_provision

    now = now or timezone.now()
    keep = timedelta(hours=settings.FANOUT_SIGNUP_VERIFY_HOURS)
    stuck = now - timedelta(seconds=settings.FANOUT_SIGNUP_STUCK_S)
    with schema_context("public"):
        unconfirmed, _detail = SignupRequest.objects.filter(status=SignupStatus.PENDING, created_at__lt=now - keep).delete()
        failed, _detail = SignupRequest.objects.filter(status=SignupStatus.FAILED, finished_at__lt=now - keep).delete()
        for signup_id in SignupRequest.objects.filter(status=SignupStatus.PROVISIONING, verified_at__lt=now - keep).values_list("pk", flat=True):
            signup_fail(signup_id=signup_id, reason=_("Creating your site did not finish. Please sign up again."))
        lost = resume_due("signup", list(SignupRequest.objects.filter(status=SignupStatus.PROVISIONING, verified_at__lt=stuck)
                                         .values_list("pk", flat=True)), after_s=settings.FANOUT_SIGNUP_STUCK_S)
        for signup_id in lost:
            transaction.on_commit(partial(signup_provision.delay, signup_id))
        resumed = len(lost)
    if unconfirmed or failed or resumed:
        logger.info("sign-ups cleaned: %s unconfirmed and %s failed deleted, %s queued again", unconfirmed, failed, resumed)
    return {"unconfirmed_deleted": unconfirmed, "failed_deleted": failed, "provisioning_resumed": resumed}
