"""The one Celery app. Tenant-aware: a task sent inside a tenant's schema context carries the
schema name in its headers and runs in that schema (tenant-schemas-celery)."""
import logging
import os

from celery import signals
from celery.schedules import crontab
from tenant_schemas_celery.app import CeleryApp as TenantAwareCeleryApp

from erp import health, logs

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "erp.settings.local")

app = TenantAwareCeleryApp("erp")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Celery's Django fixup closes every database connection before and after each task unless told to
# reuse them; a new connection (with its search_path and time zone set-up) costs more than most of
# our tasks. Reuse them, and let Django's own rules (CONN_MAX_AGE, health checks after an error)
# decide when one is closed, as it does between web requests (see _db_connections_tidy).
app.add_defaults({"CELERY_DB_REUSE_MAX": 100_000})


@signals.setup_logging.connect
def _logging_from_django(**kwargs) -> None:
    """Keep Django's LOGGING (erp.logs: JSON lines with seller and task id) instead of Celery's own format."""


logs.task_context_connect(signals)
health.heartbeat_connect(signals)  # /health/ counts the workers alive


@signals.task_prerun.connect
@signals.task_postrun.connect
def _db_connections_tidy(sender=None, **kwargs) -> None:
    from django.db import connections

    if sender is not None and getattr(sender.request, "is_eager", False):
        return  # run in the caller's process (tests, .apply()): its connection is the caller's business
    for conn in connections.all(initialized_only=True):
        if not conn.in_atomic_block:
            conn.close_if_unusable_or_obsolete()


def _scheduled_job_of(task) -> str:
    """The job name when this run was sent by beat (Celery marks beat's messages), else ''."""
    from sellers.jobs import scheduled_jobs

    request = task.request
    headers = request.headers or {}
    if not (headers.get("celery_beat_task") or request.get("celery_beat_task")) or getattr(request, "is_eager", False):
        return ""
    return task.name if task.name in scheduled_jobs() else ""


def _job_outcome(task, *, ok: bool, error: str = "") -> None:
    """Record a scheduled run's outcome for the schema it ran in (sellers.jobs); never fails the task."""
    from django.db import connection

    try:
        job = _scheduled_job_of(task)
        if job:
            from sellers.jobs import job_outcome_record

            job_outcome_record(job=job, schema_name=connection.schema_name, ok=ok, error=error)
    except Exception:  # noqa: BLE001 — the database may be what failed the task; health will say the job is late
        logging.getLogger("fanout.jobs").warning("could not record the outcome of %s", getattr(task, "name", "?"), exc_info=True)


@signals.task_success.connect
def _job_succeeded(sender=None, **kwargs) -> None:
    _job_outcome(sender, ok=True)


@signals.task_failure.connect
def _job_failed(sender=None, exception=None, **kwargs) -> None:
    _job_outcome(sender, ok=False, error=f"{type(exception).__name__}: {exception}")


@signals.worker_init.connect
def _warm_caches(**kwargs) -> None:
    """Load read-only data once in the parent worker process, so the forked children share it: the
    ZIP index, and the fingerprint of the migrations that names the sign-up's schema template
    (sellers.schemas; each child's first provisioning computed it). Both come from the code only:
    the database may not be up yet, and a parent holding a connection would share it with its children."""
    import time

    from orders.services.address import zip_index
    from sellers.schemas import migrations_fingerprint

    zip_index()
    started = time.monotonic()
    try:
        migrations_fingerprint()
    except Exception:  # noqa: BLE001 — never stops the worker: its first provisioning computes it (and reports what is wrong)
        logging.getLogger("fanout.worker").warning("could not warm the sign-up schema template's fingerprint", exc_info=True)
    else:
        logging.getLogger("fanout.worker").info("warmed the sign-up schema template's fingerprint in %.2fs", time.monotonic() - started)


# Entries without `tenant_schemas` run once per seller schema (TenantAwareDatabaseScheduler).
app.conf.beat_schedule = {
    "accounts.invitations_expire": {
        "task": "accounts.invitations_expire",
        "schedule": crontab(minute=15, hour="*/6"),
    },
    "connectors.stock_reconcile_all": {
        "task": "connectors.stock_reconcile_all",
        "schedule": crontab(minute="*/10"),  # read every shop's stock back and correct drift
    },
    "creators.metrics_refresh": {
        "task": "creators.metrics_refresh",
        "schedule": crontab(minute=20),  # hourly: this month's and last month's figures
    },
    "creators.tier_changes_apply": {
        "task": "creators.tier_changes_apply",
        "schedule": crontab(minute=5),  # hourly, so a change dated today is in force soon after local midnight
    },
    "creators.tier_review_monthly": {
        "task": "creators.tier_review_monthly",
        "schedule": crontab(minute=40, hour="*/6"),  # creates last month's review once, early on the 1st (local)
    },
    "orders.sla_refresh": {
        "task": "orders.sla_refresh",
        "schedule": crontab(),  # every minute: at-risk and overdue lists stay current
    },
    # Work a killed worker took with it: queued again after FANOUT_RESUME_AFTER_S (every step is idempotent).
    "orders.work_resume": {
        "task": "orders.work_resume",
        "schedule": crontab(minute="*/2"),
    },
    "connectors.webhooks_resume": {
        "task": "connectors.webhooks_resume",
        "schedule": crontab(minute="*/2"),
    },
    "commissions.closes_resume": {
        "task": "commissions.closes_resume",
        "schedule": crontab(minute="*/2"),
    },
    "accounts.invitation_emails_resume": {
        "task": "accounts.invitation_emails_resume",
        "schedule": crontab(minute="*/10"),  # invitation emails a lost task or a mail outage left unsent
    },
    "connectors.alerts_resume": {
        "task": "connectors.alerts_resume",
        "schedule": crontab(minute="*/10"),  # owners' re-authorisation alerts a lost task left unsent
    },
    "orders.demo_traffic": {
        "task": "orders.demo_traffic",
        "schedule": crontab(minute="*/3"),  # only with FANOUT_DEMO_TRAFFIC (make run): a demo order now and then
    },
    "orders.amazon_poll": {
        "task": "orders.amazon_poll",
        "schedule": crontab(minute="*/5"),  # Amazon sends us no order webhooks
    },
    "commissions.accrue": {
        "task": "commissions.accrue",
        "schedule": crontab(minute="*/10"),  # delivered orders also accrue right away; this catches the rest
    },
    "commissions.close_due_periods": {
        "task": "commissions.close_due_periods",
        "schedule": crontab(minute=25),  # hourly: a period closes soon after local midnight of its last day
    },
    "commissions.platform_reconcile": {
        "task": "commissions.platform_reconcile",
        "schedule": crontab(minute=50, hour=7),  # daily: TikTok's finance statements of the days before
    },
    "bi.refresh": {
        "task": "bi.refresh",
        "schedule": crontab(),  # every minute: the cockpit lags the orders by a minute at most
    },
    "portal.notifications_email_pending": {
        "task": "portal.notifications_email_pending",
        "schedule": crontab(minute="*/10"),  # emails a failed or lost send left behind
    },
    # The platform's own job, in the public schema only: abandoned sign-ups (sellers.services.signup_requests).
    "sellers.signups_clean": {
        "task": "sellers.signups_clean",
        "schedule": crontab(minute=35),  # hourly
        "tenant_schemas": ["public"],
    },
    "inventory.reorder_alerts_raise": {
        "task": "inventory.reorder_alerts_raise",
        "schedule": crontab(minute=30, hour=6),  # daily, before the buyers' day starts (UTC)
    },
}




def resume_due(kind: str, pks: list[int], *, after_s: int | None = None) -> list[int]:
    """Of the stuck items `pks` (a resume sweep found them), those to queue again now.

    - None while the queue holds more than FANOUT_RESUME_MAX_QUEUED tasks: the workers are behind,
      and work that merely waits in the queue is not lost. Queueing it again would only make the
      queue longer (the sweep resumes what is still stuck once they have caught up).
    - Of the rest, those not queued again in the last FANOUT_RESUME_AFTER_S: a worker that stays
      down while beat keeps sweeping does not come back to the same item queued many times."""
    from django.conf import settings
    from django.core.cache import cache  # keys are per seller (django-tenants' key function)

    from erp.health import queue, redis_client

    if not pks:
        return []
    queued = redis_client().llen(queue())
    if queued > settings.FANOUT_RESUME_MAX_QUEUED:
        logging.getLogger("fanout.resume").info("%s %s(s) stuck, not queued again: %s tasks wait in the queue", len(pks), kind, queued)
        return []
    due = []
    for pk in pks:
        if cache.add(f"resume:{kind}:{pk}", 1, timeout=after_s or settings.FANOUT_RESUME_AFTER_S):
            due.append(pk)
    return due


def _transient_errors() -> tuple[type[BaseException], ...]:
    from django.db import InterfaceError, OperationalError
    from kombu.exceptions import OperationalError as BrokerError
    from redis.exceptions import ConnectionError as RedisConnectionError

    return (OperationalError, InterfaceError, BrokerError, RedisConnectionError)


def fanout_task(*, name: str, max_retries: int = 5, soft_time_limit: int = 60, time_limit: int = 90, retry_also_for=(), **options):
    """The one decorator for Fanout tasks: explicit name, late ack, time limits, and retries with
    exponential backoff for transient infrastructure errors only. Tasks take ids (JSON), re-read
    their rows and must be safe to run twice."""
    return app.task(
        name=name,
        bind=True,
        acks_late=True,
        reject_on_worker_lost=True,
        soft_time_limit=soft_time_limit,
        time_limit=time_limit,
        autoretry_for=_transient_errors() + tuple(retry_also_for),
        retry_backoff=True,
        retry_backoff_max=600,
        retry_jitter=True,
        max_retries=max_retries,
        serializer="json",
        **options,
    )
