"""How long the orders export takes and how much memory it holds, for a busy seller.

    make bench NAME=orders_export                 # 100,000 orders of two lines
    make bench NAME=orders_export ARGS=20000

Scratch database, one seller; orders and lines are bulk-inserted. The export is requested through
Django's full stack (middleware, tenant routing, the streamed response) as a signed-in Operations
user and read chunk by chunk as a download is. Printed: the file's size, the seconds to stream
it, the peak of Python allocations while it streamed (tracemalloc, a second run) and how far the
process's resident memory grew over the untraced run.
Last line: orders=<n> lines=<n> csv_mb=<x> seconds=<x> peak_traced_mb=<x> rss_growth_mb=<x>
"""
import os
import resource
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ["DJANGO_DEBUG"] = "false"  # no query log, as in production
from bench._db import scratch_platform  # noqa: E402


def _stream(client) -> tuple[int, int]:
    response = client.get("/orders/export.csv")
    size = rows = 0
    for chunk in response.streaming_content:
        size += len(chunk)
        rows += chunk.count(b"\n")
    return size, rows


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with scratch_platform("bench_orders_export"):
        from datetime import timedelta
        from decimal import Decimal

        from django.test import Client
        from django.utils import timezone
        from django_tenants.utils import tenant_context
        from djmoney.money import Money

        from accounts.modules import Role
        from accounts.services import user_create
        from inventory.models import SKU, Category, Product
        from orders.models import Order, OrderLine
        from sellers.services import seller_signup

        seller = seller_signup(company_name="Big", subdomain="big", owner_email="o@big.example", password="Bench-password-2026").seller
        with tenant_context(seller):
            product = Product.objects.create(title="Serum", category=Category.objects.create(name="Beauty"))
            skus = SKU.objects.bulk_create(SKU(code=f"SKU-{i:03d}", product=product, title=f"Serum {i}", default_unit_cost=Money("3.00", "USD"))
                                           for i in range(50))
            now = timezone.now()
            started = time.perf_counter()
            for first in range(0, count, 10_000):
                orders = Order.objects.bulk_create(
                    Order(channel="tiktok_shop", external_id=f"5769{i:012d}", currency="USD", total=Decimal("59.80"),
                          placed_at=now - timedelta(minutes=i), ship_name=f"Buyer {i}", ship_line1=f"{i} Long Street Name",
                          ship_city="Springfield", ship_state="IL", ship_zip="62701")
                    for i in range(first, min(first + 10_000, count)))
                OrderLine.objects.bulk_create(OrderLine(order=o, sku=skus[(o.pk + k) % 50], quantity=1 + k, unit_price=Money("19.93", "USD"))
                                              for o in orders for k in (0, 1))
            print(f"made {count} orders in {time.perf_counter() - started:.0f} s", flush=True)
            user = user_create(email="ops@big.example", password=None, full_name="Ops", role=Role.OPERATIONS)
            client = Client(HTTP_HOST="big.localhost")
            client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")

        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        size, rows = _stream(client)
        seconds = time.perf_counter() - started
        rss_growth = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
        tracemalloc.start()
        _stream(client)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(f"orders={count} lines={rows - 1} csv_mb={size / 1e6:.1f} seconds={seconds:.1f} peak_traced_mb={peak / 1e6:.1f} "
              f"rss_growth_mb={rss_growth:.1f}")


if __name__ == "__main__":
    main()
