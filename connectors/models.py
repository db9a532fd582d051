"""Connected shops, their listings (which of our SKUs is which item on the platform), the state of
the stock sync per SKU × shop, and the inbox of webhook events."""
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from connectors.fields import EncryptedTextField


class Platform(models.TextChoices):
    TIKTOK_SHOP = "tiktok_shop", _("TikTok Shop")
    SHOPIFY = "shopify", _("Shopify")
    AMAZON = "amazon", _("Amazon")


class AccountStatus(models.TextChoices):
    CONNECTED = "connected", _("Connected")
    NEEDS_REAUTH = "needs_reauth", _("Needs re-authorisation")
    DISCONNECTED = "disconnected", _("Disconnected")


class ChannelAccount(models.Model):
    """One connected shop. `shop_id` is the platform's id for it: the TikTok shop id, the Shopify
    shop domain (x.myshopify.com) or the Amazon selling-partner id."""

    platform = models.CharField(_("platform"), max_length=20, choices=Platform.choices)
    name = models.CharField(_("name"), max_length=120)
    shop_id = models.CharField(_("shop id"), max_length=120)
    shop_cipher = models.CharField(_("shop cipher"), max_length=200, blank=True, help_text=_("TikTok Shop only."))
    stock_location = models.CharField(
        _("stock location"), max_length=200, blank=True,
        help_text=_("TikTok warehouse id, Shopify location id or Amazon marketplace id that receives the stock pushes."),
    )
    api_base_url = models.URLField(_("API base URL"), max_length=300)
    auth_url = models.URLField(_("token URL"), max_length=300)
    app_key = models.CharField(_("app key / client id"), max_length=200, blank=True)
    app_secret = EncryptedTextField(_("app secret / client secret"), blank=True)
    access_token = EncryptedTextField(_("access token"), blank=True)
    access_token_expires_at = models.DateTimeField(_("access token expires"), null=True, blank=True)
    refresh_token = EncryptedTextField(_("refresh token"), blank=True)
    refresh_token_expires_at = models.DateTimeField(_("refresh token expires"), null=True, blank=True)
    webhook_secret = EncryptedTextField(_("webhook secret"), blank=True, help_text=_("Shopify only; TikTok signs with the app secret."))
    status = models.CharField(_("status"), max_length=20, choices=AccountStatus.choices, default=AccountStatus.CONNECTED)
    status_detail = models.CharField(_("status detail"), max_length=500, blank=True)
    last_tested_at = models.DateTimeField(_("last tested"), null=True, blank=True)
    # When the owners were told the shop needs re-authorisation (a lost alert is sent again by a sweep).
    owners_alerted_at = models.DateTimeField(null=True, blank=True)
    connected_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["platform", "name"]
        constraints = [
            # A shop is connected once; a disconnected row may be kept for history.
            models.UniqueConstraint(fields=["platform", "shop_id"], condition=~Q(status="disconnected"), name="channel_account_shop_once"),
        ]

    def __str__(self) -> str:
        return f"{self.get_platform_display()} · {self.name}"

    @property
    def is_active(self) -> bool:
        return self.status == AccountStatus.CONNECTED

    @property
    def holder_ref(self) -> str:
        """The inventory holder this shop sells from (allocations may ring-fence stock for it)."""
        return f"{self.platform}:{self.pk}"


class ChannelListing(models.Model):
    """Which item on the platform one of our SKUs is. TikTok: product id + SKU id; Shopify:
    inventory item id; Amazon: the seller SKU (product id unused)."""

    account = models.ForeignKey(ChannelAccount, on_delete=models.CASCADE, related_name="listings")
    sku = models.ForeignKey("inventory.SKU", on_delete=models.CASCADE, related_name="channel_listings")
    external_product_id = models.CharField(_("platform product id"), max_length=200, blank=True)
    external_sku_id = models.CharField(_("platform SKU / item id"), max_length=200)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "sku"], name="channel_listing_sku_once"),
            models.UniqueConstraint(fields=["account", "external_sku_id"], name="channel_listing_item_once"),
        ]


class StockSyncState(models.Model):
    """The last quantity pushed for a listing, when, and the last error (one row per listing)."""

    listing = models.OneToOneField(ChannelListing, on_delete=models.CASCADE, related_name="sync_state")
    pushed_quantity = models.IntegerField(null=True, blank=True)
    pushed_at = models.DateTimeField(null=True, blank=True)
    platform_quantity = models.IntegerField(null=True, blank=True, help_text=_("As last read back from the platform."))
    checked_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    error_at = models.DateTimeField(null=True, blank=True)
    failures = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(pushed_quantity__gte=0) | Q(pushed_quantity__isnull=True), name="stock_sync_pushed_not_negative")]


class InboxStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    PROCESSED = "processed", _("Processed")
    IGNORED = "ignored", _("No handler yet")
    FAILED = "failed", _("Failed")


# TikTok Shop webhook types (see PRODUCT.md) and the names we show.
TIKTOK_TYPES = {
    "1": "ORDER_STATUS_CHANGE", "3": "RECIPIENT_ADDRESS_UPDATE", "4": "PACKAGE_UPDATE", "6": "SELLER_DEAUTHORIZATION",
    "7": "UPCOMING_AUTHORIZATION_EXPIRATION", "11": "CANCELLATION_STATUS_CHANGE", "12": "RETURN_STATUS_CHANGE",
    "67": "REFUND_SUCCESS", "68": "INVENTORY_CHANGED",
}


class WebhookEvent(models.Model):
    """A verified webhook, stored as received before anything acts on it. The platform's event id
    is unique per platform, so a redelivery is a no-op."""

    account = models.ForeignKey(ChannelAccount, on_delete=models.PROTECT, related_name="webhook_events")
    platform = models.CharField(max_length=20, choices=Platform.choices)
    event_id = models.CharField(max_length=200)
    topic = models.CharField(max_length=100)
    payload = models.JSONField()
    raw_body = models.TextField()
    received_at = models.DateTimeField(auto_now_add=True)
    occurred_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=InboxStatus.choices, default=InboxStatus.PENDING)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["platform", "event_id"], name="webhook_event_once")]
        indexes = [models.Index(fields=["status", "received_at"])]

    @property
    def topic_label(self) -> str:
        if self.platform == Platform.TIKTOK_SHOP and self.topic in TIKTOK_TYPES:
            return f"{TIKTOK_TYPES[self.topic]} ({self.topic})"
        return self.topic
