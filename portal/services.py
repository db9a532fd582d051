"""Creator portal accounts: staff invite a creator, the creator accepts and sets a password,
resets it by email, and acts on their statements."""
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
