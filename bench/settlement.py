"""Accrue and settle a month for a big seller: 1,000,000 delivered order lines of 5,000 creators.

    make bench NAME=settlement                 # 1,000,000 lines (500,000 orders of 2 lines), 5,000 creators
    make bench NAME=settlement ARGS="100000 500"

Scratch database, one seller. September's orders are written in SQL (what intake would have
stored): every creator on tier B (monthly settlement), a tenth with their own rate, a product
with its own rate, a fifth of the orders paid by TikTok (recorded, never paid by us). With the
30-day return window, all of them become payable in October. Timed: accrue everything, then
close October (statements for every creator). Then both run again at once: nothing may be added.
The ledger invariants (`manage.py ledger_check`) are checked at the end.
Last line: lines=<n> seconds=<x> entries=<n> rerun_entries=<n> total_diff=<d>
"""
import os
import sys
import time
from datetime import date, datetime
from datetime import timezone as dt_timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ["DJANGO_DEBUG"] = "false"
from bench._db import big_seller, scratch_platform  # noqa: E402


def main() -> None:
    lines_n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    creators_n = int(sys.argv[2]) if len(sys.argv) > 2 else 5_000
    orders_n = lines_n // 2
    with scratch_platform("bench_settlement"):
        from django.db import connection
        from django_tenants.utils import tenant_context

        from commissions.models import JournalEntry, ProductCommissionRate
        from commissions.services.accrual import accrue
        from commissions.services.checks import ledger_problems
        from commissions.services.settlement import period_close

        started = time.perf_counter()
        seller, products = big_seller(creators_n, rate_override_every=10)
        with tenant_context(seller):
            ProductCommissionRate.objects.create(product=products[0], rate="0.1200", valid_from=date(2026, 1, 1))
            with connection.cursor() as cursor:
                # September 2026: orders spread over the month, delivered three days after they were placed.
                cursor.execute("""
                    INSERT INTO orders_order (channel, external_id, order_type, creator_id, platform_pays_commission, status, currency,
                                              placed_at, created_at, delivered_at)
                    SELECT 'tiktok_shop', 'T' || lpad(g::text, 10, '0'), 'dropship', c.ids[1 + (g::bigint * 7919) %% array_length(c.ids, 1)],
                           g %% 5 = 0, 'delivered', 'USD', t, t, t + interval '3 days'
                    FROM generate_series(1, %s) g, (SELECT array_agg(id ORDER BY id) AS ids FROM creators_creator) c,
                         LATERAL (SELECT timestamptz '2026-08-29 07:00+00' + (g * interval '1 second' * 2592000 / %s)) AS x(t)
                """, [orders_n, orders_n])
                cursor.execute("""
                    INSERT INTO orders_orderline (order_id, sku_id, quantity, unit_price, unit_price_currency, discount, discount_currency,
                                                  quantity_returned, commission_rate, commission, commission_currency)
                    SELECT o.id, s.ids[1 + ((o.id * 2 + k) * 104729) %% array_length(s.ids, 1)], 1 + (o.id + k) %% 3,
                           (9.99 + ((o.id * 31 + k) %% 5000) / 100.0)::numeric(12, 2), 'USD', 0, 'USD', 0,
                           CASE WHEN o.platform_pays_commission THEN 0.1000 END, 0, 'USD'
                    FROM orders_order o, generate_series(0, 1) k, (SELECT array_agg(id ORDER BY id) AS ids FROM inventory_sku) s
                """, [])
                cursor.execute("ANALYZE")
                cursor.execute("SELECT count(*) FROM orders_orderline")
                lines = cursor.fetchone()[0]
            print(f"seeded {lines:,} order lines of {orders_n:,} orders for {creators_n:,} creators in {time.perf_counter() - started:.1f} s", flush=True)

            now = datetime(2026, 11, 2, 9, tzinfo=dt_timezone.utc)
            started = time.perf_counter()
            accrued = accrue(now=now)
            accrue_s = time.perf_counter() - started
            period = period_close(cycle="monthly", day=date(2026, 10, 1), now=now)
            seconds = time.perf_counter() - started
            print(f"accrued {accrued.lines:,} lines ({accrued.amount} USD) in {accrue_s:.1f} s; "
                  f"closed October: {period.statements:,} statements in {seconds - accrue_s:.1f} s", flush=True)
            entries = JournalEntry.objects.count()

            again = time.perf_counter()
            accrue(now=now)
            period_close(cycle="monthly", day=date(2026, 10, 1), now=now)
            rerun_entries = JournalEntry.objects.count() - entries
            print(f"re-run in {time.perf_counter() - again:.1f} s", flush=True)
            with connection.cursor() as cursor:
                cursor.execute("SELECT (SELECT coalesce(sum(lines_total), 0) FROM commissions_statement) - "
                               "(SELECT coalesce(sum(amount), 0) FROM commissions_commissionline WHERE NOT platform_paid)")
                total_diff = cursor.fetchone()[0]
            problems = ledger_problems()
            print("ledger check: " + ("OK" if not problems else "; ".join(problems)), flush=True)
        print(f"lines={accrued.lines} seconds={seconds:.1f} entries={entries} rerun_entries={rerun_entries} total_diff={total_diff:.2f}")


if __name__ == "__main__":
    main()
