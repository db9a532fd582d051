from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.modules import Role, modules_for_role, role_has_duty
from erp.l10n import TIME_ZONE_CHOICES


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create(self, email, password, **extra):
        if not email:
            raise ValueError("email is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def get_by_natural_key(self, username):
        # People type their email with any capitalisation; emails are stored lower-case.
        return self.get(email__iexact=username)

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        extra.setdefault("role", Role.OWNER)
        return self._create(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A staff login. Each seller schema has its own users table, so the same email can work
    for two sellers with unrelated accounts; platform admins live in the public schema."""

    email = models.EmailField(_("email"), unique=True)
    full_name = models.CharField(_("full name"), max_length=150, blank=True)
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.OPERATIONS)
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(_("can use Django admin"), default=False)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)
    time_zone = models.CharField(
        _("time zone"), max_length=64, choices=TIME_ZONE_CHOICES, default=settings.FANOUT_DEFAULT_USER_TIME_ZONE
    )
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES, default="en")

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["email"]
        constraints = [models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique")]

    def __str__(self) -> str:
        return self.full_name or self.email

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return (self.full_name.split() or [self.email.split("@")[0]])[0]

    @property
    def modules(self) -> frozenset[str]:
        if not self.is_active:
            return frozenset()
        return modules_for_role(self.role)

    def can_use(self, module: str) -> bool:
        return module in self.modules

    def has_duty(self, duty: str) -> bool:
        """May this person change the settings of `duty` (accounts.modules.Duty)?"""
        return self.is_active and role_has_duty(self.role, duty)


class Invitation(models.Model):
    """An invite for a staff member. The emailed link carries a signed id (see services), so no
    secret is stored; expiry, revocation and acceptance are checked against this row."""

    email = models.EmailField(_("email"))
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("invited by")
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    email_sent_at = models.DateTimeField(_("email sent at"), null=True, blank=True)
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ["-created_at"]
        constraints = [
            # At most one open invitation per email address.
            models.UniqueConstraint(
                Lower("email"),
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="accounts_invitation_one_open_per_email",
            ),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def status(self) -> str:
        if self.accepted_at:
            return "accepted"
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        return "pending"

    def get_status_display(self) -> str:
        return {
            "accepted": _("Accepted"),
            "revoked": _("Revoked"),
            "expired": _("Expired"),
            "pending": _("Pending"),
        }[self.status]


class _Blank(dict):
    def __missing__(self, key):
        return ""


class AuditEvent(models.Model):
    """Who did what, written by the service that did it. Rows are never changed or deleted: the
    database refuses UPDATE and DELETE on this table (a trigger, migration 0002), the admin has
    no change or delete permission, and a person named as an actor cannot be deleted (PROTECT;
    deactivate them instead)."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("actor")
    )
    verb = models.CharField(_("action"), max_length=64)
    target_type = models.CharField(_("target type"), max_length=64, blank=True)
    target_id = models.CharField(_("target id"), max_length=64, blank=True)
    data = models.JSONField(_("details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.verb} {self.target_type}:{self.target_id}"

    @property
    def summary(self) -> str:
        """One readable sentence for activity lists."""
        role_label = dict(Role.choices)
        data = self.data or {}
        templates = {
            "user.created": _("Account created as %(role)s"),
            "user.role_changed": _("Role changed from %(from)s to %(to)s"),
            "user.activated": _("Account reactivated"),
            "user.deactivated": _("Account deactivated"),
            "invitation.created": _("Invited %(email)s as %(role)s"),
            "invitation.resent": _("Invitation resent"),
            "invitation.revoked": _("Invitation withdrawn"),
            "invitation.accepted": _("Invitation accepted"),
            "channel.connected": _("Connected the shop %(name)s (%(platform)s)"),
            "channel.disconnected": _("Disconnected the shop %(name)s"),
            "channel.needs_reauth": _("The shop %(name)s needs re-authorisation: %(reason)s"),
            "sku.list_price_changed": _("List price of %(sku)s changed from %(from)s to %(to)s"),
            "exchange_rate.set": _("Exchange rate on %(date)s: 1 %(base)s = %(rate)s %(currency)s (was %(from)s)"),
            "fee_schedule.created": _("Fee schedule for %(channel)s %(category)s from %(valid_from)s: marketplace fee %(marketplace)s, "
                                      "payment fee %(payment)s"),
            "fee_schedule.ended": _("Fee schedule for %(channel)s %(category)s from %(valid_from)s now ends on %(valid_to)s"),
            "product_rate.created": _("Commission rate for %(product)s set to %(rate)s from %(valid_from)s"),
            "margin_plan.created": _("Margin plan for @%(handle)s: %(discount)s off list price from %(valid_from)s"),
            "margin_plan.ended": _("Margin plan for @%(handle)s from %(valid_from)s now ends on %(valid_to)s"),
            "settlement_settings.changed": _("Settlement settings: return window %(return_window_days)s days, "
                                             "minimum payout %(minimum_payout)s"),
            "warehouse.fulfilment_changed": _("Fulfilment of %(code)s set to %(fulfilment)s; 3PL address %(from_url)s → %(to_url)s "
                                              "(API key %(key)s)"),
            "category.fee_rate_changed": _("Marketplace fee of the category %(name)s changed from %(from)s to %(to)s"),
            "creator.rate_changed": _("Own commission rate of @%(handle)s changed from %(from)s to %(to)s"),
            "tier_policy.saved": _("Tier policy version %(version)s saved, in force from %(effective_from)s"),
        }
        values = _Blank({k: role_label.get(v, v) if isinstance(v, str) else v for k, v in data.items()})
        template = templates.get(self.verb)
        try:
            return str(template) % values if template else self.verb
        except (KeyError, TypeError, ValueError):
            return self.verb
