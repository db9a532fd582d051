"""Creator portal accounts: a login for one creator (or distributor) of this seller, apart from
staff logins (its own table, session key and login page; see portal.auth)."""
from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _


class CreatorAccount(models.Model):
    creator = models.OneToOneField("creators.Creator", on_delete=models.PROTECT, related_name="portal_account", verbose_name=_("creator"))
    email = models.EmailField(_("email"))
    email_notifications = models.BooleanField(_("email me notifications"), default=True)
    password = models.CharField(_("password"), max_length=128, blank=True)  # empty until the invite is accepted
    is_active = models.BooleanField(_("active"), default=True)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    invited_at = models.DateTimeField(_("invited at"), default=timezone.now)
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    last_login = models.DateTimeField(_("last sign-in"), null=True, blank=True)

    class Meta:
        verbose_name = _("portal account")
        verbose_name_plural = _("portal accounts")
        constraints = [models.UniqueConstraint(Lower("email"), name="portal_account_email_unique")]

    def __str__(self) -> str:
        return self.email

    def set_password(self, raw: str) -> None:
        self.password = make_password(raw)

    def check_password(self, raw: str) -> bool:
        return bool(self.password) and check_password(raw, self.password)

    def session_hash(self) -> str:
        """Changes with the password, so a reset signs out every other session."""
        return salted_hmac("fanout.portal.session", self.password).hexdigest()

    @property
    def can_sign_in(self) -> bool:
        return self.is_active and self.accepted_at is not None


class NotificationKind(models.TextChoices):
    STATEMENT_ISSUED = "statement_issued", _("Statement issued")
    PAYMENT_SENT = "payment_sent", _("Payment sent")
    ORDER_SHIPPED = "order_shipped", _("Order shipped")


class Notification(models.Model):
    """Something a creator should know, shown in the portal and emailed once. `key` names the
    event (e.g. statement:12:r2, payout:12, shipment:40), so an event notifies an account once."""
    account = models.ForeignKey(CreatorAccount, on_delete=models.CASCADE, related_name="notifications", verbose_name=_("account"))
    kind = models.CharField(_("kind"), max_length=20, choices=NotificationKind.choices)
    key = models.CharField(_("event"), max_length=80)
    object_id = models.PositiveBigIntegerField(_("object"))  # the statement or order it is about
    data = models.JSONField(_("details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("emailed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        constraints = [models.UniqueConstraint(fields=["account", "key"], name="portal_notification_once")]
        indexes = [models.Index(fields=["account", "-created_at"], name="portal_notification_recent"),
                   models.Index(fields=["account"], condition=models.Q(read_at__isnull=True), name="portal_notification_unread")]

    def __str__(self) -> str:
        return f"{self.kind} {self.key}"
