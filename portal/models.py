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
