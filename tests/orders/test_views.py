"""The order and warehouse pages as Operations and Warehouse staff use them."""
import pytest
from django_tenants.utils import tenant_context

from accounts.modules import Role
from inventory.models import SKU
from orders.models import Channel, Order, OrderStatus, Shipment, ShipmentStatus
from orders.services.pipeline import order_pipeline
from tests.inventory.factories import make_sku, make_warehouses, receive
from tests.orders.factories import place
from tests.support import client_for, make_user


@pytest.fixture
def floor(alpha):
    with tenant_context(alpha):
        warehouses = make_warehouses()
        sku = make_sku("FLOOR-1")
        receive(sku, warehouses["LA"], 50)
        receive(sku, warehouses["NJ"], 50)
        ops = client_for(alpha, make_user(alpha, role=Role.OPERATIONS))
        wh = client_for(alpha, make_user(alpha, role=Role.WAREHOUSE))
        yield {"wh": warehouses, "sku": sku, "ops": ops, "warehouse": wh}


def test_manual_order_form_creates_an_order_and_names_bad_lines(floor):
    ops = floor["ops"]
    form = {"order_type": "retail", "ship_name": "Ana", "ship_line1": "1 Main St", "ship_zip": "92101", "ship_country": "US",
            "lines-TOTAL_FORMS": "2", "lines-INITIAL_FORMS": "0", "lines-0-sku": "NOPE-9", "lines-0-quantity": "1", "lines-0-unit_price": "5"}
    page = ops.post("/orders/new/", form)
    assert page.status_code == 200 and "unknown SKU NOPE-9" in page.content.decode()
    assert not Order.objects.exists()  # nothing partial
    form.update({"lines-0-sku": "floor-1", "lines-0-quantity": "2", "lines-0-unit_price": "19.99", "external_id": "PHONE-1"})
    page = ops.post("/orders/new/", form)
    order = Order.objects.get(channel=Channel.MANUAL, external_id="PHONE-1")
    assert page.status_code == 302 and page["Location"] == f"/orders/{order.pk}/"
    assert str(order.total) == "39.98" and order.lines.get().sku.code == "FLOOR-1"
    order_pipeline(order_id=order.pk)  # the task the commit would have queued
    detail = ops.get(f"/orders/{order.pk}/").content.decode()
    assert "LA Los Angeles" in detail and "Routed" in detail and "Reserved at LA" in detail


def test_list_filters_searches_and_pins_its_queries(floor, django_assert_num_queries):
    for i in range(60):
        place(f"L-{i:03d}", [("FLOOR-1", 1)], to="NY" if i % 2 else "CA")
    place("L-BAD", [("GHOST", 1)])
    ops = floor["ops"]
    # 5 for tenant, session and user; SLA counts, status counts, exceptions count, orders that did not arrive,
    # the warehouse filter's options, the page.
    with django_assert_num_queries(11):
        page = ops.get("/orders/")
    html = page.content.decode()
    assert "50 orders on this page" in html and "Older" in html
    after = html.split("after=")[1].split('"')[0]
    older = ops.get(f"/orders/?after={after}".replace("&amp;", "&")).content.decode()
    assert "11 orders on this page" in older
    assert "L-BAD" in ops.get("/orders/?exceptions=on").content.decode()
    found = ops.get("/orders/?q=L-007").content.decode()
    assert "L-007" in found and "L-008" not in found
    export = ops.get("/orders/export.csv?status=received").getvalue().decode()
    assert export.count("\n") == 62 and "L-BAD" in export


def test_exceptions_page_bulk_retry_after_the_fix(floor):
    orders = [place(f"X-{i}", [("LATER-1", 1)]) for i in range(3)]
    ops = floor["ops"]
    page = ops.get("/orders/exceptions/").content.decode()
    assert "Unknown SKU" in page and "line 1: unknown SKU LATER-1" in page
    sku = make_sku("LATER-1")
    receive(sku, floor["wh"]["LA"], 5)
    response = ops.post("/orders/bulk/", {"action": "retry", "id": [o.pk for o in orders]})
    assert response.status_code == 302
    for order in orders:
        order.refresh_from_db()
        assert order.exception_reason == "" and order.lines.get().sku_id == sku.pk
        order_pipeline(order_id=order.pk)
        order.refresh_from_db()
        assert order.status == OrderStatus.ROUTED


def test_warehouse_queue_pick_list_scan_pack_and_tracking_csv(floor):
    orders = [place(f"W-{i}", [("FLOOR-1", 2)], to="CA") for i in range(3)]
    for order in orders:
        order_pipeline(order_id=order.pk)
    wh = floor["warehouse"]
    la = floor["wh"]["LA"]
    queue = wh.get(f"/warehouses/{la.pk}/queue/").content.decode()
    shipments = list(Shipment.objects.filter(order__in=orders).order_by("pk"))
    assert all(s.number in queue for s in shipments)
    pdf = wh.post(f"/warehouses/{la.pk}/queue/pick-list/", {"id": [s.pk for s in shipments]})
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert set(Order.objects.filter(pk__in=[o.pk for o in orders]).values_list("status", flat=True)) == {OrderStatus.PACKING}
    slips = wh.post(f"/warehouses/{la.pk}/queue/packing-slips/", {"id": [shipments[0].pk]})
    assert slips.content.startswith(b"%PDF")
    wh.post(f"/warehouses/{la.pk}/queue/pack/", {"number": shipments[0].number})
    wh.post(f"/warehouses/{la.pk}/queue/pack/", {"shipment": shipments[1].pk})
    assert Order.objects.get(pk=orders[0].pk).status == OrderStatus.PACKED
    bad = "shipment,carrier,tracking_number\n%s,UPS,1Z1\nS9999999,UPS,1Z2\n" % shipments[0].number
    page = wh.post(f"/warehouses/{la.pk}/queue/tracking/", {"file": _upload(bad)})
    assert "no shipment S9999999 in this warehouse" in page.content.decode()
    assert Shipment.objects.get(pk=shipments[0].pk).status == ShipmentStatus.PACKED  # nothing applied
    good = "shipment,carrier,tracking_number\n%s,UPS,1Z1\n%s,USPS,9400\n%s,UPS,1Z3\n" % tuple(s.number for s in shipments)
    wh.post(f"/warehouses/{la.pk}/queue/tracking/", {"file": _upload(good)})
    wh.post(f"/warehouses/{la.pk}/queue/tracking/", {"apply": "1"})
    assert set(Shipment.objects.filter(pk__in=[s.pk for s in shipments]).values_list("status", flat=True)) == {ShipmentStatus.SHIPPED}
    assert SKU.objects.get(code="FLOOR-1").on_hand == 94 and SKU.objects.get(code="FLOOR-1").reserved == 0
    assert Order.objects.get(pk=orders[2].pk).status == OrderStatus.SHIPPED


def test_roles_see_only_their_pages(floor):
    assert floor["warehouse"].get("/orders/").status_code == 403
    la = floor["wh"]["LA"]
    assert floor["ops"].get(f"/warehouses/{la.pk}/queue/").status_code == 403


def test_wholesale_csv_with_one_bad_row_among_500_imports_nothing(floor, alpha):
    ops = floor["ops"]
    rows = ["order_number,creator_handle,sku,quantity,unit_price,discount,ship_name,ship_line1,ship_line2,ship_city,ship_state,ship_zip,ship_country,ship_phone"]
    for i in range(500):
        qty = "0" if i == 321 else "1"
        rows.append(f"WH-{i // 2},,FLOOR-1,{qty},12.50,,Shop {i // 2},1 Main St,,,NY,10118,US,")
    page = ops.post("/orders/import/", {"file": _upload("\n".join(rows))})
    html = page.content.decode()
    assert "1 problem to fix" in html and "<td>323</td><td><code>quantity</code></td>" in html and "above zero, got 0" in html
    assert not Order.objects.exists()
    rows[322] = rows[322].replace(",0,", ",1,")
    ops.post("/orders/import/", {"file": _upload("\n".join(rows))})
    ops.post("/orders/import/", {"apply": "1"})
    assert Order.objects.filter(channel=Channel.WHOLESALE).count() == 250
    assert all(sum(line.quantity for line in o.lines.all()) == 2 for o in Order.objects.filter(channel=Channel.WHOLESALE)[:5])
    ops.post("/orders/import/", {"file": _upload("\n".join(rows))})
    ops.post("/orders/import/", {"apply": "1"})  # the same file again creates nothing
    assert Order.objects.filter(channel=Channel.WHOLESALE).count() == 250


def test_wholesale_csv_names_the_address_column_in_chinese_too(floor, alpha):
    """The column of an address problem comes from the address check itself, not from the
    wording of its (translated) message."""
    from django.utils import translation

    from orders.services.wholesale_csv import wholesale_csv_parse

    header = "order_number,sku,quantity,unit_price,ship_name,ship_line1,ship_zip,ship_state"
    with translation.override("zh-hans"):
        result = wholesale_csv_parse(text=f"{header}\nWH-ZH,FLOOR-1,1,12.50,,1 Main St,00000,NY\n")
    assert {e.column for e in result.errors} == {"ship_name", "ship_zip"}
    assert all(not e.reason.isascii() for e in result.errors)  # the messages themselves are Chinese


def _upload(text: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("orders.csv", text.encode(), content_type="text/csv")


def test_processing_times_come_from_the_orders_timestamps_and_the_dashboard_counts_sla(floor, alpha):
    from datetime import timedelta

    from django.utils import timezone

    from orders.services.pipeline import shipment_ship, tracking_push

    ops = floor["ops"]
    assert "No orders in this period yet." in ops.get("/orders/times/").content.decode()
    now = timezone.now()
    for i, (stock_check_s, ship_h) in enumerate([(1, 2), (3, 4), (5, 30)]):
        order = place(f"T-{i}", [("FLOOR-1", 1)], to="CA")
        order_pipeline(order_id=order.pk)
        shipment_ship(shipment_id=order.shipments.get().pk, carrier="UPS", tracking_number=f"1Z{i}")
        tracking_push(shipment_id=order.shipments.get().pk)  # a manual order: nothing to push, stamped at once
        # Lay the stages out as if the order had taken this long in real life.
        Order.objects.filter(pk=order.pk).update(placed_at=now - timedelta(hours=40, minutes=2), created_at=now - timedelta(hours=40),
                                                 reserved_at=now - timedelta(hours=40) + timedelta(seconds=stock_check_s),
                                                 shipped_at=now - timedelta(hours=40) + timedelta(hours=ship_h),
                                                 tracking_pushed_at=now - timedelta(hours=40) + timedelta(hours=ship_h, seconds=2))
    page = ops.get("/orders/times/").content.decode()
    rows = {label: page.split(label)[1].split("</tr>")[0] for label in ("Receive", "Stock check", "Print and ship", "Tracking")}
    assert "2 min" in rows["Receive"] and "3.0 s" in rows["Stock check"] and "3 h" in rows["Print and ship"] and "2.0 s" in rows["Tracking"]
    assert "8 min" in rows["Print and ship"]  # the brief's manual figure next to ours
    # One order overdue (ship-by passed), one in the exceptions queue: the home page says so.
    late = place("T-LATE", [("FLOOR-1", 1)], to="CA")
    Order.objects.filter(pk=late.pk).update(ship_by=now - timedelta(minutes=5), sla_state="overdue")
    place("T-BAD", [("GHOST-1", 1)])
    home = ops.get("/").content.decode()
    overdue = home.split("Orders overdue")[1].split("</strong>")[0]
    exceptions = home.split("Order exceptions")[1].split("</strong>")[0]
    assert overdue.endswith(">1") and exceptions.endswith(">1")
    creators_only = client_for(alpha, make_user(alpha, role=Role.CREATOR_MANAGER)).get("/").content.decode()
    assert "Orders overdue" not in creators_only
