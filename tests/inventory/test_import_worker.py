"""The SKU catalogue and exchange-rate imports, big, through a real worker with their progress
pages: the request only takes the file; the worker checks it (every bad row and column named,
including list prices changed by a role that may not set prices) and, once the uploader applies
it, saves every row or none, auditing each price and rate with the uploader as its actor."""
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from accounts.models import AuditEvent, User
from accounts.modules import Role
from imports.models import CsvImport
from inventory.models import SKU, ExchangeRate
from tests.inventory.factories import make_sku
from tests.orders.test_pipeline_worker import TABLES
from tests.support import client_for, committed_in, make_user, wait_for

SKUS = 400
RATES = 400
SKU_HEADER = "code,title,product,category,weight_grams,list_price"
REFUSED_PRICE = "only Owner, Manager or Finance may change list prices; leave the column as exported"


def _upload(name: str, lines: list[str]) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, ("\n".join(lines) + "\n").encode(), content_type="text/csv")


def _sku_file(existing: SKU, *, prices: dict[int, str] = (), bad_weight_at: int | None = None) -> SimpleUploadedFile:
    """PRICE-1 as exported (list price 6.84) on row 2, then new SKUs BIG-0001… without a price;
    `prices` gives rows (by index, 0 = PRICE-1) a list price."""
    prices = dict(prices)
    lines = [SKU_HEADER, f"PRICE-1,Lipstick,{existing.product.title},{existing.product.category.name},40,{prices.get(0, '6.84')}"]
    for n in range(1, SKUS):
        weight = "ten" if n == bad_weight_at else "40"
        lines.append(f"BIG-{n:04d},Item {n},Serum,Beauty,{weight},{prices.get(n, '')}")
    return _upload("skus.csv", lines)


def _rates_file(*, bad_rate_at: int | None = None) -> SimpleUploadedFile:
    lines = ["date,currency,rate"]
    for n in range(RATES):
        rate = "abc" if n == bad_rate_at else ("7.1000" if n % 2 == 0 else "0.9200")
        lines.append(f"{date(2024, 1, 1) + timedelta(days=n // 2)},{('CNY', 'EUR')[n % 2]},{rate}")
    return _upload("rates.csv", lines)


def _job_ends(client, url: str, user, statuses: set[str]) -> tuple[CsvImport, str]:
    """The uploader's job on `url`, followed as its page does (htmx polls) until it ends in one of `statuses`; and the page."""
    def ended():
        job = CsvImport.objects.filter(created_by=user).first()
        return job if job and job.status in statuses else None
    job = wait_for(ended, f"the import on {url} to end in {statuses}", timeout=120, every=0.5)
    return job, client.get(f"{url}?job={job.pk}", HTTP_HX_REQUEST="true").content.decode()


@contextmanager
def _refused_insert(table: str, column: str, value: str):
    """The database refuses the row whose `column` is `value`, half way through an import."""
    schema = connection.schema_name
    with connection.cursor() as cursor:
        cursor.execute(f"""CREATE FUNCTION "{schema}".refuse_for_test() RETURNS trigger LANGUAGE plpgsql AS $$
                           BEGIN IF NEW.{column}::text = '{value}' THEN RAISE EXCEPTION 'refused for the test'; END IF; RETURN NEW; END $$""")
        cursor.execute(f'CREATE TRIGGER refuse_for_test BEFORE INSERT ON "{schema}".{table} FOR EACH ROW EXECUTE FUNCTION "{schema}".refuse_for_test()')
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP TRIGGER refuse_for_test ON "{schema}".{table}')
            cursor.execute(f'DROP FUNCTION "{schema}".refuse_for_test()')


@contextmanager
def _committed_with_worker(worker, *, truncate: str):
    """The seller's schema with real commits (the worker reads what the test writes); the people made go after."""
    people: list[int] = []
    with committed_in("alpha", truncate=f"{truncate}, imports_csvimport") as alpha:
        try:
            yield alpha, people
        finally:
            # Stopped (warm: its current task ends) before the tables it may still use are emptied. Audit
            # rows cannot be deleted, only truncated, and they keep their actors: they go first.
            worker["proc"].terminate()
            worker["proc"].communicate(timeout=60)
            with connection.cursor() as cursor:
                cursor.execute("TRUNCATE accounts_auditevent, imports_csvimport, inventory_exchangerate")
            User.objects.filter(pk__in=people).delete()


def _person(alpha, people: list[int], role: str):
    user = make_user(alpha, role=role)
    people.append(user.pk)
    return user, client_for(alpha, user)


@pytest.mark.worker
def test_a_big_sku_file_is_checked_and_applied_by_the_worker_all_or_nothing(committed, worker, settings):
    settings.FANOUT_IMPORT_INLINE_ROWS = 100  # this (web) process decides: 400 rows go to the worker
    url = "/inventory/import/"
    with _committed_with_worker(worker, truncate=TABLES) as (alpha, people):
        existing = make_sku("PRICE-1")
        SKU.objects.filter(pk=existing.pk).update(list_price=Decimal("6.84"), list_price_currency="USD")
        manager, manager_client = _person(alpha, people, Role.MANAGER)
        new_prices = {0: "0.01", 250: "1.00"}  # PRICE-1 undercut (row 2), a new SKU given a price (row 252)

        def nothing_imported():
            price = SKU.objects.get(code="PRICE-1").list_price.amount
            return not SKU.objects.filter(code__startswith="BIG-").exists() and price == Decimal("6.84")

        # 1. A bad row: the request only takes the file; the worker names the row and column.
        answer = manager_client.post(url, {"file": _sku_file(existing, bad_weight_at=300)})
        job = CsvImport.objects.get(created_by=manager)
        assert answer.status_code == 302 and answer["Location"] == f"{url}?job={job.pk}" and job.rows == SKUS
        job, page = _job_ends(manager_client, url, manager, {CsvImport.Status.INVALID})
        assert "1 problem to fix" in page and "<td>302</td><td><code>weight_grams</code></td><td>must be a whole number" in page
        assert "Apply import" not in page and nothing_imported()

        # 2. Warehouse and Operations import SKUs but may not set prices: the rows that would are named.
        for role in (Role.WAREHOUSE, Role.OPERATIONS):
            staff, staff_client = _person(alpha, people, role)
            assert staff_client.post(url, {"file": _sku_file(existing, prices=new_prices)}).status_code == 302
            job, page = _job_ends(staff_client, url, staff, {CsvImport.Status.INVALID})
            assert "2 problems to fix" in page, role
            for row in (2, 252):
                assert f"<td>{row}</td><td><code>list_price</code></td><td>{REFUSED_PRICE}" in page, (role, row)
            assert "Apply import" not in page and nothing_imported()
            assert staff_client.post(url, {"apply": "1", "job": job.pk}, follow=True).status_code == 200 and nothing_imported()

        # 3. A Manager may: checked and previewed, seen and applied by its uploader only.
        manager_client.post(url, {"file": _sku_file(existing, prices=new_prices)})
        job, page = _job_ends(manager_client, url, manager, {CsvImport.Status.READY})
        assert f"Ready: {SKUS - 1} new, 1 updated" in page and "Apply import" in page and nothing_imported()
        other, other_client = _person(alpha, people, Role.MANAGER)
        assert other_client.get(f"{url}?job={job.pk}").status_code == 404
        assert other_client.post(url, {"apply": "1", "job": job.pk}).status_code == 404

        # The database refuses one SKU half way through the apply: nothing of the file stays.
        with _refused_insert("inventory_sku", "code", "BIG-0200"):
            assert manager_client.post(url, {"apply": "1", "job": job.pk})["Location"] == f"{url}?job={job.pk}"
            job, page = _job_ends(manager_client, url, manager, {CsvImport.Status.FAILED})
        assert "nothing was imported" in page and nothing_imported() and not AuditEvent.objects.filter(verb="sku.list_price_changed").exists()

        # 4. Checked as a Manager, applied after the uploader became Warehouse: the apply checks again and refuses.
        demoted, demoted_client = _person(alpha, people, Role.MANAGER)
        demoted_client.post(url, {"file": _sku_file(existing, prices=new_prices)})
        job, _page = _job_ends(demoted_client, url, demoted, {CsvImport.Status.READY})
        User.objects.filter(pk=demoted.pk).update(role=Role.WAREHOUSE)
        demoted_client.post(url, {"apply": "1", "job": job.pk})
        job, page = _job_ends(demoted_client, url, demoted, {CsvImport.Status.FAILED})
        assert "row 2, list_price: only Owner, Manager or Finance may change list prices" in page and nothing_imported()

        # 5. Uploaded again by the Manager: imported whole, each price change audited with the uploader.
        manager_client.post(url, {"file": _sku_file(existing, prices=new_prices)})
        job, _page = _job_ends(manager_client, url, manager, {CsvImport.Status.READY})
        manager_client.post(url, {"apply": "1", "job": job.pk})
        job, page = _job_ends(manager_client, url, manager, {CsvImport.Status.DONE})
        assert f"Imported: {SKUS - 1} new SKUs, 1 updated." in page and job.text == ""
        assert SKU.objects.filter(code__startswith="BIG-").count() == SKUS - 1
        assert SKU.objects.get(code="PRICE-1").list_price.amount == Decimal("0.01")
        assert SKU.objects.get(code="BIG-0250").list_price.amount == Decimal("1.00")
        audited = AuditEvent.objects.filter(verb="sku.list_price_changed")
        assert sorted(e.data["sku"] for e in audited) == ["BIG-0250", "PRICE-1"] and {e.actor_id for e in audited} == {manager.pk}


@pytest.mark.worker
def test_a_big_rates_file_is_checked_and_applied_by_the_worker_all_or_nothing(committed, worker, settings):
    settings.FANOUT_IMPORT_INLINE_ROWS = 100
    url = "/inventory/exchange-rates/"
    with _committed_with_worker(worker, truncate="inventory_exchangerate") as (alpha, people):
        finance, finance_client = _person(alpha, people, Role.FINANCE)

        # 1. A bad row: named with its column; nothing saved.
        answer = finance_client.post(url, {"action": "preview", "file": _rates_file(bad_rate_at=300)})
        job = CsvImport.objects.get(created_by=finance)
        assert answer.status_code == 302 and answer["Location"] == f"{url}?job={job.pk}" and job.rows == RATES
        job, page = _job_ends(finance_client, url, finance, {CsvImport.Status.INVALID})
        assert "1 problem to fix" in page and "<td>302</td><td><code>rate</code></td><td>must be a number such as 7.10" in page
        assert "Apply import" not in page and not ExchangeRate.objects.exists()

        # 2. The good file: checked and previewed, for its uploader only.
        finance_client.post(url, {"action": "preview", "file": _rates_file()})
        job, page = _job_ends(finance_client, url, finance, {CsvImport.Status.READY})
        assert f"Ready: {RATES} rates" in page and "Apply import" in page and not ExchangeRate.objects.exists()
        other, other_client = _person(alpha, people, Role.FINANCE)
        assert other_client.get(f"{url}?job={job.pk}").status_code == 404
        assert other_client.post(url, {"apply": "1", "job": job.pk}).status_code == 404
        # Warehouse and Operations see the rates but can neither upload nor apply nor follow a job.
        for role in (Role.WAREHOUSE, Role.OPERATIONS):
            staff, staff_client = _person(alpha, people, role)
            assert staff_client.post(url, {"action": "preview", "file": _rates_file()}).status_code == 403, role
            assert staff_client.post(url, {"apply": "1", "job": job.pk}).status_code == 403, role
            assert staff_client.get(f"{url}?job={job.pk}").status_code == 404, role
            assert not CsvImport.objects.filter(created_by=staff).exists()

        # The database refuses one rate half way through the apply: nothing of the file stays.
        with _refused_insert("inventory_exchangerate", "rate_date", "2024-04-10"):
            assert finance_client.post(url, {"apply": "1", "job": job.pk})["Location"] == f"{url}?job={job.pk}"
            job, page = _job_ends(finance_client, url, finance, {CsvImport.Status.FAILED})
        assert "nothing was imported" in page and not ExchangeRate.objects.exists() and not AuditEvent.objects.filter(verb="exchange_rate.set").exists()

        # 3. Uploaded again: imported whole, each rate audited with the uploader.
        finance_client.post(url, {"action": "preview", "file": _rates_file()})
        job, _page = _job_ends(finance_client, url, finance, {CsvImport.Status.READY})
        finance_client.post(url, {"apply": "1", "job": job.pk})
        job, page = _job_ends(finance_client, url, finance, {CsvImport.Status.DONE})
        assert f"Imported {RATES} exchange rates." in page and job.text == ""
        assert ExchangeRate.objects.filter(source="csv", created_by=finance).count() == RATES
        assert ExchangeRate.objects.get(currency="EUR", rate_date=date(2024, 1, 1)).rate == Decimal("0.92")
        audited = AuditEvent.objects.filter(verb="exchange_rate.set")
        assert audited.count() == RATES and {e.actor_id for e in audited} == {finance.pk}
