from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from djmoney.models.fields import MoneyField

from connectors.fields import EncryptedTextField


class Fulfilment(models.TextChoices):
    IN_HOUSE = "in_house", _("Our team (Fanout's queue)")
    THREEPL = "3pl", _("A 3PL through its API")


class Warehouse(models.Model):
    code = models.CharField(_("code"), max_length=16, unique=True)
    name = models.CharField(_("name"), max_length=120)
    address_line = models.CharField(_("address"), max_length=200, blank=True)
    city = models.CharField(_("city"), max_length=80, blank=True)
    state = models.CharField(_("state"), max_length=2, blank=True)
    zip_code = models.CharField(_("ZIP code"), max_length=10)
    # From the offline `zipcodes` data set, set by the service from the ZIP code.
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6)
    storage_cost_per_unit_month = MoneyField(
        _("storage cost per unit per month"), max_digits=10, decimal_places=4, default_currency="USD", default=0
    )
    is_active = models.BooleanField(_("active"), default=True)
    # Who works the shipments: our own staff in Fanout's queue, or a 3PL through its API (warehouses/threepl.py).
    fulfilment = models.CharField(_("fulfilment"), max_length=10, choices=Fulfilment.choices, default=Fulfilment.IN_HOUSE,
                                  db_default=Fulfilment.IN_HOUSE)
    threepl_url = models.URLField(_("3PL API address"), blank=True, db_default="")
    threepl_api_key = EncryptedTextField(_("3PL API key"), blank=True, db_default="")
    # "host:port" the key was entered for (erp.outbound.endpoint_host): it is never sent anywhere else.
    threepl_key_host = models.CharField(_("3PL API key entered for"), max_length=270, blank=True, db_default="")

    class Meta:
        verbose_name = _("warehouse")
        verbose_name_plural = _("warehouses")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(storage_cost_per_unit_month__gte=0), name="warehouse_storage_cost_nonneg"),
        ]

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"
