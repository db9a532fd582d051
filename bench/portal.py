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
import http.cookiejar
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_DEBUG"] = "false"
from bench._db import big_seller, scratch_platform  # noqa: E402

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


class User:
    """One browser: its own cookies, signed in through the login form."""

    def __init__(self, base: str, host: str, email: str):
        self.base, self.host = base, host
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        form = self.get("/portal/login/")[1]
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
        status, body = self.request("/portal/login/", {"csrfmiddlewaretoken": token, "email": email, "password": PASSWORD})
        assert "Sign out" in body, body[:300]

    def request(self, path: str, data: dict | None = None) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(self.base + path, data=body, headers={"Host": self.host})
        with self.opener.open(req, timeout=60) as response:
            return response.status, response.read().decode()

    def get(self, path: str) -> tuple[int, str]:
        return self.request(path)


def load(base: str, host: str, email: str, users_n: int, seconds: float, think: float) -> dict[str, list[float]]:
    users = [User(base, host, email) for _ in range(users_n)]
    for user in users:  # warm every worker's caches once
        for path in PAGES.values():
            user.get(path)
    timings = {name: [] for name in PAGES}
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def run(user: User, seed_: int) -> None:
        rng = random.Random(seed_)
        names = list(PAGES)
        i = rng.randrange(len(names))
        time.sleep(rng.uniform(0, think or 0.05))  # users arrive spread out
        while time.monotonic() < deadline:
            name = names[i % len(names)]
            started = time.perf_counter()
            status, body = user.get(PAGES[name])
            elapsed = (time.perf_counter() - started) * 1000
            assert status == 200 and "Sign out" in body, (name, status)
            with lock:
                timings[name].append(elapsed)
            i += 1
            if think:
                time.sleep(rng.uniform(think * 0.5, think * 1.5))

    threads = [threading.Thread(target=run, args=(u, n)) for n, u in enumerate(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return timings


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


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
        from django.db import connections

        connections.close_all()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        env = dict(os.environ, DJANGO_SETTINGS_MODULE=os.environ.get("DJANGO_SETTINGS_MODULE", "erp.settings.local"), DJANGO_DEBUG="false",
                   DJANGO_LOG_LEVEL="WARNING", FANOUT_SITE_URL=f"http://localhost:{port}")
        server = subprocess.Popen([sys.executable, "-m", "gunicorn", "erp.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "3", "--timeout", "120"],
                                  cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            base, host = f"http://127.0.0.1:{port}", f"big.localhost:{port}"
            for _ in range(150):
                try:
                    urllib.request.urlopen(urllib.request.Request(base + "/portal/login/", headers={"Host": host}), timeout=2).read()
                    break
                except OSError:
                    if server.poll() is not None:
                        raise RuntimeError(server.stderr.read().decode()[-2000:])
                    time.sleep(0.2)
            timings = load(base, host, account.email, users_n, seconds, think)
        finally:
            server.terminate()
            server.wait(timeout=30)
    figures = {}
    total = sum(len(v) for v in timings.values())
    print(f"{users_n} users for {seconds:.0f} s (think time {think:.1f} s on average): {total} pages, {total / seconds:.1f} pages/s", flush=True)
    for name, values in timings.items():
        figures[name] = (statistics.median(values), pct(values, 95))
        print(f"{name}: {len(values)} requests, p50 {figures[name][0]:.0f} ms, p95 {figures[name][1]:.0f} ms, queries {counts[name]}", flush=True)
    print(" ".join(f"{name}_p95_ms={figures[name][1]:.0f}" for name in PAGES) + f" max_queries={max(counts.values())}")


if __name__ == "__main__":
    main()
