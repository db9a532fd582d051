"""Celery: configuration, and a real worker process writing into the right tenant schema."""
import time
import uuid

import pytest
from django.conf import settings
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from accounts.models import Invitation
from accounts.modules import Role
from accounts.tasks import invitation_send_email, invitations_expire
from creators.tasks import metrics_refresh_task, supply_queue_drain_task, tier_changes_apply_task, tier_review_monthly_task
from erp.celery import app
from inventory.tasks import reorder_alerts_raise_task
from orders import tasks as order_tasks
from sellers.models import Seller


def test_tasks_are_named_json_only_late_acked_and_time_limited():
    assert app.conf.task_serializer == "json" and app.conf.accept_content == ["json"]
    creator_tasks = (metrics_refresh_task, tier_changes_apply_task, tier_review_monthly_task, supply_queue_drain_task)
    order_tasks_ = (order_tasks.order_pipeline, order_tasks.tracking_push, order_tasks.sla_refresh, order_tasks.backorders_retry, order_tasks.amazon_poll)
    for task in (invitation_send_email, invitations_expire, reorder_alerts_raise_task, *creator_tasks, *order_tasks_):
        assert task.name.split(".")[0] in ("accounts", "inventory", "creators", "orders")
        assert task.acks_late is True and task.reject_on_worker_lost is True
        assert 0 < task.soft_time_limit < task.time_limit
        assert task.max_retries and task.retry_backoff
    assert app.conf.broker_url == settings.REDIS_URL or app.conf.broker_url == settings.CELERY_BROKER_URL
    beat = app.conf.beat_schedule["accounts.invitations_expire"]
    assert beat["task"] == "accounts.invitations_expire" and "tenant_schemas" not in beat  # runs per seller
    assert app.conf.beat_schedule["inventory.reorder_alerts_raise"]["task"] == reorder_alerts_raise_task.name
    for task in creator_tasks[:3]:  # the creators' hourly metrics, daily tier changes and monthly review run per seller
        assert app.conf.beat_schedule[task.name]["task"] == task.name and "tenant_schemas" not in app.conf.beat_schedule[task.name]
    for task in (order_tasks.sla_refresh, order_tasks.amazon_poll):  # SLA states every minute, Amazon orders every 5, per seller
        assert app.conf.beat_schedule[task.name]["task"] == task.name and "tenant_schemas" not in app.conf.beat_schedule[task.name]
    assert settings.CELERY_BEAT_SCHEDULER == "erp.beat:SellerScheduler"  # every job once per seller, in its schema, after every reload


def _make_invitation(seller: Seller, email: str) -> Invitation:
    with tenant_context(seller):
        return Invitation.objects.create(email=email, role=Role.ANALYST, expires_at=timezone.now() + timezone.timedelta(days=7))


@pytest.mark.worker
def test_task_sent_inside_tenant_a_writes_into_a_schema_only(worker):
    with schema_context("public"):
        alpha, beta = Seller.objects.get(subdomain="alpha"), Seller.objects.get(subdomain="beta")
    tag = uuid.uuid4().hex[:6]
    # Same primary key in both schemas: only the schema can tell them apart.
    inv_a = _make_invitation(alpha, f"a-{tag}@alpha.test")
    with tenant_context(beta):
        inv_b = Invitation.objects.create(
            pk=inv_a.pk, email=f"b-{tag}@beta.test", role=Role.ANALYST, expires_at=timezone.now() + timezone.timedelta(days=7)
        )
    try:
        with tenant_context(alpha):
            invitation_send_email.delay(inv_a.pk)

        deadline = time.monotonic() + 60
        sent_a = None
        while time.monotonic() < deadline and sent_a is None:
            time.sleep(0.3)
            with tenant_context(alpha):
                sent_a = Invitation.objects.get(pk=inv_a.pk).email_sent_at
        assert sent_a is not None, "the worker did not run the task in alpha's schema"
        with tenant_context(beta):
            assert Invitation.objects.get(pk=inv_b.pk).email_sent_at is None
        # The email the worker sent links to alpha's own site.
        mails = "".join(p.read_text() for p in worker["mail_dir"].glob("*.log"))
        assert f"a-{tag}@alpha.test" in mails and "http://alpha.localhost:8000/invite/" in mails
        assert f"b-{tag}@beta.test" not in mails
    finally:
        with tenant_context(alpha):
            Invitation.objects.filter(pk=inv_a.pk).delete()
        with tenant_context(beta):
            Invitation.objects.filter(pk=inv_b.pk).delete()
