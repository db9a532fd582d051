"""Fault injection, CI-sized (bench/faults.py is the big one): a real gunicorn and a real Celery
worker are SIGKILLed and cut off from PostgreSQL while orders arrive by webhook, ship, deliver and
accrue, and while a month is settled; afterwards nothing is lost, doubled or out of balance."""
import secrets
import time
import uuid

import httpx
import pytest
from django.db import connection
from django_tenants.utils import schema_context, tenant_context

from bench.faults import (
    SETTLE_BEAT_TASKS,
    Beat,
    Chaos,
    Cluster,
    burst,
    history_seed,
    last_month,
    orders_settled,
    pay_all,
    period_state,
    ship_and_deliver,
    shipping_done,
    shop_setup,
    tally,
    wait_until,
)
from commissions.models import Statement, StatementStatus
from erp.celery import app
from orders.models import Order
from sellers.models import Seller
from sellers.services import seller_signup
from tests.support import PASSWORD, subprocess_env


@pytest.fixture
def faulty_seller(committed, sandbox):
    subdomain = f"flt{secrets.token_hex(3)}"
    seller = seller_signup(company_name="Faulty Co", subdomain=subdomain, owner_email=f"o@{subdomain}.test", password=PASSWORD).seller
    queue = f"test-faults-{uuid.uuid4().hex[:6]}"
    cluster = Cluster(subprocess_env(FANOUT_PLATFORM_SANDBOX_URL=sandbox[0], FANOUT_RESUME_AFTER_S="3",
                                            DATABASE_CONN_MAX_AGE="60"), queue=queue)  # connections kept, as deployed
    original = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    try:
        yield seller, cluster, sandbox[0]
    finally:
        app.conf.task_default_queue = original
        cluster.stop()
        connection.set_schema_to_public()
        with schema_context("public"):
            Seller.objects.get(pk=seller.pk).delete(force_drop=True)


def _database_answers(cluster) -> bool:
    return httpx.get(f"{cluster.web_url}/health/", headers={"Host": "localhost"}, timeout=10).json()["checks"]["database"]["ok"]


@pytest.mark.worker
def test_killed_workers_and_cut_connections_lose_and_double_nothing(faulty_seller):
    seller, cluster, sandbox_url = faulty_seller
    with tenant_context(seller):
        setup = shop_setup(sandbox_url, orders=40, creators=8)
        cluster.start_web()
        cluster.start_worker()
        beat = Beat(seller, every=2.0)
        beat.start()
        host = f"{seller.subdomain}.localhost:{cluster.web_url.rsplit(':', 1)[1]}"
        try:
            # 1. Orders arrive (paced over ~10 s) while the worker is killed and connections are cut.
            chaos = Chaos(cluster, every=(1.5, 3.0), kinds=("kill", "cut"), seed=1)
            chaos.start()
            stats = burst(cluster, host, setup["shop"], setup["ids"], clients=4, pace_s=0.8)
            chaos.stop()
            assert _database_answers(cluster)
            assert cluster.cut_connections() > 0  # the web server's, at least
            assert _database_answers(cluster)  # the cut connection is noticed and replaced: the next request works
            wait_until(lambda: orders_settled(setup["ids"]), "every order decided", timeout=180)
            assert stats["gave_up"] == 0
            assert Order.objects.filter(channel="tiktok_shop").count() == 40

            # 2. Shipped and delivered while the worker (pushing tracking, accruing) is killed.
            chaos = Chaos(cluster, every=(1.0, 2.0), kinds=("kill", "cut"), seed=2)
            chaos.start()
            shipped = ship_and_deliver()
            time.sleep(2)
            chaos.stop()
            wait_until(shipping_done, "tracking pushed and commission accrued", timeout=180)
            assert shipped["shipments"] > 0 and shipped["delivered"] > 0

            # 3. A month is settled by the worker; the worker is killed in the middle of it.
            month = last_month()
            history_seed(300, month)
            beat.halt_sending = True  # the close task is the one the worker holds when it dies
            cluster.kill_mid_task(seller.schema_name, "commissions.accrue",
                                  lambda: app.send_task("commissions.period_close", args=["monthly", month.isoformat()]))
            assert period_state("monthly", month)[0] != "closed"
            beat.tasks, beat.halt_sending = SETTLE_BEAT_TASKS, False  # beat closes last month (and resumes closes)
            wait_until(lambda: period_state("monthly", month)[0] == "closed", "the period closed by the resumed work", timeout=180)

            # 4. Paid, with the Pay button clicked twice at once.
            paid = pay_all()
            assert paid["statements"] > 0 and paid["double_click_refused"] == 1
            assert not Statement.objects.exclude(status=StatementStatus.PAID).filter(payout_due__gt=0).exists()
        finally:
            beat.stop()
        result = tally(setup["ids"], period=("monthly", month))
    assert cluster.kills >= 4 and cluster.resets >= 2, (cluster.kills, cluster.resets)  # faults injected
    assert sum(result["lost"].values()) == 0, result
    assert sum(result["duplicated"].values()) == 0, result
    assert sum(result["unbalanced"].values()) == 0, result
