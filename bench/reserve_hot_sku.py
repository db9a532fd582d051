"""One hot SKU, many clients: the real reservation service against a raw conditional UPDATE.

    make bench NAME=reserve_hot_sku

In a scratch database with one seller schema, N client threads (each with its own database
connection) reserve one unit at a time of one SKU through inventory.services.reservation_create
until it runs out; then, on the same database, the same clients run a bare
`UPDATE … SET reserved = reserved + 1 WHERE on_hand - reserved >= 1` loop on a copy of the row.
Prints reservations/s for both, their ratio and oversold units at 32 clients, and the service's
throughput at 64 clients over 8 clients.
Last line: service_rps=<x> raw_rps=<y> ratio=<x/y> oversold=<n> scaling_64_over_8=<z>
"""
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._db import scratch_platform  # noqa: E402

UNITS = int(os.environ.get("BENCH_UNITS", "6000"))


def _run_clients(n_clients: int, work) -> tuple[int, float]:
    """Start n threads running work() until it returns False; returns (successes, seconds)."""
    from django.db import connection

    counts = [0] * n_clients
    barrier = threading.Barrier(n_clients + 1)

    def client(i: int) -> None:
        from sellers.models import Seller

        connection.set_tenant(Seller.objects.get(schema_name="hot"))
        connection.ensure_connection()
        barrier.wait()
        while work():
            counts[i] += 1
        connection.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(n_clients)]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    return sum(counts), time.perf_counter() - started


def main() -> None:
    with scratch_platform("bench_hot_sku"):
        from django.db import connection
        from django_tenants.utils import tenant_context

        from sellers.services import seller_signup

        seller = seller_signup(company_name="Hot", subdomain="hot", owner_email="o@hot.example", password="Bench-password-2026").seller

        with tenant_context(seller):
            from djmoney.money import Money

            from inventory.exceptions import InsufficientStock
            from inventory.models import SKU, Category, Product
            from inventory.selectors import Holder
            from inventory.services import reservation_create, stock_receive
            from inventory.services.movements import ReceiptLine
            from warehouses.services import warehouse_create

            wh = warehouse_create(code="LA", name="Los Angeles", zip_code="90021")
            product = Product.objects.create(title="Hot product", category=Category.objects.create(name="Hot"))
            holder = Holder.channel("tiktok_shop")

            def service_round(n_clients: int, units: int, tag: str) -> tuple[float, int]:
                sku = SKU.objects.create(code=f"HOT-{tag}", product=product, title="Hot SKU")
                stock_receive(warehouse_id=wh.pk, lines=[ReceiptLine(sku.pk, units, Money(1, "USD"))], reference=f"PO-{tag}")
                seq = iter(range(10**9))
                seq_lock = threading.Lock()

                def work() -> bool:
                    with seq_lock:
                        n = next(seq)
                    try:
                        reservation_create(reference=f"{tag}-{n}", warehouse_id=wh.pk, holder=holder, lines=[(sku.pk, 1)])
                        return True
                    except InsufficientStock:
                        return False

                ok, seconds = _run_clients(n_clients, work)
                sku.refresh_from_db()
                oversold = max(ok - units, 0) + max(sku.reserved - sku.on_hand, 0)
                return ok / seconds, oversold

            def raw_round(n_clients: int, units: int) -> float:
                with connection.cursor() as cursor:
                    cursor.execute("CREATE TABLE IF NOT EXISTS bench_raw (id int PRIMARY KEY, on_hand int, reserved int)")
                    cursor.execute("TRUNCATE bench_raw")
                    cursor.execute("INSERT INTO bench_raw VALUES (1, %s, 0)", [units])

                def work() -> bool:
                    with connection.cursor() as cursor:
                        cursor.execute("UPDATE bench_raw SET reserved = reserved + 1 WHERE id = 1 AND on_hand - reserved >= 1")
                        return cursor.rowcount == 1

                ok, seconds = _run_clients(n_clients, work)
                return ok / seconds

            service_rps, oversold = service_round(32, UNITS, "s32")
            print(f"service, 32 clients: {service_rps:.0f} reservations/s, oversold {oversold}", flush=True)
            raw_rps = raw_round(32, UNITS)
            print(f"raw conditional UPDATE, 32 clients: {raw_rps:.0f} updates/s", flush=True)
            s8, o8 = service_round(8, UNITS // 2, "s8")
            s64, o64 = service_round(64, UNITS // 2, "s64")
            print(f"service, 8 clients: {s8:.0f}/s; 64 clients: {s64:.0f}/s (oversold {o8 + o64})", flush=True)
            oversold += o8 + o64

    print(f"service_rps={service_rps:.0f} raw_rps={raw_rps:.0f} ratio={service_rps / raw_rps:.2f} oversold={oversold} scaling_64_over_8={s64 / s8:.2f}")


if __name__ == "__main__":
    main()
