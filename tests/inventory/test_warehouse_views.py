from django_tenants.utils import tenant_context

from accounts.modules import Role
from tests.inventory.factories import make_sku, receive
from tests.support import client_for, make_user
from warehouses.models import Warehouse


def test_warehouse_page_adds_with_zip_lookup_and_refuses_bad_input(alpha):
    client = client_for(alpha, make_user(alpha, role=Role.WAREHOUSE))
    assert "No warehouses yet" in client.get("/warehouses/").content.decode()
    added = client.post("/warehouses/", {"code": "la", "name": "Los Angeles", "zip_code": "90021", "storage_cost": "0.45"}, follow=True)
    html = added.content.decode()
    assert "Warehouse LA added in Los Angeles, CA." in html and "34.033" in html
    bad = client.post("/warehouses/", {"code": "XX", "name": "Nowhere", "zip_code": "00000", "storage_cost": "-1"}).content.decode()
    assert "unknown US ZIP code" in bad and "greater than or equal to 0" in bad
    dup = client.post("/warehouses/", {"code": "LA", "name": "Again", "zip_code": "90021", "storage_cost": "0"}).content.decode()
    assert "already exists" in dup
    with tenant_context(alpha):
        assert Warehouse.objects.count() == 1


def test_warehouse_with_stock_cannot_be_removed(alpha):
    client = client_for(alpha, make_user(alpha, role=Role.MANAGER))
    client.post("/warehouses/", {"code": "NJ", "name": "New Jersey", "zip_code": "07094", "storage_cost": "0.5"})
    with tenant_context(alpha):
        nj = Warehouse.objects.get(code="NJ")
        receive(make_sku("WHV-1"), nj, 4)
    refused = client.post(f"/warehouses/{nj.pk}/remove/", follow=True).content.decode()
    assert "still holds 4 unit(s)" in refused
    with tenant_context(alpha):
        assert Warehouse.objects.get(pk=nj.pk).is_active
