"""Fees and commission rates that the per-order profit waterfall uses. Rates are fractions
(0.0500 = 5%) with four decimals; every schedule is dated, and the one in force on the order's
date applies."""
from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from djmoney.models.fields import MoneyField

from commissions.periods import SettlementCycle
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
    # Estimates by shipping zone 1–8 (distance from the warehouse, as US carriers count zones); empty = the flat estimate.
    zone_estimates = ArrayField(models.DecimalField(max_digits=10, decimal_places=2), size=8, default=list, blank=True,
                                verbose_name=_("shipping estimate by zone"))
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


class MarginPlan(models.Model):
    """A distributor's or wholesale buyer's price terms, dated: they buy at the SKU's list price
    less `discount_rate` (rounded half-up to the cent per unit). On their wholesale orders that
    price is what they pay and they earn nothing more; on orders they sell on at retail that we
    ship (dropship), we owe them the difference between the sale and that price, settled like a
    commission. At most one plan per buyer is in force on any day."""

    creator = models.ForeignKey("creators.Creator", on_delete=models.PROTECT, related_name="margin_plans", verbose_name=_("distributor"))
    discount_rate = models.DecimalField(_("discount off list price"), **RATE_DIGITS)
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("margin plan")
        verbose_name_plural = _("margin plans")
        ordering = ["creator_id", "-valid_from"]
        constraints = [
            models.CheckConstraint(condition=Q(discount_rate__gte=0, discount_rate__lte=1), name="margin_plan_0_to_100_percent"),
            models.CheckConstraint(condition=Q(valid_to__isnull=True) | Q(valid_to__gte=F("valid_from")), name="margin_plan_dates_in_order"),
        ]


# ============================================================================ accrual, ledger, settlement
MONEY_DIGITS = {"max_digits": 14, "decimal_places": 2}


class SettlementSettings(models.Model):
    """The seller's settlement rules (one row)."""

    return_window_days = models.PositiveSmallIntegerField(
        _("return window (days)"), default=30,
        help_text=_("A commission becomes payable this many days after delivery, once returns are no longer expected."))
    minimum_payout = models.DecimalField(_("minimum payout"), **MONEY_DIGITS, default=Decimal("50.00"),
                                         help_text=_("A smaller balance is carried forward to the next statement."))

    class Meta:
        verbose_name = _("settlement settings")
        verbose_name_plural = _("settlement settings")
        constraints = [models.CheckConstraint(condition=Q(minimum_payout__gte=0), name="settlement_minimum_nonneg")]


class LineKind(models.TextChoices):
    ACCRUAL = "accrual", _("Accrual")
    CLAWBACK = "clawback", _("Clawback")


class EntryKind(models.TextChoices):
    ACCRUAL = "accrual", _("Accrual")
    CLAWBACK = "clawback", _("Clawback")
    ADJUSTMENT = "adjustment", _("Adjustment")
    PAYOUT = "payout", _("Payout")


class Account(models.TextChoices):
    """Ledger accounts. `creator` is one account per creator (what the seller owes them: credit
    balance); the other two are the seller's."""

    CREATOR = "creator", _("Owed to creator")
    EXPENSE = "expense", _("Commission expense")
    CASH = "cash", _("Cash (payouts)")


class JournalEntry(models.Model):
    """A balanced journal entry: its postings sum to zero. `key` makes posting the same thing
    twice impossible (accrual:<creator>:<first line>, clawback:<line>, adjustment:<id>, payout:<statement>)."""

    kind = models.CharField(_("kind"), max_length=12, choices=EntryKind.choices)
    key = models.CharField(max_length=80, unique=True)
    creator = models.ForeignKey("creators.Creator", on_delete=models.PROTECT, related_name="+", verbose_name=_("creator"))
    amount = models.DecimalField(_("amount"), **MONEY_DIGITS)  # what it adds to the creator's balance
    currency = models.CharField(_("currency"), max_length=3)
    memo = models.CharField(_("memo"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("posted at"), default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        verbose_name = _("journal entry")
        verbose_name_plural = _("journal entries")
        indexes = [models.Index(fields=["creator", "created_at"], name="entry_creator_time")]


class Posting(models.Model):
    """One side of a journal entry: debit positive, credit negative."""

    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="postings")
    account = models.CharField(max_length=10, choices=Account.choices)
    creator = models.ForeignKey("creators.Creator", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    amount = models.DecimalField(**MONEY_DIGITS)
    currency = models.CharField(max_length=3)

    class Meta:
        indexes = [models.Index(fields=["account", "creator"], name="posting_account_creator")]
        constraints = [models.CheckConstraint(condition=Q(account="creator", creator__isnull=False) | ~Q(account="creator"),
                                              name="posting_creator_account_has_creator")]


class SettlementPeriod(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSING = "closing", _("Closing")
        CLOSED = "closed", _("Closed")

    cycle = models.CharField(_("cycle"), max_length=16, choices=SettlementCycle.choices)
    first_day = models.DateField(_("first day"))
    last_day = models.DateField(_("last day"))
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.OPEN)
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    statements = models.PositiveIntegerField(_("statements"), default=0)
    close_started_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        verbose_name = _("settlement period")
        verbose_name_plural = _("settlement periods")
        ordering = ["-first_day", "cycle"]
        constraints = [models.UniqueConstraint(fields=["cycle", "first_day"], name="period_unique")]

    @property
    def progress_percent(self) -> int:
        if self.status == self.Status.CLOSED:
            return 100
        return int(100 * self.chunks_done / self.chunks_total) if self.chunks_total else 0


class StatementStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ISSUED = "issued", _("Issued")
    CONFIRMED = "confirmed", _("Confirmed")
    DISPUTED = "disputed", _("Disputed")
    APPROVED = "approved", _("Approved")
    PAID = "paid", _("Paid")


class PayoutBatch(models.Model):
    number = models.CharField(_("batch"), max_length=24, unique=True)
    currency = models.CharField(_("currency"), max_length=3)
    total = models.DecimalField(_("total"), **MONEY_DIGITS)
    statements_count = models.PositiveIntegerField(_("statements"))
    reference = models.CharField(_("payout reference"), max_length=80, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)

    class Meta:
        verbose_name = _("payout batch")
        verbose_name_plural = _("payout batches")
        ordering = ["-created_at"]


class Statement(models.Model):
    """What a creator earned in a settlement period:
    closing = opening (carried forward) + lines + adjustments; paid when closing ≥ the minimum
    payout, else carried forward (a negative balance too)."""

    number = models.CharField(_("statement"), max_length=32, unique=True)
    creator = models.ForeignKey("creators.Creator", on_delete=models.PROTECT, related_name="statements", verbose_name=_("creator"))
    period = models.ForeignKey(SettlementPeriod, on_delete=models.PROTECT, related_name="+", verbose_name=_("period"))
    currency = models.CharField(_("currency"), max_length=3)
    opening = models.DecimalField(_("opening balance"), **MONEY_DIGITS)
    lines_total = models.DecimalField(_("commission lines"), **MONEY_DIGITS)
    lines_count = models.PositiveIntegerField(_("lines"), default=0)
    adjustments_total = models.DecimalField(_("adjustments"), **MONEY_DIGITS, default=0)
    closing = models.DecimalField(_("closing balance"), **MONEY_DIGITS)
    minimum_payout = models.DecimalField(_("minimum payout"), **MONEY_DIGITS)
    payout_due = models.DecimalField(_("to pay"), **MONEY_DIGITS)
    carried_forward = models.DecimalField(_("carried forward"), **MONEY_DIGITS)
    status = models.CharField(_("status"), max_length=10, choices=StatementStatus.choices, default=StatementStatus.DRAFT)
    revision = models.PositiveSmallIntegerField(_("revision"), default=1)
    created_at = models.DateTimeField(default=timezone.now)
    issued_at = models.DateTimeField(_("issued at"), null=True, blank=True)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    disputed_at = models.DateTimeField(_("disputed at"), null=True, blank=True)
    dispute_comment = models.TextField(_("creator's comment"), blank=True)
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    batch = models.ForeignKey(PayoutBatch, on_delete=models.PROTECT, null=True, blank=True, related_name="statements")
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    payout_reference = models.CharField(_("payout reference"), max_length=80, blank=True)

    class Meta:
        verbose_name = _("statement")
        verbose_name_plural = _("statements")
        ordering = ["-period__first_day", "creator__handle"]
        constraints = [
            models.UniqueConstraint(fields=["creator", "period", "currency"], name="statement_one_per_creator_period"),
            models.CheckConstraint(condition=Q(closing=F("opening") + F("lines_total") + F("adjustments_total")), name="statement_closing_adds_up"),
            models.CheckConstraint(condition=Q(carried_forward=F("closing") - F("payout_due")), name="statement_carry_adds_up"),
            models.CheckConstraint(condition=Q(payout_due__gte=0), name="statement_payout_nonneg"),
        ]
        indexes = [models.Index(fields=["status"], name="statement_status"), models.Index(fields=["creator", "currency", "period"], name="statement_chain")]

    def __str__(self) -> str:
        return self.number


class StatementEvent(models.Model):
    """The statement's history: issued, confirmed, disputed (with comment), adjusted and re-issued, approved, paid."""

    statement = models.ForeignKey(Statement, on_delete=models.CASCADE, related_name="events")
    status = models.CharField(max_length=10, choices=StatementStatus.choices)
    note = models.TextField(blank=True)
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["at", "pk"]


class CommissionLine(models.Model):
    """A creator's commission on one order line: accrued when the order is delivered, payable
    after the return window; a return after that adds a clawback (negative) line. Lines of orders
    where the platform pays the creator are kept for profit and metrics but never paid by us."""

    # A settlement writes a million of these, so indexes are few (see Meta) and `creator`, `order`
    # and `statement` carry no foreign-key constraint: creator and order are copies of the order
    # line's (which has one), statements are never deleted, and `manage.py ledger_check` finds any
    # line whose creator, order or statement is missing. Checking three constraints per row at
    # commit costs more than the rest of an accrual.
    creator = models.ForeignKey("creators.Creator", on_delete=models.DO_NOTHING, related_name="commission_lines", verbose_name=_("creator"),
                                db_index=False, db_constraint=False)
    order = models.ForeignKey("orders.Order", on_delete=models.DO_NOTHING, related_name="commission_lines", verbose_name=_("order"),
                              db_constraint=False)
    order_line = models.ForeignKey("orders.OrderLine", on_delete=models.PROTECT, related_name="commission_lines", db_index=False)
    kind = models.CharField(_("kind"), max_length=10, choices=LineKind.choices)
    units = models.IntegerField(_("units"))
    base = models.DecimalField(_("sales"), **MONEY_DIGITS)
    rate = models.DecimalField(_("rate"), **RATE_DIGITS)
    rate_source = models.CharField(_("rate from"), max_length=10, blank=True)
    amount = models.DecimalField(_("commission"), **MONEY_DIGITS)
    currency = models.CharField(_("currency"), max_length=3)
    platform_paid = models.BooleanField(_("paid by the platform"), default=False)
    # Margin-plan lines: the buyer's unit price under the plan; they earn sales − plan_price × units.
    plan_price = models.DecimalField(_("plan unit price"), **MONEY_DIGITS, null=True, blank=True)
    # The line's returned units this line brings it to (0 for most accruals): one clawback per return.
    returned_through = models.PositiveIntegerField(default=0)
    earned_at = models.DateTimeField(_("earned at"))
    payable_at = models.DateTimeField(_("payable from"))
    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, null=True, blank=True, related_name="lines", db_index=False)
    statement = models.ForeignKey(Statement, on_delete=models.DO_NOTHING, null=True, blank=True, related_name="lines", db_constraint=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("commission line")
        verbose_name_plural = _("commission lines")
        constraints = [
            models.UniqueConstraint(fields=["order_line"], condition=Q(kind="accrual"), name="commission_one_accrual_per_line"),
            models.UniqueConstraint(fields=["order_line", "returned_through"], condition=Q(kind="clawback"), name="commission_one_clawback_per_return"),
        ]
        indexes = [
            models.Index(fields=["creator", "payable_at"], name="commission_open", condition=Q(statement__isnull=True, platform_paid=False)),
            models.Index(fields=["creator", "earned_at"], name="commission_creator_earned"),
            models.Index(fields=["earned_at"], name="commission_earned"),
        ]


class Adjustment(models.Model):
    """A manual change to a creator's balance (e.g. resolving a dispute), posted to the ledger
    and shown on the statement it was made on."""

    creator = models.ForeignKey("creators.Creator", on_delete=models.PROTECT, related_name="+", verbose_name=_("creator"))
    statement = models.ForeignKey(Statement, on_delete=models.PROTECT, null=True, blank=True, related_name="adjustments")
    amount = models.DecimalField(_("amount"), **MONEY_DIGITS)
    currency = models.CharField(_("currency"), max_length=3)
    reason = models.CharField(_("reason"), max_length=300)
    entry = models.OneToOneField(JournalEntry, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")


class PlatformCommissionCheck(models.Model):
    """What the platform actually paid the creator on an order (from its finance statements),
    against our estimate."""

    order = models.OneToOneField("orders.Order", on_delete=models.CASCADE, related_name="platform_commission")
    actual = models.DecimalField(_("actual"), **MONEY_DIGITS)
    currency = models.CharField(_("currency"), max_length=3)
    statement_id = models.CharField(_("platform statement"), max_length=64)
    checked_at = models.DateTimeField(_("checked at"), default=timezone.now)
