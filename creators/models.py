"""Creators and distributors, their monthly metrics, the versioned tier policy, tier reviews and
history, contacts, samples and the supply-priority queue.

Rates are fractions (0.2000 = 20%). Amounts are in the seller's base currency.
"""
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from djmoney.models.fields import MoneyField

from commissions.periods import SettlementCycle

RATE = {"max_digits": 5, "decimal_places": 4}


class CreatorKind(models.TextChoices):
    CREATOR = "creator", _("Creator")
    DISTRIBUTOR = "distributor", _("Distributor")
    WHOLESALE = "wholesale", _("Wholesale buyer")


class CreatorStatus(models.TextChoices):
    PROSPECT = "prospect", _("Prospect")
    ACTIVE = "active", _("Active")
    PROBATION = "probation", _("Probation")
    RETIRED = "retired", _("Retired")


class Tier(models.TextChoices):
    S = "S", "S"
    A = "A", "A"
    B = "B", "B"


TIER_RANK = {Tier.S: 3, Tier.A: 2, Tier.B: 1, "": 0}


class Creator(models.Model):
    handle = models.CharField(_("TikTok handle"), max_length=40, help_text=_("Without the @."))
    platform_creator_id = models.CharField(_("platform creator id"), max_length=64, blank=True)
    display_name = models.CharField(_("display name"), max_length=120, blank=True)
    kind = models.CharField(_("kind"), max_length=16, choices=CreatorKind.choices, default=CreatorKind.CREATOR)
    niche = models.CharField(_("niche"), max_length=60, blank=True)
    followers = models.PositiveIntegerField(_("followers"), default=0)
    country = models.CharField(_("country"), max_length=2, blank=True, help_text=_("Two-letter code, e.g. US."))
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    messaging_handle = models.CharField(_("messaging handle"), max_length=80, blank=True,
                                        help_text=_("WhatsApp, WeChat, Instagram or Discord, e.g. “WhatsApp +1 555 0100”."))
    start_date = models.DateField(_("start date"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=CreatorStatus.choices, default=CreatorStatus.PROSPECT)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="creators",
                              verbose_name=pgettext_lazy("creator", "owner"))
    tags = ArrayField(models.CharField(max_length=40), default=list, blank=True, verbose_name=_("tags"))
    notes = models.TextField(_("notes"), blank=True)
    # The tier in force today (kept by creators.services.tiers; the dated history is TierChange).
    tier = models.CharField(_("tier"), max_length=1, choices=Tier.choices, blank=True)
    commission_rate_override = models.DecimalField(_("commission rate override"), null=True, blank=True, **RATE)
    override_outside_band = models.BooleanField(_("override outside the tier band confirmed"), default=False)
    last_contacted_at = models.DateTimeField(_("last contacted"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("creator")
        verbose_name_plural = _("creators")
        ordering = ["handle"]
        constraints = [
            models.UniqueConstraint(Lower("handle"), name="creator_handle_unique_ci",
                                    violation_error_message=_("Another creator already has this handle.")),
            models.UniqueConstraint(fields=["platform_creator_id"], condition=~Q(platform_creator_id=""), name="creator_platform_id_unique",
                                    violation_error_message=_("Another creator already has this platform creator id.")),
            models.CheckConstraint(condition=Q(commission_rate_override__gte=0, commission_rate_override__lte=1)
                                   | Q(commission_rate_override__isnull=True), name="creator_override_0_1"),
        ]
        indexes = [
            GinIndex(fields=["tags"], name="creator_tags_gin"),
            models.Index(fields=["tier", "status"], name="creator_tier_status"),
        ]

    def __str__(self) -> str:
        return f"@{self.handle}"


class TierPolicy(models.Model):
    """One version of the seller's tier rules. Versions are never edited: a change is a new version.
    The policy in force on a day is the highest version whose effective date is on or before it."""

    version = models.PositiveIntegerField(_("version"), unique=True)
    effective_from = models.DateField(_("effective from"))
    probation_after_flat_months = models.PositiveSmallIntegerField(_("probation after months without improvement"), default=3)
    scarcity_days_of_cover = models.PositiveSmallIntegerField(
        _("scarce below days of cover"), default=7,
        help_text=_("When a SKU's sellable stock covers fewer days of sales than this, tiers marked “wait when scarce” queue."))
    contact_every_days = models.PositiveSmallIntegerField(_("contact S-tier creators every (days)"), default=7)
    note = models.CharField(_("what changed"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        verbose_name = _("tier policy")
        verbose_name_plural = _("tier policies")
        ordering = ["-version"]
        constraints = [models.CheckConstraint(condition=Q(probation_after_flat_months__gte=1), name="policy_probation_months_positive")]

    def __str__(self) -> str:
        return f"v{self.version}"


class SupportLevel(models.TextChoices):
    DEDICATED = "dedicated", _("Dedicated support")
    STANDARD = "standard", _("Standard support")
    SELF_SERVE = "self_serve", _("Self-serve")


class TierBand(models.Model):
    policy = models.ForeignKey(TierPolicy, on_delete=models.CASCADE, related_name="bands")
    tier = models.CharField(_("tier"), max_length=1, choices=Tier.choices)
    min_monthly_orders = models.PositiveIntegerField(_("monthly orders from"))
    # Optional extra gates; empty means the tier is decided on monthly orders alone.
    min_conversion_rate = models.DecimalField(_("minimum conversion rate"), null=True, blank=True, **RATE)
    min_roi = models.DecimalField(_("minimum ROI"), max_digits=8, decimal_places=2, null=True, blank=True)
    rate_min = models.DecimalField(_("commission from"), **RATE)
    rate_max = models.DecimalField(_("commission up to"), **RATE)
    default_rate = models.DecimalField(_("default commission"), **RATE)
    settlement_cycle = models.CharField(_("settlement cycle"), max_length=16, choices=SettlementCycle.choices)
    supply_priority = models.PositiveSmallIntegerField(_("supply priority"), help_text=_("1 is served first."))
    waits_when_scarce = models.BooleanField(_("waits when stock is scarce"), default=False)
    support_level = models.CharField(_("support level"), max_length=16, choices=SupportLevel.choices)

    class Meta:
        ordering = ["policy", "-min_monthly_orders"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "tier"], name="band_one_per_tier"),
            models.CheckConstraint(condition=Q(rate_min__gte=0, rate_max__lte=1, rate_min__lte=F("default_rate"),
                                               default_rate__lte=F("rate_max")), name="band_rates_ordered"),
            models.CheckConstraint(condition=Q(supply_priority__gte=1), name="band_priority_positive"),
        ]


class CreatorMonth(models.Model):
    """A creator's figures for one calendar month (business time zone), rebuilt from the sources
    (orders, samples, content stats) by creators.services.metrics; never edited by hand.

    conversion_rate = orders ÷ clicks           (empty without clicks)
    roi             = GMV ÷ (commission + sample cost)   (empty when both are zero)
    """

    creator = models.ForeignKey(Creator, on_delete=models.CASCADE, related_name="months")
    month = models.DateField(_("month"))  # the first day
    orders = models.PositiveIntegerField(_("orders"), default=0)
    units = models.PositiveIntegerField(_("units"), default=0)
    gmv = MoneyField(_("GMV"), max_digits=14, decimal_places=2, default_currency="USD", default=0)
    returned_units = models.PositiveIntegerField(_("returned units"), default=0)
    returns_value = MoneyField(_("returns"), max_digits=14, decimal_places=2, default_currency="USD", default=0)
    commission = MoneyField(_("commission"), max_digits=14, decimal_places=2, default_currency="USD", default=0)
    sample_cost = MoneyField(_("sample cost"), max_digits=14, decimal_places=2, default_currency="USD", default=0)
    videos = models.PositiveIntegerField(_("videos"), default=0)
    views = models.PositiveBigIntegerField(_("views"), default=0)
    clicks = models.PositiveBigIntegerField(_("clicks"), default=0)
    conversion_rate = models.DecimalField(_("conversion rate"), max_digits=9, decimal_places=4, null=True, blank=True)
    roi = models.DecimalField(_("ROI"), max_digits=12, decimal_places=2, null=True, blank=True)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("creator month")
        verbose_name_plural = _("creator months")
        ordering = ["creator", "month"]
        constraints = [models.UniqueConstraint(fields=["creator", "month"], name="creator_month_unique")]
        indexes = [models.Index(fields=["month", "creator"], name="creator_month_by_month")]


class ContentStats(models.Model):
    """Videos, views and clicks for a creator's month, as imported (CSV now, a connector later)."""

    creator = models.ForeignKey(Creator, on_delete=models.CASCADE, related_name="content_stats")
    month = models.DateField(_("month"))
    videos = models.PositiveIntegerField(_("videos"), default=0)
    views = models.PositiveBigIntegerField(_("views"), default=0)
    clicks = models.PositiveBigIntegerField(_("clicks"), default=0)
    source = models.CharField(_("source"), max_length=20, default="csv")
    imported_at = models.DateTimeField(_("imported at"), default=timezone.now)
    imported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["creator", "month"], name="content_stats_unique")]


class ReviewStatus(models.TextChoices):
    OPEN = "open", _("Waiting for decisions")
    DONE = "done", _("Decided")


class TierReview(models.Model):
    month = models.DateField(_("month reviewed"), unique=True)
    policy = models.ForeignKey(TierPolicy, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    reviewed_creators = models.PositiveIntegerField(default=0)
    status = models.CharField(_("status"), max_length=8, choices=ReviewStatus.choices, default=ReviewStatus.OPEN)

    class Meta:
        ordering = ["-month"]


class ProposalKind(models.TextChoices):
    FIRST_TIER = "first_tier", _("First tier")
    PROMOTION = "promotion", _("Promotion")
    DEMOTION = "demotion", _("Demotion")
    PROBATION = "probation", _("Probation")
    PROBATION_LIFTED = "probation_lifted", _("Probation lifted")
    RETIREMENT = "retirement", _("Retirement")


class Decision(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class TierReviewItem(models.Model):
    review = models.ForeignKey(TierReview, on_delete=models.CASCADE, related_name="items")
    creator = models.ForeignKey(Creator, on_delete=models.CASCADE, related_name="review_items")
    kind = models.CharField(_("proposal"), max_length=20, choices=ProposalKind.choices)
    current_tier = models.CharField(max_length=1, choices=Tier.choices, blank=True)
    proposed_tier = models.CharField(max_length=1, choices=Tier.choices, blank=True)
    current_status = models.CharField(max_length=16, choices=CreatorStatus.choices)
    proposed_status = models.CharField(max_length=16, choices=CreatorStatus.choices)
    # The numbers that decided it: orders, previous months' orders, conversion, ROI, thresholds.
    evidence = models.JSONField(default=dict)
    decision = models.CharField(_("decision"), max_length=10, choices=Decision.choices, default=Decision.PENDING)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        ordering = ["review", "creator__handle"]
        constraints = [models.UniqueConstraint(fields=["review", "creator"], name="review_item_one_per_creator")]


class ChangeSource(models.TextChoices):
    REVIEW = "review", _("Monthly review")
    MANUAL = "manual", _("Set by hand")
    IMPORT = "import", _("CSV import")


class TierChange(models.Model):
    """The tier and status history. A tier change takes effect from `effective_from` (the start
    of the creator's next settlement period); a status change at once."""

    creator = models.ForeignKey(Creator, on_delete=models.CASCADE, related_name="tier_changes")
    from_tier = models.CharField(_("from tier"), max_length=1, choices=Tier.choices, blank=True)
    to_tier = models.CharField(_("to tier"), max_length=1, choices=Tier.choices, blank=True)
    from_status = models.CharField(_("from status"), max_length=16, choices=CreatorStatus.choices)
    to_status = models.CharField(_("to status"), max_length=16, choices=CreatorStatus.choices)
    effective_from = models.DateField(_("effective from"))
    applied = models.BooleanField(default=False)
    source = models.CharField(_("source"), max_length=10, choices=ChangeSource.choices)
    reason = models.TextField(_("why"))
    review_item = models.OneToOneField(TierReviewItem, on_delete=models.SET_NULL, null=True, blank=True, related_name="change")
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                   verbose_name=_("by"))
    created_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    class Meta:
        ordering = ["-effective_from", "-pk"]
        indexes = [models.Index(fields=["applied", "effective_from"], name="tier_change_due")]


class ContactMethod(models.TextChoices):
    CALL = "call", _("Call")
    VIDEO = "video", _("Video call")
    MESSAGE = "message", _("Message")
    EMAIL = "email", _("Email")
    MEETING = "meeting", _("Meeting")


class ContactLog(models.Model):
    creator = models.ForeignKey(Creator, on_delete=models.CASCADE, related_name="contacts")
    contacted_at = models.DateTimeField(_("when"), default=timezone.now)
    method = models.CharField(_("how"), max_length=10, choices=ContactMethod.choices, default=ContactMethod.CALL)
    summary = models.TextField(_("summary"))
    next_step = models.CharField(_("next step"), max_length=200, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("by"))

    class Meta:
        ordering = ["-contacted_at", "-pk"]


class Sample(models.Model):
    """Free units sent to a creator. Shipped through the stock ledger (reserve, then ship) so the
    units leave FIFO lots; `cost` is the cost of those lots, counted in the creator's ROI."""

    reference = models.CharField(_("reference"), max_length=40, unique=True)
    creator = models.ForeignKey(Creator, on_delete=models.PROTECT, related_name="samples")
    sku = models.ForeignKey("inventory.SKU", on_delete=models.PROTECT, related_name="+", verbose_name=_("SKU"))
    warehouse = models.ForeignKey("warehouses.Warehouse", on_delete=models.PROTECT, related_name="+", verbose_name=_("warehouse"))
    quantity = models.PositiveIntegerField(_("quantity"))
    sent_on = models.DateField(_("sent on"))
    cost = MoneyField(_("cost (FIFO)"), max_digits=12, decimal_places=2, default_currency="USD")
    content_url = models.URLField(_("linked content"), blank=True)
    notes = models.CharField(_("notes"), max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-sent_on", "-pk"]
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="sample_quantity_positive")]


class SupplyStatus(models.TextChoices):
    WAITING = "waiting", _("Waiting")
    SERVED = "served", _("Served")
    CANCELLED = "cancelled", _("Cancelled")


class SupplyRequest(models.Model):
    """A creator's wholesale or dropship order waiting for stock by supply priority. When it is
    served, its stock is reserved under `reference` (the order's reservation)."""

    reference = models.CharField(_("reference"), max_length=100, unique=True)
    creator = models.ForeignKey(Creator, on_delete=models.PROTECT, related_name="supply_requests")
    warehouse = models.ForeignKey("warehouses.Warehouse", on_delete=models.PROTECT, related_name="+", verbose_name=_("warehouse"))
    tier = models.CharField(_("tier"), max_length=1, choices=Tier.choices, blank=True)
    priority = models.PositiveSmallIntegerField(_("priority"))
    status = models.CharField(_("status"), max_length=10, choices=SupplyStatus.choices, default=SupplyStatus.WAITING)
    wait_reason = models.CharField(_("why it waits"), max_length=20, blank=True)
    created_at = models.DateTimeField(_("queued at"), default=timezone.now)
    served_at = models.DateTimeField(_("served at"), null=True, blank=True)

    class Meta:
        ordering = ["priority", "created_at", "pk"]
        indexes = [models.Index(fields=["status", "priority", "created_at"], name="supply_queue_order")]


class SupplyRequestLine(models.Model):
    request = models.ForeignKey(SupplyRequest, on_delete=models.CASCADE, related_name="lines")
    sku = models.ForeignKey("inventory.SKU", on_delete=models.PROTECT, related_name="+", verbose_name=_("SKU"))
    quantity = models.PositiveIntegerField(_("quantity"))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["request", "sku"], name="supply_line_one_per_sku"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="supply_line_quantity_positive"),
        ]
