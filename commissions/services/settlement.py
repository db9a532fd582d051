"""Closing a settlement period: one statement per creator (and currency) on that cycle, in
set-based SQL, a chunk of creators per transaction so the page can show progress.

A statement takes every seller-paid commission line of the creator that became payable before
the period ended and is on no statement yet, and every adjustment waiting for one:

    closing = opening (the last statement's carried-forward balance) + lines + adjustments
    to pay  = closing when it reaches the minimum payout, else 0
    carried forward = closing − to pay   (a small or negative balance waits for the next period)

Re-running a close, or two closes at once, never makes a second statement: closes of a period
take turns on an advisory lock, a closed period is left alone, statements are unique per
creator, period and currency, and a line is put on a statement only by the transaction that
created that statement."""
from __future__ import annotations

from datetime import date, timedelta
from functools import partial

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from commissions.exceptions import SettlementError
from commissions.models import SettlementPeriod, Statement
from commissions.periods import SettlementCycle, period_for_day
from commissions.services.accrual import settlement_settings
from commissions.services.ledger import advisory_lock
from erp.l10n import business_today, seller_base_currency

CHUNK_CREATORS = 500


def period_get(cycle: str, day: date) -> SettlementPeriod:
    """The period of `cycle` containing `day` (created on first use)."""
    p = period_for_day(cycle, day)
    try:
        with transaction.atomic():
            period, _created = SettlementPeriod.objects.get_or_create(
                cycle=cycle, first_day=p.first_day, defaults={"last_day": p.last_day, "starts_at": p.starts_at, "ends_at": p.ends_at})
    except IntegrityError:  # created at the same moment by another close
        period = SettlementPeriod.objects.get(cycle=cycle, first_day=p.first_day)
    return period


def creators_on_cycle(cycle: str, on: date) -> list[int]:
    """Ids of the creators whose tier (today's) settles on `cycle` by the policy in force on `on`;
    creators without a tier settle on the lowest tier's cycle."""
    from creators.models import Creator
    from creators.services.policy import bands_of, tier_policy_in_force

    bands = bands_of(tier_policy_in_force(on))
    tiers = [tier for tier, band in bands.items() if band.settlement_cycle == cycle]
    lowest = max(bands.values(), key=lambda b: b.supply_priority) if bands else None
    if (lowest.settlement_cycle if lowest else SettlementCycle.MONTHLY) == cycle:
        tiers.append("")
    return list(Creator.objects.filter(tier__in=tiers).order_by("pk").values_list("pk", flat=True))


_STATEMENTS = """
WITH open_lines AS (
    SELECT creator_id, currency, sum(amount) AS total, count(*) AS n FROM commissions_commissionline
    WHERE statement_id IS NULL AND NOT platform_paid AND payable_at < %(ends)s AND creator_id = ANY(%(creators)s)
    GROUP BY creator_id, currency
), prev AS (
    SELECT DISTINCT ON (s.creator_id, s.currency) s.creator_id, s.currency, s.carried_forward
    FROM commissions_statement s JOIN commissions_settlementperiod p ON p.id = s.period_id
    WHERE s.creator_id = ANY(%(creators)s) AND s.period_id <> %(period)s
    ORDER BY s.creator_id, s.currency, p.last_day DESC, s.id DESC
), adj AS (
    SELECT creator_id, currency, sum(amount) AS total FROM commissions_adjustment
    WHERE statement_id IS NULL AND creator_id = ANY(%(creators)s) GROUP BY creator_id, currency
), keys AS (
    SELECT creator_id, currency FROM open_lines UNION SELECT creator_id, currency FROM adj
    UNION SELECT creator_id, currency FROM prev WHERE carried_forward <> 0
), totals AS (
    SELECT k.creator_id, k.currency, coalesce(prev.carried_forward, 0) AS opening, coalesce(ol.total, 0) AS lines_total,
           coalesce(ol.n, 0) AS lines_count, coalesce(adj.total, 0) AS adjustments_total,
           coalesce(prev.carried_forward, 0) + coalesce(ol.total, 0) + coalesce(adj.total, 0) AS closing
    FROM keys k LEFT JOIN open_lines ol USING (creator_id, currency) LEFT JOIN prev USING (creator_id, currency)
    LEFT JOIN adj USING (creator_id, currency)
)
INSERT INTO commissions_statement (number, creator_id, period_id, currency, opening, lines_total, lines_count, adjustments_total, closing,
                                   minimum_payout, payout_due, carried_forward, status, revision, created_at, dispute_comment, payout_reference)
SELECT %(prefix)s || creator_id || CASE WHEN currency = %(base)s THEN '' ELSE '-' || currency END, creator_id, %(period)s, currency, opening, lines_total, lines_count, adjustments_total, closing,
       %(minimum)s, CASE WHEN closing >= %(minimum)s AND closing > 0 THEN closing ELSE 0 END,
       closing - CASE WHEN closing >= %(minimum)s AND closing > 0 THEN closing ELSE 0 END,
       'draft', 1, now(), '', ''
FROM totals
ON CONFLICT DO NOTHING
"""

_ATTACH = """
UPDATE commissions_commissionline l SET statement_id = s.id
FROM commissions_statement s
WHERE s.period_id = %(period)s AND s.created_at = now() AND s.creator_id = l.creator_id AND s.currency = l.currency
  AND l.statement_id IS NULL AND NOT l.platform_paid AND l.payable_at < %(ends)s AND l.creator_id = ANY(%(creators)s)
"""

_ATTACH_ADJUSTMENTS = """
UPDATE commissions_adjustment a SET statement_id = s.id
FROM commissions_statement s
WHERE s.period_id = %(period)s AND s.created_at = now() AND s.creator_id = a.creator_id AND s.currency = a.currency
  AND a.statement_id IS NULL AND a.creator_id = ANY(%(creators)s)
"""


def _close_chunk(period: SettlementPeriod, creators: list[int], minimum) -> None:
    with transaction.atomic():
        advisory_lock("commissions.accrue")  # no line arrives or leaves while this chunk counts and attaches
        params = {"period": period.pk, "ends": period.ends_at, "creators": creators, "minimum": minimum,
                  "prefix": f"ST-{period.first_day:%Y%m%d}-{period.cycle[0].upper()}-", "base": seller_base_currency()}
        with connection.cursor() as cursor:
            # Fresh statement rows have no planner statistics yet: a nested loop over them would
            # rescan the open lines once per statement. Hash joins it is, for any chunk size.
            cursor.execute("SET LOCAL enable_nestloop = off")
            cursor.execute("SET LOCAL work_mem = '128MB'")
            cursor.execute(_STATEMENTS, params)
            cursor.execute(_ATTACH, params)
            cursor.execute(_ATTACH_ADJUSTMENTS, params)
        SettlementPeriod.objects.filter(pk=period.pk).update(chunks_done=F("chunks_done") + 1)


def period_close(*, cycle: str, day: date, user=None, now=None) -> SettlementPeriod:
    """Close the period of `cycle` containing `day`: statements for its creators, issued.
    Safe to call again or at the same time from elsewhere; a closed period is returned as it is."""
    from commissions.services.statements import issue_drafts

    now = now or timezone.now()
    period = period_get(cycle, day)
    if period.status == SettlementPeriod.Status.CLOSED:
        return period
    if now < period.ends_at:
        raise SettlementError(_("The period %(first)s – %(last)s has not ended yet.") % {"first": period.first_day, "last": period.last_day})
    lock_key = f"{connection.schema_name}:commissions.close:{period.pk}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(hashtext(%s))", [lock_key])
    try:
        period.refresh_from_db()
        if period.status == SettlementPeriod.Status.CLOSED:
            return period
        creators = creators_on_cycle(cycle, period.last_day)
        chunks = [creators[i:i + CHUNK_CREATORS] for i in range(0, len(creators), CHUNK_CREATORS)]
        SettlementPeriod.objects.filter(pk=period.pk).update(status=SettlementPeriod.Status.CLOSING, chunks_total=len(chunks), chunks_done=0,
                                                            close_started_at=now, closed_by=user if getattr(user, "is_authenticated", False) else None)
        minimum = settlement_settings().minimum_payout
        period.refresh_from_db()
        for chunk in chunks:
            _close_chunk(period, chunk, minimum)
        with transaction.atomic():
            issue_drafts(period=period, user=user)
            SettlementPeriod.objects.filter(pk=period.pk).update(
                status=SettlementPeriod.Status.CLOSED, closed_at=timezone.now(), chunks_done=len(chunks),
                statements=Statement.objects.filter(period=period).count())
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(hashtext(%s))", [lock_key])
    period.refresh_from_db()
    return period


def period_close_request(*, cycle: str, day: date, user=None) -> SettlementPeriod:
    """A person asked to close the period: it shows as closing at once and the close runs in the
    background. Marked before the task is queued, so that a task lost on the way (a killed worker, Redis
    restarted without its queue) is found and started again by closes_resume."""
    from commissions import tasks

    period = period_get(cycle, day)
    if period.status == SettlementPeriod.Status.CLOSED:
        return period
    if timezone.now() < period.ends_at:
        raise SettlementError(_("The period %(first)s – %(last)s has not ended yet.") % {"first": period.first_day, "last": period.last_day})
    with transaction.atomic():
        SettlementPeriod.objects.filter(pk=period.pk, status=SettlementPeriod.Status.OPEN).update(
            status=SettlementPeriod.Status.CLOSING, close_started_at=timezone.now(), chunks_total=0, chunks_done=0)
        transaction.on_commit(partial(tasks.period_close.delay, cycle, day.isoformat(), getattr(user, "pk", None)))
    period.refresh_from_db()
    return period


def periods_due(today: date | None = None) -> list[tuple[str, date]]:
    """For each cycle, the last period that has ended (closed by beat if still open)."""
    today = today or business_today()
    due = []
    for cycle in SettlementCycle.values:
        current = period_for_day(cycle, today)
        due.append((cycle, current.first_day - timedelta(days=1)))
    return due


def close_due_periods() -> list[SettlementPeriod]:
    closed = []
    for cycle, day in periods_due():
        period = period_get(cycle, day)
        if period.status != SettlementPeriod.Status.CLOSED:
            closed.append(period_close(cycle=cycle, day=day))
    return closed


def closes_resume(*, now=None) -> int:
    """Start again the closes a killed worker left half done: periods still closing after
    FANOUT_RESUME_AFTER_S whose close lock nobody holds (a live close holds it for its whole run).
    Closing again is safe: finished chunks are skipped. Beat runs this every two minutes."""
    from django.conf import settings

    from commissions import tasks
    from erp.celery import resume_due

    before = (now or timezone.now()) - timedelta(seconds=settings.FANOUT_RESUME_AFTER_S)
    resumed = 0
    for period in SettlementPeriod.objects.filter(status=SettlementPeriod.Status.CLOSING, close_started_at__lt=before):
        lock_key = f"{connection.schema_name}:commissions.close:{period.pk}"
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(hashtext(%s))", [lock_key])
            if not cursor.fetchone()[0]:
                continue  # a close is running
            cursor.execute("SELECT pg_advisory_unlock(hashtext(%s))", [lock_key])
        if resume_due("close", [period.pk]):
            tasks.period_close.delay(period.cycle, period.first_day.isoformat())
            resumed += 1
    return resumed


def statement_status_counts(period: SettlementPeriod) -> dict:
    from django.db.models import Count

    return dict(Statement.objects.filter(period=period).values_list("status").annotate(n=Count("pk")).order_by())
