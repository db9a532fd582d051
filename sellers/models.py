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
