from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import connection
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import selectors, services
from accounts.exceptions import AccountsError, InvitationInvalid
from accounts.forms import InvitationAcceptForm, InvitationForm, PreferencesForm, RoleForm, StaffLoginForm
from accounts.models import Invitation, User
from accounts.modules import NAVIGATION, ROLE_DESCRIPTIONS, Role
from accounts.signin import password_reset_throttle, signin_failures_clear
from erp.redirects import redirect_next
from erp.tenancy import seller_site_url

_MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


class StaffLoginView(auth_views.LoginView):
    form_class = StaffLoginForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def get_redirect_url(self):
        # A signed-in person sent back to this very page would loop (Django raises): home instead.
        url = super().get_redirect_url()
        return "" if urlsplit(url).path == self.request.path else url


class StaffPasswordResetView(auth_views.PasswordResetView):
    """Django's reset request, its link built from the seller's own domain (never the Host header)."""

    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/email/password_reset.txt"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")

    def form_valid(self, form):
        refused = password_reset_throttle(self.request, email=form.cleaned_data["email"], portal=False)
        if refused is not None:
            return refused
        self.extra_email_context = {"site_url": seller_site_url(schema_name=connection.schema_name)}
        return super().form_valid(form)


class StaffPasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's reset link; a new password also ends a lockout of the account."""

    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")

    def form_valid(self, form):
        response = super().form_valid(form)
        signin_failures_clear(username=self.user.email)
        return response


@login_not_required
@require_GET
def welcome(request, token: str):
    """Lands a freshly signed-up owner on their new site, signed in (one-time link)."""
    user = services.login_link_user(token=token)
    if user is None:
        messages.error(request, _("That sign-in link has expired or was already used. Please sign in."))
        return redirect("accounts:login")
    login(request, user, backend=_MODEL_BACKEND)
    messages.success(request, _("Welcome to Fanout! Your seller site is ready."))
    return redirect("accounts:dashboard")


@require_GET
def dashboard(request):
    cards = [item for item in NAVIGATION if request.user.can_use(item.module)]
    orders = None
    if request.user.can_use("orders"):
        from orders.selectors import dashboard_counts

        orders = dashboard_counts()  # the SLA clocks: overdue, at risk, exceptions
    return render(request, "accounts/dashboard.html", {"cards": cards, "role_description": ROLE_DESCRIPTIONS[request.user.role],
                                                       "orders": orders})


@require_http_methods(["GET", "POST"])
def preferences(request):
    user = request.user
    form = PreferencesForm(request.POST if request.method == "POST" else None, initial={"time_zone": user.time_zone, "language": user.language})
    if request.method == "POST" and form.is_valid():
        services.user_preferences_update(user=user, **form.cleaned_data)
        messages.success(request, _("Preferences saved."))
        return redirect("accounts:preferences")
    return render(request, "accounts/preferences.html", {"form": form})


@login_not_required
@require_http_methods(["GET", "POST"])
def invitation_accept(request, token: str):
    try:
        invitation = services.invitation_from_token(token=token)
    except InvitationInvalid as exc:
        return render(request, "accounts/invitation_invalid.html", {"reason": str(exc)}, status=410)
    form = InvitationAcceptForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.invitation_accept(
                token=token, full_name=form.cleaned_data["full_name"], password=form.cleaned_data["password"],
                language=request.LANGUAGE_CODE, time_zone=request.POST.get("browser_time_zone", ""),
            )
        except ValidationError as exc:
            form.add_error("password", exc)
        except InvitationInvalid as exc:
            return render(request, "accounts/invitation_invalid.html", {"reason": str(exc)}, status=410)
        else:
            login(request, user, backend=_MODEL_BACKEND)
            messages.success(request, _("Welcome aboard! You joined as %(role)s.") % {"role": user.get_role_display()})
            return redirect("accounts:dashboard")
    return render(request, "accounts/invitation_accept.html", {"form": form, "invitation": invitation})


# Team (module "team": Owner only, enforced by ModulePermissionMiddleware) ------------------------

@require_GET
def team_index(request):
    page = Paginator(selectors.team_member_list(), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "accounts/team.html",
        {
            "page": page,
            "invitations": selectors.invitation_open_list(),
            "invite_form": InvitationForm(),
            "roles": Role.choices,
            "role_descriptions": [(label, ROLE_DESCRIPTIONS[value]) for value, label in Role.choices],
            "events": selectors.audit_event_list(limit=15),
        },
    )


def _done(request, message: str | None = None):
    if message:
        messages.success(request, message)
    return redirect("team:index")


@require_POST
def team_invite(request):
    form = InvitationForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("team:index")
    try:
        invitation = services.invitation_create(invited_by=request.user, **form.cleaned_data)
    except AccountsError as exc:
        messages.error(request, str(exc))
        return redirect("team:index")
    return _done(request, _("Invitation sent to %(email)s.") % {"email": invitation.email})


@require_POST
def team_role(request, user_id: int):
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a valid role."))
        return redirect("team:index")
    try:
        user = services.user_role_change(user_id=user_id, role=form.cleaned_data["role"], actor=request.user)
    except User.DoesNotExist as exc:
        raise Http404 from exc
    except AccountsError as exc:
        messages.error(request, str(exc))
        return redirect("team:index")
    return _done(request, _("%(user)s is now %(role)s.") % {"user": user, "role": user.get_role_display()})


@require_POST
def team_active(request, user_id: int):
    active = request.POST.get("active") == "1"
    try:
        user = services.user_active_set(user_id=user_id, active=active, actor=request.user)
    except User.DoesNotExist as exc:
        raise Http404 from exc
    except AccountsError as exc:
        messages.error(request, str(exc))
        return redirect("team:index")
    return _done(request, (_("%(user)s can sign in again.") if active else _("%(user)s can no longer sign in.")) % {"user": user})


@require_POST
def team_invitation_resend(request, invitation_id: int):
    try:
        invitation = services.invitation_resend(invitation_id=invitation_id, actor=request.user)
    except Invitation.DoesNotExist as exc:
        raise Http404 from exc
    except AccountsError as exc:
        messages.error(request, str(exc))
        return redirect("team:index")
    return _done(request, _("Invitation resent to %(email)s.") % {"email": invitation.email})


@require_POST
def team_invitation_revoke(request, invitation_id: int):
    try:
        invitation = services.invitation_revoke(invitation_id=invitation_id, actor=request.user)
    except Invitation.DoesNotExist as exc:
        raise Http404 from exc
    except AccountsError as exc:
        messages.error(request, str(exc))
        return redirect("team:index")
    return _done(request, _("Invitation for %(email)s withdrawn.") % {"email": invitation.email})


@require_http_methods(["GET", "POST"])
def business_settings(request):
    """The seller's name, business time zone and base currency (Owners: the team module)."""
    from erp.l10n import business_now
    from sellers.exceptions import SignupError
    from sellers.forms import SellerSettingsForm
    from sellers.services import seller_settings_update

    seller = request.tenant
    form = SellerSettingsForm(request.POST if request.method == "POST" else None, initial={"name": seller.name, "time_zone": seller.time_zone,
                                                             "base_currency": seller.base_currency})
    if request.method == "POST" and form.is_valid():
        try:
            seller_settings_update(seller=seller, actor=request.user, **form.cleaned_data)
        except SignupError as exc:
            for field, errors in exc.errors.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            messages.success(request, _("Business settings saved."))
            return redirect("team:business")
    return render(request, "accounts/business_settings.html", {"form": form, "seller": seller, "business_now": business_now()})


@require_POST
def language_switch(request):
    """The header's English / 中文 switch: saved on the user, so it follows them to every device."""
    language = request.POST.get("language", "")
    if language in dict(settings.LANGUAGES):
        services.user_preferences_update(user=request.user, time_zone=request.user.time_zone, language=language)
    else:
        messages.error(request, _("Unknown language “%(language)s”.") % {"language": language[:20]})
    return redirect_next(request, fallback="/")
