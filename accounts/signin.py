"""Sign-in and password-reset guards for staff (site, seller admin, platform admin) and the creator
portal, in one place.

- Wrong passwords lock the account, whoever sends them from wherever (django-axes keyed on the
  username alone), for AXES_COOLOFF_TIME after the last one. Signing in or a password reset ends it.
- Password spraying: one client address (erp.throttle.client_ip, so X-Forwarded-For counts only
  through a trusted proxy) with FANOUT_SIGNIN_FAILURES_PER_IP failed sign-ins across any accounts
  within the same cool-off may not sign in at all until it passes. Counted from axes' own rows.
- Password-reset emails: at most FANOUT_RESET_LIMIT_PER_ADDRESS requests per address and
  FANOUT_RESET_LIMIT_PER_IP per client address an hour; the answer is the same whether or not an
  account has the address.
Each refusal is a clear page (429, Retry-After) saying what happened and when to try again.
"""
from __future__ import annotations

import math
from datetime import timedelta

from axes.backends import AxesStandaloneBackend
from axes.exceptions import AxesBackendPermissionDenied
from axes.helpers import get_client_ip_address, get_client_username, get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Max, Sum
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from erp.throttle import client_ip, throttle_hit

PORTAL_PREFIX = "portal:"
RESET_WINDOW_S = 3600


def _cool_off(request) -> timedelta:
    return get_cool_off(request) or timedelta(minutes=15)


def _minutes_left(last, request) -> int:
    if last is None:
        return math.ceil(_cool_off(request).total_seconds() / 60)
    return max(1, math.ceil((last + _cool_off(request) - timezone.now()).total_seconds() / 60))


def _recent_failures(request, **match):
    since = timezone.now() - _cool_off(request)
    return AccessAttempt.objects.filter(attempt_time__gte=since, **match).aggregate(n=Sum("failures_since_start"), last=Max("attempt_time"))


def signin_username(request, credentials=None) -> str | None:
    """The account a sign-in attempt is for, as axes counts it (AXES_USERNAME_CALLABLE): trimmed and
    lower-cased, since sign-in ignores case ("Ana@" and "ana@" are one account, one lock)."""
    if credentials:
        username = credentials.get(settings.AXES_USERNAME_FORM_FIELD)
    else:
        username = getattr(request, "data", request.POST).get(settings.AXES_USERNAME_FORM_FIELD)
    return username.strip().lower()[:255] if isinstance(username, str) else username


def signin_failures_clear(*, username: str) -> None:
    """A password reset (staff or portal) ends the account's lockout."""
    from axes.handlers.proxy import AxesProxyHandler

    AxesProxyHandler.reset_attempts(username=username.strip().lower())


def signin_ip_blocked(request) -> bool:
    """Whether this client address failed to sign in too often across accounts (spraying)."""
    ip = get_client_ip_address(request)
    if not ip:
        return False
    return (_recent_failures(request, ip_address=ip)["n"] or 0) >= settings.FANOUT_SIGNIN_FAILURES_PER_IP


class SigninGuardBackend(AxesStandaloneBackend):
    """First of AUTHENTICATION_BACKENDS: refuses a sprayed-from address, then axes' account lockout."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is not None and settings.AXES_ENABLED and signin_ip_blocked(request):
            request.fanout_signin_refused = "network"
            request.axes_locked_out = True  # AxesMiddleware answers with signin_locked_response
            raise AxesBackendPermissionDenied("too many failed sign-ins from this address")
        return super().authenticate(request, username=username, password=password, **kwargs)


def _link(name: str, label: str) -> list[tuple[str, str]]:
    try:
        return [(reverse(name), label)]
    except NoReverseMatch:  # the platform admin's login has no reset page
        return []


def too_many_response(request, *, portal: bool, title: str, message: str, links: list, minutes: int):
    response = render(request, "accounts/too_many.html", {
        "base_template": "portal/auth_base.html" if portal else "accounts/auth_base.html",
        "title": title, "message": message, "links": links}, status=429)
    response["Retry-After"] = str(minutes * 60)
    return response


def signin_locked_response(request, original_response=None, credentials=None):
    """The page for a refused sign-in (AXES_LOCKOUT_CALLABLE; the portal calls it too)."""
    username = get_client_username(request, credentials) or ""
    portal = username.startswith(PORTAL_PREFIX) or request.path.startswith("/portal/")
    back = _link("portal:login" if portal else "accounts:login", _("Back to sign in"))
    if getattr(request, "fanout_signin_refused", "") == "network" or (not username and signin_ip_blocked(request)):
        minutes = _minutes_left(_recent_failures(request, ip_address=get_client_ip_address(request))["last"], request)
        return too_many_response(request, portal=portal, title=_("Too many failed sign-ins from your network"), minutes=minutes, links=back,
                                 message=_("Sign-in from your network is paused for about %(minutes)s minutes after many wrong passwords "
                                           "for different accounts. Try again then.") % {"minutes": minutes})
    minutes = _minutes_left(_recent_failures(request, username=username)["last"], request)
    reset = _link("portal:reset" if portal else "accounts:password_reset", _("Reset your password"))
    return too_many_response(request, portal=portal, title=_("Too many failed sign-in attempts"), minutes=minutes, links=reset + back,
                             message=_("Sign-in to this account is paused for about %(minutes)s minutes after too many wrong passwords. "
                                       "Try again then, or reset your password.") % {"minutes": minutes})


def password_reset_throttle(request, *, email: str, portal: bool):
    """None when this reset request may go ahead, else the page to answer with. Every request
    counts, for any address, so the answer never tells whether an account has it."""
    area = "portal" if portal else "staff"
    waits = [throttle_hit(scope=f"reset-address-{area}", key=email, limit=settings.FANOUT_RESET_LIMIT_PER_ADDRESS, window_s=RESET_WINDOW_S),
             throttle_hit(scope="reset-ip", key=client_ip(request), limit=settings.FANOUT_RESET_LIMIT_PER_IP, window_s=RESET_WINDOW_S)]
    wait = max((w for w in waits if w), default=None)
    if wait is None:
        return None
    minutes = math.ceil(wait / 60)
    return too_many_response(
        request, portal=portal, title=_("Too many reset requests"), minutes=minutes,
        links=_link("portal:login" if portal else "accounts:login", _("Back to sign in")),
        message=_("Too many password reset emails were asked for this address or from your network. Links already sent still work; "
                  "you can ask for a new one in about %(minutes)s minutes.") % {"minutes": minutes})
