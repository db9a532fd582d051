"""Real-time stock sync under a burst: 1,000 stock changes over 200 SKUs in 10 s, three shops.

    make bench NAME=stock_sync

A scratch database with one seller; 200 SKUs (50 products × 4 variants) listed on a TikTok shop,
a Shopify store and an Amazon account, all on the platform sandbox (its own process), and a real
Celery worker (2 processes). Four threads make 1,000 changes at an even pace over 10 s through
the inventory services — reservations, releases and adjustments on random SKUs — and note, for
each change, the time it committed and the quantity the shops should show after it. By default
80% of the changes fall on 20% of the SKUs (a live-stream sale); BENCH_SKEW=uniform spreads them
evenly, the worst case for coalescing.

Lag of a change = time from its commit until the sandbox shows, for that item, the quantity after
that change or after a later change of the same SKU (coalescing: the last value wins). p95 over
every change × shop. Pushes = stock-setting requests the sandbox received (TikTok: one per
product, Shopify: one per batch, Amazon: one per SKU). Mismatches = items whose sandbox quantity
differs from Fanout's once the burst has settled.
Last line: changes=<n> pushes=<n> p95_lag_s=<x> mismatches=<n>
"""
import bisect
import os
import random
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench._db import scratch_platform  # noqa: E402

CHANGES = int(os.environ.get("BENCH_CHANGES", "1000"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
PRODUCTS, VARIANTS, THREADS = 50, 4, 4
# "hot": 80% of the changes fall on 20% of the SKUs, as in a live-stream sale; "uniform": any SKU.
SKEW = os.environ.get("BENCH_SKEW", "hot")
PUSH_KEYS = {"tiktok": "tiktok:inventory_update", "shopify": "shopify:inventory_set", "amazon": "amazon:listing_patch"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(url: str, timeout: float = 20) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


def main() -> None:
    queue = f"bench-sync-{uuid.uuid4().hex[:6]}"
    os.environ["CELERY_DEFAULT_QUEUE"] = queue
    port = _free_port()
    sandbox_url = f"http://127.0.0.1:{port}"
    os.environ["FANOUT_PLATFORM_SANDBOX_URL"] = sandbox_url
    sandbox = subprocess.Popen([sys.executable, "-m", "connectors.sandbox", "--port", str(port)], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    worker = None
    try:
        _wait(f"{sandbox_url}/_sandbox/health")
        with scratch_platform("bench_stock_sync"):
            worker = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "erp", "worker", "-Q", queue, "--concurrency", "2", "--loglevel", "WARNING",
                 "--without-gossip", "--without-mingle", "--without-heartbeat"],
                cwd=ROOT, env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            run(sandbox_url)
    finally:
        for proc in (worker, sandbox):
            if proc is not None:
                proc.terminate()
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()


def run(sandbox_url: str) -> None:
    import httpx
    from django.db import connection
    from django.utils.crypto import get_random_string
    from djmoney.money import Money

    from connectors.models import ChannelListing
    from connectors.services import AccountInput, account_connect, listings_push
    from inventory.models import SKU, Category, Product
    from inventory.selectors import Holder, pool_free
    from inventory.services import reservation_create, reservation_release, stock_adjust, stock_receive
    from inventory.services.movements import ReceiptLine
    from sellers.services import seller_signup
    from warehouses.services import warehouse_create

    seller = seller_signup(company_name="Sync Bench", subdomain="syncbench", owner_email="owner@syncbench.example",
                           password=get_random_string(16)).seller
    connection.set_tenant(seller)
    wh = warehouse_create(code="LA", name="Los Angeles", zip_code="90021", storage_cost_per_unit_month=Money("0.45", "USD"))
    category = Category.objects.create(name="Beauty")
    skus = []
    for p in range(PRODUCTS):
        product = Product.objects.create(title=f"Product {p}", category=category)
        for v in range(VARIANTS):
            skus.append(SKU(code=f"S{p:02d}-{v}", product=product, title=f"Variant {v}", default_unit_cost=Money("10", "USD")))
    skus = SKU.objects.bulk_create(skus)
    stock_receive(warehouse_id=wh.pk, lines=[ReceiptLine(s.pk, 500, Money("10", "USD")) for s in skus], reference="PO-1")

    http = httpx.Client(base_url=sandbox_url, timeout=30)
    tt = http.post("/_sandbox/tiktok/shops", json={"name": "TT", "items": [
        {"product_id": f"P{s.product_id}", "sku_id": f"T{s.pk}", "quantity": 0} for s in skus]}).json()
    sh = http.post("/_sandbox/shopify/shops", json={"name": "SH", "items": [
        {"inventory_item_id": f"gid://shopify/InventoryItem/{s.pk}", "quantity": 0} for s in skus]}).json()
    am = http.post("/_sandbox/amazon/sellers", json={"name": "AM", "items": [{"seller_sku": s.code, "quantity": 0} for s in skus]}).json()
    accounts = [
        account_connect(data=AccountInput(platform="tiktok_shop", name="TT", shop_id=tt["shop_id"], shop_cipher=tt["cipher"],
                                          stock_location=tt["warehouse_id"], app_key=tt["app_key"], app_secret=tt["app_secret"],
                                          access_token=tt["access_token"], refresh_token=tt["refresh_token"], use_sandbox=True)),
        account_connect(data=AccountInput(platform="shopify", name="SH", shop_id=sh["domain"], stock_location=sh["location_id"],
                                          app_key=sh["client_id"], app_secret=sh["client_secret"], access_token=sh["access_token"],
                                          refresh_token=sh["refresh_token"], use_sandbox=True)),
        account_connect(data=AccountInput(platform="amazon", name="AM", shop_id=am["seller_id"], stock_location=am["marketplace_id"],
                                          app_key=am["client_id"], app_secret=am["client_secret"], access_token=am["access_token"],
                                          refresh_token=am["refresh_token"], use_sandbox=True)),
    ]
    item_of = {
        "tiktok": lambda s: f"T{s.pk}", "shopify": lambda s: f"gid://shopify/InventoryItem/{s.pk}", "amazon": lambda s: s.code,
    }
    ChannelListing.objects.bulk_create(
        [ChannelListing(account=accounts[0], sku=s, external_product_id=f"P{s.product_id}", external_sku_id=item_of["tiktok"](s)) for s in skus]
        + [ChannelListing(account=accounts[1], sku=s, external_sku_id=item_of["shopify"](s)) for s in skus]
        + [ChannelListing(account=accounts[2], sku=s, external_sku_id=item_of["amazon"](s)) for s in skus]
    )
    for account in accounts:  # start in sync
        listings_push(account=account)
    initial = {s.pk: pool_free(sku=s) for s in SKU.objects.all()}
    before = http.get("/_sandbox/stats").json()["requests"]
    start_wall = time.time()

    # ---- the burst
    locks = defaultdict(threading.Lock)
    log: list[tuple[float, int, int]] = []  # (committed at, sku id, quantity the shops should show)
    log_lock = threading.Lock()
    open_reservations: dict[int, list[str]] = defaultdict(list)
    per_thread = CHANGES // THREADS
    hot = random.Random(42).sample(skus, len(skus) // 5)
    t0 = time.monotonic() + 0.5
    errors = []

    def changer(n: int) -> None:
        rng = random.Random(n)
        connection.set_tenant(seller)
        try:
            for i in range(per_thread):
                due = t0 + (i * THREADS + n) * SECONDS / CHANGES
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                sku = rng.choice(hot if SKEW == "hot" and rng.random() < 0.8 else skus)
                with locks[sku.pk]:
                    roll = rng.random()
                    if roll < 0.2 and open_reservations[sku.pk]:
                        reservation_release(reference=open_reservations[sku.pk].pop())
                    elif roll < 0.8:
                        ref = f"R{n}-{i}"
                        reservation_create(reference=ref, warehouse_id=wh.pk, holder=Holder.channel("manual"), lines=[(sku.pk, rng.randint(1, 3))])
                        open_reservations[sku.pk].append(ref)
                    else:
                        stock_adjust(sku_id=sku.pk, warehouse_id=wh.pk, delta=rng.choice([-2, -1, 1, 2, 5]), reason="cycle count")
                    committed_at = time.time()
                    quantity = pool_free(sku=SKU.objects.get(pk=sku.pk))
                with log_lock:
                    log.append((committed_at, sku.pk, quantity))
        except Exception as exc:  # a failed change would make the figures meaningless
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=changer, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    burst_s = max(t for t, _s, _q in log) - min(t for t, _s, _q in log)
    if errors:
        raise errors[0]

    # ---- settle, then measure
    expected = {s.pk: pool_free(sku=s) for s in SKU.objects.all()}
    by_pk = {s.pk: s for s in skus}

    def mismatches() -> int:
        shown = http.get("/_sandbox/stock").json()
        wrong = 0
        for platform, key in (("tiktok", tt["shop_id"]), ("shopify", sh["domain"]), ("amazon", am["seller_id"])):
            wrong += sum(shown[platform][key].get(item_of[platform](by_pk[pk])) != q for pk, q in expected.items())
        return wrong

    deadline = time.monotonic() + 60
    while mismatches() and time.monotonic() < deadline:
        time.sleep(0.25)
    final_mismatches = mismatches()
    after = http.get("/_sandbox/stats").json()["requests"]
    history = http.get("/_sandbox/history", params={"since": start_wall}).json()["history"]

    shown_at: dict[tuple[str, str], list[tuple[float, int]]] = defaultdict(list)
    for h in history:
        shown_at[(h["platform"], h["item"])].append((h["t"], h["quantity"]))
    changes_of: dict[int, list[tuple[float, int]]] = defaultdict(list)
    for committed_at, pk, quantity in sorted(log):
        changes_of[pk].append((committed_at, quantity))
    lags = []
    for pk, changes in changes_of.items():
        for platform in ("tiktok", "shopify", "amazon"):
            updates = shown_at[(platform, item_of[platform](by_pk[pk]))]
            times = [t for t, _q in updates]
            for idx, (committed_at, quantity) in enumerate(changes):
                prior = bisect.bisect_right(times, committed_at) - 1
                showing = updates[prior][1] if prior >= 0 else initial[pk]
                if showing == quantity:  # the shop already shows the number after this change
                    lags.append(0.0)
                    continue
                lag = float("inf")
                for t, q in updates[prior + 1:]:
                    if q in {c_q for c_t, c_q in changes[idx:] if c_t <= t}:
                        lag = t - committed_at
                        break
                # A later change may bring the SKU back to what the shop already shows (reserve,
                # then release): from that commit on the shop is right without any push.
                for c_t, c_q in changes[idx + 1:]:
                    if c_t - committed_at >= lag:
                        break
                    at = bisect.bisect_right(times, c_t) - 1
                    if (updates[at][1] if at >= 0 else initial[pk]) == c_q:
                        lag = c_t - committed_at
                        break
                lags.append(lag)
    lags.sort()
    p95 = lags[int(0.95 * (len(lags) - 1))]
    p50 = lags[len(lags) // 2]
    pushes = {p: after.get(k, 0) - before.get(k, 0) for p, k in PUSH_KEYS.items()}
    total = sum(pushes.values())
    print(f"distribution: {SKEW}")
    print(f"changes over {burst_s:.1f} s: {len(log)} on {len({pk for _t, pk, _q in log})} SKUs; "
          f"pushing each change to each shop would be {len(log) * 3} requests")
    print(f"pushes by shop: TikTok {pushes['tiktok']} (one per product), Shopify {pushes['shopify']} (batches), "
          f"Amazon {pushes['amazon']} (one per SKU); lag p50 {p50:.2f} s, p95 {p95:.2f} s, max {lags[-1]:.2f} s "
          f"over {len(lags)} change × shop pairs")
    print(f"changes={len(log)} pushes={total} p95_lag_s={p95:.2f} mismatches={final_mismatches}")


if __name__ == "__main__":
    main()
