"""How fast the cockpit is with a year of a big seller's orders, and what keeping it fresh costs.

    make bench NAME=cockpit                      # 1,000,000 orders, 2,000 creators, 10 users, 30 s
    make bench NAME=cockpit ARGS="200000 500 10 20"
    BENCH_BURST=0 make bench NAME=cockpit         # without the order-burst comparison

1. Scratch database, one seller: 1,000,000 orders over 365 days written in SQL as the pipeline
   would have left them (four channels, 2,000 creators in tiers S/A/B, one line each, shipped from
   the nearest of three warehouses with FIFO lots, label costs on a third of the parcels, ship-by
   and pack timestamps, returns, cancellations, exceptions, people's touches). Written with the
   cockpit's triggers off, as a history import would be; then the real `rebuild()` computes every
   order's facts and the rollups in one pass (timed).
2. Load: 10 analysts signed in through the real login form of gunicorn configured like `make run`
   (3 workers on 2 cores), each opening the cockpit pages in turn for the measured time with a
   0.5–1.5 s pause between pages (BENCH_THINK_S=0 for a closed loop). Pages: the cockpit, the
   leaderboard and operations for the default 30 days and for 365 days, stock health, warehouse
   economics and team. Latency at the client; queries per page counted in-process. A page's
   figures are cached until the next refresh that changes something, so under load most views
   are served from the cache; the time of each page with nothing cached (the first view after a
   refresh) is printed too, measured in-process one request at a time.
3. Cost of freshness: bench/order_burst.py (2,500 TikTok orders through webhooks, web server and
   worker) twice, with the cockpit's triggers off, then with them on and the refresh running every
   5 s during the burst; the difference in orders/s, and the refresh's own time.
Last line: orders=<n> p95_ms=<worst page's p95> worst_page=<name>
"""
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_DEBUG"] = "false"
from bench._db import big_seller, scratch_platform  # noqa: E402
from bench._load import Browser, gunicorn, load, pct  # noqa: E402

PASSWORD = "Bench-cockpit-2026"
ANALYST = "analyst@big.example"
PAGES = {
    "cockpit": "/insights/", "cockpit_365d": "/insights/?period=365", "creators": "/insights/creators/",
    "creators_365d": "/insights/creators/?period=365", "operations": "/insights/operations/", "operations_365d": "/insights/operations/?period=365",
    "stock": "/insights/stock/", "warehouses": "/insights/warehouses/", "team": "/insights/team/",
}
# Buyers' places: (latitude, longitude) of 25 US metro areas.
PLACES = [(34.05, -118.24), (37.77, -122.42), (47.61, -122.33), (33.45, -112.07), (39.74, -104.99), (32.78, -96.80), (29.76, -95.37),
          (41.88, -87.63), (44.98, -93.27), (38.63, -90.20), (42.33, -83.05), (33.75, -84.39), (25.76, -80.19), (35.23, -80.84),
          (40.71, -74.01), (42.36, -71.06), (39.95, -75.17), (40.74, -74.17), (38.91, -77.04), (36.16, -86.78), (45.52, -122.68),
          (40.76, -111.89), (36.17, -115.14), (39.77, -86.16), (39.96, -83.00)]


def seed(orders_n: int, creators_n: int):
    from django.db import connection
    from django.utils import timezone
    from django_tenants.utils import tenant_context
    from djmoney.money import Money

    from accounts.modules import Role
    from accounts.services import user_create
    from bi.services.refresh import rebuild
    from commissions.models import FeeSchedule
    from creators.models import Creator
    from warehouses.services import warehouse_create

    started = time.perf_counter()
    seller, _products = big_seller(creators_n)
    with tenant_context(seller):
        warehouses = [warehouse_create(code=c, name=n, zip_code=z, storage_cost_per_unit_month=Money(r, "USD"))
                      for c, n, z, r in (("LA", "Los Angeles", "90021", "0.45"), ("CHI", "Chicago", "60607", "0.40"), ("NJ", "New Jersey", "07094", "0.50"))]
        FeeSchedule.objects.filter(channel__in=["tiktok_shop", "shopify"]).update(
            zone_estimates=["4.35", "4.70", "5.25", "6.05", "6.95", "7.85", "8.80", "9.95"])
        user_create(email=ANALYST, password=PASSWORD, full_name="Bench Analyst", role=Role.ANALYST)
        staff = [user_create(email=f"ops{i}@big.example", password=PASSWORD, full_name=f"Ops {i}", role=Role.OPERATIONS).pk for i in range(3)]
        rng = random.Random(5)
        ids = list(Creator.objects.order_by("pk").values_list("pk", flat=True))
        for i, pk in enumerate(ids):  # tiers and reach vary; followers do not follow sales
            Creator.objects.filter(pk=pk).update(tier="S" if i % 50 == 0 else "A" if i % 7 == 0 else "B",
                                                 followers=int(10 ** rng.uniform(3.5, 6.5)), owner_id=staff[i % 3])
        now = timezone.now()
        w = [wh.pk for wh in warehouses]
        places = "(ARRAY[" + ",".join(f"ARRAY[{lat},{lon}]" for lat, lon in PLACES) + "]::float8[][])"
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")  # a history import: no triggers, the rebuild follows
            cursor.execute(f"""
                INSERT INTO orders_order (channel, external_id, order_type, creator_id, platform_pays_commission, status, currency,
                    placed_at, created_at, status_changed_at, reserved_at, packed_at, shipped_at, tracking_pushed_at, delivered_at,
                    ship_by, pack_by, total, ship_city, ship_state, ship_country, ship_latitude, ship_longitude, sla_state,
                    exception_reason, exception_at, handled_by_id)
                SELECT ch, 'B' || lpad(g::text, 10, '0'), CASE WHEN ch = 'wholesale' THEN 'wholesale' ELSE 'dropship' END,
                       CASE WHEN g %% 5 = 0 THEN NULL ELSE c.ids[1 + (g::bigint * 7919) %% array_length(c.ids, 1)] END,
                       ch = 'tiktok_shop' AND g %% 3 = 0, st, 'USD', x.t, x.t + interval '20 seconds', x.t,
                       CASE WHEN st <> 'cancelled' THEN x.t + interval '22 seconds' END,
                       CASE WHEN st IN ('shipped', 'delivered', 'returned') THEN x.t + (1 + g %% 9) * interval '1 hour' END,
                       CASE WHEN st IN ('shipped', 'delivered', 'returned') THEN x.t + (2 + g %% 9 + (CASE WHEN g %% 40 = 0 THEN 50 ELSE 0 END)) * interval '1 hour' END,
                       CASE WHEN st IN ('shipped', 'delivered', 'returned') THEN x.t + (2 + g %% 9) * interval '1 hour' + interval '5 seconds' END,
                       CASE WHEN st IN ('delivered', 'returned') THEN x.t + interval '3 days' END,
                       x.t + interval '48 hours', x.t + interval '6 hours',
                       (9.99 + (g * 31 %% 3000) / 100.0)::numeric(12, 2) * (1 + (g %% 4 = 0)::int) - CASE WHEN g %% 9 = 0 THEN 1.50 ELSE 0 END,
                       'City', 'ST', 'US',
                       {places}[1 + g %% 25][1], {places}[1 + g %% 25][2], 'done',
                       CASE WHEN st = 'backordered' THEN 'stock_short' ELSE '' END, CASE WHEN st = 'backordered' THEN x.t END,
                       CASE WHEN g %% 33 = 0 THEN (%(staff)s::bigint[])[1 + g %% 3] END
                FROM generate_series(1, %(n)s) g, (SELECT array_agg(id ORDER BY id) AS ids FROM creators_creator) c,
                     LATERAL (SELECT %(now)s - interval '365 days' + (g::float8 * 31536000 / %(n)s) * interval '1 second') AS x(t),
                     LATERAL (SELECT CASE WHEN g %% 20 < 14 THEN 'tiktok_shop' WHEN g %% 20 < 17 THEN 'shopify' WHEN g %% 20 < 19 THEN 'wholesale'
                                          ELSE 'manual' END) AS k(ch),
                     LATERAL (SELECT CASE WHEN g %% 50 = 7 THEN 'cancelled' WHEN g %% 400 = 11 AND x.t > %(now)s - interval '2 days' THEN 'backordered'
                                          WHEN x.t > %(now)s - interval '6 hours' THEN 'routed'
                                          WHEN x.t > %(now)s - interval '4 days' THEN 'shipped' WHEN g %% 60 = 13 THEN 'returned'
                                          ELSE 'delivered' END) AS s(st)
            """, {"n": orders_n, "now": now, "staff": staff})
            cursor.execute("""
                INSERT INTO orders_orderline (order_id, sku_id, quantity, unit_price, unit_price_currency, discount, discount_currency,
                                              quantity_returned, commission_rate, commission, commission_currency)
                SELECT o.id, s.ids[1 + (q.g * 104729) %% array_length(s.ids, 1)], q.n, (9.99 + (q.g * 31 %% 3000) / 100.0)::numeric(12, 2), 'USD',
                       CASE WHEN q.g %% 9 = 0 THEN 1.50 ELSE 0 END, 'USD', CASE WHEN o.status = 'returned' THEN q.n ELSE 0 END,
                       CASE WHEN o.platform_pays_commission THEN 0.1500 END, 0, 'USD'
                FROM orders_order o, (SELECT array_agg(id ORDER BY id) AS ids FROM inventory_sku) s,
                     LATERAL (SELECT substr(o.external_id, 2)::bigint AS g) k, LATERAL (SELECT k.g, 1 + (k.g %% 4 = 0)::int) q(g, n)
            """, [])
            cursor.execute("ANALYZE")
            # The nearest warehouse by longitude (west, central, east), one shipment per routed order.
            cursor.execute("""
                INSERT INTO orders_shipment (order_id, warehouse_id, reservation_reference, status, carrier, tracking_number, created_at,
                                             packed_at, shipped_at, delivered_at, shipping_cost, push_error, external_ref)
                SELECT o.id, w.id, 'order:' || o.id || ':w' || w.id,
                       CASE WHEN o.status IN ('delivered', 'returned') THEN 'delivered' WHEN o.status = 'shipped' THEN 'shipped' ELSE 'open' END,
                       'UPS', '1Z' || o.id, o.reserved_at, o.packed_at, o.shipped_at, o.delivered_at,
                       CASE WHEN o.id %% 3 = 0 AND o.shipped_at IS NOT NULL THEN 4.50 + (o.id %% 500) / 100.0 END, '', ''
                FROM orders_order o JOIN warehouses_warehouse w ON w.code = CASE WHEN o.ship_longitude < -104 THEN 'LA'
                                                                             WHEN o.ship_longitude < -84 THEN 'CHI' ELSE 'NJ' END
                WHERE o.status IN ('routed', 'shipped', 'delivered', 'returned')
            """, [])
            cursor.execute("""
                INSERT INTO orders_shipmentline (shipment_id, order_line_id, sku_id, quantity, quantity_returned)
                SELECT s.id, l.id, l.sku_id, l.quantity, l.quantity_returned FROM orders_shipment s JOIN orders_orderline l ON l.order_id = s.order_id
            """)
            cursor.execute("ANALYZE")  # the planner has to know these tables are big now
            # FIFO: a lot per SKU and warehouse that the year used up, and what each shipment took from it.
            cursor.execute("""
                INSERT INTO inventory_costlot (sku_id, warehouse_id, received_at, quantity_received, quantity_remaining, unit_cost, unit_cost_currency,
                                               reference)
                SELECT k.id, w.id, %s - interval '400 days', 10000000, 0, 3.00 + (k.id %% 40) / 10.0, 'USD', 'PO-HISTORY'
                FROM inventory_sku k CROSS JOIN warehouses_warehouse w
            """, [now])
            cursor.execute("""
                INSERT INTO inventory_lotconsumption (lot_id, reference, quantity, returned, created_at)
                SELECT lot.id, s.reservation_reference || ':' || sl.sku_id, sl.quantity, sl.quantity_returned, s.shipped_at
                FROM orders_shipmentline sl JOIN orders_shipment s ON s.id = sl.shipment_id
                JOIN inventory_costlot lot ON lot.sku_id = sl.sku_id AND lot.warehouse_id = s.warehouse_id
                WHERE s.status IN ('shipped', 'delivered')
            """)
            # Today's stock: 20–400 units of each SKU in each warehouse, in lots of today's cost.
            cursor.execute("""
                INSERT INTO inventory_costlot (sku_id, warehouse_id, received_at, quantity_received, quantity_remaining, unit_cost, unit_cost_currency,
                                               reference)
                SELECT k.id, w.id, %s - interval '20 days', q.n, q.n, 3.10 + (k.id %% 40) / 10.0, 'USD', 'PO-NOW'
                FROM inventory_sku k CROSS JOIN warehouses_warehouse w, LATERAL (SELECT 20 + (k.id * 37 + w.id * 11) %% 380) q(n)
            """, [now])
            cursor.execute("""
                INSERT INTO inventory_stock (sku_id, warehouse_id, on_hand, reserved)
                SELECT sku_id, warehouse_id, quantity_remaining, 0 FROM inventory_costlot WHERE reference = 'PO-NOW'
            """)
            cursor.execute("UPDATE inventory_sku k SET on_hand = s.n FROM (SELECT sku_id, sum(on_hand) AS n FROM inventory_stock GROUP BY 1) s "
                           "WHERE s.sku_id = k.id")
            # Content stats (clicks) for every creator's months, and some samples.
            cursor.execute("""
                INSERT INTO creators_contentstats (creator_id, month, videos, views, clicks, source, imported_at)
                SELECT c.id, date_trunc('month', %(now)s - m * interval '1 month')::date, 4, 100000, 2000 + (c.id * 13 + m * 7) %% 20000, 'csv', %(now)s
                FROM creators_creator c, generate_series(0, 12) m
            """, {"now": now})
            cursor.execute("""
                INSERT INTO creators_sample (reference, creator_id, sku_id, warehouse_id, quantity, sent_on, cost, cost_currency, content_url, notes,
                                             created_at)
                SELECT 'SMP-' || c.id || '-' || m, c.id, (SELECT min(id) FROM inventory_sku), %(w)s, 3, (%(now)s - m * interval '1 month')::date,
                       9.00 + (c.id %% 30), 'USD', '', '', %(now)s
                FROM creators_creator c, generate_series(0, 11) m WHERE c.id %% 4 = 0
            """, {"now": now, "w": w[0]})
            cursor.execute("SET session_replication_role = origin")
            cursor.execute("ANALYZE")
        print(f"seeded {orders_n:,} orders for {creators_n:,} creators in {time.perf_counter() - started:.0f} s", flush=True)
        started = time.perf_counter()
        built = rebuild()
        print(f"built the cockpit from scratch: facts of {built.orders:,} orders and the rollups of {built.days} days in {built.seconds:.0f} s",
              flush=True)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
            for table in ("bi_orderfact", "bi_dailytotal", "bi_dailycreator", "bi_dailysku"):
                cursor.execute(f"SELECT count(*), pg_size_pretty(pg_total_relation_size('{table}')) FROM {table}")
                n, size = cursor.fetchone()
                print(f"  {table}: {n:,} rows, {size}", flush=True)
    return seller


def queries_per_page(seller) -> tuple[dict[str, int], dict[str, float]]:
    """Queries per page, and each page's time in-process when its figures are not cached yet (the first
    view after a refresh that changed something), one request at a time."""
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client

    client = Client(HTTP_HOST="big.localhost")
    assert client.post("/login/", {"username": ANALYST, "password": PASSWORD}).status_code == 302
    counts, cold = {}, {}
    for name, path in PAGES.items():
        cache.clear()
        client.get("/insights/team/")  # the session and everything else warm
        started = time.perf_counter()
        assert client.get(path).status_code == 200, name
        cold[name] = (time.perf_counter() - started) * 1000
        cache.clear()
        queries = []
        with connection.execute_wrapper(lambda execute, sql, params, many, context: queries.append(sql) or execute(sql, params, many, context)):
            assert client.get(path).status_code == 200, name
        counts[name] = len(queries)
    return counts, cold


def burst(mode: str) -> dict[str, float]:
    """bench/order_burst.py with the cockpit off or on; its key=value figures."""
    env = dict(os.environ, BENCH_BI=mode, BENCH_ORDERS=os.environ.get("BENCH_BURST_ORDERS", "2500"))
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "order_burst.py")], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    if out.returncode:
        raise RuntimeError(out.stderr[-3000:])
    figures = {}
    for line in out.stdout.splitlines():
        if line.startswith("cockpit refresh"):
            print("  " + line, flush=True)
        if "=" in line and " " in line and not line.startswith(("sent", "orders by", "cockpit")):
            figures.update({k: float(v) for k, v in (pair.split("=", 1) for pair in line.split())})
    return figures


def main() -> None:
    orders_n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    creators_n = int(sys.argv[2]) if len(sys.argv) > 2 else 2_000
    users_n = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 30
    think = float(os.environ.get("BENCH_THINK_S", "1.0"))
    with scratch_platform("bench_cockpit"):
        seller = seed(orders_n, creators_n)
        from django_tenants.utils import tenant_context

        with tenant_context(seller):
            counts, cold = queries_per_page(seller)
        print("queries per page (figures not cached): " + ", ".join(f"{k} {v}" for k, v in counts.items()), flush=True)
        print("one request at a time, figures not cached yet: " + ", ".join(f"{k} {v:.0f} ms" for k, v in cold.items()), flush=True)
        with gunicorn("big", "/login/") as (base, host):
            browsers = [Browser(base, host, "/login/", {"username": ANALYST, "password": PASSWORD}) for _ in range(users_n)]
            for browser in browsers[:3]:  # warm every worker's caches once
                for path in PAGES.values():
                    browser.get(path)
            timings = load(browsers, PAGES, seconds, think)
    total = sum(len(v) for v in timings.values())
    print(f"{users_n} analysts for {seconds:.0f} s (think time {think:.1f} s on average): {total} pages, {total / seconds:.1f} pages/s", flush=True)
    p95 = {}
    for name, values in timings.items():
        p95[name] = pct(values, 95)
        print(f"{name}: {len(values)} requests, p50 {statistics.median(values):.0f} ms, p95 {p95[name]:.0f} ms, queries {counts[name]}", flush=True)
    if os.environ.get("BENCH_BURST", "1") != "0":
        off, on = burst("off"), burst("on")
        print(f"order burst of {off.get('orders', 0):.0f} orders: cockpit off {off['orders_per_s']:.1f} orders/s in {off['total_s']:.1f} s; "
              f"cockpit on (triggers + refresh every 5 s) {on['orders_per_s']:.1f} orders/s in {on['total_s']:.1f} s; "
              f"the refresh itself {on['bi_refresh_s']:.1f} s in {on['bi_runs']:.0f} runs, up to date {on['bi_lag_s']:.1f} s after the burst; "
              f"orders without figures {on['bi_orders_missing']:.0f}", flush=True)
    worst = max(p95, key=p95.get)
    print(f"orders={orders_n} p95_ms={p95[worst]:.0f} worst_page={worst}")


if __name__ == "__main__":
    main()
