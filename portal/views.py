"""The creator portal (/portal/): sign-in, dashboard, orders, commissions and statements. Every
query is filtered by the signed-in account's creator; another creator's object is a 404."""
import csv
import io

from axes.handlers.proxy import AxesProxyHandler
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from commissions.exceptions import SettlementError
from commissions.models import Statement, StatementStatus
from portal import selectors
from portal.auth import (
    account_from_invite, account_of, axes_credentials, login_redirect_target, portal_public, portal_view, record_failure, reset_tokens,
    sign_in, sign_out,
)
from portal.forms import DisputeForm, LoginForm, OrderFilterForm, ResetRequestForm, SetPasswordForm
from portal.models import CreatorAccount
from portal.services import PortalError, portal_accept, portal_reset, portal_reset_send

PAGE = 25


def _site_url(request) -> str:
    return f"{request.scheme}://{request.get_host()}"


# ============================================================================ sign-in
@portal_public
@require_http_methods(["GET", "POST"])
def login(request):
    if account_of(request) is not None:
        return redirect(login_redirect_target(request))
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"].strip().lower()
        if not AxesProxyHandler.is_allowed(request, axes_credentials(email)):
            return render(request, "portal/locked.html", status=429)
        account = CreatorAccount.objects.select_related("creator").filter(email__iexact=email).first()
        if account is not None and account.can_sign_in and account.check_password(form.cleaned_data["password"]):
            AxesProxyHandler.reset_attempts(username=axes_credentials(email)["username"])
            sign_in(request, account)
            return redirect(login_redirect_target(request))
        record_failure(request, email)
        if not AxesProxyHandler.is_allowed(request, axes_credentials(email)):
            return render(request, "portal/locked.html", status=429)
        form.add_error(None, _("That email and password do not match an open creator account."))
    return render(request, "portal/login.html", {"form": form, "next": login_redirect_target(request, "")})


@portal_public
@require_POST
def logout(request):
    sign_out(request)
    messages.success(request, _("You are signed out."))
    return redirect("portal:login")


@portal_public
@require_http_methods(["GET", "POST"])
def invite_accept(request, token: str):
    account = account_from_invite(token)
    if account is None:
        return render(request, "portal/invalid_link.html", {"message": _(
            "This invitation link is not valid any more: it was used, replaced by a newer one, or it expired. Ask the seller for a new one.")},
            status=404)
    form = SetPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            account = portal_accept(account=account, password=form.cleaned_data["password"])
        except ValidationError as exc:
            form.add_error("password", exc)
        except PortalError as exc:
            form.add_error(None, str(exc))
        else:
            sign_in(request, account)
            messages.success(request, _("Welcome, @%(handle)s! This is your portal.") % {"handle": account.creator.handle})
            return redirect("portal:dashboard")
    return render(request, "portal/set_password.html", {"form": form, "account": account, "title": _("Set your password")})


@portal_public
@require_http_methods(["GET", "POST"])
def reset_request(request):
    form = ResetRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        portal_reset_send(email=form.cleaned_data["email"], site_url=_site_url(request))
        messages.success(request, _("If that address has a creator account, a link to reset the password is on its way."))
        return redirect("portal:login")
    return render(request, "portal/reset_request.html", {"form": form})


@portal_public
@require_http_methods(["GET", "POST"])
def reset_confirm(request, uidb64: str, token: str):
    try:
        account = CreatorAccount.objects.select_related("creator").filter(pk=int(force_str(urlsafe_base64_decode(uidb64))),
                                                                           is_active=True, accepted_at__isnull=False).first()
    except (ValueError, TypeError, OverflowError):
        account = None
    if account is None or not reset_tokens.check_token(account, token):
        return render(request, "portal/invalid_link.html", {"message": _("This reset link is not valid any more. Ask for a new one.")}, status=404)
    form = SetPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            portal_reset(account=account, password=form.cleaned_data["password"])
        except ValidationError as exc:
            form.add_error("password", exc)
        else:
            AxesProxyHandler.reset_attempts(username=axes_credentials(account.email)["username"])
            messages.success(request, _("Password changed. Sign in with the new one."))
            return redirect("portal:login")
    return render(request, "portal/set_password.html", {"form": form, "account": account, "title": _("Choose a new password")})


# ============================================================================ pages
@portal_view
def dashboard(request):
    days = 90 if request.GET.get("days") == "90" else 30
    creator = request.portal_account.creator
    board = selectors.dashboard(creator, days=days)
    chart = {"id": "chart-daily", "type": "bar", "label": _("Orders a day"), "labels": [p["day"].isoformat() for p in board.series],
             "values": [p["orders"] for p in board.series]}
    return render(request, "portal/dashboard.html", {"board": board, "creator": creator, "days": days, "chart": chart})


@portal_view
def orders(request):
    creator = request.portal_account.creator
    form = OrderFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    qs = selectors.creator_orders(creator, status=data.get("status", ""), search=data.get("q", ""), since=data.get("since"), until=data.get("until"))
    if request.GET.get("export") == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([_("Order"), _("Channel"), _("Placed"), _("Status"), _("Total"), _("Currency"), _("City"), _("State")])
        for o in qs.iterator(chunk_size=2000):
            writer.writerow([o.external_id, o.get_channel_display(), timezone.localtime(o.placed_at).isoformat(timespec="minutes"),
                             o.get_status_display(), o.total, o.currency, o.ship_city, o.ship_state])
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="my-orders.csv"'
        return response
    page = Paginator(qs, PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "portal/orders.html", {"form": form, "page": page, "query": query.urlencode()})


@portal_view
def order_detail(request, order_id: int):
    from orders.models import Order

    order = get_object_or_404(Order.objects.filter(creator=request.portal_account.creator), pk=order_id)
    shipments = [{"shipment": s, "link": selectors.tracking_link(s.carrier, s.tracking_number)}
                 for s in order.shipments.exclude(status="cancelled").order_by("pk")]
    events = order.events.exclude(to_status="").order_by("at", "pk")  # status changes only: notes are for staff
    return render(request, "portal/order.html", {"order": order, "lines": order.lines.select_related("sku"), "shipments": shipments,
                                                 "events": events})


@portal_view
def commissions(request):
    now = timezone.now()
    page = Paginator(selectors.creator_lines(request.portal_account.creator), PAGE).get_page(request.GET.get("page"))
    rows = [{"line": line, "status": selectors.line_status(line, now)} for line in page]
    return render(request, "portal/commissions.html", {"page": page, "rows": rows})


@portal_view
def statements(request):
    page = Paginator(selectors.creator_statements(request.portal_account.creator), PAGE).get_page(request.GET.get("page"))
    return render(request, "portal/statements.html", {"page": page})


def _own_statement(request, statement_id: int) -> Statement:
    return get_object_or_404(selectors.creator_statements(request.portal_account.creator), pk=statement_id)


@portal_view
def statement_detail(request, statement_id: int):
    statement = _own_statement(request, statement_id)
    return render(request, "portal/statement.html", {
        "statement": statement,
        "lines": Paginator(statement.lines.select_related("order", "order_line__sku").order_by("earned_at", "pk"), 50).get_page(request.GET.get("page")),
        "adjustments": statement.adjustments.order_by("created_at"), "events": statement.events.order_by("at", "pk"),
        "dispute_form": DisputeForm(), "can_act": statement.status == StatementStatus.ISSUED,
        "can_dispute": statement.status in (StatementStatus.ISSUED, StatementStatus.CONFIRMED)})


@portal_view
def statement_pdf(request, statement_id: int):
    from commissions.views import statement_pdf_response

    return statement_pdf_response(request, _own_statement(request, statement_id), disposition="attachment")


@portal_view
@require_POST
def statement_action(request, statement_id: int, action: str):
    from commissions.services.statements import statement_confirm, statement_dispute

    statement = _own_statement(request, statement_id)
    handle = request.portal_account.creator.handle
    try:
        if action == "confirm":
            statement_confirm(statement_id=statement.pk, note=_("Confirmed by @%(handle)s in the portal.") % {"handle": handle})
            messages.success(request, _("Thank you: statement %(number)s is confirmed.") % {"number": statement.number})
        elif action == "dispute":
            form = DisputeForm(request.POST)
            if not form.is_valid():
                raise SettlementError(_("Say what is wrong: a dispute needs your comment."))
            statement_dispute(statement_id=statement.pk, comment=form.cleaned_data["comment"])
            messages.success(request, _("Your dispute of %(number)s was sent; the seller will answer on this statement.") % {"number": statement.number})
        else:
            raise Http404
    except SettlementError as exc:
        messages.error(request, str(exc))
    return redirect("portal:statement", statement_id=statement.pk)
