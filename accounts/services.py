"""Every write on staff accounts: users, invitations, roles, sign-in hand-off."""
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core import signing
from django.core.mail import send_mail
from django.db import IntegrityError, connection, transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.exceptions import AccountsError, InvitationInvalid
from accounts.models import AuditEvent, Invitation, User
from accounts.modules import Role
from erp.l10n import TIME_ZONE_CHOICES, seller_time_zone

_TIME_ZONES = frozenset(tz for tz, _label in TIME_ZONE_CHOICES)

_INVITE_SALT = "fanout.accounts.invitation"
_HANDOFF_SALT = "fanout.accounts.signup-handoff"
HANDOFF_MAX_AGE_S = 300


def audit_record(*, actor: User | None, verb: str, target=None, data: dict | None = None) -> AuditEvent:
    """One row of who did what (never changed or deleted afterwards). `data` holds what the
    summary names (accounts.models.AuditEvent.summary): plain JSON values, never secrets."""
    return AuditEvent.objects.create(**_audit_fields(actor, verb, target, data))


def audit_record_many(*, actor: User | None, verb: str, items: list[tuple]) -> int:
    """audit_record for many (target, data) pairs at once (a CSV import's changes)."""
    AuditEvent.objects.bulk_create([AuditEvent(**_audit_fields(actor, verb, target, data)) for target, data in items], batch_size=2000)
    return len(items)


def _audit_fields(actor, verb, target, data) -> dict:
    return {"actor": actor if actor and actor.pk else None, "verb": verb,
            "target_type": target._meta.label_lower if target is not None else "",
            "target_id": str(target.pk) if target is not None else "", "data": data or {}}


def user_create(*, email: str, password: str | None, full_name: str, role: str, actor: User | None = None,
                language: str = "", time_zone: str = "") -> User:
    """Create a staff user in the current seller schema. Owners may use the seller's Django admin.
    Language and time zone default from the browser when known, else English and the seller's
    business time zone."""
    is_owner = role == Role.OWNER
    user = User(email=email.strip().lower(), full_name=full_name.strip(), role=role, is_staff=is_owner, is_superuser=is_owner,
                language=supported_language(language), time_zone=valid_time_zone(time_zone) or seller_time_zone().key)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    audit_record(actor=actor or user, verb="user.created", target=user, data={"role": role})
    return user


def supported_language(code: str) -> str:
    """One of settings.LANGUAGES for a browser's language code ("zh-CN" → "zh-hans"), else English."""
    from django.utils.translation import get_supported_language_variant

    code = (code or "").strip().lower()
    if code.startswith("zh") and code not in ("zh-tw", "zh-hk", "zh-hant", "zh-mo"):
        code = "zh-hans"
    try:
        return get_supported_language_variant(code) if code else "en"
    except LookupError:
        return "en"


def valid_time_zone(name: str) -> str:
    """`name` if it is a time zone we offer (a browser's Intl time zone), else ""."""
    return name if name in _TIME_ZONES else ""


def _owner_count_excluding(user: User) -> int:
    return User.objects.filter(role=Role.OWNER, is_active=True).exclude(pk=user.pk).count()


def _lock_owners() -> None:
    # Two owners demoting each other at once must not both pass the "another owner" check.
    list(User.objects.select_for_update().filter(role=Role.OWNER, is_active=True).order_by("pk").values_list("pk", flat=True))


@transaction.atomic
def user_role_change(*, user_id: int, role: str, actor: User) -> User:
    """Give a staff member another role. Refuses to leave the seller without an active Owner."""
    if role not in Role.values:
        raise AccountsError(_("Unknown role."))
    _lock_owners()
    user = User.objects.select_for_update().get(pk=user_id)
    if user.role == role:
        return user
    if user.role == Role.OWNER and _owner_count_excluding(user) == 0:
        raise AccountsError(_("A seller needs at least one active Owner. Make someone else Owner first."))
    old = user.role
    user.role = role
    user.is_staff = user.is_superuser = role == Role.OWNER
    user.save(update_fields=["role", "is_staff", "is_superuser"])
    audit_record(actor=actor, verb="user.role_changed", target=user, data={"from": old, "to": role})
    return user


@transaction.atomic
def user_active_set(*, user_id: int, active: bool, actor: User) -> User:
    _lock_owners()
    user = User.objects.select_for_update().get(pk=user_id)
    if user.pk == actor.pk and not active:
        raise AccountsError(_("You cannot deactivate your own account."))
    if not active and user.role == Role.OWNER and _owner_count_excluding(user) == 0:
        raise AccountsError(_("A seller needs at least one active Owner."))
    user.is_active = active
    user.save(update_fields=["is_active"])
    audit_record(actor=actor, verb="user.activated" if active else "user.deactivated", target=user)
    return user


def user_preferences_update(*, user: User, time_zone: str, language: str) -> User:
    user.time_zone = time_zone
    user.language = language
    user.full_clean(exclude=["password"])
    user.save(update_fields=["time_zone", "language"])
    return user


# Invitations -----------------------------------------------------------------------------------

def invitation_token(*, invitation: Invitation) -> str:
    return signing.dumps({"i": invitation.pk, "s": connection.schema_name}, salt=_INVITE_SALT, compress=True)


def invitation_from_token(*, token: str) -> Invitation:
    """The pending invitation a link stands for, in the current schema. Raises InvitationInvalid."""
    try:
        payload = signing.loads(token, salt=_INVITE_SALT)
    except signing.BadSignature as exc:
        raise InvitationInvalid(_("This invitation link is not valid.")) from exc
    if payload.get("s") != connection.schema_name:
        raise InvitationInvalid(_("This invitation link is not valid."))
    invitation = Invitation.objects.filter(pk=payload.get("i")).first()
    if invitation is None or invitation.status == "revoked":
        raise InvitationInvalid(_("This invitation was withdrawn. Ask the owner for a new one."))
    if invitation.status == "accepted":
        raise InvitationInvalid(_("This invitation was already used. Sign in instead."))
    if invitation.status == "expired":
        raise InvitationInvalid(_("This invitation has expired. Ask the owner for a new one."))
    return invitation


@transaction.atomic
def invitation_create(*, email: str, role: str, invited_by: User) -> Invitation:
    """Invite someone to this seller's team; the email is sent by a task after commit.
    Raises AccountsError if they already have an account or an open invitation."""
    from accounts.tasks import invitation_send_email

    email = email.strip().lower()
    if role not in Role.values:
        raise AccountsError(_("Unknown role."))
    if User.objects.filter(email__iexact=email).exists():
        raise AccountsError(_("%(email)s is already on the team.") % {"email": email})
    now = timezone.now()
    # An expired invitation no longer blocks a new one.
    Invitation.objects.filter(
        email__iexact=email, accepted_at__isnull=True, revoked_at__isnull=True, expires_at__lte=now
    ).update(revoked_at=now)
    try:
        with transaction.atomic():
            invitation = Invitation.objects.create(
                email=email, role=role, invited_by=invited_by, expires_at=now + timedelta(days=settings.STAFF_INVITATION_DAYS)
            )
    except IntegrityError as exc:
        raise AccountsError(_("%(email)s already has an open invitation. Resend it instead.") % {"email": email}) from exc
    audit_record(actor=invited_by, verb="invitation.created", target=invitation, data={"email": email, "role": role})
    transaction.on_commit(partial(invitation_send_email.delay, invitation.pk))
    return invitation


@transaction.atomic
def invitation_resend(*, invitation_id: int, actor: User) -> Invitation:
    from accounts.tasks import invitation_send_email

    invitation = Invitation.objects.select_for_update().get(pk=invitation_id)
    if invitation.status != "pending":
        raise AccountsError(_("Only pending invitations can be resent."))
    invitation.email_sent_at = None
    invitation.expires_at = timezone.now() + timedelta(days=settings.STAFF_INVITATION_DAYS)
    invitation.save(update_fields=["email_sent_at", "expires_at"])
    audit_record(actor=actor, verb="invitation.resent", target=invitation)
    transaction.on_commit(partial(invitation_send_email.delay, invitation.pk))
    return invitation


@transaction.atomic
def invitation_revoke(*, invitation_id: int, actor: User) -> Invitation:
    invitation = Invitation.objects.select_for_update().get(pk=invitation_id)
    if invitation.status == "accepted":
        raise AccountsError(_("This invitation was already accepted; deactivate the user instead."))
    if invitation.revoked_at is None:
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
        audit_record(actor=actor, verb="invitation.revoked", target=invitation)
    return invitation


def invitation_email_send(*, invitation_id: int, site_url: str) -> bool:
    """Send the invitation email once (claimed with a conditional update, so a redelivered task
    sends nothing). Returns whether this call sent it."""
    invitation = Invitation.objects.filter(pk=invitation_id).first()
    if invitation is None or invitation.status != "pending":
        return False
    claimed = Invitation.objects.filter(pk=invitation_id, email_sent_at__isnull=True).update(email_sent_at=timezone.now())
    if not claimed:
        return False
    link = f"{site_url}/invite/{invitation_token(invitation=invitation)}/"
    context = {"invitation": invitation, "link": link, "inviter": invitation.invited_by, "site_url": site_url}
    try:
        send_mail(
            subject=_("You are invited to join %(site)s on Fanout") % {"site": site_url},
            message=render_to_string("accounts/email/invitation.txt", context),
            from_email=None,
            recipient_list=[invitation.email],
        )
    except Exception:
        # Un-claim so the task's retry (or a resend) sends it.
        Invitation.objects.filter(pk=invitation_id).update(email_sent_at=None)
        raise
    return True


@transaction.atomic
def invitation_accept(*, token: str, full_name: str, password: str, language: str = "", time_zone: str = "") -> User:
    """Turn a pending invitation into an active staff account with the invited role.
    Raises InvitationInvalid or django ValidationError (weak password)."""
    invitation = invitation_from_token(token=token)
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.status != "pending":
        raise InvitationInvalid(_("This invitation was already used. Sign in instead."))
    if User.objects.filter(email__iexact=invitation.email).exists():
        raise InvitationInvalid(_("%(email)s already has an account here. Sign in instead.") % {"email": invitation.email})
    validate_password(password, user=User(email=invitation.email, full_name=full_name))
    user = user_create(email=invitation.email, password=password, full_name=full_name, role=invitation.role, actor=None,
                       language=language, time_zone=time_zone)
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    audit_record(actor=user, verb="invitation.accepted", target=invitation)
    return user


def invitation_emails_resume(*, now=None) -> int:
    """Queue again the emails of pending invitations created more than FANOUT_RESUME_AFTER_S ago that were
    never sent (the task lost with a killed worker or a Redis restart, or the mail server down through
    every retry). Sending claims the invitation, so nobody gets two."""
    from django.conf import settings

    from accounts.tasks import invitation_send_email
    from erp.celery import resume_due

    now = now or timezone.now()
    before = now - timedelta(seconds=settings.FANOUT_RESUME_AFTER_S)
    ids = list(Invitation.objects.filter(email_sent_at__isnull=True, accepted_at__isnull=True, revoked_at__isnull=True,
                                         expires_at__gt=now, created_at__lt=before).values_list("pk", flat=True)[:500])
    ids = resume_due("invitation-email", ids)
    for pk in ids:
        invitation_send_email.delay(pk)
    return len(ids)


def invitations_purge_expired(*, older_than_days: int = 30) -> int:
    """Delete invitations that expired unused more than `older_than_days` ago."""
    cutoff = timezone.now() - timedelta(days=older_than_days)
    deleted, _detail = Invitation.objects.filter(accepted_at__isnull=True, expires_at__lt=cutoff).delete()
    return deleted


# Sign-up hand-off: the public site creates the owner, the seller's site signs them in. ----------

def login_link_create(*, user: User, schema_name: str) -> str:
    """A short-lived, single-use sign-in token for `user` on the seller site of `schema_name`.
    Single use because it is bound to the user's last_login, which signing in changes."""
    last = user.last_login.isoformat() if user.last_login else ""
    return signing.dumps({"u": user.pk, "s": schema_name, "l": last}, salt=_HANDOFF_SALT, compress=True)


def login_link_user(*, token: str) -> User | None:
    try:
        payload = signing.loads(token, salt=_HANDOFF_SALT, max_age=HANDOFF_MAX_AGE_S)
    except signing.BadSignature:
        return None
    if payload.get("s") != connection.schema_name:
        return None
    user = User.objects.filter(pk=payload.get("u"), is_active=True).first()
    if user is None:
        return None
    last = user.last_login.isoformat() if user.last_login else ""
    return user if last == payload.get("l") else None
