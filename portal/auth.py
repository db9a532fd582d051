"""Portal sign-in, kept apart from staff sign-in.

- A creator's session holds `_portal_account` (and a hash of their password), never Django's
  staff user key: staff pages (LoginRequiredMiddleware, module permissions, admin) see an
  anonymous user, and a staff session carries no portal account, so it does not open the portal.
- Every portal view is wrapped in `portal_view`: exempt from the staff login redirect, it sends a
  visitor without a portal account to the portal's own login page.
- Failed sign-ins are counted by django-axes like staff ones (username "portal:<email>"), so the
  same lockout rule applies.
- Invitation links are signed (account, schema); reset links use Django's token generator
  over the account's password hash and last sign-in, so each works once.
"""
from functools import wraps
from urllib.parse import quote, urlsplit

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.signals import user_login_failed
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core import signing
from django.db import connection
from django.shortcuts import redirect
from django.utils import timezone, translation

from erp.l10n import seller_time_zone
from portal.models import CreatorAccount

SESSION_KEY = "_portal_account"
HASH_KEY = "_portal_hash"
INVITE_SALT = "fanout.portal.invite"


def axes_credentials(email: str) -> dict:
    return {"username": f"portal:{email.strip().lower()}"}


def account_of(request) -> CreatorAccount | None:
    """The signed-in creator account of this request, or None (cached on the request)."""
    if hasattr(request, "_portal_account_cache"):
        return request._portal_account_cache
    account = None
    account_id = request.session.get(SESSION_KEY)
    if account_id:
        account = CreatorAccount.objects.select_related("creator").filter(pk=account_id).first()
        if account is None or not account.can_sign_in or request.session.get(HASH_KEY) != account.session_hash():
            account = None
            request.session.pop(SESSION_KEY, None)
            request.session.pop(HASH_KEY, None)
    request._portal_account_cache = account
    return account


def sign_in(request, account: CreatorAccount) -> None:
    request.session.cycle_key()  # no session fixation
    request.session[SESSION_KEY] = account.pk
    request.session[HASH_KEY] = account.session_hash()
    account.last_login = timezone.now()
    account.save(update_fields=["last_login"])
    request._portal_account_cache = account


def sign_out(request) -> None:
    for key in (SESSION_KEY, HASH_KEY, "_portal_cart"):
        request.session.pop(key, None)
    request.session.cycle_key()
    request._portal_account_cache = None


def record_failure(request, email: str) -> None:
    user_login_failed.send(sender=__name__, credentials=axes_credentials(email), request=request)


NAV = {"dashboard": "home", "orders": "orders", "order": "orders", "commissions": "commissions", "statements": "statements",
       "statement": "statements", "shop": "shop", "cart": "shop", "inbox": "inbox"}


def _portal_request(request) -> None:
    """The portal speaks English and shows times in the seller's time zone."""
    translation.activate("en")
    request.LANGUAGE_CODE = "en"
    timezone.activate(seller_time_zone())
    match = getattr(request, "resolver_match", None)
    request.portal_nav = NAV.get(match.url_name if match else "", "")
    request.portal_account = None


def portal_view(view):
    """A portal page: a signed-in creator account, else the portal login (never the staff one)."""

    @login_not_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        _portal_request(request)
        account = account_of(request)
        if account is None:
            return redirect(f"/portal/login/?next={quote(request.path)}")
        request.portal_account = account
        request.portal_unread = account.notifications.filter(read_at__isnull=True).count()
        return view(request, *args, **kwargs)

    return wrapped


def portal_public(view):
    """A portal page for visitors (login, invitation, password reset)."""

    @login_not_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        _portal_request(request)
        return view(request, *args, **kwargs)

    return wrapped


def invite_token(account: CreatorAccount) -> str:
    return signing.dumps({"a": account.pk, "s": connection.schema_name, "t": account.invited_at.timestamp()}, salt=INVITE_SALT, compress=True)


def account_from_invite(token: str) -> CreatorAccount | None:
    """The account a still-pending invitation link stands for, in this seller's schema."""
    try:
        payload = signing.loads(token, salt=INVITE_SALT, max_age=settings.PORTAL_INVITE_DAYS * 24 * 3600)
    except signing.BadSignature:
        return None
    if payload.get("s") != connection.schema_name:
        return None
    account = CreatorAccount.objects.select_related("creator").filter(pk=payload.get("a")).first()
    # A newer invitation (invited_at moved on) replaces older links; an accepted one is used up.
    if account is None or account.accepted_at is not None or not account.is_active or account.invited_at.timestamp() != payload.get("t"):
        return None
    return account


class _ResetTokens(PasswordResetTokenGenerator):
    key_salt = "fanout.portal.reset"

    def _make_hash_value(self, account, timestamp):
        last = "" if account.last_login is None else account.last_login.replace(microsecond=0, tzinfo=None)
        return f"{connection.schema_name}{account.pk}{account.password}{last}{timestamp}{account.email}"


reset_tokens = _ResetTokens()


def login_redirect_target(request, fallback: str = "/portal/") -> str:
    """Only a portal page of this site may be the `next` after sign-in."""
    from erp.redirects import safe_next

    target = safe_next(request, fallback=fallback, within="/portal/")
    return fallback if urlsplit(target).path == "/portal/login/" else target  # no loop back to the sign-in page

