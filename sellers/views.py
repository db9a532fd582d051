from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from erp.tenancy import tenant_site_url
from erp.throttle import client_ip
from sellers.exceptions import SignupError, SignupLinkInvalid, SignupThrottled
from sellers.forms import SignupConfirmForm, SignupForm
from sellers.models import SignupStatus
from sellers.selectors import signup_get
from sellers.services.signup_requests import (
    signup_confirm,
    signup_from_token,
    signup_handoff,
    signup_request_create,
)

_SESSION_EMAIL = "signup_email"
_SESSION_SIGNUP = "signup_id"


@login_not_required
def landing(request):
    return render(request, "sellers/landing.html", {"base_domain": settings.FANOUT_BASE_DOMAIN})


@login_not_required
@require_http_methods(["GET", "POST"])
def signup(request):
    form = SignupForm(request.POST if request.method == "POST" else None, base_domain=settings.FANOUT_BASE_DOMAIN)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            created = signup_request_create(**form.cleaned_data, owner_language=request.LANGUAGE_CODE,
                                            owner_time_zone=request.POST.get("browser_time_zone", ""), ip=client_ip(request))
        except SignupThrottled as exc:
            status = 429
            form.add_error(None, (_("Too many sign-ups with this email address. Please try again in %(minutes)s minutes.") if exc.by_address
                                  else _("Too many sign-ups from your network. Please try again in %(minutes)s minutes.")) % {"minutes": exc.minutes})
        except SignupError as exc:
            for field, messages in exc.errors.items():
                for message in messages:
                    form.add_error(field if field in form.fields else None, message)
        else:
            request.session[_SESSION_EMAIL] = created.owner_email
            return redirect("signup_sent")
    return render(request, "sellers/signup.html", {"form": form, "base_domain": settings.FANOUT_BASE_DOMAIN}, status=status)


@login_not_required
@require_GET
def signup_sent(request):
    return render(request, "sellers/signup_sent.html", {"email": request.session.get(_SESSION_EMAIL, ""),
                                                        "hours": settings.FANOUT_SIGNUP_VERIFY_HOURS})


@login_not_required
@require_http_methods(["GET", "POST"])
def signup_confirm_view(request, token: str):
    """The emailed link: the owner chooses a password, which confirms the address and starts provisioning.
    A GET changes nothing (mail scanners open links)."""
    try:
        pending = signup_from_token(token=token)
    except SignupLinkInvalid as exc:
        return render(request, "sellers/signup_invalid.html", {"reason": str(exc)}, status=410)
    form = SignupConfirmForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            confirmed = signup_confirm(token=token, password=form.cleaned_data["password"])
        except SignupLinkInvalid as exc:
            return render(request, "sellers/signup_invalid.html", {"reason": str(exc)}, status=410)
        except ValidationError as exc:
            form.add_error("password", exc)
        else:
            request.session[_SESSION_SIGNUP] = confirmed.pk
            return redirect("signup_progress")
    return render(request, "sellers/signup_confirm.html", {"form": form, "signup": pending, "base_domain": settings.FANOUT_BASE_DOMAIN})


@login_not_required
@require_GET
def signup_progress(request):
    """Where the confirming browser waits (the page reloads itself) until the site is ready, then
    lands signed in on it. Only that browser: the sign-up is remembered in its session."""
    signup = signup_get(signup_id=request.session.get(_SESSION_SIGNUP))
    if signup is None:
        return redirect("signup")
    if signup.status == SignupStatus.READY:
        token = signup_handoff(signup_id=signup.pk)
        if token:
            return redirect(tenant_site_url(request=request, subdomain=signup.seller.subdomain, path=f"/welcome/{token}/"))
    site_url = tenant_site_url(request=request, subdomain=signup.subdomain, path="/login/")
    return render(request, "sellers/signup_progress.html", {"signup": signup, "site_url": site_url, "error": _(signup.error) if signup.error else "",
                                                            "waiting": signup.status == SignupStatus.PROVISIONING})
