import pytest
from django_tenants.utils import tenant_context

from accounts.modules import Role
from inventory.models import AlertStatus, POStatus, PurchaseOrder, ReorderAlert, Stock, Supplier
from inventory.selectors import Holder
from inventory.services import reservation_consume, reservation_create
from inventory.services.reorder import reorder_alerts_raise
from tests.inventory.factories import make_sku, make_warehouses, receive
from tests.support import client_for, make_user


@pytest.fixture
def shop(alpha):
    with tenant_context(alpha):
        warehouses = make_warehouses()
        supplier = Supplier.objects.create(name="GZ", lead_time_days=15)
        skus = []
        for i in range(60):
            sku = make_sku(f"VIEW-{i:03d}")
            sku.preferred_supplier = supplier
            sku.save()
            skus.append(sku)
        for sku in skus[:3]:
            receive(sku, warehouses["LA"], 10)
        reservation_create(reference="V-1", warehouse_id=warehouses["LA"].pk, holder=Holder.channel("tiktok_shop"), lines=[(skus[0].pk, 9)])
        reservation_consume(reference="V-1")
        reorder_alerts_raise()
    return {"warehouses": warehouses, "skus": skus}


def test_stock_overview_lists_filters_and_paginates_in_few_queries(alpha, shop, django_assert_max_num_queries):
    client = client_for(alpha, make_user(alpha, role=Role.WAREHOUSE))
    with django_assert_max_num_queries(12):
        page = client.get("/inventory/")
    html = page.content.decode()
    assert page.status_code == 200 and "VIEW-000" in html and "VIEW-049" in html and "VIEW-050" not in html
    assert "60 SKUs" in html and "Page 1 of 2" in html
    assert html.count('class="badge warn">Reorder<') == 1  # VIEW-000 sold 9 of 10
    assert "VIEW-051" in client.get("/inventory/?page=2").content.decode()
    found = client.get("/inventory/?q=view-002").content.decode()
    assert "VIEW-002" in found and "VIEW-001" not in found
    alerts = client.get("/inventory/?alerts=on").content.decode()
    assert "VIEW-000" in alerts and "VIEW-002" not in alerts
    assert "No SKUs match" in client.get("/inventory/?q=nothing-like-this").content.decode()


def test_sku_page_shows_levels_lots_ledger_and_adjusts(alpha, shop):
    sku, la = shop["skus"][1], shop["warehouses"]["LA"]
    client = client_for(alpha, make_user(alpha, role=Role.WAREHOUSE))
    html = client.get(f"/inventory/sku/{sku.pk}/").content.decode()
    assert "VIEW-001" in html and "LA · Los Angeles" in html and "PO-1" in html and "Receipt" in html
    done = client.post(f"/inventory/sku/{sku.pk}/adjust/", {"warehouse": la.pk, "delta": "-3", "reason": "crushed box"}, follow=True)
    assert "Stock adjusted by -3 at LA" in done.content.decode() and "crushed box" in done.content.decode()
    refused = client.post(f"/inventory/sku/{sku.pk}/adjust/", {"warehouse": la.pk, "delta": "-50", "reason": "x"}, follow=True)
    assert "fewer unreserved units" in refused.content.decode()
    with tenant_context(alpha):
        assert Stock.objects.get(sku=sku, warehouse=la).on_hand == 7
    assert client.get("/inventory/sku/999999/").status_code == 404


def test_reorder_page_turns_suggestions_into_a_draft_po(alpha, shop):
    client = client_for(alpha, make_user(alpha, role=Role.MANAGER))
    html = client.get("/inventory/reorder/").content.decode()
    assert "VIEW-000" in html and "Days of cover" in html
    with tenant_context(alpha):
        alert = ReorderAlert.objects.get(status=AlertStatus.OPEN)
    done = client.post("/inventory/reorder/purchase-orders/", {"alert": [alert.pk], "warehouse": shop["warehouses"]["NJ"].pk}, follow=True)
    assert "Created draft purchase orders: PO-" in done.content.decode()
    with tenant_context(alpha):
        po = PurchaseOrder.objects.get()
        assert po.status == POStatus.DRAFT and po.warehouse.code == "NJ"
    assert "Nothing to reorder" in done.content.decode()


def test_inventory_pages_are_closed_to_roles_without_the_module(alpha, shop):
    client = client_for(alpha, make_user(alpha, role=Role.FINANCE))
    for path in ("/inventory/", f"/inventory/sku/{shop['skus'][0].pk}/", "/inventory/reorder/"):
        assert client.get(path).status_code == 403


def test_receive_po_page_partial_then_full_with_clear_errors(alpha, shop):
    from djmoney.money import Money

    from inventory.services.purchasing import purchase_order_create

    sku = shop["skus"][10]
    with tenant_context(alpha):
        po = purchase_order_create(supplier_id=Supplier.objects.get().pk, warehouse_id=shop["warehouses"]["CHI"].pk,
                                   lines=[(sku.pk, 20, Money("2.00", "USD"))])
    client = client_for(alpha, make_user(alpha, role=Role.WAREHOUSE))
    assert "Receive now" not in client.get(f"/inventory/purchase-orders/{po.pk}/").content.decode()  # a draft
    client.post(f"/inventory/purchase-orders/{po.pk}/send/")
    bad = client.post(f"/inventory/purchase-orders/{po.pk}/receive/", {f"qty-{sku.pk}": "2.5"}, follow=True)
    assert "enter a whole number of units" in bad.content.decode()
    over = client.post(f"/inventory/purchase-orders/{po.pk}/receive/", {f"qty-{sku.pk}": "21"}, follow=True)
    assert "only 20 still open" in over.content.decode()
    part = client.post(f"/inventory/purchase-orders/{po.pk}/receive/", {f"qty-{sku.pk}": "8", "landed_cost": "4.00"}, follow=True)
    assert "is now Partially received" in part.content.decode()
    full = client.post(f"/inventory/purchase-orders/{po.pk}/receive/", {f"qty-{sku.pk}": "12"}, follow=True)
    assert "is now Received" in full.content.decode()
    with tenant_context(alpha):
        assert Stock.objects.get(sku=sku, warehouse=shop["warehouses"]["CHI"]).on_hand == 20
    assert po.number in client.get("/inventory/purchase-orders/?status=received").content.decode()


def test_new_purchase_order_page_creates_a_draft_and_names_bad_lines(alpha, shop):
    """A purchase order by hand (a new seller has no sales, so no reorder suggestions yet)."""
    sku, other = shop["skus"][20], shop["skus"][21]
    client = client_for(alpha, make_user(alpha, role=Role.WAREHOUSE))
    assert "New purchase order" in client.get("/inventory/purchase-orders/").content.decode()
    with tenant_context(alpha):
        supplier, warehouse = Supplier.objects.get(), shop["warehouses"]["CHI"]
    form = {"supplier": supplier.pk, "warehouse": warehouse.pk, "currency": "", "line-TOTAL_FORMS": "5", "line-INITIAL_FORMS": "0",
            "line-MIN_NUM_FORMS": "0", "line-MAX_NUM_FORMS": "50"}
    nothing = client.post("/inventory/purchase-orders/new/", {})  # an empty post gets its errors, not a blank form
    assert nothing.status_code == 200 and "This field is required." in nothing.content.decode()
    empty = client.post("/inventory/purchase-orders/new/", form)
    assert empty.status_code == 200 and "Add at least one line" in empty.content.decode()
    half = client.post("/inventory/purchase-orders/new/", form | {"line-0-sku": sku.pk, "line-0-quantity": "5"})
    assert "Enter the unit cost" in half.content.decode()
    done = client.post("/inventory/purchase-orders/new/", form | {"line-0-sku": sku.pk, "line-0-quantity": "40", "line-0-unit_cost": "3.25",
                                                                   "line-2-sku": other.pk, "line-2-quantity": "10", "line-2-unit_cost": "1.5"},
                       follow=True)
    with tenant_context(alpha):
        po = PurchaseOrder.objects.get(supplier=supplier, status=POStatus.DRAFT)
        assert po.warehouse == warehouse and po.currency == supplier.currency
        assert sorted((l.sku_id, l.quantity_ordered, str(l.unit_cost.amount)) for l in po.lines.all()) == [
            (sku.pk, 40, "3.2500"), (other.pk, 10, "1.5000")]
    assert f"Draft {po.number} created" in done.content.decode() and "Mark as sent" in done.content.decode()


def test_allocation_form_on_sku_page(alpha, shop):
    sku = shop["skus"][2]  # 10 on hand at LA
    client = client_for(alpha, make_user(alpha, role=Role.MANAGER))
    ok = client.post(f"/inventory/sku/{sku.pk}/allocations/", {"holder_kind": "creator", "holder_ref": "dist-a", "quota": "6"}, follow=True)
    assert "dist-a may now hold 6 units" in ok.content.decode()
    too_much = client.post(f"/inventory/sku/{sku.pk}/allocations/", {"holder_kind": "creator", "holder_ref": "dist-b", "quota": "5"}, follow=True)
    assert "only 4 unit(s)" in too_much.content.decode()


def test_owner_edits_category_fee_rates_in_the_seller_admin(alpha, shop):
    from inventory.models import Category

    owner = make_user(alpha, role=Role.OWNER)
    client = client_for(alpha, owner)
    with tenant_context(alpha):
        category = Category.objects.get(name="Beauty")
    page = client.post(f"/admin/inventory/category/{category.pk}/change/", {"name": "Beauty", "marketplace_fee_rate": "0.0600"}, follow=True)
    assert page.status_code == 200
    with tenant_context(alpha):
        category.refresh_from_db()
        assert str(category.marketplace_fee_rate) == "0.0600"
    assert client_for(alpha, make_user(alpha, role=Role.WAREHOUSE)).get("/admin/inventory/category/").status_code == 302
