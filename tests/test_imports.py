"""Every CSV import page (erp/csvimport.py) hands a big file to the worker instead of working on it
in the request, and its importer runs from the job row: checked, previewed and applied (here the
job's steps run in this process, as the worker runs them; tests/orders/test_import_worker.py runs
them through a real worker)."""
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import tenant_context

from accounts.modules import Role
from creators.models import Creator
from imports.models import CsvImport
from imports.services import csv_import_apply, csv_import_check
from tests.support import client_for, make_user

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


def test_a_checked_job_applies_every_row_once(alpha, settings):
    url = "/creators/import/"
    settings.FANOUT_IMPORT_INLINE_ROWS = ROWS - 1
    role, text = _pages(alpha)[url]
    client = client_for(alpha, user := make_user(alpha, role=role))
    client.post(url, {"file": SimpleUploadedFile("big.csv", text.encode(), content_type="text/csv")})
    with tenant_context(alpha):
        job = CsvImport.objects.get(created_by=user)
        csv_import_check(job_id=job.pk)
        before = Creator.objects.count()
    assert client.post(url, {"apply": "1", "job": job.pk})["Location"] == f"{url}?job={job.pk}"
    with tenant_context(alpha):
        assert csv_import_apply(job_id=job.pk) == CsvImport.Status.DONE
        assert csv_import_apply(job_id=job.pk) == "not waiting to be applied"  # delivered twice: runs once
        after = Creator.objects.count()
    assert after - before == ROWS
    done = client.get(f"{url}?job={job.pk}").content.decode()
    assert f"Imported: {ROWS} new" in done
