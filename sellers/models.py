from django.conf import settings
from django.db import models
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
