"""The creator portal (/portal/): sign-in, dashboard, orders, commissions, statements, the shop
(catalogue, cart, checkout) and the inbox. Every
query is filtered by the signed-in account's creator; another creator's object is a 404."""

from axes.handlers.proxy import AxesProxyHandler
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import connection
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.signin import password_reset_throttle, signin_failures_clear, signin_ip_blocked, signin_locked_response
from commissions.exceptions import SettlementError
from commissions.models import Statement, StatementStatus
from erp.csvutil import csv_response
from erp.redirects import redirect_next
from erp.tenancy import seller_site_url
from portal import selectors
from portal.auth import (
    account_from_invite,
    account_of,
    axes_credentials,
    login_redirect_target,
    portal_public,
    portal_view,
    record_failure,
    reset_tokens,
    sign_in,
    sign_out,
)
from portal.forms import AddToCartForm, CheckoutForm, DisputeForm, LoginForm, OrderFilterForm, ResetRequestForm, SetPasswordForm
from portal.models import CreatorAccount
from portal.services import (
    CART_MAX_LINES,
    PortalError,
    cart_lines,
    order_token,
    portal_accept,
    portal_order_place,
    portal_reset,
    portal_reset_send,
)

PAGE = 25


# ============================================================================ sign-in
@portal_public
@require_http_methods(["GET", "POST"])
def login(request):
    if account_of(request) is not None:
        return redirect(login_redirect_target(request))
    form = LoginForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"].strip().lower()
        credentials = axes_credentials(email)
        if signin_ip_blocked(request):
            request.fanout_signin_refused = "network"
            return signin_locked_response(request, credentials=credentials)
        if not AxesProxyHandler.is_allowed(request, credentials):
            return signin_locked_response(request, credentials=credentials)
        account = CreatorAccount.objects.select_related("creator").filter(email__iexact=email).first()
        if account is not None and account.can_sign_in and account.check_password(form.cleaned_data["password"]):
            signin_failures_clear(username=credentials["username"])
            sign_in(request, account)
            return redirect(login_redirect_target(request))
        record_failure(request, email)
        if not AxesProxyHandler.is_allowed(request, credentials):
            return signin_locked_response(request, credentials=credentials)
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
    form = SetPasswordForm(request.POST if request.method == "POST" else None)
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
    form = ResetRequestForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        refused = password_reset_throttle(request, email=form.cleaned_data["email"], portal=True)
        if refused is not None:
            return refused
        portal_reset_send(email=form.cleaned_data["email"], site_url=seller_site_url(schema_name=connection.schema_name))
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
    form = SetPasswordForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            portal_reset(account=account, password=form.cleaned_data["password"])
        except ValidationError as exc:
            form.add_error("password", exc)
        else:
            signin_failures_clear(username=axes_credentials(account.email)["username"])
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
    qs = selectors.creator_orders(creator, status=data.get("status", ""), search=data.get("q", ""), since=data.get("since"), until=data.get("until"),
                                  source=data.get("source", ""))
    if request.GET.get("export") == "csv":
        tz = timezone.get_current_timezone()
        rows = ([o.external_id, o.get_channel_display(), o.placed_at.astimezone(tz).isoformat(timespec="minutes"), o.get_status_display(), o.total,
                 o.currency, o.ship_city, o.ship_state] for o in qs.iterator(chunk_size=2000))
        return csv_response(header=[_("Order"), _("Channel"), _("Placed"), _("Status"), _("Total"), _("Currency"), _("City"), _("State")],
                            rows=rows, filename="my-orders.csv")
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


# ============================================================================ shop
CART_KEY = "_portal_cart"  # {sku id (str): quantity} in the portal session


def _cart(request) -> dict:
    return dict(request.session.get(CART_KEY) or {})


def _cart_save(request, cart: dict) -> None:
    request.session[CART_KEY] = cart


@portal_view
def shop(request):
    creator = request.portal_account.creator
    terms = selectors.shop_terms(creator)
    search = request.GET.get("q", "").strip()[:60]
    page = Paginator(selectors.shop_catalogue(creator, terms, search=search), PAGE).get_page(request.GET.get("page"))
    cart = _cart(request)
    return render(request, "portal/shop.html", {
        "terms": terms, "page": page, "rows": selectors.shop_rows(creator, terms, page), "search": search, "cart_units": sum(cart.values()),
        "discount_percent": f"{terms.plan.discount_rate * 100:.2f}".rstrip("0").rstrip(".") if terms.plan else "",
        "cart_lines": len(cart), "back": request.get_full_path()})


@portal_view
@require_POST
def cart_add(request):
    creator = request.portal_account.creator
    terms = selectors.shop_terms(creator)
    form = AddToCartForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Enter a quantity of 1 or more."))
    else:
        sku = get_object_or_404(selectors.shop_skus(terms.currency), pk=form.cleaned_data["sku"])
        available = selectors.shop_rows(creator, terms, [sku])[0]["available"]
        cart = _cart(request)
        wanted = cart.get(str(sku.pk), 0) + form.cleaned_data["quantity"]
        if not terms.order_types:
            messages.error(request, _("Ordering here is for distributors and wholesale buyers with a margin plan; ask the seller for one."))
        elif wanted > available:
            messages.error(request, _("You may take %(free)s of %(sku)s now; your cart would hold %(n)s.") % {
                "free": available, "sku": sku.code, "n": wanted})
        elif str(sku.pk) not in cart and len(cart) >= CART_MAX_LINES:
            messages.error(request, _("An order takes at most %(n)s products.") % {"n": CART_MAX_LINES})
        else:
            cart[str(sku.pk)] = wanted
            _cart_save(request, cart)
            messages.success(request, _("Added %(n)s × %(sku)s to your cart.") % {"n": form.cleaned_data["quantity"], "sku": sku.code})
    return redirect_next(request, fallback="portal:shop", field="back", within="/portal/shop/")


@portal_view
@require_http_methods(["GET", "POST"])
def cart(request):
    creator = request.portal_account.creator
    terms = selectors.shop_terms(creator)
    cart = _cart(request)
    action = request.POST.get("action", "")
    order_type = request.POST.get("order_type") or request.GET.get("type") or "wholesale"
    if order_type not in ("wholesale", "dropship"):
        order_type = "wholesale"
    if action == "update":
        for key in list(cart):
            raw = request.POST.get(f"qty_{key}", "").strip()
            if raw.isdecimal():  # not isdigit(): int("²") fails
                if int(raw) == 0:
                    cart.pop(key)
                else:
                    cart[key] = min(int(raw), 100_000)
        _cart_save(request, cart)
        messages.success(request, _("Cart updated."))
        return redirect(f"{request.path}?type={order_type}")
    if request.method == "POST" and action != "place":
        messages.error(request, _("Nothing was saved: the page sent an unknown action; reload it and try again."))
        return redirect(f"{request.path}?type={order_type}")
    initial = {"token": order_token(), "order_type": order_type, "ship_country": "US"}
    if order_type == "wholesale":
        initial.update(selectors.last_ship_to(creator))
    form = CheckoutForm(request.POST if action == "place" else None, initial=initial, order_types=terms.order_types)
    if action == "place" and form.is_valid():
        try:
            order = portal_order_place(creator=creator, cart={int(k): v for k, v in cart.items()}, order_type=form.cleaned_data["order_type"],
                                       address=form.address(), token=form.cleaned_data["token"])
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            _cart_save(request, {})
            messages.success(request, _("Order %(number)s is placed; follow it here.") % {"number": order.external_id})
            return redirect("portal:order", order_id=order.pk)
    rows, problems = cart_lines(creator, terms, cart)
    known = {str(r["sku"].pk) for r in rows}
    if set(cart) - known:  # products no longer offered leave the cart
        _cart_save(request, {k: v for k, v in cart.items() if k in known})
    return render(request, "portal/cart.html", {
        "terms": terms, "rows": rows, "problems": problems, "form": form, "order_type": order_type,
        "total": sum((r["line_total"] for r in rows), start=0), "currency": terms.currency})


# ============================================================================ inbox
@portal_view
@require_http_methods(["GET", "POST"])
def inbox(request):
    from portal.notifications import notification_path, notification_text

    account = request.portal_account
    if request.method == "POST":
        account.email_notifications = request.POST.get("email_notifications") == "on"
        account.save(update_fields=["email_notifications"])
        messages.success(request, _("We will email you these notifications.") if account.email_notifications
                         else _("We will not email you these notifications; they stay here."))
        return redirect("portal:inbox")
    page = Paginator(account.notifications.order_by("-created_at", "-pk"), PAGE).get_page(request.GET.get("page"))
    items = [{"n": n, "text": notification_text(n), "link": notification_path(n), "new": n.read_at is None} for n in page]
    fresh = [i["n"].pk for i in items if i["new"]]
    if fresh:  # seen now: marked read, still shown as new on this visit
        account.notifications.filter(pk__in=fresh).update(read_at=timezone.now())
        request.portal_unread = max(request.portal_unread - len(fresh), 0)
    return render(request, "portal/inbox.html", {"page": page, "items": items, "account": account})
