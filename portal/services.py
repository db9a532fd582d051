"""Creator portal accounts: staff invite a creator, the creator accepts and sets a password,
resets it by email, and acts on their statements."""
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from portal.auth import invite_token, reset_tokens
from portal.models import CreatorAccount


class PortalError(Exception):
    pass


@transaction.atomic
def portal_invite(*, creator, email: str, invited_by, site_url: str) -> CreatorAccount:
    """Create (or renew) the creator's portal account and email them the link to set a password.
    A renewed invitation makes earlier links stop working."""
    email = (email or creator.email or "").strip().lower()
    if not email:
        raise PortalError(_("@%(handle)s has no email address; add one first.") % {"handle": creator.handle})
    account = CreatorAccount.objects.select_for_update().filter(creator=creator).first()
    if account is not None and account.accepted_at is not None:
        raise PortalError(_("@%(handle)s already uses the portal; they can reset their password from the sign-in page.") % {"handle": creator.handle})
    try:
        with transaction.atomic():
            if account is None:
                account = CreatorAccount.objects.create(creator=creator, email=email, invited_by=invited_by)
            else:
                account.email, account.invited_by, account.invited_at, account.is_active = email, invited_by, timezone.now(), True
                account.save(update_fields=["email", "invited_by", "invited_at", "is_active"])
    except IntegrityError as exc:
        raise PortalError(_("%(email)s already has a portal account for another creator.") % {"email": email}) from exc
    link = f"{site_url}/portal/invite/{invite_token(account)}/"
    transaction.on_commit(lambda: send_mail(
        subject=_("Your creator portal at %(site)s") % {"site": site_url},
        message=render_to_string("portal/email/invite.txt", {"account": account, "link": link, "site_url": site_url,
                                                             "days": settings.PORTAL_INVITE_DAYS}),
        from_email=None, recipient_list=[account.email]))
    return account


@transaction.atomic
def portal_accept(*, account: CreatorAccount, password: str) -> CreatorAccount:
    """Set the first password (validated like staff passwords) and open the account."""
    account = CreatorAccount.objects.select_for_update().get(pk=account.pk)
    if account.accepted_at is not None:
        raise PortalError(_("This invitation was already used. Sign in instead."))
    validate_password(password)
    account.set_password(password)
    account.accepted_at = timezone.now()
    account.save(update_fields=["password", "accepted_at"])
    return account


def portal_reset_send(*, email: str, site_url: str) -> bool:
    """Email a reset link if an open account has this address; says nothing either way to the
    visitor (no account probing). Returns whether a mail went out."""
    account = CreatorAccount.objects.filter(email__iexact=(email or "").strip(), is_active=True, accepted_at__isnull=False).first()
    if account is None:
        return False
    link = f"{site_url}/portal/reset/{urlsafe_base64_encode(force_bytes(account.pk))}/{reset_tokens.make_token(account)}/"
    send_mail(subject=_("Reset your creator portal password"),
              message=render_to_string("portal/email/reset.txt", {"account": account, "link": link}),
              from_email=None, recipient_list=[account.email])
    return True


def portal_reset(*, account: CreatorAccount, password: str) -> CreatorAccount:
    validate_password(password)
    account.set_password(password)
    account.save(update_fields=["password"])
    return account


# ---------------------------------------------------------------------------- ordering
CART_MAX_LINES = 50
ORDER_PREFIX = "PO-"


def order_token() -> str:
    """The number a checkout page gives the order it will place: a double submit places it once."""
    import secrets

    return secrets.token_hex(5).upper()


def cart_lines(creator, terms, cart: dict) -> tuple[list[dict], list[str]]:
    """The cart's lines at the creator's price, with what is wrong with each (fresh stock)."""
    from portal.selectors import shop_rows, shop_skus, unit_price

    wanted = {int(k): v for k, v in cart.items()}
    skus = shop_skus(terms.currency).filter(pk__in=list(wanted)).order_by("code")
    rows, problems = [], []
    found = set()
    for row in shop_rows(creator, terms, skus):
        sku = row["sku"]
        found.add(sku.pk)
        quantity = wanted[sku.pk]
        price = unit_price(terms, sku)
        if quantity > row["available"]:
            problems.append(_("%(sku)s: you asked for %(n)s but may take %(free)s now") % {"sku": sku.code, "n": quantity, "free": row["available"]})
        if price is None:
            problems.append(_("%(sku)s: your margin plan cannot price it") % {"sku": sku.code})
        rows.append({**row, "quantity": quantity, "unit_price": price, "line_total": (price or Decimal(0)) * quantity})
    if set(wanted) - found:
        problems.append(_("Some products in your cart are no longer offered; they were removed."))
    return rows, problems


@transaction.atomic
def portal_order_place(*, creator, cart: dict, order_type: str, address: dict, token: str):
    """Place the cart as one order of the creator into the normal pipeline (channel: creator
    portal): a purchase at their margin plan's price, shipped to them (wholesale) or to their
    customer (dropship); like any wholesale order, the seller bills them for it. Raises
    ValidationError naming the field or product; nothing is placed then. The same `token` twice
    returns the first order.

    What they may take is checked here; the stock itself is reserved by the pipeline in their
    supply-priority turn, so an order that outruns the stock (a second tab) waits in the queue
    instead of overselling."""
    import re

    from django.core.exceptions import ValidationError
    from django.db import connection

    from orders.models import Channel, Order
    from orders.services.address import address_check
    from orders.services.intake import Intake, IntakeLine, order_upsert
    from portal.selectors import shop_terms

    if not re.fullmatch(r"[0-9A-F]{10}", token or ""):
        raise ValidationError(_("This checkout page is out of date; open the cart again."))
    with connection.cursor() as cursor:  # one checkout of a creator at a time
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"{connection.schema_name}:portal.order:{creator.pk}"])
    external_id = ORDER_PREFIX + token
    placed = Order.objects.filter(channel=Channel.PORTAL, external_id=external_id).first()
    if placed is not None:
        if placed.creator_id != creator.pk:
            raise ValidationError(_("This checkout page is out of date; open the cart again."))
        return placed
    terms = shop_terms(creator)
    if not terms.order_types:
        raise ValidationError(_("Ordering here is for distributors and wholesale buyers with a margin plan; ask the seller for one."))
    if order_type not in terms.order_types:
        raise ValidationError({"order_type": _("Choose how the order is shipped.")})
    if not cart:
        raise ValidationError(_("Your cart is empty."))
    if len(cart) > CART_MAX_LINES:
        raise ValidationError(_("An order takes at most %(n)s products.") % {"n": CART_MAX_LINES})
    rows, problems = cart_lines(creator, terms, cart)
    if problems:
        raise ValidationError(problems)
    checked = address_check(name=address.get("ship_name", ""), line1=address.get("ship_line1", ""), zip_code=address.get("ship_zip", ""),
                            state=address.get("ship_state", ""), country=address.get("ship_country") or "US")
    if checked.by_field:
        raise ValidationError(checked.by_field)
    order, _created = order_upsert(Intake(
        channel=Channel.PORTAL, external_id=external_id, order_type=order_type, creator_id=creator.pk, currency=terms.currency,
        placed_at=timezone.now(), address=address,
        lines=[IntakeLine(sku=r["sku"].code, quantity=r["quantity"], unit_price=r["unit_price"]) for r in rows]))
    return order
