from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import tenant_context

from accounts.modules import Role
from inventory.models import SKU, Supplier
from tests.support import client_for, make_user

GOOD = (
    "code,title,product,category,weight_grams,default_unit_cost,cost_currency,safety_stock_units,safety_stock_percent,is_active,preferred_supplier\n"
    "CSV-1,Lip Tint Rose,Lip Tint,Lip,40,2.35,CNY,10,0,true,GZ\n"
    "CSV-2,Lip Tint Berry,Lip Tint,Lip,40,2.3500,,0,12.5,yes,\n"
)
BAD = (
    "code,title,product,category,weight_grams,default_unit_cost,is_active,preferred_supplier\n"
    "CSV-3,Ok row,P,Cat,10,1.00,true,\n"
    "CSV-3,Duplicate,P,Cat,10,1.00,true,\n"
    ",No code,P,Cat,ten,-1,maybe,Nobody\n"
    "CSV-5,Cost,P,Cat,10,1.23456,true,\n"
)


def _upload(client, text: str):
    return client.post("/inventory/import/", {"file": SimpleUploadedFile("skus.csv", text.encode(), content_type="text/csv")})


def test_csv_import_previews_then_applies_and_export_round_trips(alpha):
    with tenant_context(alpha):
        Supplier.objects.create(name="GZ")
    client = client_for(alpha, make_user(alpha, role=Role.WAREHOUSE))
    preview = _upload(client, GOOD).content.decode()
    assert "Ready: 2 new, 0 updated" in preview
    with tenant_context(alpha):
        assert not SKU.objects.filter(code__startswith="CSV-").exists()  # the preview saved nothing
    done = client.post("/inventory/import/", {"apply": "1"}, follow=True)
    assert "Imported: 2 new SKUs, 0 updated." in done.content.decode()
    with tenant_context(alpha):
        rose = SKU.objects.get(code="CSV-1")
        assert (rose.product.category.name, str(rose.default_unit_cost.amount), rose.preferred_supplier.name) == ("Lip", "2.3500", "GZ")
        assert (str(rose.default_unit_cost.currency), str(SKU.objects.get(code="CSV-2").default_unit_cost.currency)) == ("CNY", "USD")
    exported = client.get("/inventory/skus.csv")
    assert exported["Content-Type"].startswith("text/csv")
    body = exported.getvalue().decode()
    assert "CSV-2,Lip Tint Berry,Lip Tint,Lip,40,2.3500,USD,0,12.50,true," in body
    assert "Ready: 0 new, 2 updated" in _upload(client, body).content.decode()
    excel = client.get("/inventory/skus.csv?excel=1").getvalue()
    assert excel.startswith("\ufeff".encode()) and not body.startswith("\ufeff")  # a BOM only when asked for
    assert "Ready: 0 new, 2 updated" in _upload(client, excel.decode("utf-8")).content.decode()


def test_csv_import_names_every_bad_row_and_column_and_saves_nothing(alpha):
    client = client_for(alpha, make_user(alpha, role=Role.WAREHOUSE))
    html = _upload(client, BAD).content.decode()
    for row, column, reason in (
        (3, "code", "duplicate of row 2"),
        (4, "code", "required"),
        (4, "weight_grams", "must be a whole number"),
        (4, "default_unit_cost", "must be zero or more"),
        (4, "is_active", "use true or false"),
        (4, "preferred_supplier", "no supplier named"),
        (5, "default_unit_cost", "at most 4 decimal places"),
    ):
        assert f"<td>{row}</td><td><code>{column}</code></td><td>{reason}" in html, (row, column)
    assert "Apply import" not in html
    assert client.post("/inventory/import/", {"apply": "1"}, follow=True).redirect_chain[-1][0] == "/inventory/import/"
    with tenant_context(alpha):
        assert not SKU.objects.filter(code__startswith="CSV-").exists()
    missing = _upload(client, "code,title\nX,Y\n").content.decode()
    assert "required column missing" in missing
