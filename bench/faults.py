"""Fault injection: the Celery worker SIGKILLed again and again and every PostgreSQL connection of
the web server and the worker cut, while orders pour in, ship, deliver, accrue, and a month is
settled and paid. Afterwards nothing may be lost, doubled or out of balance.

    make bench NAME=faults                  # 1,500 orders, 20,000 settlement lines
    make bench NAME=faults ARGS="300 4000"  # a short run

Scratch database, one seller with 20 SKUs in three warehouses, 50 creators and a TikTok shop on
the platform sandbox. The system under test runs as deployed: gunicorn (2 processes) and a Celery
worker (prefork, 2 processes) on a queue of their own; "beat" is this script sending the beat
tasks every few seconds (work_resume, webhooks_resume, closes_resume, accrue; close_due_periods from the settle phase on)
instead of every few minutes, and FANOUT_RESUME_AFTER_S is 5 s instead of 120.

Faults, every 3–8 s, in turn: SIGKILL of the worker's whole process group (restarted 0.5 s later,
like a supervisor would), and pg_terminate_backend() of every connection the web server and the
worker hold (application_name marks them). They run through four phases:
1. burst: the shop's orders arrive as signed ORDER_STATUS_CHANGE webhooks (20% duplicates) from
   16 clients that retry until answered 200, as TikTok does;
2. ship: every routed shipment is shipped with a tracking number (tracking pushed back to the shop
   by the worker), then delivered (the worker accrues the creators' commission);
3. settle: creator orders delivered the month before last (written in SQL, as imported history),
   payable last month, are settled by the worker's commissions.period_close task for last month;
4. pay: statements confirmed, approved, put in one batch and paid, with the payment clicked twice
   at once from two threads (no faults injected here: the clicks run in this process).

Checked at the end:
- lost: orders of the shop missing or never decided; inbox events not processed; shipped parcels
  whose tracking never reached the shop; delivered creator orders without commission; the period
  not closed; payable lines left off statements; approved statements not paid;
- duplicated: orders beyond one per TikTok order; shipped units beyond the ordered units; commission
  lines beyond one per order line and kind; payouts beyond one per statement;
- unbalanced: broken ledger invariants (manage.py ledger_check), stock that differs from its
  movements (manage.py stock_audit), units reserved or shipped beyond what was received.
Last line: faults=<n> lost=<n> duplicated=<n> unbalanced=<n>
"""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

VICTIM = "fanout-victim"  # application_name of the web server's and the worker's connections
BEAT_TASKS = ("orders.work_resume", "connectors.webhooks_resume", "commissions.closes_resume", "commissions.accrue")
# Beat closes last month soon after it ends; here it starts doing so in the settle phase, once last
# month's history is written (else it would close an empty month during the burst).
SETTLE_BEAT_TASKS = BEAT_TASKS + ("commissions.close_due_periods",)
ZIPS = ["90001", "94103", "98101", "85004", "80202", "75201", "60606", "55401", "48226", "30303", "33130", "10118", "02108", "19103"]


def say(msg: str) -> None:
    print(f"[faults {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def db_retry(fn, *, tries: int = 20):
    """Run fn() with the ORM; a connection cut under it is reopened and fn() run again."""
    from django.db import InterfaceError, OperationalError, connection

    for attempt in range(tries):
        try:
            return fn()
        except (OperationalError, InterfaceError):
            if connection.in_atomic_block or attempt == tries - 1:
                raise
            connection.close()
            time.sleep(0.2)


# ------------------------------------------------------------------------------------ the system
class Cluster:
    """The web server and the worker as deployed, as child processes this script can kill."""

    def __init__(self, env: dict[str, str], *, queue: str, concurrency: int = 2, log_dir: Path | None = None):
        self.queue, self.concurrency = queue, concurrency
        self.env = dict(env, CELERY_DEFAULT_QUEUE=queue, PGAPPNAME=VICTIM, PYTHONUNBUFFERED="1")
        self.env.setdefault("FANOUT_RESUME_AFTER_S", "5")
        self.log_dir = log_dir or (ROOT / ".var" / "log")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.web = self.worker = None
        self.web_url = ""
        self.kills = self.resets = self.connections_cut = self.starts = 0
        self.lock = threading.Lock()

    def start_web(self) -> str:
        port = _free_port()
        self.web = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "erp.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2", "--timeout", "60"],
            cwd=ROOT, env=self.env, stdout=open(self.log_dir / "faults-web.log", "ab"), stderr=subprocess.STDOUT, start_new_session=True)
        self.web_url = f"http://127.0.0.1:{port}"
        _wait_http(self.web_url + "/health/", ok_codes=(200, 503))
        return self.web_url

    def start_worker(self) -> None:
        with self.lock:
            self.worker = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "erp", "worker", "-Q", self.queue, "--concurrency", str(self.concurrency),
                 "-n", f"faults-{self.starts}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat"],
                cwd=ROOT, env=self.env, stdout=open(self.log_dir / "faults-worker.log", "ab"), stderr=subprocess.STDOUT,
                start_new_session=True)
            self.starts += 1

    def kill_worker(self) -> None:
        """SIGKILL the worker's main process and its pool processes at once: no goodbye, no requeue."""
        with self.lock:
            if self.worker is None:
                return
            try:
                os.killpg(self.worker.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.worker.wait()
            self.worker = None
            self.kills += 1

    def cut_connections(self) -> int:
        """pg_terminate_backend() every connection of the web server and the worker."""
        with self._connect(autocommit=True) as conn:
            n = conn.execute("SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = %s",
                             [VICTIM]).fetchone()[0]
        with self.lock:
            self.resets += 1 if n else 0  # a fault only when it cut something
            self.connections_cut += n
        return n

    def _connect(self, **kwargs):
        import psycopg

        from erp.devstack import libpq_url

        return psycopg.connect(libpq_url(self.env["DATABASE_URL"]), **kwargs)

    def kill_mid_task(self, schema: str, lock: str, send, *, timeout: float = 60) -> None:
        """Kill the worker in the middle of a task, for certain: hold the seller's advisory lock
        `lock` (one the task takes part-way), send the task, wait until the worker's connection
        waits for the lock, SIGKILL the worker, let go of the lock, start a new worker."""
        with self._connect() as holder:
            holder.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"{schema}:{lock}"])
            send()
            with self._connect(autocommit=True) as probe:
                deadline = time.monotonic() + timeout
                while not probe.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s AND wait_event = 'advisory'",
                                        [VICTIM]).fetchone()[0]:
                    if time.monotonic() > deadline:
                        raise AssertionError(f"the worker never reached the {lock} lock")
                    time.sleep(0.1)
            self.kill_worker()
            holder.rollback()
        self.start_worker()

    def kill_when(self, sql: str, *, timeout: float = 60) -> bool:
        """SIGKILL the worker (and start a new one) the moment `sql` (a count) turns non-zero; False
        if it never did within `timeout` s."""
        with self._connect(autocommit=True) as probe:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if probe.execute(sql).fetchone()[0]:
                    self.kill_worker()
                    self.start_worker()
                    return True
                time.sleep(0.02)
        return False

    @property
    def faults(self) -> int:
        return self.kills + self.resets

    def stop(self) -> None:
        for proc in (self.worker, self.web):
            if proc is not None and proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                    proc.wait(timeout=20)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    os.killpg(proc.pid, signal.SIGKILL)


def _wait_http(url: str, *, ok_codes=(200,), timeout: float = 40) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, headers={"Host": "localhost"}, timeout=2).status_code in ok_codes:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer")


class Chaos(threading.Thread):
    """Every 3–8 s (seeded; a worker needs a few seconds to start, then works a while), the next fault in turn: kill the worker (restarted 0.5 s later), or
    cut the connections. `kinds` says the rotation."""

    def __init__(self, cluster: Cluster, *, every=(3.0, 8.0), kinds=("kill", "cut"), seed: int = 7):
        super().__init__(daemon=True)
        self.cluster, self.every, self.kinds = cluster, every, kinds
        self.rng = random.Random(seed)
        self.halt = threading.Event()
        self.log: list[str] = []

    def run(self) -> None:
        i = 0
        while not self.halt.wait(self.rng.uniform(*self.every)):
            kind = self.kinds[i % len(self.kinds)]
            i += 1
            if kind == "kill":
                self.cluster.kill_worker()
                time.sleep(0.5)
                self.cluster.start_worker()
                self.log.append("kill")
            else:
                self.log.append(f"cut {self.cluster.cut_connections()}")

    def stop(self) -> None:
        self.halt.set()
        self.join()


class Beat(threading.Thread):
    """What celery beat sends for the seller, every `every` seconds."""

    def __init__(self, seller, *, every: float = 3.0, tasks=BEAT_TASKS):
        super().__init__(daemon=True)
        self.seller, self.every, self.tasks = seller, every, tasks
        self.halt = threading.Event()
        self.halt_sending = False  # a phase that wants the worker to itself for a moment

    def run(self) -> None:
        from django.db import connection

        from erp.celery import app

        connection.set_tenant(self.seller)
        try:
            while not self.halt.wait(self.every):
                for name in () if self.halt_sending else self.tasks:
                    try:
                        app.send_task(name)
                    except Exception as exc:  # noqa: BLE001 — beat logs and tries again next time
                        say(f"beat could not send {name}: {exc}")
        finally:
            connection.close()

    def stop(self) -> None:
        self.halt.set()
        self.join()


def faults_then_wait(chaos: Chaos, check, what: str, *, grace: float = 30, timeout: float = 420) -> int:
    """Faults go on while the system catches up, for `grace` seconds at most; then they stop and
    we wait for `check`. Returns the number of faults injected."""
    try:
        wait_until(check, what, timeout=grace)
    except AssertionError:
        pass
    chaos.stop()
    wait_until(check, what, timeout=timeout)
    return len(chaos.log)


def wait_until(check, what: str, *, timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if db_retry(check):
            return time.monotonic() - started
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


# ------------------------------------------------------------------------------------ the seller
def shop_setup(sandbox_url: str, *, orders: int, creators: int = 50, seed: int = 3) -> dict:
    """In the current seller schema: SKUs stocked in three warehouses, creators, a TikTok shop on
    the sandbox holding `orders` orders (no webhook sent yet). Returns what the phases need."""
    import httpx
    from djmoney.money import Money

    from commissions.services.accrual import settlement_settings
    from connectors.models import ChannelListing
    from connectors.services import AccountInput, account_connect
    from creators.models import Creator, CreatorStatus
    from inventory.models import SKU, Category, Product
    from inventory.services import stock_receive
    from inventory.services.movements import ReceiptLine
    from warehouses.services import warehouse_create

    rng = random.Random(seed)
    settings = settlement_settings()
    settings.return_window_days, settings.minimum_payout = 30, 0
    settings.save()
    warehouses = [warehouse_create(code=c, name=n, zip_code=z) for c, n, z in
                  (("LA", "Los Angeles", "90021"), ("CHI", "Chicago", "60607"), ("NJ", "New Jersey", "07094"))]
    product = Product.objects.create(title="Lip oil", category=Category.objects.create(name="Beauty"))
    skus = SKU.objects.bulk_create([SKU(code=f"FLT-{i:02d}", product=product, title=f"Shade {i}", default_unit_cost=Money("4.00", "USD"))
                                    for i in range(20)])
    for wh in warehouses:
        # Two hot SKUs run out part-way: those orders are backordered, never oversold.
        stock_receive(warehouse_id=wh.pk, lines=[ReceiptLine(s.pk, max(5, orders // 10) if i < 2 else 10 * orders, Money("4.00", "USD"))
                                                 for i, s in enumerate(skus)], reference=f"PO-{wh.code}")
    handles = [f"faults_{i:03d}" for i in range(creators)]
    Creator.objects.bulk_create(Creator(handle=h, display_name=h, status=CreatorStatus.ACTIVE, tier="B") for h in handles)
    http = httpx.Client(base_url=sandbox_url, timeout=30)
    shop_id = f"71{uuid.uuid4().int % 10**8:08d}"
    shop = http.post("/_sandbox/tiktok/shops", json={"name": "Faults", "shop_id": shop_id, "items": [
        {"product_id": "P1", "sku_id": f"T{s.pk}", "quantity": 0} for s in skus]}).json()
    account = account_connect(data=AccountInput(
        platform="tiktok_shop", name="Faults", shop_id=shop["shop_id"], shop_cipher=shop["cipher"], stock_location=shop["warehouse_id"],
        app_key=shop["app_key"], app_secret=shop["app_secret"], access_token=shop["access_token"], refresh_token=shop["refresh_token"],
        use_sandbox=True))
    ChannelListing.objects.bulk_create([ChannelListing(account=account, sku=s, external_product_id="P1", external_sku_id=f"T{s.pk}") for s in skus])
    ids = []
    for n in range(orders):
        lines = [{"sku_id": f"T{s.pk}", "quantity": rng.choice([1, 1, 2]), "price": "19.99"} for s in rng.sample(skus, rng.choice([1, 1, 2]))]
        address = {"name": f"Buyer {n}", "address_line1": f"{n} Main St", "postal_code": rng.choice(ZIPS), "region_code": "US"}
        ids.append(http.post(f"/_sandbox/tiktok/{shop['shop_id']}/orders", json={
            "lines": lines, "address": address, "silent": True, "creator_username": rng.choice(handles) if rng.random() < 0.7 else None,
        }).json()["order_id"])
    return {"ids": [str(i) for i in ids], "shop": shop, "handles": handles}


def burst(cluster: Cluster, host: str, shop: dict, ids: list[str], *, clients: int = 16, duplicate_share: float = 0.2,
          pace_s: float = 0.0, seed: int = 11) -> dict:
    """Every order's webhook (plus duplicates), signed, from `clients` threads; each delivery is
    retried until it is answered 200, as TikTok retries. Returns counts."""
    import httpx

    from bench._load import tiktok_order_webhook

    rng = random.Random(seed)
    events = [(f"F{i}", order_id) for i, order_id in enumerate(ids)]
    events += [rng.choice(events) for _ in range(int(len(ids) * duplicate_share))]
    rng.shuffle(events)
    todo = iter(events)
    lock = threading.Lock()
    stats = {"deliveries": len(events), "attempts": 0, "refused": 0, "gave_up": 0}

    def client() -> None:
        with httpx.Client(timeout=30) as http:
            while True:
                with lock:
                    item = next(todo, None)
                if item is None:
                    return
                event_id, order_id = item
                body, signature = tiktok_order_webhook(shop, event_id, order_id)
                for attempt in range(30):
                    try:
                        answer = http.post(f"{cluster.web_url}/hooks/tiktok-shop/", content=body,
                                           headers={"Host": host, "Authorization": signature, "Content-Type": "application/json"}).status_code
                    except httpx.HTTPError:
                        answer = 0
                    with lock:
                        stats["attempts"] += 1
                    if answer == 200:
                        break
                    with lock:
                        stats["refused"] += 1
                    time.sleep(min(0.2 * 2 ** attempt, 3))
                else:
                    with lock:
                        stats["gave_up"] += 1
                if pace_s:
                    time.sleep(pace_s)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return stats


def orders_settled(ids: list[str]) -> bool:
    """Every order of the shop is here and decided (routed, backordered, or parked with a reason)."""
    from connectors.models import InboxStatus, WebhookEvent
    from orders.models import Order, OrderStatus

    if WebhookEvent.objects.filter(status__in=[InboxStatus.PENDING, InboxStatus.FAILED]).exists():
        return False
    open_ = Order.objects.filter(external_id__in=ids).filter(status__in=[OrderStatus.RECEIVED, OrderStatus.RESERVED], exception_reason="")
    return Order.objects.filter(external_id__in=ids).values("external_id").distinct().count() == len(ids) and not open_.exists()


def ship_and_deliver(*, carrier: str = "UPS") -> dict:
    """A warehouse person ships every routed parcel (tracking pushed to the shop by the worker),
    then the carrier reports every one delivered (the worker accrues the commission)."""
    from orders.models import Order, OrderStatus, Shipment, ShipmentStatus
    from orders.services.pipeline import order_deliver, shipment_ship

    shipments = list(Shipment.objects.filter(status=ShipmentStatus.OPEN, order__status=OrderStatus.ROUTED).values_list("pk", flat=True))
    for pk in shipments:
        db_retry(lambda pk=pk: shipment_ship(shipment_id=pk, carrier=carrier, tracking_number=f"1ZFLT{pk:010d}"))
    shipped_orders = list(Order.objects.filter(status=OrderStatus.SHIPPED).values_list("pk", flat=True))
    for pk in shipped_orders:
        db_retry(lambda pk=pk: order_deliver(order_id=pk))
    return {"shipments": len(shipments), "delivered": len(shipped_orders)}


def shipping_done() -> bool:
    from commissions.models import CommissionLine
    from orders.models import Order, OrderStatus, Shipment, ShipmentStatus

    unpushed = Shipment.objects.filter(status__in=[ShipmentStatus.SHIPPED, ShipmentStatus.DELIVERED], tracking_pushed_at__isnull=True).exists()
    unaccrued = Order.objects.filter(status=OrderStatus.DELIVERED, creator__isnull=False).exclude(
        pk__in=CommissionLine.objects.values("order_id")).exists()
    return not unpushed and not unaccrued


def history_seed(lines: int, month_first: date) -> None:
    """Creator orders delivered in the month *before* `month_first` (two lines each), written in SQL
    like an import: past the 30-day return window they are payable in `month_first`'s month."""
    from django.db import connection

    orders = max(1, lines // 2)
    before = (month_first - timedelta(days=1)).replace(day=1)
    start = datetime(before.year, before.month, 1, 7, tzinfo=dt_timezone.utc) - timedelta(days=3)
    with connection.cursor() as cursor:
        cursor.execute("""
            INSERT INTO orders_order (channel, external_id, order_type, creator_id, platform_pays_commission, status, currency,
                                      placed_at, created_at, delivered_at)
            SELECT 'manual', 'H' || lpad(g::text, 8, '0'), 'dropship', c.ids[1 + (g * 7919) %% array_length(c.ids, 1)], false,
                   'delivered', 'USD', t, t, t + interval '3 days'
            FROM generate_series(1, %s) g, (SELECT array_agg(id ORDER BY id) AS ids FROM creators_creator) c,
                 LATERAL (SELECT %s::timestamptz + (g * interval '1 second' * 2332800 / %s)) AS x(t)""", [orders, start, orders])
        cursor.execute("""
            INSERT INTO orders_orderline (order_id, sku_id, quantity, unit_price, unit_price_currency, discount, discount_currency,
                                          quantity_returned, commission, commission_currency)
            SELECT o.id, s.ids[1 + ((o.id * 2 + k) * 104729) %% array_length(s.ids, 1)], 1 + (o.id + k) %% 3,
                   (9.99 + ((o.id * 31 + k) %% 5000) / 100.0)::numeric(12, 2), 'USD', 0, 'USD', 0, 0, 'USD'
            FROM orders_order o, generate_series(0, 1) k, (SELECT array_agg(id ORDER BY id) AS ids FROM inventory_sku) s
            WHERE o.external_id LIKE 'H%%'""", [])
        cursor.execute("ANALYZE")


def period_state(cycle: str, day: date) -> tuple[str, int, int]:
    from commissions.services.settlement import period_get

    period = period_get(cycle, day)
    return period.status, period.chunks_done, period.chunks_total


def pay_all() -> dict:
    """Finance confirms (on the creators' behalf), approves, batches and pays every statement with
    something due; the Pay button is clicked twice at once."""
    from commissions.exceptions import SettlementError
    from commissions.models import Statement, StatementStatus
    from commissions.services.statements import payout_batch_create, payout_batch_paid, statement_approve, statement_confirm

    due = list(Statement.objects.filter(status=StatementStatus.ISSUED, payout_due__gt=0).values_list("pk", flat=True))
    for pk in due:
        db_retry(lambda pk=pk: statement_confirm(statement_id=pk))
        db_retry(lambda pk=pk: statement_approve(statement_id=pk))
    if not due:
        return {"statements": 0, "double_click_refused": 0}
    batch = db_retry(lambda: payout_batch_create(statement_ids=due))
    refused = []
    from django.db import connection as caller

    tenant = caller.tenant

    def click() -> None:
        from django.db import connection

        connection.set_tenant(tenant)
        try:
            payout_batch_paid(batch_id=batch.pk, reference="WIRE-FAULTS-1")
        except SettlementError as exc:
            refused.append(str(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=click) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"statements": len(due), "double_click_refused": len(refused)}


def tally(ids: list[str], *, period: tuple[str, date] | None) -> dict:
    """lost / duplicated / unbalanced, each with what it found."""
    from django.db import connection

    from commissions.services.checks import ledger_problems
    from inventory.audit import stock_audit_differences

    def rows(sql, params=()):
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return [r for r in cursor.fetchall()]

    lost, duplicated, unbalanced = {}, {}, {}
    present = {r[0] for r in rows("SELECT external_id FROM orders_order WHERE channel = 'tiktok_shop'")}
    lost["orders missing"] = len(set(ids) - present)
    lost["orders never decided"] = rows("SELECT count(*) FROM orders_order WHERE status IN ('received', 'reserved') AND exception_reason = ''")[0][0]
    lost["orders parked by a fault"] = rows("SELECT count(*) FROM orders_order WHERE exception_reason = 'pipeline_error'")[0][0]
    lost["inbox events not processed"] = rows("SELECT count(*) FROM connectors_webhookevent WHERE status IN ('pending', 'failed')")[0][0]
    lost["tracking never pushed"] = rows("SELECT count(*) FROM orders_shipment WHERE status IN ('shipped', 'delivered') AND tracking_pushed_at IS NULL")[0][0]
    lost["delivered creator orders without commission"] = rows(
        "SELECT count(*) FROM orders_order o WHERE o.status = 'delivered' AND o.creator_id IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM commissions_commissionline l WHERE l.order_id = o.id)")[0][0]
    if period:
        status, _done, _total = period_state(*period)
        lost["period not closed"] = int(status != "closed")
        lost["payable lines left off statements"] = rows(
            "SELECT count(*) FROM commissions_commissionline l JOIN commissions_settlementperiod p ON p.cycle = %s AND p.first_day = %s "
            "WHERE l.statement_id IS NULL AND NOT l.platform_paid AND l.payable_at < p.ends_at", [period[0], period[1].replace(day=1)])[0][0]
        lost["approved statements not paid"] = rows("SELECT count(*) FROM commissions_statement WHERE status = 'approved'")[0][0]
    duplicated["orders beyond one per TikTok order"] = rows(
        "SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) n FROM orders_order GROUP BY channel, external_id) q")[0][0]
    duplicated["units shipped beyond ordered"] = rows(
        "SELECT coalesce(sum(greatest(s.units - ol.quantity, 0)), 0) FROM orders_orderline ol JOIN "
        "(SELECT sl.order_line_id, sum(sl.quantity) units FROM orders_shipmentline sl JOIN orders_shipment sh ON sh.id = sl.shipment_id "
        " WHERE sh.status <> 'cancelled' GROUP BY 1) s ON s.order_line_id = ol.id")[0][0]
    duplicated["commission lines beyond one per line and kind"] = rows(
        "SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) n FROM commissions_commissionline WHERE kind = 'accrual' GROUP BY order_line_id) q")[0][0]
    duplicated["payouts beyond one per statement"] = rows(
        "SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) n FROM commissions_journalentry WHERE kind = 'payout' GROUP BY key) q")[0][0]
    duplicated["statements beyond one per creator and period"] = rows(
        "SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) n FROM commissions_statement GROUP BY creator_id, period_id, currency) q")[0][0]
    problems = ledger_problems(limit=1000)
    unbalanced["ledger rules broken"] = len(problems)
    stock = stock_audit_differences()
    unbalanced["stock differing from its movements"] = len(stock)
    unbalanced["units beyond stock received"] = rows("""
        WITH shipped AS (SELECT sl.sku_id, s.warehouse_id, sum(sl.quantity) AS units FROM orders_shipmentline sl
                         JOIN orders_shipment s ON s.id = sl.shipment_id WHERE s.status <> 'cancelled' GROUP BY 1, 2),
             received AS (SELECT sku_id, warehouse_id, sum(on_hand_delta) AS units FROM inventory_stockmove WHERE kind = 'receipt' GROUP BY 1, 2)
        SELECT coalesce(sum(greatest(shipped.units - coalesce(received.units, 0), 0)), 0) FROM shipped LEFT JOIN received USING (sku_id, warehouse_id)""")[0][0]
    unbalanced["stock rows reserved beyond on hand"] = rows("SELECT count(*) FROM inventory_stock WHERE reserved > on_hand OR on_hand < 0")[0][0]
    return {"lost": lost, "duplicated": duplicated, "unbalanced": unbalanced, "details": problems[:5] + stock[:5]}


def last_month() -> date:
    from erp.l10n import business_today

    first = business_today().replace(day=1)
    return (first - timedelta(days=1)).replace(day=1)


# ------------------------------------------------------------------------------------ the bench
def main() -> None:
    orders_n = int(sys.argv[1]) if len(sys.argv) > 1 else 1500
    history_lines = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
    os.environ["DJANGO_DEBUG"] = "false"
    from bench._db import scratch_platform

    sandbox_port = _free_port()
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    os.environ["FANOUT_PLATFORM_SANDBOX_URL"] = sandbox_url
    queue = f"bench-faults-{uuid.uuid4().hex[:6]}"
    os.environ["CELERY_DEFAULT_QUEUE"] = queue
    sandbox = subprocess.Popen([sys.executable, "-m", "connectors.sandbox", "--port", str(sandbox_port)], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cluster = None
    started = time.monotonic()
    try:
        _wait_http(f"{sandbox_url}/_sandbox/health")
        with scratch_platform("bench_faults"):
            from django.db import connection
            from django.utils.crypto import get_random_string

            from erp.celery import app
            from sellers.services import seller_signup

            app.conf.task_default_queue = queue
            seller = seller_signup(company_name="Faults", subdomain="faults", owner_email="o@faults.example",
                                   password=get_random_string(16)).seller
            connection.set_tenant(seller)
            setup = shop_setup(sandbox_url, orders=orders_n)
            say(f"{orders_n} orders waiting in the sandbox shop; starting web server and worker")
            env = dict(os.environ, DJANGO_SETTINGS_MODULE="erp.settings.local", DJANGO_LOG_LEVEL="WARNING")
            cluster = Cluster(env, queue=queue)
            cluster.start_web()
            cluster.start_worker()
            beat = Beat(seller)
            beat.start()
            host = f"faults.localhost:{cluster.web_url.rsplit(':', 1)[1]}"
            phases = {}

            chaos = Chaos(cluster)
            chaos.start()
            stats = burst(cluster, host, setup["shop"], setup["ids"])
            phases["burst"] = faults_then_wait(chaos, lambda: orders_settled(setup["ids"]), "every order decided")
            say(f"burst: {stats['deliveries']} deliveries, {stats['attempts']} attempts, {stats['refused']} refused and retried; "
                f"faults {chaos.log}")

            chaos = Chaos(cluster, seed=8)
            chaos.start()
            shipped = ship_and_deliver()
            phases["ship"] = faults_then_wait(chaos, shipping_done, "tracking pushed and commission accrued")
            say(f"ship: {shipped}; faults {chaos.log}")

            month = last_month()
            history_seed(history_lines, month)
            say(f"{history_lines} delivered creator order lines payable in {month:%B %Y} written; closing that month in the worker")
            # Killed for certain while the close task waits for the accrual lock; then, once beat's
            # close_due_periods has it closing, killed mid-close (closes_resume must finish it); then
            # at random until it is closed.
            beat.halt_sending = True
            cluster.kill_mid_task(seller.schema_name, "commissions.accrue",
                                  lambda: app.send_task("commissions.period_close", args=["monthly", month.isoformat()]))
            beat.tasks, beat.halt_sending = SETTLE_BEAT_TASKS, False
            mid_close = cluster.kill_when(f"SELECT count(*) FROM \"{seller.schema_name}\".commissions_settlementperiod WHERE status = 'closing'")
            say(f"settle: killed while waiting for the accrual lock; killed while closing: {'yes' if mid_close else 'missed'}")
            chaos = Chaos(cluster, seed=9)
            chaos.start()
            states = []

            def closed() -> bool:
                state = period_state("monthly", month)
                if not states or states[-1] != state:
                    states.append(state)
                return state[0] == "closed"

            phases["settle"] = 1 + int(mid_close) + faults_then_wait(chaos, closed, "the period closed")
            say(f"settle: period states seen {states}; faults {chaos.log}")

            paid = pay_all()  # in this process (finance's clicks), the Pay button twice at once
            say(f"pay: {paid}")

            beat.stop()
            result = tally(setup["ids"], period=("monthly", month))
            faults, lost, dup, unb = cluster.faults, sum(result["lost"].values()), sum(result["duplicated"].values()), sum(result["unbalanced"].values())
            say(f"faults by phase {phases}: {cluster.kills} worker kills, {cluster.resets} connection cuts ({cluster.connections_cut} connections)")
            for group in ("lost", "duplicated", "unbalanced"):
                say(f"{group}: " + ", ".join(f"{k} {v}" for k, v in result[group].items()))
            for line in result["details"]:
                say(f"  {line}")
            say(f"whole run {time.monotonic() - started:.0f} s")
            print(f"faults={faults} lost={lost} duplicated={dup} unbalanced={unb}", flush=True)
    finally:
        if cluster is not None:
            cluster.stop()
        sandbox.terminate()


if __name__ == "__main__":
    main()
