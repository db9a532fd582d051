"""Statements as Finance works them: disputes resolved by adjustment and re-issue, bad requests
refused with nothing changed, the PDF read back, payout batch CSV, the pages, and two period
closes at the same moment making one set of statements."""
import csv
import io
import threading
from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal

import pytest
from django.db import connection
from django_tenants.utils import tenant_context
from pypdf import PdfReader

from accounts.modules import Role
from commissions.exceptions import SettlementError
from commissions.models import JournalEntry, SettlementPeriod, Statement, StatementStatus
from commissions.services.accrual import accrue, settlement_settings
from commissions.services.checks import ledger_problems
from commissions.services.ledger import creator_balance
from commissions.services.settlement import period_close
from commissions.services.statements import statement_approve, statement_confirm, statement_dispute, statement_pay
from tests.commissions.test_settlement import delivered_order
from tests.creators.factories import make_creator
from tests.inventory.factories import make_sku
from tests.support import client_for, committed_in, make_user

D = Decimal
UTC = dt_timezone.utc
NOW = datetime(2026, 11, 20, tzinfo=UTC)


@pytest.fixture
def october(alpha):
    """Two creators with September deliveries, October closed: Ana is owed 120.00, Bo 40.00 (under the minimum)."""
    with tenant_context(alpha):
        sku = make_sku("ST-1")
        ana = make_creator("ana.statement", commission_rate_override=D("0.20"), display_name="安娜 Ana", email="ana@example.com")
        bo = make_creator("bo.statement", commission_rate_override=D("0.10"))
        delivered_order(ana, sku, "S-1", price="250.00")
        delivered_order(ana, sku, "S-2", price="350.00", quantity=1)
        delivered_order(bo, sku, "S-3", price="400.00")
        accrue(now=NOW)
        period = period_close(cycle="monthly", day=date(2026, 10, 1), now=NOW)
        yield {"seller": alpha, "period": period, "ana": Statement.objects.get(creator=ana), "bo": Statement.objects.get(creator=bo),
               "finance": client_for(alpha, make_user(alpha, role=Role.FINANCE))}


def _unchanged(statement):
    before = Statement.objects.values().get(pk=statement.pk)
    entries = JournalEntry.objects.count()
    return lambda: Statement.objects.values().get(pk=statement.pk) == before and JournalEntry.objects.count() == entries


def test_a_dispute_is_resolved_with_an_adjustment_and_the_statement_issued_again(october):
    ana = october["ana"]
    assert (ana.closing, ana.payout_due) == (D("120.00"), D("120.00"))
    with pytest.raises(SettlementError, match="needs the creator's comment"):
        statement_dispute(statement_id=ana.pk, comment="  ")
    statement_dispute(statement_id=ana.pk, comment="Order S-9 is missing: 25.00 more.")
    with pytest.raises(SettlementError, match="must confirm"):
        statement_approve(statement_id=ana.pk)
    finance = october["finance"]
    page = finance.get("/commissions/disputes/").content.decode()
    assert ana.number in page and "Order S-9 is missing" in page
    # A bad amount is refused and nothing changes.
    unchanged = _unchanged(ana)
    response = finance.post(f"/commissions/statements/{ana.pk}/resolve/", {"amount": "12.345", "note": "x"}, follow=True)
    assert "is not an amount in cents" in response.content.decode() and unchanged()
    response = finance.post(f"/commissions/statements/{ana.pk}/resolve/", {"amount": "25.00", "note": "S-9 added by hand."}, follow=True)
    assert "issued again" in response.content.decode()
    ana.refresh_from_db()
    assert (ana.status, ana.revision, ana.adjustments_total, ana.closing, ana.payout_due) == (
        StatementStatus.ISSUED, 2, D("25.00"), D("145.00"), D("145.00"))
    assert creator_balance(ana.creator_id, "USD") == D("145.00")
    assert [e.status for e in ana.events.all()] == ["issued", "disputed", "issued"]
    assert ledger_problems() == []


def test_paid_statements_cannot_be_disputed_and_unconfirmed_ones_cannot_be_paid(october):
    ana, bo, finance = october["ana"], october["bo"], october["finance"]
    unchanged = _unchanged(ana)
    response = finance.post(f"/commissions/statements/{ana.pk}/pay/", {"reference": "PP-1"}, follow=True)
    assert "only a confirmed and approved statement can be paid" in response.content.decode() and unchanged()
    # Paying through a batch is refused the same way.
    response = finance.post("/commissions/payouts/", {"statement": [ana.pk]}, follow=True)
    assert "only a confirmed and approved statement can be paid" in response.content.decode() and unchanged()
    statement_confirm(statement_id=ana.pk)
    statement_approve(statement_id=ana.pk)
    statement_confirm(statement_id=bo.pk)
    statement_approve(statement_id=bo.pk)
    with pytest.raises(SettlementError, match="has nothing to pay"):  # 40.00 is under the minimum: carried forward
        statement_pay(statement_id=bo.pk, reference="X")
    response = finance.post("/commissions/payouts/", {"statement": [ana.pk]})
    batch_url = response["Location"]
    rows = list(csv.reader(io.StringIO(finance.get(batch_url + "csv/").getvalue().decode())))
    assert rows[0][:6] == ["Batch", "Statement", "Creator", "Name", "Email", "Amount"]
    assert rows[1][1:7] == [ana.number, "ana.statement", "安娜 Ana", "ana@example.com", "120.00", "USD"]
    assert finance.post(batch_url, {"reference": ""}, follow=True).content.decode().count("Enter the payout reference") == 1
    finance.post(batch_url, {"reference": "PAYPAL-7781"})
    ana.refresh_from_db()
    assert ana.status == StatementStatus.PAID and ana.payout_reference == "PAYPAL-7781"
    unchanged = _unchanged(ana)
    response = finance.post(f"/commissions/statements/{ana.pk}/dispute/", {"comment": "Too late"}, follow=True)
    assert "can no longer be disputed" in response.content.decode() and unchanged()
    response = finance.post(batch_url, {"reference": "PAYPAL-again"}, follow=True)
    assert "was already paid" in response.content.decode() and unchanged()
    assert ledger_problems() == []


def test_the_statement_pdf_carries_the_right_totals(october):
    ana, finance = october["ana"], october["finance"]
    response = finance.get(f"/commissions/statements/{ana.pk}/pdf/")
    assert response["Content-Type"] == "application/pdf"
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages).replace("\n", " ")
    assert ana.number in text and "@ana.statement" in text
    assert "120.00 USD" in text and "2 commission lines" in text
    assert "S-1" in text and "50.00" in text and "S-2" in text and "70.00" in text  # 20% of 250.00 and of 350.00


def test_finance_pages_list_lines_periods_statements_and_the_liability(october):
    finance = october["finance"]
    page = finance.get("/commissions/").content.decode()
    assert "160.00 USD" in page  # Ana 120 + Bo 40, payable, not paid
    lines = finance.get("/commissions/lines/?q=ana.statement").content.decode()
    assert "S-1" in lines and "S-3" not in lines and "50.00 USD" in lines
    export = finance.get("/commissions/lines/export/?q=bo.statement")
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert len(rows) == 2 and rows[1][1] == "bo.statement" and rows[1][9] == "40.00"
    statements = finance.get(f"/commissions/statements/?period={october['period'].pk}").content.decode()
    assert october["ana"].number in statements and october["bo"].number in statements
    detail = finance.get(f"/commissions/statements/{october['bo'].pk}/").content.decode()
    assert "carried forward" in detail
    periods = finance.get("/commissions/periods/").content.decode()
    assert "Settlement periods" in periods
    progress = finance.get(f"/commissions/periods/{october['period'].pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert "2 statements issued." in progress and "every 1s" not in progress
    ops = client_for(october["seller"], make_user(october["seller"], role=Role.OPERATIONS))
    assert ops.get("/commissions/statements/").status_code == 403


COMMISSION_TABLES = ("commissions_statementevent, commissions_commissionline, commissions_adjustment, commissions_posting, "
                     "commissions_journalentry, commissions_statement, commissions_payoutbatch, commissions_settlementperiod, "
                     "orders_orderline, orders_order, creators_creator, inventory_sku, inventory_product, inventory_category")


def test_two_closes_of_the_same_period_at_once_make_one_set_of_statements(committed):
    with committed_in("alpha", truncate=COMMISSION_TABLES) as alpha:
        settlement_settings()
        sku = make_sku("CC-1")
        creators = [make_creator(f"cc.{i}", commission_rate_override=D("0.10")) for i in range(30)]
        for i, creator in enumerate(creators):
            for j in range(3):
                delivered_order(creator, sku, f"CC-{i}-{j}", price=f"{100 + i}.00", delivered=datetime(2026, 9, 3, tzinfo=UTC) + timedelta(hours=j))
        accrue(now=NOW)
        results, errors = [], []
        barrier = threading.Barrier(2)

        def close():
            connection.set_tenant(alpha)
            try:
                barrier.wait()
                results.append(period_close(cycle="monthly", day=date(2026, 10, 15), now=NOW).statements)
            except BaseException as exc:  # surfaced below
                errors.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=close) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert results == [30, 30]
        assert Statement.objects.count() == 30 and SettlementPeriod.objects.get().status == SettlementPeriod.Status.CLOSED
        assert sum(s.lines_total for s in Statement.objects.all()) == sum(D(100 + i) * 3 for i in range(30)) / 10
        assert ledger_problems() == []
