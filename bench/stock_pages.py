"""How fast the stock pages are with 10,000 SKUs in three warehouses.

    make bench NAME=stock_pages            # 10,000 SKUs
    make bench NAME=stock_pages ARGS=2000

Scratch database, one seller; stock arrives through the real receipt service and some SKUs are
sold so reorder alerts exist. Pages are requested through Django's full stack (middleware,
tenant routing, templates) as a signed-in Warehouse user; the median of 5 requests is printed.
Last line: skus=<n> overview_ms=<x> last_page_ms=<x> search_ms=<x> alerts_ms=<x> sku_detail_ms=<x>
"""
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ["DJANGO_DEBUG"] = "false"  # no query log, as in production
from bench._db import scratch_platform  # noqa: E402


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    with scratch_platform("bench_stock_pages"):
        from django.test import Client
        from django_tenants.utils import tenant_context
        from djmoney.money import Money

        from accounts.modules import Role
        from accounts.services import user_create
        from inventory.models import SKU, Category, Product, Supplier
        from inventory.selectors import Holder
        from inventory.services import reservation_consume, reservation_create, stock_receive
        from inventory.services.movements import ReceiptLine
        from inventory.services.reorder import reorder_alerts_raise
        from sellers.services import seller_signup
        from warehouses.services import warehouse_create

        seller = seller_signup(company_name="Big", subdomain="big", owner_email="o@big.example", password="Bench-password-2026").seller
        with tenant_context(seller):
            started = time.perf_counter()
            warehouses = [warehouse_create(code=c, name=c, zip_code=z) for c, z in (("LA", "90021"), ("CHI", "60607"), ("NJ", "07094"))]
            categories = [Category.objects.create(name=f"Category {i}") for i in range(20)]
            products = Product.objects.bulk_create(Product(title=f"Product {i}", category=categories[i % 20]) for i in range(count // 4))
            skus = SKU.objects.bulk_create(
                SKU(code=f"SKU-{i:06d}", product=products[i % len(products)], title=f"Item {i}", default_unit_cost=Money("3.00", "USD"))
                for i in range(count)
            )
            for wh in warehouses:
                for start in range(0, count, 1000):
                    stock_receive(warehouse_id=wh.pk, reference=f"PO-{wh.code}-{start}",
                                  lines=[ReceiptLine(s.pk, 20 + (s.pk % 50), Money("3.00", "USD")) for s in skus[start:start + 1000]])
            for s in skus[: count // 20]:
                reservation_create(reference=f"S-{s.pk}", warehouse_id=warehouses[0].pk, holder=Holder.channel("tiktok_shop"), lines=[(s.pk, 15)])
                reservation_consume(reference=f"S-{s.pk}")
            # A slow supplier (200-day lead time) for the sold SKUs, so they really need reordering.
            slow = Supplier.objects.create(name="Slow boat", lead_time_days=200)
            SKU.objects.filter(pk__in=[s.pk for s in skus[: count // 20]]).update(preferred_supplier=slow)
            alerts = reorder_alerts_raise()["raised"]
            user = user_create(email="wh@big.example", password="x" * 12, full_name="Wh", role=Role.WAREHOUSE)
            print(f"seeded {count} SKUs × 3 warehouses, {alerts} reorder alerts in {time.perf_counter() - started:.0f}s", flush=True)

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
            return statistics.median(times[1:])  # the first request warms caches

        last_page = (count + 49) // 50
        figures = {
            "overview_ms": median_ms("/inventory/"),
            "last_page_ms": median_ms(f"/inventory/?page={last_page}"),
            "search_ms": median_ms("/inventory/?q=SKU-0042"),
            "alerts_ms": median_ms("/inventory/?alerts=on"),
            "sku_detail_ms": median_ms(f"/inventory/sku/{skus[0].pk}/"),
        }
        for name, value in figures.items():
            print(f"{name}: {value:.1f} ms", flush=True)
    print(f"skus={count} " + " ".join(f"{k}={v:.0f}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
