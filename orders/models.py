"""Orders from every channel. This is the core record that creator metrics read; intake, the
pipeline, shipments and SLA clocks build on it (issue 6)."""
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from djmoney.models.fields import MoneyField


class Channel(models.TextChoices):
    TIKTOK_SHOP = "tiktok_shop", _("TikTok Shop")
    SHOPIFY = "shopify", _("Shopify")
    AMAZON = "amazon", _("Amazon")
    WHOLESALE = "wholesale", _("Wholesale")
    MANUAL = "manual", _("Manual")
    PORTAL = "portal", _("Creator portal")


class OrderType(models.TextChoices):
    DROPSHIP = "dropship", _("Dropship")
    RETAIL = "retail", _("Retail")
    WHOLESALE = "wholesale", _("Wholesale")


class OrderStatus(models.TextChoices):
    RECEIVED = "received", _("Received")
    ON_HOLD = "on_hold", _("On hold")
    RESERVED = "reserved", _("Reserved")
    ROUTED = "routed", _("Routed")
    PACKING = "packing", _("Packing")
    PACKED = "packed", _("Packed")
    SHIPPED = "shipped", _("Shipped")
    DELIVERED = "delivered", _("Delivered")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")
    RETURNED = "returned", _("Returned")
    BACKORDERED = "backordered", _("Backordered")
    ADDRESS_INVALID = "address_invalid", _("Address invalid")
    AWAITING_SUPPLY = "awaiting_supply", _("Awaiting supply priority")


class Order(models.Model):
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    external_id = models.CharField(_("order number"), max_length=64)
    order_type = models.CharField(_("type"), max_length=10, choices=OrderType.choices, default=OrderType.RETAIL)
    creator = models.ForeignKey("creators.Creator", on_delete=models.PROTECT, null=True, blank=True, related_name="orders",
                                verbose_name=_("creator"))
    # True when the platform (TikTok affiliate) pays the creator's commission, not the seller.
    platform_pays_commission = models.BooleanField(_("platform pays the commission"), default=False)
    status = models.CharField(_("status"), max_length=16, choices=OrderStatus.choices, default=OrderStatus.RECEIVED)
    currency = models.CharField(_("currency"), max_length=3, default="USD")
    placed_at = models.DateTimeField(_("placed at"), default=timezone.now)
    created_at = models.DateTimeField(_("received at"), default=timezone.now)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-placed_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["channel", "external_id"], name="order_unique_per_channel")]
        indexes = [
            models.Index(fields=["creator", "placed_at"], name="order_creator_placed"),
            models.Index(fields=["placed_at"], name="order_placed"),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.external_id}"


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    sku = models.ForeignKey("inventory.SKU", on_delete=models.PROTECT, related_name="+", verbose_name=_("SKU"))
    quantity = models.PositiveIntegerField(_("quantity"))
    unit_price = MoneyField(_("unit price"), max_digits=12, decimal_places=2, default_currency="USD")
    discount = MoneyField(_("discount"), max_digits=12, decimal_places=2, default_currency="USD", default=0)
    quantity_returned = models.PositiveIntegerField(_("returned"), default=0)
    # The creator's commission on this line as known at intake (the platform's estimate for
    # affiliate orders, else the creator's rate); commissions/ accrues the exact amount.
    commission_rate = models.DecimalField(_("commission rate"), max_digits=5, decimal_places=4, null=True, blank=True)
    commission = MoneyField(_("commission"), max_digits=12, decimal_places=2, default_currency="USD", default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0, quantity_returned__lte=F("quantity")), name="order_line_quantities"),
            models.CheckConstraint(condition=Q(unit_price__gte=0, discount__gte=0), name="order_line_amounts_nonneg"),
        ]
