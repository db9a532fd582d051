"""Catalogue, the shared stock pool, allocations, reservations, the stock ledger and FIFO lots.

Counters live in two places, always changed together by inventory.services in one transaction:
  SKU.on_hand / SKU.reserved / SKU.quota_open   the pool across all warehouses
  Stock.on_hand / Stock.reserved                 one SKU at one warehouse
CheckConstraints make negative stock and over-reservation impossible in the database itself.
"""
from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from djmoney.models.fields import MoneyField
from djmoney.money import Money


class Category(models.Model):
    name = models.CharField(_("name"), max_length=80, unique=True)
    # Marketplace referral/platform fee for this category, e.g. 0.0500 = 5%.
    marketplace_fee_rate = models.DecimalField(_("marketplace fee rate"), max_digits=5, decimal_places=4, default=0)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(marketplace_fee_rate__gte=0, marketplace_fee_rate__lte=1), name="category_fee_rate_0_1"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    title = models.CharField(_("title"), max_length=200)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products", verbose_name=_("category"))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class SKU(models.Model):
    code = models.CharField(_("SKU code"), max_length=64, unique=True)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="skus", verbose_name=_("product"))
    title = models.CharField(_("title"), max_length=200)
    weight_grams = models.PositiveIntegerField(_("weight (g)"), default=0)
    default_unit_cost = MoneyField(_("default unit cost"), max_digits=12, decimal_places=4, default_currency="USD", default=0)
    # The retail list price (in the seller's currency): distributors' margin plans price off it.
    list_price = MoneyField(_("list price"), max_digits=12, decimal_places=2, default_currency="USD", null=True, blank=True,
                            help_text=_("The retail price; a distributor's margin plan gives them a discount off it."))
    is_active = models.BooleanField(_("active"), default=True)
    preferred_supplier = models.ForeignKey(
        "Supplier", on_delete=models.SET_NULL, null=True, blank=True, related_name="skus", verbose_name=_("preferred supplier")
    )
    # Safety stock: the larger of a fixed number of units and a percentage of the pool on hand.
    safety_stock_units = models.PositiveIntegerField(_("safety stock (units)"), default=0)
    safety_stock_percent = models.DecimalField(_("safety stock (percent of on hand)"), max_digits=5, decimal_places=2, default=0)
    # Pool counters (all warehouses), maintained by inventory.services only.
    on_hand = models.IntegerField(_("on hand"), default=0, editable=False)
    reserved = models.IntegerField(_("reserved"), default=0, editable=False)
    quota_open = models.IntegerField(_("open allocation quota"), default=0, editable=False)

    class Meta:
        verbose_name = _("SKU")
        verbose_name_plural = _("SKUs")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="sku_on_hand_nonneg"),
            models.CheckConstraint(condition=Q(reserved__gte=0, reserved__lte=F("on_hand")), name="sku_reserved_within_on_hand"),
            models.CheckConstraint(condition=Q(quota_open__gte=0), name="sku_quota_open_nonneg"),
            models.CheckConstraint(
                condition=Q(safety_stock_percent__gte=0, safety_stock_percent__lte=100), name="sku_safety_percent_0_100"
            ),
        ]

    def __str__(self) -> str:
        return self.code


class Stock(models.Model):
    sku = models.ForeignKey(SKU, on_delete=models.PROTECT, related_name="stocks", verbose_name=_("SKU"))
    warehouse = models.ForeignKey("warehouses.Warehouse", on_delete=models.PROTECT, related_name="stocks", verbose_name=_("warehouse"))
    on_hand = models.IntegerField(_("on hand"), default=0)
    reserved = models.IntegerField(_("reserved"), default=0)

    class Meta:
        verbose_name = _("stock level")
        verbose_name_plural = _("stock levels")
        constraints = [
            models.UniqueConstraint(fields=["sku", "warehouse"], name="stock_one_row_per_sku_warehouse"),
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="stock_on_hand_nonneg"),
            models.CheckConstraint(condition=Q(reserved__gte=0, reserved__lte=F("on_hand")), name="stock_reserved_within_on_hand"),
        ]

    def __str__(self) -> str:
        return f"{self.sku_id}@{self.warehouse_id}"

    @property
    def unreserved(self) -> int:
        return self.on_hand - self.reserved


class HolderKind(models.TextChoices):
    CHANNEL = "channel", _("Channel")
    CREATOR = "creator", _("Creator / distributor")


class Allocation(models.Model):
    """A ring-fenced quota of a SKU's pool for one holder (a channel or a creator/distributor).
    See inventory.selectors.sellable_quantity for the rule holders take stock by."""

    sku = models.ForeignKey(SKU, on_delete=models.CASCADE, related_name="allocations", verbose_name=_("SKU"))
    holder_kind = models.CharField(_("holder kind"), max_length=16, choices=HolderKind.choices)
    holder_ref = models.CharField(_("holder"), max_length=64)
    quota = models.IntegerField(_("quota"))
    used = models.IntegerField(_("used"), default=0)

    class Meta:
        verbose_name = _("allocation")
        verbose_name_plural = _("allocations")
        constraints = [
            models.UniqueConstraint(fields=["sku", "holder_kind", "holder_ref"], name="allocation_one_per_holder"),
            models.CheckConstraint(condition=Q(used__gte=0, used__lte=F("quota")), name="allocation_used_within_quota"),
        ]

    def __str__(self) -> str:
        return f"{self.holder_kind}:{self.holder_ref} {self.quota}"


class ReservationStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    RELEASED = "released", _("Released")
    CONSUMED = "consumed", _("Shipped")


class Reservation(models.Model):
    """All lines of one order, held at one warehouse."""

    reference = models.CharField(_("reference"), max_length=100, unique=True)
    warehouse = models.ForeignKey("warehouses.Warehouse", on_delete=models.PROTECT, related_name="+", verbose_name=_("warehouse"))
    holder_kind = models.CharField(_("holder kind"), max_length=16, choices=HolderKind.choices)
    holder_ref = models.CharField(_("holder"), max_length=64)
    status = models.CharField(_("status"), max_length=16, choices=ReservationStatus.choices, default=ReservationStatus.ACTIVE)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("reservation")
        verbose_name_plural = _("reservations")

    def __str__(self) -> str:
        return self.reference


class ReservationLine(models.Model):
    reservation = models.ForeignKey(Reservation, on_delete=models.CASCADE, related_name="lines")
    sku = models.ForeignKey(SKU, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    # How much of the quantity came out of the holder's allocation quota (given back on release).
    from_quota = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["reservation", "sku"], name="reservation_line_one_per_sku"),
            models.CheckConstraint(condition=Q(quantity__gt=0, from_quota__lte=F("quantity")), name="reservation_line_quantities"),
        ]


class MoveKind(models.TextChoices):
    RECEIPT = "receipt", _("Receipt")
    RESERVE = "reserve", _("Reservation")
    RELEASE = "release", _("Release")
    SHIP = "ship", _("Shipment")
    ADJUST = "adjust", _("Adjustment")
    RETURN = "return", _("Return")
    TRANSFER_OUT = "transfer_out", _("Transfer out")
    TRANSFER_IN = "transfer_in", _("Transfer in")


class StockMove(models.Model):
    """The append-only stock ledger. Summing deltas per SKU × warehouse gives the levels."""

    sku = models.ForeignKey(SKU, on_delete=models.PROTECT, related_name="moves")
    warehouse = models.ForeignKey("warehouses.Warehouse", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=16, choices=MoveKind.choices)
    on_hand_delta = models.IntegerField(_("on hand change"), default=0)
    reserved_delta = models.IntegerField(_("reserved change"), default=0)
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("stock movement")
        verbose_name_plural = _("stock movements")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["sku", "warehouse"])]


class CostLot(models.Model):
    """A receipt's units at their landed unit cost (4 decimal places), consumed oldest first."""

    sku = models.ForeignKey(SKU, on_delete=models.PROTECT, related_name="lots")
    warehouse = models.ForeignKey("warehouses.Warehouse", on_delete=models.PROTECT, related_name="+")
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    quantity_received = models.PositiveIntegerField(_("received"))
    quantity_remaining = models.IntegerField(_("remaining"))
    unit_cost = MoneyField(_("landed unit cost"), max_digits=12, decimal_places=4, default_currency="USD")
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    # When the purchase was in another currency: the landed unit cost in it and the rate used
    # (units of that currency per 1 unit of the base currency, on the receipt date).
    source_unit_cost = MoneyField(_("unit cost as invoiced"), max_digits=12, decimal_places=4, default_currency="USD",
                                  null=True, blank=True)
    fx_rate = models.DecimalField(_("exchange rate used"), max_digits=18, decimal_places=8, null=True, blank=True)

    class Meta:
        verbose_name = _("cost lot")
        verbose_name_plural = _("cost lots")
        ordering = ["received_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity_remaining__gte=0, quantity_remaining__lte=F("quantity_received")), name="lot_remaining_within_received"
            ),
        ]
        indexes = [models.Index(fields=["sku", "warehouse", "received_at"], condition=Q(quantity_remaining__gt=0), name="lot_open_fifo")]


class LotConsumption(models.Model):
    """Units taken from a lot by a shipment line: the COGS of that line. Returns put units back."""

    lot = models.ForeignKey(CostLot, on_delete=models.PROTECT, related_name="consumptions")
    reference = models.CharField(_("reference"), max_length=100)
    quantity = models.PositiveIntegerField()
    returned = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0, returned__lte=F("quantity")), name="consumption_returned_within_quantity"),
        ]
        indexes = [models.Index(fields=["reference"])]


class Supplier(models.Model):
    name = models.CharField(_("name"), max_length=120, unique=True)
    email = models.EmailField(_("email"), blank=True)
    lead_time_days = models.PositiveIntegerField(_("lead time (days)"), default=15)
    currency = models.CharField(_("invoice currency"), max_length=3, default="USD",
                                help_text=_("Purchase orders to this supplier are priced in it."))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("supplier")
        verbose_name_plural = _("suppliers")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class POStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SENT = "sent", _("Sent")
    PARTIAL = "partially_received", _("Partially received")
    RECEIVED = "received", _("Received")
    CANCELLED = "cancelled", _("Cancelled")


class PurchaseOrder(models.Model):
    number = models.CharField(_("number"), max_length=32, unique=True)
    currency = models.CharField(_("currency"), max_length=3, default="USD",
                                help_text=_("The supplier's invoice currency; every line's unit cost is in it."))
    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, related_name="purchase_orders", verbose_name=_("supplier"))
    warehouse = models.ForeignKey("warehouses.Warehouse", on_delete=models.PROTECT, related_name="+", verbose_name=_("warehouse"))
    status = models.CharField(_("status"), max_length=20, choices=POStatus.choices, default=POStatus.DRAFT)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        verbose_name = _("purchase order")
        verbose_name_plural = _("purchase orders")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.number


class PurchaseOrderLine(models.Model):
    purchase_order = models.ForeignKey(PurchaseOrder, on_delete=models.CASCADE, related_name="lines")
    sku = models.ForeignKey(SKU, on_delete=models.PROTECT, related_name="+", verbose_name=_("SKU"))
    quantity_ordered = models.PositiveIntegerField(_("ordered"))
    quantity_received = models.PositiveIntegerField(_("received"), default=0)
    unit_cost = MoneyField(_("unit cost"), max_digits=12, decimal_places=4, default_currency="USD")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["purchase_order", "sku"], name="po_line_one_per_sku"),
            models.CheckConstraint(
                condition=Q(quantity_ordered__gt=0, quantity_received__lte=F("quantity_ordered")), name="po_line_no_over_receipt"
            ),
        ]

    @property
    def quantity_open(self) -> int:
        return self.quantity_ordered - self.quantity_received

    @property
    def amount(self) -> Money:
        """Quantity × unit cost, half-up to the cent, in the PO's currency."""
        from decimal import ROUND_HALF_UP, Decimal

        value = (Decimal(self.unit_cost.amount) * self.quantity_ordered).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        return Money(value, self.unit_cost.currency)


class ReorderSettings(models.Model):
    """One row per seller: how velocity and the reorder point are computed."""

    velocity_window_days = models.PositiveIntegerField(_("sales velocity window (days)"), default=28)
    cover_days = models.PositiveIntegerField(_("extra days of cover"), default=5)

    class Meta:
        verbose_name = _("reorder settings")
        verbose_name_plural = _("reorder settings")
        constraints = [models.CheckConstraint(condition=Q(velocity_window_days__gt=0), name="reorder_window_positive")]


class AlertStatus(models.TextChoices):
    OPEN = "open", _("Open")
    ORDERED = "ordered", _("Ordered")
    RESOLVED = "resolved", _("Resolved")


class ReorderAlert(models.Model):
    sku = models.ForeignKey(SKU, on_delete=models.CASCADE, related_name="reorder_alerts", verbose_name=_("SKU"))
    raised_at = models.DateTimeField(_("raised at"), default=timezone.now)
    daily_velocity = models.DecimalField(_("units sold per day"), max_digits=12, decimal_places=2)
    reorder_point = models.PositiveIntegerField(_("reorder point"))
    position = models.IntegerField(_("stock position"))
    suggested_quantity = models.PositiveIntegerField(_("suggested order"))
    status = models.CharField(_("status"), max_length=10, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    purchase_order = models.ForeignKey(PurchaseOrder, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    @property
    def days_of_cover(self):
        """Days the current position lasts at the current sales rate."""
        from decimal import Decimal

        return (Decimal(max(self.position, 0)) / self.daily_velocity).quantize(Decimal("0.1")) if self.daily_velocity else None

    class Meta:
        verbose_name = _("reorder alert")
        verbose_name_plural = _("reorder alerts")
        ordering = ["-raised_at"]
        constraints = [
            models.UniqueConstraint(fields=["sku"], condition=Q(status="open"), name="reorder_one_open_alert_per_sku"),
        ]


class ExchangeRate(models.Model):
    """How many units of `currency` one unit of the seller's base currency buys on `rate_date`
    (e.g. CNY 7.10 for USD 1). A conversion uses the latest rate on or before its date; with no such
    rate it is refused, never guessed."""

    currency = models.CharField(_("currency"), max_length=3)
    rate_date = models.DateField(_("date"))
    rate = models.DecimalField(_("units per 1 base unit"), max_digits=18, decimal_places=8)
    source = models.CharField(_("source"), max_length=40, blank=True)
    created_at = models.DateTimeField(_("entered at"), default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        verbose_name = _("exchange rate")
        verbose_name_plural = _("exchange rates")
        ordering = ["-rate_date", "currency"]
        constraints = [
            models.UniqueConstraint(fields=["currency", "rate_date"], name="fx_one_rate_per_currency_day"),
            models.CheckConstraint(condition=Q(rate__gt=0), name="fx_rate_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.currency} {self.rate} ({self.rate_date})"

    @property
    def inverse(self):
        return 1 / self.rate
