"""Orders from every channel, their timeline, shipments and SLA clocks.

Status machine (every change is an OrderEvent with its time):
received → reserved → routed (handed to the warehouse) → packing → packed → shipped → delivered
→ completed; on hold, cancelled and returned on the side; backordered, address invalid and
awaiting supply priority are exceptions. `exception_reason` marks an order that needs a person
(whatever its status) until a retry clears it."""
from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Now
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


# Statuses the pipeline may still move forward without a person.
OPEN_STATUSES = ("received", "on_hold", "reserved", "routed", "packing", "packed", "backordered", "address_invalid", "awaiting_supply")
# Before these, stock is not yet out of the building: a cancellation releases it.
UNSHIPPED_STATUSES = OPEN_STATUSES


class ExceptionReason(models.TextChoices):
    ADDRESS_INVALID = "address_invalid", _("Address invalid")
    UNKNOWN_SKU = "unknown_sku", _("Unknown SKU")
    BAD_LINES = "bad_lines", _("Bad order lines")
    STOCK_SHORT = "stock_short", _("Not enough stock (backordered)")
    AWAITING_SUPPLY = "awaiting_supply", _("Waiting in the supply-priority queue")
    NO_WAREHOUSE = "no_warehouse", _("No active warehouse")
    CHANNEL_FETCH = "channel_fetch", _("Could not fetch the order from the channel")
    TRACKING_PUSH = "tracking_push", _("Could not push tracking to the channel")
    THREEPL_PUSH = "threepl_push", _("Could not hand the shipment to the 3PL")
    CANCELLED_AFTER_SHIPPING = "cancel_after_ship", _("Cancelled by the channel after shipping")
    PIPELINE_ERROR = "pipeline_error", _("Unexpected error")


class SlaState(models.TextChoices):
    OK = "ok", _("On time")
    AT_RISK = "at_risk", _("At risk")
    OVERDUE = "overdue", _("Overdue")
    DONE = "done", _("Done")


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
    account = models.ForeignKey("connectors.ChannelAccount", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                verbose_name=_("shop"))
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    total = models.DecimalField(_("total"), max_digits=14, decimal_places=2, default=0, db_default=0)
    # Ship-to address (US: ZIP codes are checked against the offline data set and give the coordinates).
    ship_name = models.CharField(_("recipient"), max_length=120, blank=True, default="", db_default="")
    ship_phone = models.CharField(_("phone"), max_length=40, blank=True, default="", db_default="")
    ship_line1 = models.CharField(_("address line 1"), max_length=200, blank=True, default="", db_default="")
    ship_line2 = models.CharField(_("address line 2"), max_length=200, blank=True, default="", db_default="")
    ship_city = models.CharField(_("city"), max_length=80, blank=True, default="", db_default="")
    ship_state = models.CharField(_("state"), max_length=40, blank=True, default="", db_default="")
    ship_zip = models.CharField(_("ZIP code"), max_length=12, blank=True, default="", db_default="")
    ship_country = models.CharField(_("country"), max_length=2, default="US", db_default="US")
    ship_latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    ship_longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    # Clocks: the channel's own ship-by deadline (else 48 h from payment) and the pack target.
    ship_by = models.DateTimeField(_("ship by"), null=True, blank=True)
    pack_by = models.DateTimeField(_("pack by"), null=True, blank=True)
    sla_state = models.CharField(_("SLA"), max_length=8, choices=SlaState.choices, default=SlaState.OK, db_default=SlaState.OK)
    status_changed_at = models.DateTimeField(_("status since"), default=timezone.now, db_default=Now())
    # Stage timestamps (the timeline has every change; these feed the per-stage table).
    reserved_at = models.DateTimeField(null=True, blank=True)
    packed_at = models.DateTimeField(null=True, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    tracking_pushed_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    exception_reason = models.CharField(_("exception"), max_length=20, choices=ExceptionReason.choices, blank=True, default="", db_default="")
    exception_detail = models.CharField(_("exception detail"), max_length=500, blank=True, default="", db_default="")
    exception_at = models.DateTimeField(null=True, blank=True)
    # The channel's status and update time as last applied (older updates arriving late are ignored).
    external_status = models.CharField(_("channel status"), max_length=40, blank=True, default="", db_default="")
    external_updated_at = models.DateTimeField(null=True, blank=True)
    external_data = models.JSONField(default=dict, blank=True, db_default={})  # e.g. TikTok package id, Shopify fulfillment order id
    # Lines as received when they could not be matched (unknown SKU, bad quantity): kept for the retry.
    intake_lines = models.JSONField(default=list, blank=True, db_default=[])
    handled_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    updated_at = models.DateTimeField(auto_now=True, db_default=Now())

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-placed_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["channel", "external_id"], name="order_unique_per_channel")]
        indexes = [
            # Covering: a creator's figures by day (portal dashboard, creator metrics) read the index only.
            models.Index(fields=["creator", "placed_at"], include=["id", "status", "total"], name="order_creator_placed_cover"),
            models.Index(fields=["placed_at"], name="order_placed"),
            models.Index(fields=["status", "placed_at"], name="order_status_placed"),
            models.Index(fields=["external_id"], name="order_external_id"),
            models.Index(fields=["sla_state", "ship_by"], name="order_sla_open", condition=Q(sla_state__in=["ok", "at_risk", "overdue"])),
            models.Index(fields=["exception_at"], name="order_exceptions", condition=~Q(exception_reason="")),
            models.Index(fields=["channel", "placed_at"], name="order_channel_placed"),
            # The few orders a person acted on, by day (the cockpit's team page).
            models.Index(fields=["placed_at"], include=["handled_by"], name="order_handled", condition=Q(handled_by__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.external_id}"


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines", db_index=False)  # see Meta.indexes
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
        # The order's lines, covering SKU and quantity: units and top products of a creator's
        # orders (portal dashboard) are read from the index alone.
        indexes = [models.Index(fields=["order"], include=["sku", "quantity"], name="order_line_order_cover")]


class OrderEvent(models.Model):
    """One line of an order's timeline: a status change (with from/to), or a note (address
    changed, tracking pushed, exception, retry)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now)
    from_status = models.CharField(max_length=16, choices=OrderStatus.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=OrderStatus.choices, blank=True)
    message = models.CharField(max_length=500, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    # Set when a person cleared the order's exception (this reason): the team's "exceptions resolved".
    resolved_exception = models.CharField(max_length=20, choices=ExceptionReason.choices, blank=True, default="", db_default="")

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["order", "at"], name="order_event_order_at"),
                   models.Index(fields=["at", "actor"], name="order_event_resolved", condition=~Q(resolved_exception=""))]


class ShipmentStatus(models.TextChoices):
    OPEN = "open", _("Waiting to pick")
    PICKING = "picking", _("Picking")
    PACKED = "packed", _("Packed")
    SHIPPED = "shipped", _("Shipped")
    DELIVERED = "delivered", _("Delivered")
    CANCELLED = "cancelled", _("Cancelled")


class Shipment(models.Model):
    """What one warehouse sends for an order (an order split across warehouses has several).
    Its stock is held by the reservation `reservation_reference` until it ships."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="shipments")
    warehouse = models.ForeignKey("warehouses.Warehouse", on_delete=models.PROTECT, related_name="shipments", verbose_name=_("warehouse"))
    reservation_reference = models.CharField(max_length=100, unique=True)
    status = models.CharField(_("status"), max_length=10, choices=ShipmentStatus.choices, default=ShipmentStatus.OPEN)
    distance_km = models.DecimalField(_("distance (km)"), max_digits=8, decimal_places=1, null=True, blank=True)
    carrier = models.CharField(_("carrier"), max_length=40, blank=True)
    tracking_number = models.CharField(_("tracking number"), max_length=80, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    picked_at = models.DateTimeField(null=True, blank=True)
    packed_at = models.DateTimeField(null=True, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    # What the carrier label actually cost (entered when shipping); the profit waterfall uses it over any estimate.
    shipping_cost = models.DecimalField(_("label cost"), max_digits=10, decimal_places=2, null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    tracking_pushed_at = models.DateTimeField(null=True, blank=True)
    push_error = models.CharField(max_length=500, blank=True)
    # For a 3PL warehouse: when it accepted the shipment, and its own id for it.
    handed_over_at = models.DateTimeField(null=True, blank=True)
    external_ref = models.CharField(_("3PL reference"), max_length=80, blank=True, db_default="")

    class Meta:
        verbose_name = _("shipment")
        verbose_name_plural = _("shipments")
        ordering = ["pk"]
        indexes = [models.Index(fields=["warehouse", "status"], name="shipment_queue")]

    @property
    def number(self) -> str:
        return f"S{self.pk:07d}"

    def __str__(self) -> str:
        return self.number


class ShipmentLine(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(OrderLine, on_delete=models.CASCADE, related_name="shipment_lines")
    sku = models.ForeignKey("inventory.SKU", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    quantity_returned = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0, quantity_returned__lte=F("quantity")), name="shipment_line_quantities")]


class IntakeFailureReason(models.TextChoices):
    NOT_FOUND = "not_found", _("The channel does not know the order")
    UNREADABLE = "unreadable", _("The order could not be read")
    CHANNEL_AUTH = "channel_auth", _("The shop's authorisation was refused")
    CHANNEL_DOWN = "channel_down", _("The channel did not answer")
    NO_ORDER_ID = "no_order_id", _("The notification names no order")
    ERROR = "error", _("Unexpected error")


class IntakeFailure(models.Model):
    """An order the channel announced (webhook or poll) that did not become an order in Fanout. Shown to
    Operations with the exceptions and counted with them until it arrives (any later intake of the same
    order resolves it), a retry brings it in, or a person dismisses it with a reason."""

    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    account = models.ForeignKey("connectors.ChannelAccount", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                verbose_name=_("shop"))
    # The platform's order id; blank when the notification did not say which order.
    external_id = models.CharField(_("order number"), max_length=64, blank=True)
    source = models.CharField(_("arrived by"), max_length=10, choices=[("webhook", _("Webhook")), ("poll", _("Polling"))])
    event = models.ForeignKey("connectors.WebhookEvent", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    # The order as the channel gave it, when it came with the notification (polling): a retry reads it again.
    payload = models.JSONField(null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=16, choices=IntakeFailureReason.choices)
    detail = models.CharField(_("detail"), max_length=500, blank=True)
    first_failed_at = models.DateTimeField(_("first failed"), default=timezone.now)
    last_failed_at = models.DateTimeField(_("last failed"), default=timezone.now)
    attempts = models.PositiveIntegerField(_("attempts"), default=1)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    resolution = models.CharField(_("resolution"), max_length=200, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        verbose_name = _("intake failure")
        verbose_name_plural = _("intake failures")
        ordering = ["first_failed_at", "pk"]
        constraints = [
            # One open failure per channel order; per inbox event when the order is not known.
            models.UniqueConstraint(fields=["channel", "external_id"], condition=Q(resolved_at__isnull=True) & ~Q(external_id=""),
                                    name="intake_failure_open_per_order"),
            models.UniqueConstraint(fields=["event"], condition=Q(resolved_at__isnull=True) & Q(external_id=""),
                                    name="intake_failure_open_per_event"),
        ]
        indexes = [models.Index(fields=["first_failed_at"], name="intake_failure_open", condition=Q(resolved_at__isnull=True))]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.external_id or '?'}"
