"""Scheduled jobs, per seller: did each one run, in the right schema, and succeed in time?

Beat records when it sends a job to a seller (`jobs_sent_record`), the worker records each outcome
(`job_outcome_record`, from Celery's task signals in erp.celery). A job is **late** for a seller when it
has not succeeded within twice its period (its beat schedule: every minute → 2 minutes, hourly → 2
hours), counted from its last success, or from when beat first sent it there if it never succeeded.
A per-seller job that ran in the public schema is always reported; the platform's own jobs (beat entries
for the public schema, such as cleaning up abandoned sign-ups) run there and are judged like the others. `/health/` fails on either and names
the job and the seller; the platform admin's Scheduled jobs page lists every job of every seller.
"""
from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from functools import cache

from django.db import connection
from django.utils import timezone

log = logging.getLogger("fanout.jobs")
PUBLIC = "public"
LATE_FACTOR = 2
ERROR_MAX = 500


# ---------------------------------------------------------------------------------- periods
def _crontab_period_s(schedule) -> float:
    """The longest wait between two runs of a crontab, in seconds (exact for any crontab)."""
    day_minutes = sorted(h * 60 + m for h in schedule.hour for m in schedule.minute)
    if not day_minutes:
        return float("inf")
    gaps = [b - a for a, b in zip(day_minutes, day_minutes[1:])]
    start = date(2024, 1, 1)  # a leap year, from a Monday: every day of the month and week occurs
    days = [start + timedelta(days=i) for i in range(366 * 2)]
    fire_days = [d for d in days if d.month in schedule.month_of_year and d.day in schedule.day_of_month
                 and (d.weekday() + 1) % 7 in schedule.day_of_week]
    gaps += [(b - a).days * 1440 + day_minutes[0] - day_minutes[-1] for a, b in zip(fire_days, fire_days[1:])]
    return max(gaps) * 60.0


def period_of(schedule) -> float:
    from celery.schedules import crontab

    if isinstance(schedule, crontab):
        return _crontab_period_s(schedule)
    run_every = getattr(schedule, "run_every", None)
    if isinstance(run_every, timedelta):
        return run_every.total_seconds()
    if isinstance(schedule, (int, float)):
        return float(schedule)
    return float("inf")


@cache
def scheduled_jobs() -> dict[str, float]:
    """{job (task name): its period in seconds} for every entry of beat's schedule."""
    from erp.celery import app

    return {entry["task"]: period_of(entry["schedule"]) for entry in app.conf.beat_schedule.values()}


@cache
def platform_jobs() -> frozenset[str]:
    """The jobs of the platform itself, run in the public schema only (their entries name it); every other
    job runs once per seller and never in the public schema."""
    from erp.celery import app

    return frozenset(entry["task"] for entry in app.conf.beat_schedule.values() if PUBLIC in (entry.get("tenant_schemas") or ()))


def seller_jobs() -> dict[str, float]:
    return {job: period for job, period in scheduled_jobs().items() if job not in platform_jobs()}


# ---------------------------------------------------------------------------------- records
def jobs_sent_record(*, job: str, schema_names: list[str], at: datetime | None = None) -> None:
    """Beat sent `job` to these schemas (one statement for all of them)."""
    if not schema_names:
        return
    at = at or timezone.now()
    rows = ", ".join(["(%s, %s, %s, %s)"] * len(schema_names))
    params = [v for schema in schema_names for v in (schema, job, at, at)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO public.sellers_jobrun (schema_name, job, first_sent_at, last_sent_at, last_error, successes, failures) "
            f"SELECT s, j, f, l, '', 0, 0 FROM (VALUES {rows}) AS v(s, j, f, l) "
            "ON CONFLICT (schema_name, job) DO UPDATE SET last_sent_at = EXCLUDED.last_sent_at, "
            "first_sent_at = COALESCE(sellers_jobrun.first_sent_at, EXCLUDED.first_sent_at)", params)


def job_outcome_record(*, job: str, schema_name: str, ok: bool, error: str = "", at: datetime | None = None) -> None:
    """The worker finished a scheduled run of `job` in `schema_name`: a success, or a failure and why."""
    at = at or timezone.now()
    if ok:
        sql = ("INSERT INTO public.sellers_jobrun (schema_name, job, last_success_at, last_error, successes, failures) "
               "VALUES (%s, %s, %s, '', 1, 0) ON CONFLICT (schema_name, job) DO UPDATE SET "
               "last_success_at = EXCLUDED.last_success_at, successes = sellers_jobrun.successes + 1")
        params = [schema_name, job, at]
    else:
        sql = ("INSERT INTO public.sellers_jobrun (schema_name, job, last_failure_at, last_error, successes, failures) "
               "VALUES (%s, %s, %s, %s, 0, 1) ON CONFLICT (schema_name, job) DO UPDATE SET "
               "last_failure_at = EXCLUDED.last_failure_at, last_error = EXCLUDED.last_error, failures = sellers_jobrun.failures + 1")
        params = [schema_name, job, at, error[:ERROR_MAX]]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


# ---------------------------------------------------------------------------------- reads
def _state(row, period: float, now: datetime) -> str:
    """ok / late / failing (its last run failed, not yet late) / waiting (sent, never run, not yet late)."""
    since = row["last_success_at"] or row["first_sent_at"]
    if since is not None and (now - since).total_seconds() > LATE_FACTOR * period:
        return "late"
    if row["last_failure_at"] and (row["last_success_at"] is None or row["last_failure_at"] > row["last_success_at"]):
        return "failing"
    if row["last_success_at"] is None:
        return "waiting"
    return "ok"


def jobs_status(*, now: datetime | None = None) -> list[dict]:
    """Every (seller, job) with its state, period and seller; runs in the public schema first (always
    wrong), then late, failing, waiting and ok. A seller beat has never sent a job to, while it was sending
    that job to others for longer than twice its period, is late too ("never sent"): beat skips it."""
    now = now or timezone.now()
    periods = scheduled_jobs()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT r.schema_name, r.job, r.first_sent_at, r.last_sent_at, r.last_success_at, r.last_failure_at, r.last_error, "
            "r.successes, r.failures, s.subdomain FROM public.sellers_jobrun r "
            "JOIN public.sellers_seller s ON s.schema_name = r.schema_name ORDER BY r.schema_name, r.job")
        columns = [c.name for c in cursor.description]
        rows = [dict(zip(columns, values)) for values in cursor.fetchall()]
        cursor.execute("SELECT schema_name, subdomain, created_at FROM public.sellers_seller WHERE schema_name <> %s", [PUBLIC])
        sellers = cursor.fetchall()
    seen = {(r["schema_name"], r["job"]) for r in rows}
    platform = platform_jobs()
    first_sent: dict[str, datetime] = {}
    for row in rows:
        if row["first_sent_at"] and row["schema_name"] != PUBLIC and row["job"] not in platform:
            first_sent[row["job"]] = min(first_sent.get(row["job"], row["first_sent_at"]), row["first_sent_at"])
    for job, since in first_sent.items():
        window = timedelta(seconds=LATE_FACTOR * periods.get(job, float("inf"))) if periods.get(job, float("inf")) < float("inf") else None
        if window is None or now - since <= window:
            continue
        for schema, subdomain, created_at in sellers:
            if (schema, job) not in seen and now - created_at > window:
                rows.append({"schema_name": schema, "job": job, "first_sent_at": None, "last_sent_at": None, "last_success_at": None,
                             "last_failure_at": None, "last_error": "never sent by beat", "successes": 0, "failures": 0,
                             "subdomain": subdomain, "never_sent": True})
    order = {"public": 0, "late": 1, "failing": 2, "waiting": 3, "ok": 4, "public_before": 5}
    for row in rows:
        period = periods.get(row["job"], float("inf"))
        row["period_s"] = period
        if row["schema_name"] == PUBLIC and row["job"] not in platform:
            # Wrong whenever it happens; reported until twice the job's period has passed without it again.
            last = max(filter(None, (row["last_success_at"], row["last_failure_at"])), default=None)
            recent = last is not None and (now - last).total_seconds() <= LATE_FACTOR * period
            row["state"] = "public" if recent else "public_before"
        else:
            row["state"] = "late" if row.get("never_sent") else _state(row, period, now)
        if row["schema_name"] == PUBLIC:
            row["subdomain"] = "platform"
    rows.sort(key=lambda r: (order[r["state"]], r["schema_name"], r["job"]))
    return rows


def jobs_check(*, now: datetime | None = None, named: int = 10) -> dict:
    """The /health/ check: ok unless a job is late for a seller or ran in the public schema."""
    rows = jobs_status(now=now)
    late = [r for r in rows if r["state"] == "late"]
    public = [r for r in rows if r["state"] == "public"]
    report = {"jobs": len({r["job"] for r in rows}), "sellers": len({r["schema_name"] for r in rows if r["schema_name"] != PUBLIC}),
              "late": [{"job": r["job"], "seller": r["subdomain"] or r["schema_name"],
                        "last_success": r["last_success_at"].isoformat() if r["last_success_at"] else None,
                        "period_s": r["period_s"], "last_error": r["last_error"][:200]} for r in late[:named]],
              "late_count": len(late), "wrong_schema_count": len(public)}
    problems = []
    if public:
        problems.append(f"{len(public)} job(s) ran in the public schema instead of a seller's: "
                        + ", ".join(sorted({r['job'] for r in public})[:named]))
    if late:
        problems.append(f"{len(late)} scheduled job(s) have not succeeded within twice their period: "
                        + ", ".join(f"{r['job']} for {r['subdomain'] or r['schema_name']}" for r in late[:named]))
    if problems:
        raise JobsUnhealthy("; ".join(problems), report)
    return report


class JobsUnhealthy(Exception):
    def __init__(self, message: str, report: dict):
        super().__init__(message)
        self.report = report
