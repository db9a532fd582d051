from django.db import models
from django.utils.translation import gettext_lazy as _
from django_tenants.models import DomainMixin, TenantMixin


class Seller(TenantMixin):
    """A seller is a tenant: one PostgreSQL schema, one site at <subdomain>.<base domain>."""

    name = models.CharField(_("company name"), max_length=120)
    subdomain = models.SlugField(_("subdomain"), max_length=40, unique=True)
    owner_email = models.EmailField(_("owner email"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    is_active = models.BooleanField(_("active"), default=True)

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
