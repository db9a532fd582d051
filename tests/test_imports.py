"""Every CSV import page (erp/csvimport.py) hands a big file to the worker instead of working on it
in the request, and its importer runs from the job row: checked, previewed and applied (here the
job's steps run in this process, as the worker runs them; tests/orders/test_import_worker.py runs
them through a real worker). The pages are found, not only listed: a page that reads an uploaded
file anywhere but in that one flow, or reaches the flow without being tried here, fails the class."""
import ast
import inspect
import textwrap

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django_tenants.utils import tenant_context

from accounts.modules import Role
from creators.models import Creator
from imports.models import CsvImport
from imports.services import csv_import_apply, csv_import_check
from inventory.models import SKU, ExchangeRate
from tests.support import ROOT, client_for, make_user

ROWS = 30


def _pages(alpha) -> dict[str, tuple[str, str]]:
    """page URL -> (role, a file of ROWS data rows)."""
    from warehouses.services import warehouse_create

    with tenant_context(alpha):
        warehouse = warehouse_create(code="IMP", name="Import WH", zip_code="90021")
    return {
        "/orders/import/": (Role.OPERATIONS, "order_number,sku,quantity,ship_name,ship_line1,ship_zip\n"
                            + "".join(f"IMP-{n},NO-SKU,1,Ana,1 Main St,92101\n" for n in range(ROWS))),
        "/creators/import/": (Role.CREATOR_MANAGER, "handle,display_name\n" + "".join(f"imp.creator{n},Creator {n}\n" for n in range(ROWS))),
        "/creators/content-stats/import/": (Role.CREATOR_MANAGER, "handle,month,videos,views,clicks\n"
                                            + "".join(f"nobody{n},2026-01,1,2,3\n" for n in range(ROWS))),
        f"/warehouses/{warehouse.pk}/queue/tracking/": (Role.WAREHOUSE, "shipment,carrier,tracking_number\n"
                                                         + "".join(f"S{9000000 + n},UPS,1Z{n}\n" for n in range(ROWS))),
        "/inventory/import/": (Role.WAREHOUSE, "code,title,product,category\n" + "".join(f"IMP-{n},Item {n},Serum,Beauty\n" for n in range(ROWS))),
        "/inventory/exchange-rates/": (Role.FINANCE, "date,currency,rate\n" + "".join(f"2025-01-{n % 28 + 1:02d},{('CNY', 'EUR')[n // 28]},7.{n:02d}\n"
                                                                                       for n in range(ROWS))),
    }


def test_every_import_page_hands_a_big_file_to_the_worker(alpha, settings):
    settings.FANOUT_IMPORT_INLINE_ROWS = ROWS - 1
    for url, (role, text) in _pages(alpha).items():
        user = make_user(alpha, role=role)
        client = client_for(alpha, user)
        answer = client.post(url, {"file": SimpleUploadedFile("big.csv", text.encode(), content_type="text/csv")})
        with tenant_context(alpha):
            job = CsvImport.objects.get(created_by=user)
        assert answer.status_code == 302 and answer["Location"] == f"{url}?job={job.pk}", url
        assert (job.status, job.rows) == (CsvImport.Status.CHECKING, ROWS)
        waiting = client.get(answer["Location"]).content.decode()
        assert "Checking the file" in waiting and "Waiting for a worker" in waiting and 'hx-trigger="every 1s"' in waiting
        with tenant_context(alpha):
            csv_import_check(job_id=job.pk)
            job.refresh_from_db()
        checked = client.get(answer["Location"]).content.decode()
        if job.status == CsvImport.Status.READY:
            assert "Ready:" in checked and "Apply import" in checked, url
        else:
            assert job.status == CsvImport.Status.INVALID and "problems to fix" in checked and "Apply import" not in checked, url
        # Small files stay in the request, as before.
        settings.FANOUT_IMPORT_INLINE_ROWS = 10_000
        inline = client.post(url, {"file": SimpleUploadedFile("big.csv", text.encode(), content_type="text/csv")})
        assert inline.status_code == 200 and ("Ready:" in inline.content.decode() or "problems to fix" in inline.content.decode()), url
        settings.FANOUT_IMPORT_INLINE_ROWS = ROWS - 1


@pytest.mark.parametrize(("url", "model", "done_text"), [("/creators/import/", Creator, f"Imported: {ROWS} new"),
                                                        ("/inventory/import/", SKU, f"Imported: {ROWS} new SKUs"),
                                                        ("/inventory/exchange-rates/", ExchangeRate, f"Imported {ROWS} exchange rates.")])
def test_a_checked_job_applies_every_row_once(alpha, settings, url, model, done_text):
    settings.FANOUT_IMPORT_INLINE_ROWS = ROWS - 1
    role, text = _pages(alpha)[url]
    client = client_for(alpha, user := make_user(alpha, role=role))
    client.post(url, {"file": SimpleUploadedFile("big.csv", text.encode(), content_type="text/csv")})
    with tenant_context(alpha):
        job = CsvImport.objects.get(created_by=user)
        csv_import_check(job_id=job.pk)
        before = model.objects.count()
    assert client.post(url, {"apply": "1", "job": job.pk})["Location"] == f"{url}?job={job.pk}"
    with tenant_context(alpha):
        assert csv_import_apply(job_id=job.pk) == CsvImport.Status.DONE
        assert csv_import_apply(job_id=job.pk) == "not waiting to be applied"  # delivered twice: runs once
        after = model.objects.count()
    assert after - before == ROWS
    done = client.get(f"{url}?job={job.pk}").content.decode()
    assert done_text in done


def test_a_file_uploaded_from_a_job_page_is_a_new_upload(alpha, settings):
    """The job page keeps the upload form, which posts to the page's address (…?job=<id>): a file sent
    from there after the check named its problems is a new upload, not the old job shown again."""
    settings.FANOUT_IMPORT_INLINE_ROWS = ROWS - 1
    url = "/inventory/exchange-rates/"
    client = client_for(alpha, user := make_user(alpha, role=Role.FINANCE))
    big_bad = "date,currency,rate\n" + "".join(f"2025-02-{n % 28 + 1:02d},{('CNY', 'EUR')[n // 28]},x\n" for n in range(ROWS))
    client.post(url, {"file": SimpleUploadedFile("big.csv", big_bad.encode(), content_type="text/csv")})
    with tenant_context(alpha):
        job = CsvImport.objects.get(created_by=user)
        assert csv_import_check(job_id=job.pk) == CsvImport.Status.INVALID
    fixed = "date,currency,rate\n2025-02-01,CNY,7.10\n2025-02-01,EUR,0.92\n"
    preview = client.post(f"{url}?job={job.pk}", {"file": SimpleUploadedFile("fixed.csv", fixed.encode(), content_type="text/csv")})
    assert preview.status_code == 200 and "Ready: 2 rates" in preview.content.decode()
    done = client.post(f"{url}?job={job.pk}", {"apply": "1"}, follow=True)  # the preview's Apply posts to the same address
    assert "Imported 2 exchange rates." in done.content.decode()
    with tenant_context(alpha):
        assert ExchangeRate.objects.filter(rate_date="2025-02-01").count() == 2

URLCONF = "erp.urls_tenants"
APP_DIRS = ("accounts", "bi", "commissions", "connectors", "creators", "erp", "imports", "inventory", "orders", "portal", "sellers", "warehouses")
# Where an uploaded file may be read: the one import flow, and the helper it reads the file with.
UPLOAD_READERS = {"erp/csvimport.py", "erp/csvutil.py"}
# Uploads read elsewhere, each with the reason it is not a CSV import page of this class.
NOT_IMPORT_PAGES = {
    "connectors/views.py": "a shop's listing mapping (one row per SKU, no preview step), pasted or uploaded on the channel's page",
    "connectors/forms.py": "the listing mapping's form (see connectors/views.py)",
}


def test_uploaded_files_are_read_only_by_the_import_flow():
    """A view that reads an upload itself (request.FILES, erp.csvutil.upload_text, a form's FileField)
    runs its import in the request, whatever its size: it must go through erp/csvimport.py."""
    offenders = []
    for folder in APP_DIRS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = str(path.relative_to(ROOT))
            if rel in UPLOAD_READERS or rel in NOT_IMPORT_PAGES or "/migrations/" in rel:
                continue
            for node in ast.walk(ast.parse(path.read_text(), rel)):
                if isinstance(node, ast.Attribute) and node.attr in ("FILES", "FileField"):
                    offenders.append(f"{rel}:{node.lineno} .{node.attr}")
                elif isinstance(node, ast.Name) and node.id in ("upload_text", "FileField"):
                    offenders.append(f"{rel}:{node.lineno} {node.id}")
    assert not offenders, offenders


def _views(patterns, prefix=()):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _views(p.url_patterns, (*prefix, p.namespace) if p.namespace else prefix)
        elif isinstance(p, URLPattern) and p.name:
            yield ":".join([*prefix, p.name]), p.callback


def _called_names(function) -> set[str]:
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    return {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}


def _reaches_the_import_flow(view) -> bool:
    """The view calls csv_import_view, itself or through a function of its module (creators' _csv_import)."""
    view = inspect.unwrap(view)
    called = _called_names(view)
    module = inspect.getmodule(view)
    helpers = [getattr(module, name) for name in called if inspect.isfunction(getattr(module, name, None))]
    return "csv_import_view" in called or any("csv_import_view" in _called_names(helper) for helper in helpers
                                              if inspect.getmodule(helper) is module)


def test_the_class_test_tries_every_import_page(alpha):
    pages = {resolve(url, urlconf=URLCONF).view_name for url in _pages(alpha)}
    found = {name for name, view in _views(get_resolver(URLCONF).url_patterns) if _reaches_the_import_flow(view)}
    assert found == pages
    assert {"inventory:sku_import", "inventory:fx"} <= pages
