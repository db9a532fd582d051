"""A viral video: a burst of TikTok Shop order webhooks through the real web server and worker.

    make bench NAME=order_burst

A scratch database with one seller, 50 SKUs stocked in three warehouses (Los Angeles, Chicago,
New Jersey), two of them hot (most orders want them, and their stock runs out), and a TikTok shop
on the platform sandbox (its own process). The sandbox holds 8,000 orders to buyers all over the
US; 10,000 signed ORDER_STATUS_CHANGE deliveries for them (20% duplicates, shuffled) are sent by
32 concurrent clients to the real web server (gunicorn), and a real Celery worker with 2
processes takes the events in batches (up to 50 per Get Order Detail call through our TikTok
client), upserts each order and runs the pipeline (address check → nearest-warehouse routing →
reservation → handed to the warehouse).

ack = the web server's answer time per delivery. total = first delivery until every order has
been decided (routed and reserved, or backordered when the hot SKUs ran out). duplicates =
orders beyond one per TikTok order id. oversold = units reserved or shipped beyond what a
warehouse received, counted from the shipments themselves, not from the stock counters.
Last line: deliveries=<n> orders=<n> ack_p50_s=<x> ack_p99_s=<x> total_s=<x> duplicates=<n> oversold=<n> orders_per_s=<x>

BENCH_BI=off runs it with the cockpit's triggers disabled, BENCH_BI=on with the cockpit refresh
running during the burst (bench/cockpit.py runs both and compares).
"""
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench._db import scratch_platform  # noqa: E402
from bench._load import tiktok_order_webhook  # noqa: E402
from bench.stock_sync import _free_port, _wait  # noqa: E402

ORDERS = int(os.environ.get("BENCH_ORDERS", "8000"))
DUPLICATE_SHARE = 0.2
CLIENTS = 32
SKUS, HOT = 50, 2
ZIPS = ["90001", "94103", "98101", "85004", "80202", "75201", "77002", "60606", "55401", "63101", "48226", "30303", "33130",
        "28202", "10118", "02108", "19103", "07102", "20001", "37203", "97201", "84101", "89101", "46204", "43215"]


def main() -> None:
    queue = f"bench-burst-{uuid.uuid4().hex[:6]}"
    os.environ["CELERY_DEFAULT_QUEUE"] = queue
    sandbox_port, web_port = _free_port(), _free_port()
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    os.environ["FANOUT_PLATFORM_SANDBOX_URL"] = sandbox_url
    procs = []
    try:
        procs.append(subprocess.Popen([sys.executable, "-m", "connectors.sandbox", "--port", str(sandbox_port)], cwd=ROOT,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        _wait(f"{sandbox_url}/_sandbox/health")
        with scratch_platform("bench_order_burst"):
            # As deployed: DEBUG off (no per-query bookkeeping), warnings only in the logs.
            env = dict(os.environ, DJANGO_SETTINGS_MODULE="erp.settings.local", DJANGO_DEBUG="0", DJANGO_LOG_LEVEL="WARNING")
            seller_id = setup(sandbox_url)
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "erp.wsgi", "--bind", f"127.0.0.1:{web_port}", "--workers", "4", "--timeout", "60",
                 "--log-level", "warning"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "erp", "worker", "-Q", queue, "--concurrency", "2",
                 "--loglevel", "INFO" if os.environ.get("BENCH_LOG") else "WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat"],
                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=open(ROOT / ".var" / "burst-worker.log", "w") if os.environ.get("BENCH_LOG") else subprocess.DEVNULL))
            _wait(f"http://127.0.0.1:{web_port}/")
            run(sandbox_url, f"http://127.0.0.1:{web_port}", seller_id)
    finally:
        for proc in reversed(procs):
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def setup(sandbox_url: str) -> int:
    import httpx
    from django.db import connection
    from django.utils.crypto import get_random_string
    from djmoney.money import Money

    from connectors.models import ChannelListing
    from connectors.services import AccountInput, account_connect
    from inventory.models import SKU, Category, Product
    from inventory.services import stock_receive
    from inventory.services.movements import ReceiptLine
    from sellers.services import seller_signup
    from warehouses.services import warehouse_create

    seller = seller_signup(company_name="Burst Bench", subdomain="burst", owner_email="owner@burst.example", password=get_random_string(16)).seller
    connection.set_tenant(seller)
    warehouses = [warehouse_create(code=c, name=n, zip_code=z, storage_cost_per_unit_month=Money("0.45", "USD"))
                  for c, n, z in (("LA", "Los Angeles", "90021"), ("CHI", "Chicago", "60607"), ("NJ", "New Jersey", "07094"))]
    category = Category.objects.create(name="Beauty")
    product = Product.objects.create(title="Viral lip oil", category=category)
    skus = SKU.objects.bulk_create([SKU(code=f"LIP-{i:02d}", product=product, title=f"Shade {i}", default_unit_cost=Money("4.00", "USD"))
                                    for i in range(SKUS)])
    for wh in warehouses:
        # The hot SKUs: 600 units per warehouse for roughly 3,500 wanted; the rest are plentiful.
        stock_receive(warehouse_id=wh.pk, lines=[ReceiptLine(s.pk, 600 if i < HOT else 2000, Money("4.00", "USD")) for i, s in enumerate(skus)],
                      reference=f"PO-{wh.code}")
    http = httpx.Client(base_url=sandbox_url, timeout=30)
    shop = http.post("/_sandbox/tiktok/shops", json={"name": "Burst", "shop_id": "7000001", "items": [
        {"product_id": "P1", "sku_id": f"T{s.pk}", "quantity": 0} for s in skus]}).json()
    account = account_connect(data=AccountInput(
        platform="tiktok_shop", name="Burst", shop_id=shop["shop_id"], shop_cipher=shop["cipher"], stock_location=shop["warehouse_id"],
        app_key=shop["app_key"], app_secret=shop["app_secret"], access_token=shop["access_token"], refresh_token=shop["refresh_token"],
        use_sandbox=True))
    ChannelListing.objects.bulk_create([ChannelListing(account=account, sku=s, external_product_id="P1", external_sku_id=f"T{s.pk}") for s in skus])
    rng = random.Random(7)
    hot, cold = skus[:HOT], skus[HOT:]
    ids = []
    for n in range(ORDERS):
        lines = [{"sku_id": f"T{rng.choice(hot).pk}", "quantity": 1, "price": "24.99"}] if rng.random() < 0.45 else []
        lines += [{"sku_id": f"T{s.pk}", "quantity": rng.choice([1, 1, 1, 2]), "price": "12.99"} for s in rng.sample(cold, rng.choice([1, 1, 2]))]
        address = {"name": f"Buyer {n}", "address_line1": f"{n} Main St", "postal_code": rng.choice(ZIPS), "region_code": "US"}
        ids.append(http.post(f"/_sandbox/tiktok/{shop['shop_id']}/orders", json={"lines": lines, "address": address, "silent": True}).json()["order_id"])
    with open(ROOT / ".var" / "burst-ids.json", "w") as f:
        json.dump({"ids": ids, "app_key": shop["app_key"], "app_secret": shop["app_secret"], "shop_id": shop["shop_id"]}, f)
    return seller.pk


BI_TRIGGERS = [(table, f"bi_{name}_{event}") for table, name in (("orders_order", "order"), ("orders_orderline", "line"), ("orders_shipment", "shipment"))
               for event in ("insert", "update", "delete")]


class _Cockpit:
    """BENCH_BI=off: the cockpit's triggers disabled (the baseline). BENCH_BI=on: triggers on and the
    cockpit refresh running every BENCH_BI_EVERY seconds (default 5; beat runs it every 60) during the
    burst, in a thread of this process, as the beat-driven task would in a worker; then its cost."""

    def __init__(self, seller, mode: str):
        from django.db import connection

        self.seller, self.mode, self.every = seller, mode, float(os.environ.get("BENCH_BI_EVERY", "5"))
        self.runs, self.orders, self.seconds = 0, 0, 0.0
        self.stop = threading.Event()
        self.thread = None
        if mode == "off":
            with connection.cursor() as cursor:
                for table, trigger in BI_TRIGGERS:
                    cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")
        elif mode == "on":
            self.thread = threading.Thread(target=self._loop)
            self.thread.start()

    def _refresh(self) -> None:
        from bi.services.refresh import refresh

        started = time.perf_counter()
        done = refresh()
        if done.orders:
            self.runs, self.orders, self.seconds = self.runs + 1, self.orders + done.orders, self.seconds + time.perf_counter() - started

    def _loop(self) -> None:
        from django.db import connection

        connection.set_tenant(self.seller)
        try:
            while not self.stop.wait(self.every):
                self._refresh()
        finally:
            connection.close()

    def finish(self, total_s: float) -> None:
        if self.thread is None:
            return
        self.stop.set()
        self.thread.join()
        started = time.perf_counter()
        self._refresh()  # what was still queued when the last order was decided
        lag = time.perf_counter() - started
        from bi.models import OrderFact
        from orders.models import Order

        facts = OrderFact.objects.values("order_id").distinct().count()
        live = Order.objects.exclude(status="cancelled").count()
        print(f"cockpit refresh every {self.every:.0f} s during the burst: {self.runs} runs recomputed {self.orders} orders in {self.seconds:.1f} s "
              f"({100 * self.seconds / total_s:.0f}% of one core over the burst's {total_s:.1f} s); up to date {lag:.1f} s after the last order "
              f"was decided; orders with figures {facts} of {live}", flush=True)
        print(f"bi_refresh_s={self.seconds:.1f} bi_runs={self.runs} bi_orders={self.orders} bi_lag_s={lag:.1f} bi_orders_missing={live - facts}", flush=True)


def run(sandbox_url: str, web_url: str, seller_id: int) -> None:
    import httpx
    from django.db import connection

    from orders.models import Order, OrderStatus
    from sellers.models import Seller

    meta = json.loads((ROOT / ".var" / "burst-ids.json").read_text())
    ids = meta["ids"]
    rng = random.Random(11)
    duplicates = int(len(ids) / (1 - DUPLICATE_SHARE)) - len(ids)
    events = [(f"N{i}", order_id) for i, order_id in enumerate(ids)]
    events += [rng.choice(events) for _ in range(duplicates)]
    rng.shuffle(events)
    bodies = [tiktok_order_webhook(meta, event_id, order_id) for event_id, order_id in events]
    host = f"burst.localhost:{web_url.rsplit(':', 1)[1]}"
    acks: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    cursor = iter(range(len(bodies)))

    def client() -> None:
        with httpx.Client(timeout=30) as http:
            while True:
                with lock:
                    i = next(cursor, None)
                if i is None:
                    return
                body, signature = bodies[i]
                t = time.perf_counter()
                response = http.post(f"{web_url}/hooks/tiktok-shop/", content=body,
                                     headers={"Host": host, "Authorization": signature, "Content-Type": "application/json"})
                elapsed = time.perf_counter() - t
                with lock:
                    acks.append(elapsed)
                    if response.status_code != 200:
                        failures.append(f"{response.status_code} {response.text[:80]}")

    seller = Seller.objects.get(pk=seller_id)
    connection.set_tenant(seller)
    cockpit = _Cockpit(seller, os.environ.get("BENCH_BI", ""))
    start = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sent_s = time.monotonic() - start
    decided = (OrderStatus.ROUTED, OrderStatus.BACKORDERED, OrderStatus.AWAITING_SUPPLY)
    deadline = time.monotonic() + 420
    while time.monotonic() < deadline:
        done = Order.objects.filter(status__in=decided).count() + Order.objects.exclude(exception_reason="").exclude(status__in=decided).count()
        if done >= len(ids):
            break
        time.sleep(0.25)
    total_s = time.monotonic() - start
    cockpit.finish(total_s)
    orders = Order.objects.count()
    unique = Order.objects.values("external_id").distinct().count()
    with connection.cursor() as c:
        c.execute("""
            WITH shipped AS (
                SELECT sl.sku_id, s.warehouse_id, sum(sl.quantity) AS units FROM orders_shipmentline sl
                JOIN orders_shipment s ON s.id = sl.shipment_id WHERE s.status <> 'cancelled' GROUP BY 1, 2),
            received AS (SELECT sku_id, warehouse_id, sum(on_hand_delta) AS units FROM inventory_stockmove WHERE kind = 'receipt' GROUP BY 1, 2)
            SELECT coalesce(sum(greatest(shipped.units - coalesce(received.units, 0), 0)), 0)
            FROM shipped LEFT JOIN received USING (sku_id, warehouse_id)""")
        oversold = int(c.fetchone()[0])
        c.execute("SELECT count(*) FROM inventory_stock WHERE reserved > on_hand OR on_hand < 0")
        oversold += int(c.fetchone()[0])
    by_status = dict(Order.objects.values_list("status").annotate(n=__import__("django.db.models", fromlist=["Count"]).Count("pk")).order_by())
    acks.sort()
    p50 = statistics.median(acks)
    p99 = acks[min(len(acks) - 1, int(len(acks) * 0.99))]
    print(f"sent {len(bodies)} deliveries in {sent_s:.1f} s with {CLIENTS} clients; non-200 answers: {len(failures)} {failures[:3]}")
    print(f"orders by status: {by_status}")
    print(f"deliveries={len(bodies)} orders={orders} ack_p50_s={p50:.3f} ack_p99_s={p99:.3f} total_s={total_s:.1f} "
          f"duplicates={orders - unique + max(0, orders - len(ids))} oversold={oversold} orders_per_s={orders / total_s:.1f}")


if __name__ == "__main__":
    main()
