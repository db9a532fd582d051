"""How fast the creator pages and the monthly jobs are with 5,000 creators and a year of orders.

    make bench NAME=creator_pages              # 5,000 creators, 600,000 orders over 12 months
    make bench NAME=creator_pages ARGS="1000 100000"

Scratch database, one seller. Orders are written with COPY (what intake would have stored), then
the real jobs run: the metrics rebuild of all 12 months and last month's tier review. Pages are
requested through Django's full stack as a signed-in Creator manager; the median of 5 requests is
printed, with the number of queries of the list page.
Last line: creators=<n> orders=<n> metrics_12_months_s=<x> review_s=<x> list_ms=<x> sort_roi_ms=<x> filter_ms=<x>
search_ms=<x> last_page_ms=<x> detail_ms=<x> review_page_ms=<x> list_queries=<n>
"""
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ["DJANGO_DEBUG"] = "false"
from bench._db import scratch_platform  # noqa: E402


def main() -> None:
    creators_n = int(sys.argv[1]) if len(sys.argv) > 1 else 5_000
    orders_n = int(sys.argv[2]) if len(sys.argv) > 2 else 600_000
    with scratch_platform("bench_creator_pages"):
        from django.db import connection
        from django.test import Client
        from django.utils import timezone
        from django_tenants.utils import tenant_context
        from djmoney.money import Money

        from accounts.modules import Role
        from accounts.services import user_create
        from creators.models import ContentStats, Creator, CreatorStatus, TierChange
        from creators.selectors import this_month
        from creators.services.metrics import add_months, metrics_refresh
        from creators.services.tiers import tier_review_run
        from erp.l10n import business_day_start, business_today
        from inventory.models import SKU, Category, Product
        from sellers.services import seller_signup

        rng = random.Random(5)
        seller = seller_signup(company_name="Big", subdomain="big", owner_email="o@big.example", password="Bench-password-2026").seller
        with tenant_context(seller):
            started = time.perf_counter()
            category = Category.objects.create(name="Beauty")
            product = Product.objects.create(title="Lip", category=category)
            skus = SKU.objects.bulk_create(SKU(code=f"SKU-{i:04d}", product=product, title=f"Item {i}", default_unit_cost=Money("3.00", "USD"))
                                           for i in range(200))
            niches = ["Skincare", "Makeup", "Haircare", "Lifestyle", "Wellness"]
            tiers = ["S"] * 2 + ["A"] * 18 + ["B"] * 80
            creators = Creator.objects.bulk_create(
                Creator(handle=f"creator_{i:05d}", display_name=f"Creator {i}", niche=niches[i % 5], followers=rng.randrange(1000, 2_000_000),
                        status=CreatorStatus.ACTIVE, tier=tiers[i % 100], start_date=add_months(this_month(), -18))
                for i in range(creators_n))
            TierChange.objects.bulk_create(TierChange(creator=c, to_tier=c.tier, from_status="prospect", to_status="active",
                                                      effective_from=add_months(this_month(), -18), applied=True, source="import", reason="bench")
                                           for c in creators)
            months = [add_months(this_month(), -i) for i in range(11, -1, -1)]
            weights = [40 if c.tier == "S" else (8 if c.tier == "A" else 1) for c in creators]
            today, now = business_today(), timezone.now()
            with connection.cursor() as cursor:
                cursor.execute("SELECT nextval(pg_get_serial_sequence('orders_order', 'id')) FROM generate_series(1, %s)", [orders_n])
                ids = [r[0] for r in cursor.fetchall()]
                picks = rng.choices(creators, weights=weights, k=orders_n)
                with cursor.copy("COPY orders_order (id, channel, external_id, order_type, creator_id, platform_pays_commission, status, currency, "
                                 "placed_at, created_at) FROM STDIN") as copy:
                    for order_id, creator in zip(ids, picks):
                        month = rng.choice(months)
                        day = min(month + timedelta(days=rng.randrange(28)), today)
                        placed = min(business_day_start(day) + timedelta(seconds=rng.randrange(86400)), now)
                        copy.write_row((order_id, "tiktok_shop", f"T{order_id:010d}", "retail", creator.pk, True, "delivered", "USD", placed, placed))
                with cursor.copy("COPY orders_orderline (order_id, sku_id, quantity, unit_price, unit_price_currency, discount, discount_currency, "
                                 "quantity_returned, commission_rate, commission, commission_currency) FROM STDIN") as copy:
                    for order_id in ids:
                        price = Decimal(rng.randrange(899, 4999)) / 100
                        copy.write_row((order_id, rng.choice(skus).pk, 1, price, "USD", Decimal(0), "USD", 0, Decimal("0.15"),
                                        (price * Decimal("0.15")).quantize(Decimal("0.01")), "USD"))
                cursor.execute("ANALYZE")
            ContentStats.objects.bulk_create([ContentStats(creator=c, month=m, videos=5, views=50_000, clicks=rng.randrange(200, 5000))
                                              for c in creators for m in months], batch_size=5000)
            print(f"seeded {creators_n} creators and {orders_n} orders in {time.perf_counter() - started:.0f}s", flush=True)
            t = time.perf_counter()
            metrics_refresh(months=months)
            metrics_s = time.perf_counter() - t
            t = time.perf_counter()
            review = tier_review_run(month=months[-2])
            review_s = time.perf_counter() - t
            print(f"metrics rebuild of 12 months: {metrics_s:.1f} s; tier review: {review_s:.1f} s ({review.items.count()} proposals)", flush=True)
            user = user_create(email="cm@big.example", password="x" * 12, full_name="Cm", role=Role.CREATOR_MANAGER)

        client = Client(HTTP_HOST="big.localhost")
        with tenant_context(seller):
            client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")

        def median_ms(path: str) -> float:
            times = []
            for _ in range(6):
                t = time.perf_counter()
                response = client.get(path)
                times.append((time.perf_counter() - t) * 1000)
                assert response.status_code == 200, (path, response.status_code)
            return statistics.median(times[1:])

        queries = []
        with connection.execute_wrapper(lambda execute, sql, params, many, context: queries.append(sql) or execute(sql, params, many, context)):
            client.get("/creators/")
        last_page = (creators_n + 49) // 50
        figures = {
            "list_ms": median_ms("/creators/"),
            "sort_roi_ms": median_ms("/creators/?sort=roi"),
            "filter_ms": median_ms("/creators/?tier=A&niche=Makeup&sort=conversion"),
            "search_ms": median_ms("/creators/?q=creator_0420"),
            "last_page_ms": median_ms(f"/creators/?page={last_page}"),
            "detail_ms": median_ms(f"/creators/{creators[0].pk}/"),
            "review_page_ms": median_ms(f"/creators/reviews/{review.pk}/"),
        }
        for name, value in figures.items():
            print(f"{name}: {value:.1f} ms", flush=True)
    print(f"creators={creators_n} orders={orders_n} metrics_12_months_s={metrics_s:.1f} review_s={review_s:.1f} "
          + " ".join(f"{k}={v:.0f}" for k, v in figures.items()) + f" list_queries={len(queries)}")


if __name__ == "__main__":
    main()
