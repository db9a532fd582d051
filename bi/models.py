"""The cockpit's figures, kept fresh incrementally.

    orders, lines, shipments ──(database triggers)──▶ DirtyOrder ──(bi.refresh, Celery)──▶ OrderFact
    OrderFact ──(same transaction, only the days it touched)──▶ DailyTotal, DailyCreator, DailySku

`OrderFact` is one row per order line: the profit waterfall of `commissions.services.waterfall`
(the one definition of net profit) with the line's day, channel, creator, tier and warehouse, in
the seller's base currency. Each rollup holds, per day (grain "d") and per month (grain "m"),
the sums of the facts for one combination of its dimensions; the cockpit reads whole months
from "m" rows and the days at either end from "d" rows, so a year's figures cost a few dozen
rows per combination instead of a million lines.

Nothing here is edited by hand: `bi.services.refresh.refresh()` rebuilds the facts of changed
orders and the rollup rows of the days they fall on; `rebuild()` marks every order changed."""
from django.db import models
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _

MONEY = dict(max_digits=16, decimal_places=2, default=0)


class DirtyOrder(models.Model):
    """An order whose facts are out of date, appended by triggers on the order tables. A queue,
    not a set: an order changed twice has two rows. Writers only ever insert (no unique key to
    wait on), the refresh deletes the rows it took, so neither waits for the other."""

    order_id = models.BigIntegerField()
    marked_at = models.DateTimeField(db_default=Now())


class Measures(models.Model):
    """What is summed, in the seller's base currency. `gmv`, `orders`, `units` and
    `commission_all` cover every line. The waterfall's parts (`cost` … `refund_admin_fee`), `net`
    and `gmv_costed` cover only lines whose FIFO cost is known (shipped), so
    gmv_costed − cost − fees − commission − shipping − refund admin fee = net to the cent, and
    margin = net ÷ gmv_costed never mixes known and unknown costs; `lines_uncosted` counts the rest."""

    orders = models.IntegerField(default=0)
    units = models.IntegerField(default=0)
    units_returned = models.IntegerField(default=0)
    gmv = models.DecimalField(**MONEY)
    cost = models.DecimalField(**MONEY)
    platform_fee = models.DecimalField(**MONEY)
    commission = models.DecimalField(**MONEY)
    payment_fee = models.DecimalField(**MONEY)
    shipping = models.DecimalField(**MONEY)
    refund_admin_fee = models.DecimalField(**MONEY)
    net = models.DecimalField(**MONEY)
    gmv_costed = models.DecimalField(**MONEY)
    lines_uncosted = models.IntegerField(default=0)
    commission_all = models.DecimalField(**MONEY)

    class Meta:
        abstract = True


MEASURES = ("orders", "units", "units_returned", "gmv", "cost", "platform_fee", "commission", "payment_fee", "shipping",
            "refund_admin_fee", "net", "gmv_costed", "lines_uncosted", "commission_all")


class OrderFact(models.Model):
    """One order line's waterfall and dimensions (cancelled orders have none)."""

    line_id = models.BigIntegerField(primary_key=True)
    order_id = models.BigIntegerField()
    day = models.DateField()  # the business day the order was placed
    channel = models.CharField(max_length=16)
    creator_id = models.BigIntegerField(null=True)
    tier = models.CharField(max_length=1, blank=True)  # the creator's tier on that day ("" without a creator)
    sku_id = models.BigIntegerField()
    warehouse_id = models.BigIntegerField(null=True)  # where most of the line's units ship from (empty until routed)
    # The order is counted once, on its first line (so an order split across warehouses counts in its first line's);
    # per SKU, once on its first line of that SKU.
    first_line = models.BooleanField(default=False)
    first_of_sku = models.BooleanField(default=False)
    in_base = models.BooleanField(default=True)  # False: no exchange rate for the order's currency on its day (left out)
    units = models.IntegerField(default=0)
    units_returned = models.IntegerField(default=0)
    gmv = models.DecimalField(**MONEY)
    cost = models.DecimalField(max_digits=16, decimal_places=2, null=True)
    platform_fee = models.DecimalField(**MONEY)
    commission = models.DecimalField(**MONEY)
    payment_fee = models.DecimalField(**MONEY)
    shipping = models.DecimalField(**MONEY)
    refund_admin_fee = models.DecimalField(**MONEY)
    net = models.DecimalField(max_digits=16, decimal_places=2, null=True)
    computed_at = models.DateTimeField(db_default=Now())

    class Meta:
        indexes = [models.Index(fields=["order_id"], name="bi_fact_order"), models.Index(fields=["day"], name="bi_fact_day"),
                   # the few orders waiting for an exchange rate (the cockpit says how many)
                   models.Index(fields=["order_id"], name="bi_fact_not_in_base", condition=models.Q(in_base=False))]


class Grain(models.TextChoices):
    DAY = "d", _("Day")
    MONTH = "m", _("Month")


class Rollup(Measures):
    grain = models.CharField(max_length=1, choices=Grain.choices)
    day = models.DateField()  # the day, or the month's first day
    channel = models.CharField(max_length=16)
    tier = models.CharField(max_length=1, blank=True)

    class Meta:
        abstract = True


class DailyTotal(Rollup):
    warehouse_id = models.BigIntegerField(null=True)

    class Meta:
        indexes = [models.Index(fields=["grain", "day"], name="bi_total_day")]


class DailyCreator(Rollup):
    """Per creator without the warehouse (a creator's sales by warehouse are read from the facts)."""

    creator_id = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["grain", "day"], name="bi_creator_day"),
                   models.Index(fields=["creator_id", "grain", "day"], name="bi_creator_by_creator")]


class DailySku(Rollup):
    warehouse_id = models.BigIntegerField(null=True)
    sku_id = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["grain", "day"], name="bi_sku_day")]


class RefreshRun(models.Model):
    """One refresh: how many orders it recomputed and how long it took (shown on the cockpit,
    summed by the benchmark). Only the last few hundred are kept."""

    started_at = models.DateTimeField(db_default=Now())
    orders = models.IntegerField(default=0)
    days = models.IntegerField(default=0)
    seconds = models.FloatField(default=0)

    class Meta:
        ordering = ["-started_at"]


class DailyOps(models.Model):
    """Per day (of the order) and channel, tier and warehouse: the ship-by and 6-hour pack clocks
    of the non-cancelled orders. On time / late by their timestamps; overdue = still open past the
    deadline when last refreshed (the SLA job touches such orders every minute, so they refresh);
    open = still inside the window."""

    grain = models.CharField(max_length=1, choices=Grain.choices)
    day = models.DateField()
    channel = models.CharField(max_length=16)
    tier = models.CharField(max_length=1, blank=True)
    warehouse_id = models.BigIntegerField(null=True)
    ship_on_time = models.IntegerField(default=0)
    ship_late = models.IntegerField(default=0)
    ship_overdue = models.IntegerField(default=0)
    ship_open = models.IntegerField(default=0)
    pack_on_time = models.IntegerField(default=0)
    pack_late = models.IntegerField(default=0)
    pack_overdue = models.IntegerField(default=0)
    pack_open = models.IntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["grain", "day"], name="bi_ops_day")]


class DailyStage(models.Model):
    """How long each stage took (receive, stock check, print and ship, tracking), as a histogram:
    the number of orders of the day and channel per duration bucket. Bucket b holds durations from
    0.1 s × 2^(b/8) up to the next (about 9% wide), so percentiles read from it are within that."""

    grain = models.CharField(max_length=1, choices=Grain.choices)
    day = models.DateField()
    channel = models.CharField(max_length=16)
    stage = models.CharField(max_length=12)
    bucket = models.SmallIntegerField()
    orders = models.IntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["grain", "day"], name="bi_stage_day")]


class DailyShipZone(models.Model):
    """Shipped parcels per day (of the order), channel and warehouse, by the shipping zone they
    went to from that warehouse and the zone they would have gone to from each warehouse `base`:
    the warehouse economics page compares routing with one warehouse from these counts."""

    grain = models.CharField(max_length=1, choices=Grain.choices)
    day = models.DateField()
    channel = models.CharField(max_length=16)
    warehouse_id = models.BigIntegerField()
    zone = models.SmallIntegerField()
    base_warehouse_id = models.BigIntegerField()
    base_zone = models.SmallIntegerField()
    shipments = models.IntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["grain", "day"], name="bi_zone_day")]
