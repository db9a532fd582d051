"""Soak, CI-sized (bench/soak.py is the long one): real celery beat and a real worker through several
schedule reloads. Every scheduled job must run in every seller's own schema and succeed, on the first
read of the schedule and after each reload (until this was fixed, every job ran in the public schema
and failed from the first reload on, five minutes after beat started, while /health/ said ok)."""
import time

import pytest
from django_tenants.utils import schema_context

from bench.soak import BeatProcess, WorkerProcess, jobs_tally, schedule_reset
from sellers.jobs import jobs_check, jobs_status, platform_jobs, scheduled_jobs, seller_jobs
from sellers.models import JobRun, Seller
from tests.support import subprocess_env, wait_for


@pytest.mark.worker
def test_beat_runs_every_job_in_every_sellers_schema_through_schedule_reloads(committed, tmp_path):
    with schema_context("public"):
        schemas = sorted(Seller.objects.exclude(schema_name="public").values_list("schema_name", flat=True))
        schedule_reset()  # a clean schedule table and no job records from earlier runs
    assert len(schemas) >= 2
    env = subprocess_env(FANOUT_BEAT_EVERY_S="6", FANOUT_BEAT_RELOAD_S="4", DJANGO_LOG_LEVEL="INFO")
    worker = WorkerProcess(env, log=tmp_path / "worker.log", concurrency=2)
    beat = BeatProcess(worker.env, log=tmp_path / "beat.log")
    try:
        worker.start()
        beat.start()
        wait_for(lambda: beat.reads() >= 4, "beat to read its schedule four times (three reloads)", timeout=60)
        third_reload = time.time()
        jobs = set(seller_jobs())

        def every_job_succeeded_since_the_third_reload() -> bool:
            done = {(r["schema_name"], r["job"]) for r in jobs_status() if r["last_success_at"] and r["last_success_at"].timestamp() > third_reload}
            return (all((schema, job) in done for schema in schemas for job in jobs)
                    and all(("public", job) in done for job in platform_jobs()))  # the platform's own, in its schema

        wait_for(every_job_succeeded_since_the_third_reload, "every job to succeed in every seller's schema after three reloads",
                 timeout=150, every=1)
    finally:
        beat.stop()
        worker.stop()
        print(beat.tail(), worker.tail())
    tally = jobs_tally()
    report = jobs_check()  # /health/'s check: nothing late, nothing in the public schema
    assert tally["wrong_schema_runs"] == 0, JobRun.objects.filter(schema_name="public").values("job", "last_error")[:5]
    assert tally["failed_runs"] == 0, JobRun.objects.exclude(failures=0).values("schema_name", "job", "last_error")[:5]
    assert tally["scheduled_runs"] >= 2 * len(schemas) * len(jobs)
    assert beat.reads() >= 4
    assert report["late_count"] == 0 and report["jobs"] == len(scheduled_jobs())


@pytest.fixture(autouse=True)
def _no_job_records_left(committed):
    """The job records of this run would make /health/ red for later tests (their jobs stop running)."""
    yield
    with schema_context("public"):
        schedule_reset()
