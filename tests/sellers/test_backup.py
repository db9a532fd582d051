"""Backups: one seller's schema backed up, the seller deleted, restored — every order, ledger entry
and statement is back, the staff can sign in and see them; the whole database too."""
import secrets
from datetime import date, datetime
from datetime import timezone as dt_timezone
from decimal import Decimal

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django_tenants.utils import schema_context, tenant_context

from accounts.models import User
from commissions.models import CommissionLine, JournalEntry, Posting, Statement
from commissions.services.accrual import accrue, settlement_settings
from commissions.services.settlement import period_close
from orders.models import Order, OrderLine
from sellers.backup import BackupError, database_backup, database_restore, seller_backup, seller_restore
from sellers.models import Seller
from sellers.services import seller_signup
from tests import support
from tests.commissions.test_settlement import delivered_order
from tests.creators.factories import make_creator
from tests.inventory.factories import make_sku
from tests.support import PASSWORD, client_for

UTC = dt_timezone.utc


def _fingerprint() -> dict:
    """Everything a seller would miss, row by row."""
    return {
        "orders": sorted(Order.objects.values_list("id", "external_id", "status", "creator_id")),
        "lines": sorted((pk, str(price)) for pk, price in OrderLine.objects.values_list("id", "unit_price")),
        "entries": sorted(JournalEntry.objects.values_list("id", "key")),
        "postings": sorted((e, a, str(amt)) for e, a, amt in Posting.objects.values_list("entry_id", "account", "amount")),
        "commission_lines": sorted((pk, str(amount)) for pk, amount in CommissionLine.objects.values_list("id", "amount")),
        "statements": sorted((pk, c, str(closing), status) for pk, c, closing, status in
                             Statement.objects.values_list("id", "creator_id", "closing", "status")),
    }


@pytest.fixture
def seller_with_history(committed):
    subdomain = f"bk{secrets.token_hex(3)}"
    seller = seller_signup(company_name="Backup Bakery", subdomain=subdomain, owner_email=f"owner@{subdomain}.test", password=PASSWORD).seller
    try:
        with tenant_context(seller):
            settings = settlement_settings()
            settings.return_window_days, settings.minimum_payout = 30, Decimal("10.00")
            settings.save()
            sku = make_sku("BK-1")
            for n, handle in enumerate(("ana.bk", "bo.bk", "cy.bk")):
                creator = make_creator(handle, commission_rate_override=Decimal("0.10") + Decimal(n) / 100)
                for k in range(4):
                    delivered_order(creator, sku, f"BK-{n}-{k}", price=f"{100 + 7 * k}.{n}9", quantity=k + 1,
                                    delivered=datetime(2026, 9, 3 + k, 12, tzinfo=UTC))
            accrue(now=datetime(2026, 11, 20, tzinfo=UTC))
            period_close(cycle="monthly", day=date(2026, 10, 1), now=datetime(2026, 11, 2, tzinfo=UTC))
            before = _fingerprint()
        assert len(before["orders"]) == 12 and len(before["statements"]) == 3 and before["entries"] and before["postings"]
        yield seller, before
    finally:
        with schema_context("public"):
            for leftover in Seller.objects.filter(subdomain=subdomain):
                leftover.delete(force_drop=True)


def test_a_seller_deleted_is_restored_from_its_backup_with_every_order_entry_and_statement(seller_with_history, tmp_path):
    seller, before = seller_with_history
    backup = tmp_path / "seller.tar"
    call_command("backup", "--seller", seller.subdomain, "--output", str(backup))
    # Gone: the schema dropped, the seller and its domain deleted.
    with schema_context("public"):
        Seller.objects.get(pk=seller.pk).delete(force_drop=True)
        assert not Seller.objects.filter(subdomain=seller.subdomain).exists()
    assert client_for(seller).get("/login/").status_code == 404

    call_command("restore", str(backup))
    with schema_context("public"):
        restored = Seller.objects.get(subdomain=seller.subdomain)
    assert (restored.pk, restored.name, restored.schema_name, restored.created_at) == (seller.pk, "Backup Bakery", seller.schema_name, seller.created_at)
    assert restored.domains.get().domain == f"{seller.subdomain}.localhost"
    with tenant_context(restored):
        assert _fingerprint() == before
        owner = User.objects.get(email=f"owner@{seller.subdomain}.test")
        # New rows still get fresh ids (the sequences came back too).
        assert Order.objects.create(channel="manual", external_id="BK-after", currency="USD").pk > max(o[0] for o in before["orders"])
    # The owner signs in with their password and finds their orders and statements.
    client = client_for(restored)
    assert client.post("/login/", {"username": owner.email, "password": PASSWORD}).status_code == 302
    orders_page = client.get("/orders/").content.decode()
    assert "BK-2-3" in orders_page and "BK-0-0" in orders_page
    assert "ana.bk" in client.get("/commissions/statements/").content.decode()


def test_restore_with_replace_takes_a_seller_back_to_its_backup_and_refuses_without_it(seller_with_history, tmp_path):
    seller, before = seller_with_history
    backup = tmp_path / "seller.tar"
    seller_backup(seller.subdomain, backup)
    # A file that is no backup, or a seller that does not exist: refused, nothing touched.
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"not a backup at all")
    with pytest.raises(BackupError, match="not a Fanout seller backup"):
        seller_restore(junk, replace=True)
    with pytest.raises(CommandError, match="no seller with subdomain 'nobody'"):
        call_command("backup", "--seller", "nobody", "--output", str(tmp_path / "x.tar"))
    with tenant_context(seller):
        assert _fingerprint() == before

    with tenant_context(seller):
        Order.objects.filter(external_id="BK-1-1").update(status="cancelled")
        Order.objects.create(channel="manual", external_id="BK-mistake", currency="USD")
    with pytest.raises(CommandError, match="exists; restore with --replace"):
        call_command("restore", str(backup))
    with tenant_context(seller):
        assert Order.objects.filter(external_id="BK-mistake").exists()  # refused: nothing touched

    manifest = seller_restore(backup, replace=True)
    assert manifest["counts_after"] == manifest["counts"]
    with tenant_context(seller):
        assert _fingerprint() == before
        assert not Order.objects.filter(external_id="BK-mistake").exists()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_namespace WHERE nspname LIKE %s", [f"{seller.schema_name}_before_restore%"])
        assert cursor.fetchone()[0] == 0  # the old schema set aside is gone once the restore succeeded


def test_the_whole_database_is_restored_into_an_empty_one(seller_with_history, tmp_path):
    seller, before = seller_with_history
    dump = tmp_path / "all.dump"
    database_backup(dump)
    target = f"{connection.settings_dict['NAME']}_restored"
    admin_url = support.test_database_url().replace(f"/{connection.settings_dict['NAME']}", "/postgres")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{target}"')
        conn.execute(f'CREATE DATABASE "{target}"')
    try:
        database_restore(dump, dbname=target)
        with psycopg.connect(support.test_database_url().replace(f"/{connection.settings_dict['NAME']}", f"/{target}")) as conn:
            schema = seller.schema_name
            assert conn.execute("SELECT subdomain FROM public.sellers_seller WHERE schema_name = %s", [schema]).fetchone()[0] == seller.subdomain
            assert sorted(conn.execute(f'SELECT id, external_id FROM "{schema}".orders_order').fetchall()) == [(o[0], o[1]) for o in before["orders"]]
            assert sorted(conn.execute(f'SELECT id, key FROM "{schema}".commissions_journalentry').fetchall()) == before["entries"]
            assert conn.execute(f'SELECT count(*) FROM "{schema}".commissions_statement').fetchone()[0] == len(before["statements"])
            # Every seller of the platform came along.
            assert conn.execute("SELECT count(*) FROM public.sellers_seller").fetchone()[0] == Seller.objects.count()
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{target}"')


def _dump_sql(dump) -> str:
    """A pg_dump custom-format file as the SQL it would run (its data included)."""
    import subprocess

    from sellers.backup import pg_tool

    return subprocess.run([pg_tool("pg_restore"), "--file=-", str(dump)], capture_output=True, text=True, check=True).stdout


def _row_count(schema: str, table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{schema}"."{table}"')
        return cursor.fetchone()[0]


def test_backups_are_owner_only_and_hold_no_sessions_or_lockouts(seller_with_history, tmp_path):
    """A backup found on the server must not be readable by other accounts there, and must not
    sign anyone in: the Owner's live session and django-axes' lockout rows stay out of it."""
    import os
    import stat
    import tarfile

    seller, before = seller_with_history
    with tenant_context(seller):
        owner = User.objects.get(email=f"owner@{seller.subdomain}.test")
    owner_client = client_for(seller)
    assert owner_client.post("/login/", {"username": owner.email, "password": PASSWORD}).status_code == 302
    session_key = owner_client.cookies["sessionid"].value
    attacker = f"guess.{secrets.token_hex(4)}@nowhere.test"
    for _ in range(3):
        client_for(seller).post("/login/", {"username": attacker, "password": "wrong-wrong-wrong"})
    assert _row_count(seller.schema_name, "django_session") >= 1
    assert sum(_row_count(seller.schema_name, t) for t in ("axes_accessattempt", "axes_accessfailurelog", "axes_accesslog")) >= 1

    old_umask = os.umask(0o022)  # a usual umask: files 0644, folders 0755 unless we say otherwise
    try:
        backup = tmp_path / "new" / "folder" / "seller.tar"
        call_command("backup", "--seller", seller.subdomain, "--output", str(backup))
        whole = tmp_path / "whole.dump"
        whole.write_bytes(b"an older file, world-readable")
        whole.chmod(0o644)
        database_backup(whole)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert stat.S_IMODE(backup.parent.stat().st_mode) == 0o700 and stat.S_IMODE(backup.parent.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(whole.stat().st_mode) == 0o600

    with tarfile.open(backup) as tar:
        assert {m.name: m.mode for m in tar.getmembers()} == {"manifest.json": 0o600, "schema.dump": 0o600}
        tar.extract("schema.dump", tmp_path, filter="data")
    for dump in (tmp_path / "schema.dump", whole):
        sql = _dump_sql(dump)
        assert "BK-0-0" in sql  # the data is there...
        assert session_key not in sql and attacker not in sql  # ...but no session and no sign-in attempt

    # Restored, the seller has everything back except sessions: the Owner's old cookie opens nothing.
    assert owner_client.get("/orders/").status_code == 200
    seller_restore(backup, replace=True)
    with tenant_context(seller):
        assert _fingerprint() == before
    assert _row_count(seller.schema_name, "django_session") == 0
    assert _row_count(seller.schema_name, "axes_accessattempt") == 0
    stale = owner_client.get("/orders/")
    assert stale.status_code == 302 and "/login/" in stale["Location"]
    assert client_for(seller).post("/login/", {"username": owner.email, "password": PASSWORD}).status_code == 302
