"""Soak: Fanout as deployed — celery beat, workers, the web server, the platform sandbox — left running
for minutes with beat re-reading its schedule every minute (FANOUT_BEAT_RELOAD_S=60, instead of every
five) while TikTok orders flow into several sellers through signed webhooks, a few of them bad.

    make bench NAME=soak                              # 10 minutes, the real schedule
    make bench NAME=soak ARGS="--minutes 30"          # longer
    make bench NAME=soak ARGS="--minutes 3 --every 15" # every job every 15 s instead of its crontab

Counted at the end, from what beat and the worker recorded (sellers.jobs) and from the sellers' data:
- scheduled_runs: scheduled jobs that ran for a seller (every job, every seller, every time), and the
  platform's own jobs in the public schema;
- failed_runs: of those, the ones that failed;
- wrong_schema_runs: scheduled jobs that ran in the public schema instead of a seller's;
- silent_losses: orders the shops took and announced by webhook that are neither an order in Fanout
  nor an intake exception Operations can see (orders.IntakeFailure).
The jobs that ran, failed or were late per seller are printed before the last line:
minutes=<n> scheduled_runs=<n> failed_runs=<n> wrong_schema_runs=<n> silent_losses=<n>
"""
from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def say(msg: str) -> None:
    print(f"[soak {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ------------------------------------------------------------------------------------ processes
class _Process:
    argv: list[str] = []

    def __init__(self, env: dict[str, str], *, log: Path):
        self.env, self.log = dict(env), log
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(self.argv, cwd=ROOT, env=self.env, stdout=open(self.log, "ab"), stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def tail(self, chars: int = 3000) -> str:
        return self.text()[-chars:]


class WorkerProcess(_Process):
    """A Celery worker (prefork) on a queue of its own; `env` gets the queue name for beat and senders."""

    def __init__(self, env: dict[str, str], *, log: Path, concurrency: int = 2, queue: str = ""):
        super().__init__(env, log=log)
        self.env.setdefault("CELERY_DEFAULT_QUEUE", queue or f"soak-{uuid.uuid4().hex[:8]}")
        self.queue = self.env["CELERY_DEFAULT_QUEUE"]
        self.argv = [sys.executable, "-m", "celery", "-A", "erp", "worker", "-Q", self.queue, "--concurrency", str(concurrency),
                     "-n", f"{self.queue}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat"]


class BeatProcess(_Process):
    """celery beat with Fanout's scheduler (erp.beat), waking at least every second."""

    def __init__(self, env: dict[str, str], *, log: Path):
        super().__init__(env, log=log)
        self.argv = [sys.executable, "-m", "celery", "-A", "erp", "beat", "--max-interval", "1", "--loglevel", "INFO"]

    def reads(self) -> int:
        """How often beat has read its schedule from the database: the first read, then every reload."""
        return self.text().count("schedule read from the database")


# ------------------------------------------------------------------------------------ records
def schedule_reset() -> None:
    """In the public schema: no stored beat entries (beat writes the schedule of this run) and no job records."""
    from django_celery_beat.models import PeriodicTask, PeriodicTasks

    from sellers.models import JobRun

    PeriodicTask.objects.all().delete()
    PeriodicTasks.objects.all().delete()
    JobRun.objects.all().delete()


def jobs_tally() -> dict:
    """scheduled_runs, failed_runs and wrong_schema_runs from the job records (sellers.jobs)."""
    from django.db.models import Sum
    from django_tenants.utils import schema_context

    from sellers.jobs import platform_jobs
    from sellers.models import JobRun

    with schema_context("public"):
        wrong = JobRun.objects.filter(schema_name="public").exclude(job__in=platform_jobs())
        sellers = JobRun.objects.exclude(pk__in=wrong.values("pk")).aggregate(ok=Sum("successes"), failed=Sum("failures"))
        public = wrong.aggregate(ok=Sum("successes"), failed=Sum("failures"))
    ok, failed = sellers["ok"] or 0, sellers["failed"] or 0
    return {"scheduled_runs": ok + failed, "failed_runs": failed, "wrong_schema_runs": (public["ok"] or 0) + (public["failed"] or 0)}


# ------------------------------------------------------------------------------------ the bench
def _shop(sandbox_url: str, code: str) -> dict:
    """In the current seller: three warehouses' worth of stock for 8 SKUs and a TikTok shop on the sandbox selling them."""
    import httpx
    from djmoney.money import Money

    from connectors.models import ChannelListing
    from connectors.services import AccountInput, account_connect
    from inventory.models import SKU, Category, Product
    from inventory.services import stock_receive
    from inventory.services.movements import ReceiptLine
    from warehouses.services import warehouse_create

    warehouse = warehouse_create(code="LA", name="Los Angeles", zip_code="90021")
    product = Product.objects.create(title="Lip oil", category=Category.objects.create(name="Beauty"))
    skus = SKU.objects.bulk_create([SKU(code=f"{code}-{i}", product=product, title=f"Shade {i}", default_unit_cost=Money("4.00", "USD"))
                                    for i in range(8)])
    stock_receive(warehouse_id=warehouse.pk, lines=[ReceiptLine(s.pk, 100_000, Money("4.00", "USD")) for s in skus], reference="PO-SOAK")
    http = httpx.Client(base_url=sandbox_url, timeout=30)
    shop = http.post("/_sandbox/tiktok/shops", json={"name": code, "shop_id": f"72{uuid.uuid4().int % 10**8:08d}", "items": [
        {"product_id": "P1", "sku_id": f"T{s.pk}", "quantity": 0} for s in skus]}).json()
    account = account_connect(data=AccountInput(
        platform="tiktok_shop", name=code, shop_id=shop["shop_id"], shop_cipher=shop["cipher"], stock_location=shop["warehouse_id"],
        app_key=shop["app_key"], app_secret=shop["app_secret"], access_token=shop["access_token"], refresh_token=shop["refresh_token"],
        use_sandbox=True))
    ChannelListing.objects.bulk_create([ChannelListing(account=account, sku=s, external_product_id="P1", external_sku_id=f"T{s.pk}") for s in skus])
    return {"shop": shop, "items": [f"T{s.pk}" for s in skus], "http": http}


class Traffic(threading.Thread):
    """Orders placed on the sellers' sandbox shops and announced by signed webhook, one every `every` seconds
    on average; one in ten is bad in a way intake must show (a commission rate TikTok would never send,
    an order the shop does not know, an item no SKU matches)."""

    def __init__(self, web_url: str, port: str, shops: dict[str, dict], *, every: float, seed: int = 5):
        super().__init__(daemon=True)
        self.web_url, self.port, self.shops, self.every = web_url, port, shops, every
        self.rng = random.Random(seed)
        self.halt = threading.Event()
        self.sent: dict[str, list[str]] = {sub: [] for sub in shops}  # order ids announced and answered 200
        self.bad = 0

    def run(self) -> None:
        import httpx

        from bench._load import tiktok_order_webhook

        with httpx.Client(timeout=30) as web:
            while not self.halt.wait(self.rng.expovariate(1 / self.every)):
                subdomain = self.rng.choice(list(self.shops))
                setup = self.shops[subdomain]
                kind = self.rng.choices(["good", "rate", "unknown_order", "unknown_item"], [90, 4, 3, 3])[0]
                item = "NOPE-1" if kind == "unknown_item" else self.rng.choice(setup["items"])
                order = {"lines": [{"sku_id": item, "quantity": 1, "price": "19.99"}], "silent": True,
                         "address": {"name": "Soak Buyer", "address_line1": "1 Main St", "postal_code": "90012", "region_code": "US"}}
                if kind == "rate":
                    order |= {"creator_username": "soak.creator", "commission_rate": 250000, "affiliate_commission": "3.00"}
                try:
                    order_id = str(setup["http"].post(f"/_sandbox/tiktok/{setup['shop']['shop_id']}/orders", json=order).json()["order_id"])
                except httpx.HTTPError as exc:
                    say(f"sandbox refused an order: {exc}")
                    continue
                if kind == "unknown_order":
                    order_id = f"9{order_id}99"
                body, signature = tiktok_order_webhook(setup["shop"], f"S{uuid.uuid4().hex}", order_id)
                for _attempt in range(10):
                    try:
                        status = web.post(f"{self.web_url}/hooks/tiktok-shop/", content=body, headers={
                            "Host": f"{subdomain}.localhost:{self.port}", "Authorization": signature, "Content-Type": "application/json"}).status_code
                    except httpx.HTTPError:
                        status = 0
                    if status == 200:
                        self.sent[subdomain].append(order_id)
                        self.bad += kind != "good"
                        break
                    time.sleep(1)

    def stop(self) -> None:
        self.halt.set()
        self.join()


def silent_losses(sent: list[str]) -> int:
    """Of these TikTok order ids (in the current seller), those that are neither an order nor an open intake exception."""
    from orders.models import IntakeFailure, Order

    arrived = set(Order.objects.filter(channel="tiktok_shop", external_id__in=sent).values_list("external_id", flat=True))
    shown = set(IntakeFailure.objects.filter(channel="tiktok_shop", external_id__in=sent, resolved_at__isnull=True)
                .values_list("external_id", flat=True))
    return len(set(sent) - arrived - shown)


def main() -> None:
    parser = argparse.ArgumentParser(prog="make bench NAME=soak ARGS=...")
    parser.add_argument("--minutes", type=float, default=float(os.environ.get("FANOUT_SOAK_MINUTES", "10")))
    parser.add_argument("--every", type=float, default=0, help="run every job every this many seconds instead of its crontab")
    parser.add_argument("--sellers", type=int, default=3)
    parser.add_argument("--order-every", type=float, default=3.0, help="seconds between orders, on average")
    args = parser.parse_args()

    os.environ["DJANGO_DEBUG"] = "false"
    from bench._db import scratch_platform
    from bench.faults import Cluster, _free_port, _wait_http

    sandbox_port = _free_port()
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    os.environ["FANOUT_PLATFORM_SANDBOX_URL"] = sandbox_url
    log_dir = ROOT / ".var" / "log" / "soak"
    log_dir.mkdir(parents=True, exist_ok=True)
    sandbox = subprocess.Popen([sys.executable, "-m", "connectors.sandbox", "--port", str(sandbox_port)], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cluster = beat = worker = traffic = None
    try:
        _wait_http(f"{sandbox_url}/_sandbox/health")
        with scratch_platform("bench_soak"):
            from django.db import connection
            from django.utils.crypto import get_random_string
            from django_tenants.utils import tenant_context

            from sellers.jobs import jobs_status
            from sellers.services import seller_signup

            sellers, shops = [], {}
            for i in range(args.sellers):
                seller = seller_signup(company_name=f"Soak {i}", subdomain=f"soak{i}", owner_email=f"o@soak{i}.example",
                                       password=get_random_string(16)).seller
                with tenant_context(seller):
                    shops[seller.subdomain] = _shop(sandbox_url, f"SOAK{i}")
                sellers.append(seller)
            connection.set_schema_to_public()
            schedule_reset()
            env = dict(os.environ, DJANGO_SETTINGS_MODULE="erp.settings.local", DJANGO_LOG_LEVEL="INFO", FANOUT_BEAT_RELOAD_S="60",
                       FANOUT_RESUME_AFTER_S="30")
            if args.every:
                env["FANOUT_BEAT_EVERY_S"] = str(args.every)
            worker = WorkerProcess(env, log=log_dir / "worker.log", concurrency=2)
            cluster = Cluster(worker.env, queue=worker.queue, log_dir=log_dir)
            cluster.start_web()
            worker.start()
            beat = BeatProcess(worker.env, log=log_dir / "beat.log")
            beat.start()
            traffic = Traffic(cluster.web_url, cluster.web_url.rsplit(":", 1)[1], shops, every=args.order_every)
            traffic.start()
            say(f"{args.sellers} sellers, beat re-reading its schedule every 60 s, orders every ~{args.order_every} s; "
                f"running {args.minutes:g} minutes (logs in {log_dir})")
            started = time.monotonic()
            while time.monotonic() - started < args.minutes * 60:
                time.sleep(min(60, args.minutes * 60 - (time.monotonic() - started)))
                tally = jobs_tally()
                say(f"{(time.monotonic() - started) / 60:.1f} min: schedule read {beat.reads()} times; {tally}; "
                    f"orders announced {sum(len(v) for v in traffic.sent.values())}")
            minutes = (time.monotonic() - started) / 60
            traffic.stop()
            time.sleep(max(10.0, float(env["FANOUT_RESUME_AFTER_S"]) + 5))  # the last orders' pipeline
            beat.stop()
            losses = 0
            for seller in sellers:
                with tenant_context(seller):
                    lost = silent_losses(traffic.sent[seller.subdomain])
                    losses += lost
                    say(f"{seller.subdomain}: {len(traffic.sent[seller.subdomain])} orders announced, {lost} lost in silence")
            connection.set_schema_to_public()
            for row in jobs_status():
                if row["state"] != "ok" or row["failures"]:
                    say(f"  {row['schema_name']} {row['job']}: {row['state']}, {row['successes']} ok, {row['failures']} failed {row['last_error'][:160]}")
            tally = jobs_tally()
            say(f"schedule read {beat.reads()} times; {traffic.bad} bad orders sent")
            print(f"minutes={minutes:.1f} scheduled_runs={tally['scheduled_runs']} failed_runs={tally['failed_runs']} "
                  f"wrong_schema_runs={tally['wrong_schema_runs']} silent_losses={losses}", flush=True)
    finally:
        if traffic is not None and traffic.is_alive():
            traffic.halt.set()
        for proc in (beat, worker):
            if proc is not None:
                proc.stop()
        if cluster is not None:
            cluster.stop()
        sandbox.terminate()


if __name__ == "__main__":
    main()
