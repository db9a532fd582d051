"""Health tells the truth about scheduled work: /health/ and the platform admin's Scheduled jobs page go
red, naming the job and the seller, when a job has not succeeded within twice its period for a seller,
when beat skips a seller, or when a job ran in the public schema."""
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import User
from sellers.jobs import job_outcome_record, jobs_check, jobs_sent_record, period_of, platform_jobs, scheduled_jobs, seller_jobs
from sellers.models import JobRun, Seller
from tests.support import PASSWORD, wait_for


@pytest.fixture
def job_records(committed):
    with schema_context("public"):
        JobRun.objects.all().delete()
        yield
        JobRun.objects.all().delete()


def _all_jobs_fresh(schemas: list[str], *, at=None) -> None:
    at = at or timezone.now()
    for job in seller_jobs():
        jobs_sent_record(job=job, schema_names=schemas, at=at - timedelta(minutes=1))
        for schema in schemas:
            job_outcome_record(job=job, schema_name=schema, ok=True, at=at)
    for job in platform_jobs():
        jobs_sent_record(job=job, schema_names=["public"], at=at - timedelta(minutes=1))
        job_outcome_record(job=job, schema_name="public", ok=True, at=at)


def test_job_periods_come_from_the_beat_schedule():
    from celery.schedules import crontab

    jobs = scheduled_jobs()
    assert jobs["orders.sla_refresh"] == 60 and jobs["bi.refresh"] == 60
    assert jobs["orders.work_resume"] == 120 and jobs["orders.amazon_poll"] == 300
    assert jobs["creators.metrics_refresh"] == 3600 and jobs["accounts.invitations_expire"] == 6 * 3600
    assert jobs["commissions.platform_reconcile"] == 86400
    assert platform_jobs() == {"sellers.signups_clean"} and "sellers.signups_clean" not in seller_jobs()
    assert period_of(crontab(minute=0, hour=3, day_of_month=1)) == 31 * 86400  # monthly: the longest month
    assert period_of(crontab(minute=0, hour="9,17")) == 16 * 3600  # 17:00 → 9:00 the next day


@pytest.mark.worker
def test_health_goes_red_naming_a_late_job_and_its_seller(worker, job_records):
    with schema_context("public"):
        schemas = sorted(Seller.objects.exclude(schema_name="public").values_list("schema_name", flat=True))
        alpha = Seller.objects.get(subdomain="alpha")
        _all_jobs_fresh(schemas)
    client = Client(HTTP_HOST="localhost")
    report = wait_for(lambda: (r := client.get("/health/")).status_code == 200 and r.json(), "a healthy report")
    assert report["checks"]["jobs"]["ok"] is True and report["checks"]["jobs"]["late_count"] == 0

    # The every-minute SLA refresh last succeeded for alpha three minutes ago: more than twice its period.
    with schema_context("public"):
        JobRun.objects.filter(schema_name=alpha.schema_name, job="orders.sla_refresh").update(
            last_success_at=timezone.now() - timedelta(minutes=3), last_failure_at=timezone.now(),
            last_error="ProgrammingError: relation \"orders_order\" does not exist")
    response = client.get("/health/")
    assert response.status_code == 503
    jobs = response.json()["checks"]["jobs"]
    assert jobs["ok"] is False and jobs["late_count"] == 1
    assert "orders.sla_refresh for alpha" in jobs["error"]
    assert jobs["late"][0]["job"] == "orders.sla_refresh" and jobs["late"][0]["seller"] == "alpha"
    assert "relation" in jobs["late"][0]["last_error"]
    assert response.json()["checks"]["worker"]["ok"] is True  # only the late job is wrong

    # Two minutes ago is within twice the period: on time again.
    with schema_context("public"):
        JobRun.objects.filter(schema_name=alpha.schema_name, job="orders.sla_refresh").update(last_success_at=timezone.now())
    assert client.get("/health/").status_code == 200


def test_a_job_run_in_the_public_schema_is_reported(job_records):
    with schema_context("public"):
        schemas = list(Seller.objects.exclude(schema_name="public").values_list("schema_name", flat=True))
        _all_jobs_fresh(schemas)
        assert jobs_check()["late_count"] == 0
        job_outcome_record(job="bi.refresh", schema_name="public", ok=False, error='ProgrammingError: relation "bi_orderfact" does not exist')
        with pytest.raises(Exception, match=r"ran in the public schema instead of a seller's: bi.refresh"):
            jobs_check()
        # Long ago (before the fix was deployed) it no longer counts.
        JobRun.objects.filter(schema_name="public").update(last_failure_at=timezone.now() - timedelta(hours=1))
        assert jobs_check()["wrong_schema_count"] == 0


def test_a_seller_beat_never_sends_to_is_late(job_records):
    with schema_context("public"):
        alpha = Seller.objects.get(subdomain="alpha")
        Seller.objects.filter(pk=alpha.pk, created_at__gt=timezone.now() - timedelta(hours=1)).update(
            created_at=timezone.now() - timedelta(hours=1))  # a seller of some standing, not one created a moment ago
        others = list(Seller.objects.exclude(schema_name__in=["public", alpha.schema_name]).values_list("schema_name", flat=True))
        # Beat has sent every job to the other sellers for ten minutes, never to alpha (created long before).
        _all_jobs_fresh(others, at=timezone.now())
        JobRun.objects.update(first_sent_at=timezone.now() - timedelta(minutes=10))
        with pytest.raises(Exception) as exc:
            jobs_check()
    assert "orders.sla_refresh for alpha" in str(exc.value) and "bi.refresh for alpha" in str(exc.value)
    assert "creators.metrics_refresh for alpha" not in str(exc.value)  # hourly: not late after ten minutes


def test_platform_admin_page_lists_late_jobs_in_red(job_records):
    with schema_context("public"):
        schemas = list(Seller.objects.exclude(schema_name="public").values_list("schema_name", flat=True))
        _all_jobs_fresh(schemas)
        admin = User.objects.filter(email="root-jobs@platform.test").first() or User.objects.create_superuser("root-jobs@platform.test", PASSWORD)
    platform = Client(HTTP_HOST="localhost")
    platform.force_login(admin)
    page = platform.get("/admin/sellers/jobrun/").content.decode()
    assert "Every scheduled job has succeeded for every seller" in page and 'class="jobs-red"' not in page
    assert page.count("orders.sla_refresh") == len(schemas)
    with schema_context("public"):
        JobRun.objects.filter(schema_name=schemas[0], job="commissions.accrue").update(
            last_success_at=timezone.now() - timedelta(minutes=25), last_error="OperationalError: server closed the connection")
    page = platform.get("/admin/sellers/jobrun/").content.decode()
    assert 'class="jobs-red"' in page and "1 scheduled job is late or ran in the wrong schema" in page
    red = page.split('class="jobs-red"')[1].split("</div>")[0]
    assert "commissions.accrue" in red and "server closed the connection" in red
    assert "/admin/sellers/jobrun/" in platform.get("/admin/").content.decode()  # reachable from the admin's index
    assert Client(HTTP_HOST="localhost").get("/admin/sellers/jobrun/").status_code == 302  # platform admins only


def test_anonymous_visits_to_every_platform_admin_page_go_to_the_admin_login(db):
    """The platform site has no seller sign-in: every admin page sends a stranger to the admin's login (it was a 500)."""
    from django.contrib import admin
    from django.urls import reverse

    anonymous = Client(HTTP_HOST="localhost")
    for model in admin.site._registry:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist", urlconf="erp.urls_public")
        response = anonymous.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/?next="), (url, response.status_code)


def test_beat_forgets_entries_no_longer_in_the_schedule(committed):
    """A job renamed or removed in a release is not sent any more (django-celery-beat keeps every row it stored)."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    from erp.beat import SellerScheduler
    from erp.celery import app

    with schema_context("public"):
        every = IntervalSchedule.objects.create(every=60, period=IntervalSchedule.SECONDS)
        PeriodicTask.objects.create(name="orders.retired@__all_tenants_only__", task="orders.retired", interval=every,
                                    headers='{"_all_tenants_only": true}')
        scheduler = SellerScheduler(app=app, lazy=False)
        assert "orders.retired@__all_tenants_only__" not in scheduler.schedule
        assert not PeriodicTask.objects.filter(task="orders.retired").exists()
        assert {e.task for e in scheduler.schedule.values()} == set(scheduled_jobs())
