from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_tenants.models import DomainMixin, TenantMixin

from erp.l10n import CURRENCY_CHOICES, TIME_ZONE_CHOICES


class Seller(TenantMixin):
    """A seller is a tenant: one PostgreSQL schema, one site at <subdomain>.<base domain>."""

    name = models.CharField(_("company name"), max_length=120)
    subdomain = models.SlugField(_("subdomain"), max_length=40, unique=True)
    owner_email = models.EmailField(_("owner email"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    is_active = models.BooleanField(_("active"), default=True)
    time_zone = models.CharField(
        _("business time zone"), max_length=64, choices=TIME_ZONE_CHOICES, default=settings.FANOUT_DEFAULT_BUSINESS_TIME_ZONE,
        help_text=_("Days, daily reports and settlement periods begin at midnight in this time zone."),
    )
    base_currency = models.CharField(
        _("base currency"), max_length=3, choices=CURRENCY_CHOICES, default=settings.DEFAULT_CURRENCY,
        help_text=_("Stock is costed and profit is reported in this currency."),
    )

    auto_create_schema = True
    auto_drop_schema = True

    class Meta:
        verbose_name = _("seller")
        verbose_name_plural = _("sellers")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def create_schema(self, check_if_exists=False, sync_schema=True, verbosity=1):
        """A new seller's schema replays the recorded migration of an empty schema (sellers.schemas)
        in the transaction that saves the seller; outside a transaction it is migrated as before."""
        from django.db import connection
        from django_tenants.utils import schema_exists

        from sellers.schemas import schema_clone

        if not (sync_schema and connection.in_atomic_block):
            return super().create_schema(check_if_exists=check_if_exists, sync_schema=sync_schema, verbosity=verbosity)
        if check_if_exists and schema_exists(self.schema_name):
            return False
        schema_clone(schema_name=self.schema_name)
        return True


class Domain(DomainMixin):
    class Meta:
        verbose_name = _("domain")
        verbose_name_plural = _("domains")

    def __str__(self) -> str:
        return self.domain


class JobRun(models.Model):
    """How one scheduled job (a beat entry) fares in one schema: when beat last sent it there, when it
    last succeeded or failed, and why. Written by beat (sent) and by the worker (outcome); read by
    /health/ and the platform admin's Scheduled jobs page (sellers.jobs). A per-seller job that ran in
    the public schema is recorded under "public", which is always wrong."""

    schema_name = models.CharField(_("schema"), max_length=63)
    job = models.CharField(_("job"), max_length=100)
    first_sent_at = models.DateTimeField(_("first sent"), null=True, blank=True)
    last_sent_at = models.DateTimeField(_("last sent"), null=True, blank=True)
    last_success_at = models.DateTimeField(_("last success"), null=True, blank=True)
    last_failure_at = models.DateTimeField(_("last failure"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True, default="")
    successes = models.PositiveBigIntegerField(_("successes"), default=0)
    failures = models.PositiveBigIntegerField(_("failures"), default=0)

    class Meta:
        verbose_name = _("scheduled job")
        verbose_name_plural = _("scheduled jobs")
        ordering = ["schema_name", "job"]
        constraints = [models.UniqueConstraint(fields=["schema_name", "job"], name="job_run_unique")]

    def __str__(self) -> str:
        return f"{self.job} @ {self.schema_name}"


class SchemaTemplate(models.Model):
    """The SQL that migrating an empty seller schema runs, recorded once per version of the
    migrations (sellers.schemas): a new seller's schema replays it instead of migrating."""

    fingerprint = models.CharField(max_length=64, unique=True)
    script = models.TextField()
    statements = models.PositiveIntegerField()
    built_at = models.DateTimeField(auto_now_add=True)
    build_seconds = models.FloatField()

    def __str__(self) -> str:
        return f"schema template {self.fingerprint[:12]} ({self.statements} statements)"


class SignupStatus(models.TextChoices):
    PENDING = "pending", _("waiting for the email address to be confirmed")
    PROVISIONING = "provisioning", _("creating the seller site")
    READY = "ready", _("ready")
    FAILED = "failed", _("failed")


class SignupRequest(models.Model):
    """A sign-up on the public site. Nothing is provisioned until the owner opens the emailed link
    and chooses a password; then a task creates the seller (sellers.services.signup_requests). The
    subdomain is held while the request is open; abandoned requests are deleted (sellers.signups_clean)."""

    company_name = models.CharField(_("company name"), max_length=120)
    subdomain = models.SlugField(_("subdomain"), max_length=40)
    owner_email = models.EmailField(_("owner email"))
    time_zone = models.CharField(_("business time zone"), max_length=64)
    base_currency = models.CharField(_("base currency"), max_length=3)
    owner_language = models.CharField(max_length=16, blank=True)
    owner_time_zone = models.CharField(max_length=64, blank=True)
    ip = models.GenericIPAddressField(_("from address"), null=True, blank=True)
    # Changes whenever a new link is sent, so that only the newest link works.
    nonce = models.CharField(max_length=32)
    status = models.CharField(_("status"), max_length=16, choices=SignupStatus.choices, default=SignupStatus.PENDING)
    password = models.CharField(max_length=128, blank=True)  # the owner's password hash, until the owner exists
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    email_sent_at = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(_("email confirmed at"), null=True, blank=True)
    provisioning_started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    handed_off_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(_("error"), max_length=500, blank=True)
    seller = models.ForeignKey(Seller, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("sign-up")
        verbose_name_plural = _("sign-ups")
        ordering = ["-created_at"]
        constraints = [
            # A subdomain is held by at most one open sign-up (a seller holds it once created).
            models.UniqueConstraint(fields=["subdomain"], condition=models.Q(status__in=["pending", "provisioning"]),
                                    name="signup_one_open_per_subdomain"),
        ]

    def __str__(self) -> str:
        return f"{self.subdomain} ({self.owner_email}, {self.status})"
