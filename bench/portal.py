"""How fast the creator portal is for a big seller: 1,000,000 orders, one creator with 50,000.

    make bench NAME=portal                      # 1,000,000 orders, 2,000 creators, 20 users, 30 s
    make bench NAME=portal ARGS="200000 500 20 15"

Scratch database, one seller. A year of orders (one line each) is written in SQL, as intake
would have stored them; every 20th order is the big creator's (50,000 of 1,000,000). Then the
real jobs run: commission accrual over every line, and the close of the last three months
(statements for every creator). The 20 portal users are 20 separate sessions of the big creator
(the worst case: every page sums 50,000 orders), signed in through the real login page of a
gunicorn server configured like `make run` (3 workers on 2 cores). Each user opens the dashboard,
the orders list and the statements list in turn for the measured time, pausing 0.5–1.5 s between
pages like a person reading them (BENCH_THINK_S=0 for a closed loop). Latency is measured at the
client; queries per page are counted in-process through Django's test client.
Last line: dashboard_p95_ms=<x> orders_p95_ms=<x> statements_p95_ms=<x> max_queries=<n>
"""
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_DEBUG"] = "false"
from bench._db import big_seller, scratch_platform  # noqa: E402
from bench._load import Browser, gunicorn, load, pct  # noqa: E402

PASSWORD = "Bench-portal-2026"
PAGES = {"dashboard": "/portal/", "orders": "/portal/orders/", "statements": "/portal/statements/"}


def seed(orders_n: int, creators_n: int) -> tuple[object, object]:
    """The seller, its orders and statements; returns (seller, the big creator's account)."""
    from django.contrib.auth.hashers import make_password
    from django.db import connection
    from django.utils import timezone
    from django_tenants.utils import tenant_context

    from commissions.services.accrual import accrue
    from commissions.services.settlement import period_close
    from creators.models import Creator
    from erp.l10n import business_today
    from portal.models import CreatorAccount

    started = time.perf_counter()
    seller, _products = big_seller(creators_n, creator_email=True)
    with tenant_context(seller):
        big = Creator.objects.order_by("pk").first()
        now = timezone.now()
        with connection.cursor() as cursor:
            # A year up to now; every 20th order is the big creator's, a fifth are paid by TikTok,
            # 2% cancelled, the last 4 days' shipped and not delivered yet.
            cursor.execute("""
                INSERT INTO orders_order (channel, external_id, order_type, creator_id, platform_pays_commission, status, currency,
                                          placed_at, created_at, status_changed_at, delivered_at, total, ship_city, ship_state, ship_country,
                                          sla_state)
                SELECT 'tiktok_shop', 'T' || lpad(g::text, 10, '0'), 'dropship',
                       CASE WHEN g %% 20 = 0 THEN %(big)s ELSE c.ids[2 + (g::bigint * 7919) %% (array_length(c.ids, 1) - 1)] END,
                       (g / 7) %% 5 = 0,
                       CASE WHEN g %% 50 = 7 THEN 'cancelled' WHEN x.t > %(now)s - interval '4 days' THEN 'shipped' ELSE 'delivered' END,
                       'USD', x.t, x.t, x.t,
                       CASE WHEN g %% 50 <> 7 AND x.t <= %(now)s - interval '4 days' THEN x.t + interval '3 days' END,
                       (9.99 + (g * 31 %% 5000) / 100.0)::numeric(12, 2), 'Austin', 'TX', 'US', 'done'
                FROM generate_series(1, %(n)s) g, (SELECT array_agg(id ORDER BY id) AS ids FROM creators_creator) c,
                     LATERAL (SELECT %(now)s - interval '365 days' + (g::float8 * 31536000 / %(n)s) * interval '1 second') AS x(t)
            """, {"big": big.pk, "n": orders_n, "now": now})
            cursor.execute("""
                INSERT INTO orders_orderline (order_id, sku_id, quantity, unit_price, unit_price_currency, discount, discount_currency,
                                              quantity_returned, commission_rate, commission, commission_currency)
                SELECT o.id, s.ids[1 + (o.id * 104729) %% array_length(s.ids, 1)], 1, o.total, 'USD', 0, 'USD', 0,
                       CASE WHEN o.platform_pays_commission THEN 0.1000 END, 0, 'USD'
                FROM orders_order o, (SELECT array_agg(id ORDER BY id) AS ids FROM inventory_sku) s
            """, [])
            cursor.execute("ANALYZE")
        print(f"seeded {orders_n:,} orders for {creators_n:,} creators ({Creator.objects.get(pk=big.pk).orders.count():,} of them "
              f"@{big.handle}'s) in {time.perf_counter() - started:.0f} s", flush=True)
        started = time.perf_counter()
        accrued = accrue(now=now)
        print(f"accrued {accrued.lines:,} commission lines in {time.perf_counter() - started:.0f} s", flush=True)
        started = time.perf_counter()
        first_of_month = business_today().replace(day=1)
        for back in (3, 2, 1):
            month = first_of_month
            for _ in range(back):
                month = (month - timedelta(days=1)).replace(day=1)
            period_close(cycle="monthly", day=month, now=now)
        from commissions.models import Statement

        print(f"closed the last 3 months: {Statement.objects.count():,} statements in {time.perf_counter() - started:.0f} s", flush=True)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")  # what autovacuum does to tables this size after a bulk load
        account = CreatorAccount.objects.create(creator=big, email=big.email, password=make_password(PASSWORD), accepted_at=now)
    return seller, account


def queries_per_page(seller, account) -> dict[str, int]:
    from django.db import connection
    from django.test import Client

    client = Client(HTTP_HOST="big.localhost")
    answer = client.post("/portal/login/", {"email": account.email, "password": PASSWORD})
    assert answer.status_code == 302, answer.status_code
    counts = {}
    for name, path in PAGES.items():
        client.get(path)  # warm
        queries = []
        with connection.execute_wrapper(lambda execute, sql, params, many, context: queries.append(sql) or execute(sql, params, many, context)):
            assert client.get(path).status_code == 200
        counts[name] = len(queries)
    return counts


def main() -> None:
    orders_n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    creators_n = int(sys.argv[2]) if len(sys.argv) > 2 else 2_000
    users_n = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 30
    think = float(os.environ.get("BENCH_THINK_S", "1.0"))
    with scratch_platform("bench_portal"):
        seller, account = seed(orders_n, creators_n)
        counts = queries_per_page(seller, account)
        print("queries per page: " + ", ".join(f"{k} {v}" for k, v in counts.items()), flush=True)
        with gunicorn("big", "/portal/login/") as (base, host):
            browsers = [Browser(base, host, "/portal/login/", {"email": account.email, "password": PASSWORD}) for _ in range(users_n)]
            for browser in browsers:  # warm every worker's caches once
                for path in PAGES.values():
                    browser.get(path)
            timings = load(browsers, PAGES, seconds, think)
    figures = {}
    total = sum(len(v) for v in timings.values())
    print(f"{users_n} users for {seconds:.0f} s (think time {think:.1f} s on average): {total} pages, {total / seconds:.1f} pages/s", flush=True)
    for name, values in timings.items():
        figures[name] = (statistics.median(values), pct(values, 95))
        print(f"{name}: {len(values)} requests, p50 {figures[name][0]:.0f} ms, p95 {figures[name][1]:.0f} ms, queries {counts[name]}", flush=True)
    print(" ".join(f"{name}_p95_ms={figures[name][1]:.0f}" for name in PAGES) + f" max_queries={max(counts.values())}")


if __name__ == "__main__":
    main()
