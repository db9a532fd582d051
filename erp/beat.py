"""Celery beat for a multi-tenant Fanout: every scheduled job runs once per seller, in that seller's schema.

The schedule lives in code (`erp.celery` beat_schedule). django-celery-beat stores it in the public
schema's `PeriodicTask` table and re-reads that table whenever it changes and at least every
FANOUT_BEAT_RELOAD_S seconds (django-celery-beat's own SCHEDULE_SYNC_MAX_INTERVAL, 300 s).

tenant-schemas-celery's `TenantAwareDatabaseScheduler` marks each entry "all tenants only" and sends it
once per seller schema. Its reload, though, stamps every row it reads with the schema it was read
from (`_schema_name: public`), and that header wins over the seller's schema when the task is sent: from
the first reload on, every job ran in the public schema and failed ("relation … does not exist") for
every seller. `SellerScheduler` keeps the schema out of the stored entries, so the seller's schema is
the one each message carries, on the first load and on every reload.

It also reads the schedule from the public schema only (Fanout keeps no per-seller schedules), instead
of one query per seller schema on every tick.
"""
from __future__ import annotations

import json
import logging

from django.conf import settings
from django_celery_beat import schedulers as dcb_schedulers
from django_celery_beat.models import PeriodicTasks
from django_tenants.utils import get_public_schema_name, schema_context
from tenant_schemas_celery.db_scheduler import TenantAwareDatabaseScheduler

log = logging.getLogger("fanout.beat")
SCHEMA_HEADER = "_schema_name"
ALL_SELLERS_HEADER = "_all_tenants_only"


class PublicPeriodicTasks:
    """When the schedule last changed: the public schema's row only (where Fanout's schedule lives)."""

    @classmethod
    def last_change(cls):
        with schema_context(get_public_schema_name()):
            return PeriodicTasks.last_change()


def entry_headers_for_sellers(headers: dict) -> dict:
    """The headers an entry sent to every seller must carry: no fixed schema, so that the schema each
    message is sent from (the seller's) is the one it runs in."""
    if headers.get(ALL_SELLERS_HEADER):
        headers.pop(SCHEMA_HEADER, None)
    else:  # an entry for one schema (none of Fanout's): where its row was read
        headers.setdefault(SCHEMA_HEADER, get_public_schema_name())
    return headers


def _schedule_compress(app, every: float) -> None:
    """FANOUT_BEAT_EVERY_S (soak tests and the soak bench only): every job every that many seconds instead of
    its crontab, so that all of them run many times in minutes through the real beat, scheduler and workers."""
    from celery.schedules import schedule

    app.conf.beat_schedule = {name: {**entry, "schedule": schedule(run_every=every)} for name, entry in app.conf.beat_schedule.items()}


class SellerScheduler(TenantAwareDatabaseScheduler):
    Changes = PublicPeriodicTasks

    def __init__(self, *args, **kwargs):
        # django-celery-beat reads this module constant on every tick: how often the schedule is re-read
        # even when nothing changed. Tests and the soak bench shorten it to go through many reloads.
        dcb_schedulers.SCHEDULE_SYNC_MAX_INTERVAL = getattr(settings, "FANOUT_BEAT_RELOAD_S", 300)
        app = kwargs.get("app")
        if app is not None and getattr(settings, "FANOUT_BEAT_EVERY_S", 0) > 0:
            _schedule_compress(app, settings.FANOUT_BEAT_EVERY_S)
        super().__init__(*args, **kwargs)

    def setup_schedule(self):
        self._stale_entries_delete()
        super().setup_schedule()

    def _stale_entries_delete(self) -> None:
        """Entries stored by an earlier release whose job is no longer in the code's schedule (renamed or
        removed) would otherwise go on being sent: django-celery-beat keeps every row it ever stored."""
        from django_celery_beat.models import PeriodicTask

        wanted = set(self._tenant_aware_beat_schedule_to_dict(self.app.conf.beat_schedule))
        with schema_context(get_public_schema_name()):
            stale = list(PeriodicTask.objects.exclude(name__in=wanted).values_list("name", flat=True))
            if stale:
                PeriodicTask.objects.filter(name__in=stale).delete()
                PeriodicTasks.update_changed()
                log.warning("removed %s scheduled entries no longer in the schedule: %s", len(stale), ", ".join(sorted(stale)[:20]))

    def all_as_schedule(self):
        schedule = super().all_as_schedule()
        log.info("schedule read from the database: %s entries", len(schedule))  # the first read and every reload
        return schedule

    def enabled_models(self):
        with schema_context(get_public_schema_name()):
            models = list(self.enabled_models_qs())
        for model in models:
            model.headers = json.dumps(entry_headers_for_sellers(json.loads(model.headers or "{}")))
        return models

    def apply_entry(self, entry, producer=None):
        """Send the entry once per seller, from inside the seller's schema (the message carries it), and
        record where it was sent (sellers.jobs: what /health/ compares the outcomes with)."""
        from sellers.jobs import jobs_sent_record

        headers = entry_headers_for_sellers(entry.options.setdefault("headers", {}))
        sellers = self.get_queryset()
        if headers.get(ALL_SELLERS_HEADER):
            schemas = list(sellers.exclude(schema_name=get_public_schema_name()).values_list("schema_name", flat=True))
        else:
            schemas = list(sellers.filter(schema_name=headers[SCHEMA_HEADER]).values_list("schema_name", flat=True))
        log.info("sending %s (%s) to %s seller(s)", entry.name, entry.task, len(schemas))
        sent = []
        for schema in schemas:
            with schema_context(schema):
                try:
                    self.apply_async(entry, producer=producer, advance=False)
                except Exception:  # one seller's send failing must not stop the others'
                    log.exception("could not send %s to %s", entry.task, schema)
                else:
                    sent.append(schema)
        try:
            jobs_sent_record(job=entry.task, schema_names=sent)
        except Exception:  # the job was sent; only its record is missing
            log.exception("could not record that %s was sent", entry.task)
