"""A big wholesale import runs as Celery tasks through a real worker, with its progress page: the
request only takes the file; the worker checks it (every bad row and column named) and, once the
person applies it, imports every order or none, even when the database refuses one half way."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from accounts.models import User
from accounts.modules import Role
from imports.models import CsvImport
from orders.models import Order
from tests.inventory.factories import make_sku
from tests.orders.test_pipeline_worker import TABLES
from tests.support import client_for, committed_in, make_user, wait_for

ORDERS = 300  # two lines each: 600 rows
HEADER = "order_number,sku,quantity,unit_price,ship_name,ship_line1,ship_city,ship_state,ship_zip"


def _file(*, bad_row_of: int | None = None) -> SimpleUploadedFile:
    rows = [HEADER]
    for n in range(ORDERS):
        for sku in ("BULK-1", "BULK-2"):
            code = "NO-SUCH" if n == bad_row_of and sku == "BULK-2" else sku
            rows.append(f"BIG-{n:04d},{code},2,12.50,Buyer {n},{n} Main St,San Diego,CA,92101")
    return SimpleUploadedFile("orders.csv", ("\n".join(rows) + "\n").encode(), content_type="text/csv")


def _job_ends(client, job: CsvImport, statuses: set[str]) -> str:
    """Follow the job as its page does (polling with htmx) until it ends in one of `statuses`; the page's text."""
    def ended():
        job.refresh_from_db()
        return job.status in statuses
    wait_for(ended, f"import {job.pk} to end in {statuses}", timeout=120, every=0.5)
    return client.get(f"/orders/import/?job={job.pk}", HTTP_HX_REQUEST="true").content.decode()


@pytest.mark.worker
def test_a_big_import_is_checked_and_applied_by_the_worker_all_or_nothing(committed, worker, settings):
    settings.FANOUT_IMPORT_INLINE_ROWS = 100  # this (web) process decides: 600 rows go to the worker
    people = []
    with committed_in("alpha", truncate=f"{TABLES}, imports_csvimport") as alpha:
        try:
            _import_through_the_worker(alpha, people)
        finally:
            # The worker is still routing the imported orders: stopped (warm: its current task ends) before
            # their tables are emptied. Committed, the people go too, or the team pages would count them.
            worker["proc"].terminate()
            worker["proc"].communicate(timeout=60)
            with connection.cursor() as cursor:  # their audit rows (user.created) keep them: rows cannot be deleted, only truncated
                cursor.execute("TRUNCATE accounts_auditevent")
            User.objects.filter(pk__in=people).delete()


def _import_through_the_worker(alpha, people: list[int]) -> None:
    """The steps, in the seller's schema with real commits (the worker reads what the test wrote)."""
    make_sku("BULK-1")
    make_sku("BULK-2")
    ops_user, other_user = make_user(alpha, role=Role.OPERATIONS), make_user(alpha, role=Role.OPERATIONS)
    people += [ops_user.pk, other_user.pk]
    ops, other = client_for(alpha, ops_user), client_for(alpha, other_user)

    # 1. A file with a bad row: the request only takes it; the worker names the row and column.
    answer = ops.post("/orders/import/", {"file": _file(bad_row_of=217)})
    job = CsvImport.objects.get()
    assert answer.status_code == 302 and answer["Location"] == f"/orders/import/?job={job.pk}"
    assert job.status in (CsvImport.Status.CHECKING, CsvImport.Status.INVALID) and job.rows == 2 * ORDERS
    page = _job_ends(ops, job, {CsvImport.Status.INVALID})
    assert "1 problem to fix" in page and "unknown SKU NO-SUCH" in page and "<td>437</td>" in page  # row 437: order 217's second line
    assert "Apply import" not in page and not Order.objects.exists() and job.text == ""

    # 2. The good file: checked, previewed, applied by its uploader only.
    answer = ops.post("/orders/import/", {"file": _file()})
    job = CsvImport.objects.get()  # the earlier job went: one per person and page
    page = _job_ends(ops, job, {CsvImport.Status.READY})
    assert f"Ready: {ORDERS} orders" in page and "Apply import" in page and not Order.objects.exists()
    assert other.get(f"/orders/import/?job={job.pk}").status_code == 404  # someone else's import
    assert other.post("/orders/import/", {"apply": "1", "job": job.pk}).status_code == 404

    # The database refuses one order half way through the apply: nothing of the file stays.
    schema = connection.schema_name
    with connection.cursor() as cursor:
        cursor.execute(f"""CREATE FUNCTION "{schema}".refuse_big_0150() RETURNS trigger LANGUAGE plpgsql AS $$
                           BEGIN IF NEW.external_id = 'BIG-0150' THEN RAISE EXCEPTION 'refused for the test'; END IF; RETURN NEW; END $$""")
        cursor.execute(f'CREATE TRIGGER refuse_big_0150 BEFORE INSERT ON "{schema}".orders_order FOR EACH ROW EXECUTE FUNCTION "{schema}".refuse_big_0150()')
    try:
        assert ops.post("/orders/import/", {"apply": "1", "job": job.pk}).status_code == 302
        page = _job_ends(ops, job, {CsvImport.Status.FAILED})
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP TRIGGER refuse_big_0150 ON "{schema}".orders_order')
            cursor.execute(f'DROP FUNCTION "{schema}".refuse_big_0150()')
    assert "nothing was imported" in page and not Order.objects.exists()  # the 150 orders before it are gone too

    # Uploaded again, it is imported whole, and the page says so.
    ops.post("/orders/import/", {"file": _file()})
    job = CsvImport.objects.get()
    _job_ends(ops, job, {CsvImport.Status.READY})
    assert ops.post("/orders/import/", {"apply": "1", "job": job.pk})["Location"] == f"/orders/import/?job={job.pk}"
    page = _job_ends(ops, job, {CsvImport.Status.DONE})
    assert f"Imported {ORDERS} wholesale order(s); 0 already imported were skipped." in page
    assert Order.objects.filter(channel="wholesale").count() == ORDERS and job.text == ""
    assert sorted(Order.objects.get(external_id="BIG-0299").lines.values_list("sku__code", "quantity")) == [("BULK-1", 2), ("BULK-2", 2)]
    # Applying it again is refused (and would change nothing).
    again = ops.post("/orders/import/", {"apply": "1", "job": job.pk}, follow=True)
    assert "cannot be applied (again)" in again.content.decode() and Order.objects.count() == ORDERS
