"""Fees and commission rates that the per-order profit waterfall uses. Rates are fractions
(0.0500 = 5%) with four decimals; every schedule is dated, and the one in force on the order's
date applies."""
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from djmoney.models.fields import MoneyField

from orders.models import Channel

RATE_DIGITS = {"max_digits": 5, "decimal_places": 4}


class FeeSchedule(models.Model):
    """What a channel charges, for one product category or (category empty) for all of them.
    A category's own schedule beats the channel-wide one; date ranges of the same channel and
    category never overlap (checked by the service under a lock)."""

    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    category = models.ForeignKey("inventory.Category", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                 verbose_name=_("category"))
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"), null=True, blank=True, help_text=_("Last day it applies; empty = until further notice."))
    marketplace_fee_rate = models.DecimalField(_("marketplace / referral fee"), **RATE_DIGITS, default=0)
    payment_fee_rate = models.DecimalField(_("payment fee"), **RATE_DIGITS, default=0)
    refund_admin_fee_rate = models.DecimalField(_("refund admin fee (share of the referral fee)"), **RATE_DIGITS, default=0)
    refund_admin_fee_cap = MoneyField(_("refund admin fee cap per SKU"), max_digits=10, decimal_places=2, default_currency="USD",
                                      null=True, blank=True)
    shipping_estimate = MoneyField(_("shipping per shipment (estimate)"), max_digits=10, decimal_places=2, default_currency="USD", default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("fee schedule")
        verbose_name_plural = _("fee schedules")
        ordering = ["channel", "category__name", "-valid_from"]
        constraints = [
            models.CheckConstraint(condition=Q(marketplace_fee_rate__gte=0, marketplace_fee_rate__lte=1, payment_fee_rate__gte=0,
                                               payment_fee_rate__lte=1, refund_admin_fee_rate__gte=0, refund_admin_fee_rate__lte=1),
                                   name="fee_rates_0_to_100_percent"),
            models.CheckConstraint(condition=Q(valid_to__isnull=True) | Q(valid_to__gte=F("valid_from")), name="fee_schedule_dates_in_order"),
            models.CheckConstraint(condition=Q(shipping_estimate__gte=0), name="fee_shipping_nonneg"),
        ]


class ProductCommissionRate(models.Model):
    """A commission rate for every creator selling one product (beaten only by a creator's own
    negotiated rate), dated like the fee schedules."""

    product = models.ForeignKey("inventory.Product", on_delete=models.CASCADE, related_name="+", verbose_name=_("product"))
    rate = models.DecimalField(_("commission rate"), **RATE_DIGITS)
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"), null=True, blank=True)

    class Meta:
        verbose_name = _("product commission rate")
        verbose_name_plural = _("product commission rates")
        ordering = ["product_id", "-valid_from"]
        constraints = [
            models.CheckConstraint(condition=Q(rate__gte=0, rate__lte=1), name="product_rate_0_to_100_percent"),
            models.CheckConstraint(condition=Q(valid_to__isnull=True) | Q(valid_to__gte=F("valid_from")), name="product_rate_dates_in_order"),
        ]
