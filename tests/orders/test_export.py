"""The orders export: every matching order with its lines, streamed in bounded memory."""
import csv
import io
import tracemalloc
from datetime import timedelta
from decimal import Decimal

from django.http import StreamingHttpResponse
from django.utils import timezone
from django_tenants.utils import tenant_context
from djmoney.money import Money

from accounts.modules import Role
from orders.models import Order, OrderLine
from tests.inventory.factories import make_sku
from tests.orders.factories import place
from tests.support import client_for, make_user


def _rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.getvalue().decode("utf-8-sig"))))


def test_order_export_carries_every_line_with_its_order(alpha):
    with tenant_context(alpha):
        make_sku("EXP-1")
        make_sku("EXP-2")
        two = place("EXP-TWO", [("EXP-1", 2), ("EXP-2", 3)])
        place("EXP-GHOST", [("NO-SUCH-SKU", 4)])  # kept as received until the SKU exists
        Order.objects.create(channel="manual", external_id="EXP-EMPTY", currency="USD", placed_at=timezone.now() - timedelta(days=1))
    ops = client_for(alpha, make_user(alpha, role=Role.OPERATIONS))
    response = ops.get("/orders/export.csv?excel=1")
    assert isinstance(response, StreamingHttpResponse) and response["Content-Disposition"] == 'attachment; filename="orders.csv"'
    rows = _rows(response)
    by_order = {}
    for row in rows:
        by_order.setdefault(row["order_number"], []).append(row)
    lines = [(r["line"], r["sku"], r["quantity"], r["unit_price"]) for r in by_order["EXP-TWO"]]
    assert lines == [("1", "EXP-1", "2", "20.00"), ("2", "EXP-2", "3", "20.00")]
    # The order's columns on every line; its total once, so the column adds up to the orders' total.
    assert {r["ship_city"] for r in by_order["EXP-TWO"]} == {"San Diego"}
    assert [r["total"] for r in by_order["EXP-TWO"]] == [str(two.total), ""] and two.total == Decimal("100.00")
    assert [(r["sku"], r["quantity"], r["exception"]) for r in by_order["EXP-GHOST"]] == [("NO-SUCH-SKU", "4", "unknown_sku")]
    assert [(r["line"], r["sku"]) for r in by_order["EXP-EMPTY"]] == [("", "")]


def _export_peak(client, query: str) -> tuple[int, int, int]:
    """(bytes, rows, peak bytes of Python allocations) of one export, consumed as a download is."""
    tracemalloc.start()
    try:
        response = client.get(f"/orders/export.csv?{query}")
        assert isinstance(response, StreamingHttpResponse)
        size, rows = 0, 0
        for chunk in response.streaming_content:
            size += len(chunk)
            rows += chunk.count(b"\n")
        return size, rows, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_order_export_streams_in_memory_that_does_not_grow_with_the_orders(alpha):
    """1,600 wholesale and 6,400 manual orders of two lines. Exporting all 8,000 (a file of
    megabytes) holds at its peak about what exporting the 2,000 holds: the memory is the batch
    being written, not the file. Not a timing: the figures are peaks of traced allocations (see
    bench/orders_export.py for 100,000 orders and the time they take)."""
    small, big = 1_600, 8_000
    with tenant_context(alpha):
        a, b = make_sku("BIG-1"), make_sku("BIG-2")
        now = timezone.now()
        orders = Order.objects.bulk_create(
            Order(channel="wholesale" if i < small else "manual", external_id=f"BIG-{i:06d}", currency="USD", total=Decimal("59.80"),
                  placed_at=now - timedelta(minutes=i), ship_name=f"Buyer number {i}", ship_line1=f"{i} Long Street Name",
                  ship_city="Springfield", ship_state="IL", ship_zip="62701")
            for i in range(big))
        OrderLine.objects.bulk_create(
            OrderLine(order=order, sku=sku, quantity=q, unit_price=Money("19.93", "USD")) for order in orders for sku, q in ((a, 1), (b, 2)))
    ops = client_for(alpha, make_user(alpha, role=Role.OPERATIONS))

    few_bytes, few_rows, few_peak = _export_peak(ops, "channel=wholesale")
    all_bytes, all_rows, all_peak = _export_peak(ops, "")
    print(f"\norders={small} csv_bytes={few_bytes} peak_bytes={few_peak}\norders={big} csv_bytes={all_bytes} peak_bytes={all_peak}")
    assert (few_rows, all_rows) == (2 * small + 1, 2 * big + 1)
    assert all_bytes > 2_000_000 and all_bytes > 4 * few_bytes
    assert all_peak < 1.5 * few_peak, "the export's memory grew with the number of orders"
    assert all_peak < all_bytes  # the file is never held whole
