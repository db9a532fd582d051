"""Accrual, clawback, statements and payouts: a creator's money from delivery to payout and back,
checked against the ledger's invariants after every step."""
from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal

import pytest
from django_tenants.utils import tenant_context
from djmoney.money import Money

from commissions.exceptions import SettlementError
from commissions.models import CommissionLine, JournalEntry, SettlementPeriod, Statement, StatementStatus
from commissions.services.accrual import accrue, clawback_order, settlement_settings
from commissions.services.checks import ledger_problems
from commissions.services.ledger import creator_balance
from commissions.services.settlement import period_close
from commissions.services.statements import (
    payout_batch_create,
    payout_batch_paid,
    statement_approve,
    statement_confirm,
    statement_pay,
)
from orders.models import Order, OrderLine, OrderStatus
from tests.creators.factories import make_creator
from tests.inventory.factories import make_sku

D = Decimal
UTC = dt_timezone.utc


def delivered_order(creator, sku, external_id, *, price="100.00", quantity=1, delivered=datetime(2026, 9, 5, 18, tzinfo=UTC),
                    platform=False, platform_rate=None):
    order = Order.objects.create(channel="tiktok_shop" if platform else "manual", external_id=external_id, creator=creator,
                                 placed_at=delivered - timedelta(days=4), delivered_at=delivered, status=OrderStatus.DELIVERED,
                                 platform_pays_commission=platform, currency="USD")
    OrderLine.objects.create(order=order, sku=sku, quantity=quantity, unit_price=Money(D(price), "USD"), commission_rate=platform_rate)
    return order


def settle(month: date) -> SettlementPeriod:
    accrue(now=datetime(2026, 11, 20, tzinfo=UTC))
    return period_close(cycle="monthly", day=month, now=datetime(2026, 11, 20, tzinfo=UTC))


@pytest.fixture
def shop(alpha):
    with tenant_context(alpha):
        settings = settlement_settings()
        settings.return_window_days, settings.minimum_payout = 30, D("50.00")
        settings.save()
        yield {"sku": make_sku("CM-1"), "seller": alpha}


def test_accrual_waits_out_the_return_window_then_a_statement_pays_it_once(shop):
    ana = make_creator("ana.pay", commission_rate_override=D("0.15"))  # no tier: settles monthly like tier B
    delivered_order(ana, shop["sku"], "A-1", price="200.00")  # 30.00 commission, payable from Oct 5
    delivered_order(ana, shop["sku"], "A-2", price="133.33", delivered=datetime(2026, 10, 20, tzinfo=UTC))  # 20.00, payable Nov 19
    result = accrue(now=datetime(2026, 11, 20, tzinfo=UTC))
    assert (result.lines, result.entries, result.amount) == (2, 1, D("50.00"))
    assert accrue(now=datetime(2026, 11, 20, tzinfo=UTC)).lines == 0  # a re-run adds nothing
    assert creator_balance(ana.pk, "USD") == D("50.00")

    october = period_close(cycle="monthly", day=date(2026, 10, 1), now=datetime(2026, 11, 2, tzinfo=UTC))
    statement = Statement.objects.get(creator=ana, period=october)
    # Only the line past its return window by Oct 31 is on October's statement; it is under the 50.00 minimum.
    assert (statement.opening, statement.lines_total, statement.closing, statement.payout_due, statement.carried_forward) == (
        D("0"), D("30.00"), D("30.00"), D("0"), D("30.00"))
    assert statement.status == StatementStatus.ISSUED and october.status == SettlementPeriod.Status.CLOSED
    # Closing again changes nothing.
    assert period_close(cycle="monthly", day=date(2026, 10, 1), now=datetime(2026, 11, 3, tzinfo=UTC)).statements == 1
    assert Statement.objects.filter(creator=ana).count() == 1

    november = period_close(cycle="monthly", day=date(2026, 11, 1), now=datetime(2026, 12, 1, 9, tzinfo=UTC))
    nov = Statement.objects.get(creator=ana, period=november)
    assert (nov.opening, nov.lines_total, nov.closing, nov.payout_due, nov.carried_forward) == (D("30.00"), D("20.00"), D("50.00"), D("50.00"), D("0"))

    with pytest.raises(SettlementError, match="only a confirmed and approved statement can be paid"):
        statement_pay(statement_id=nov.pk, reference="PAY-1")
    with pytest.raises(SettlementError, match="must confirm it"):
        statement_approve(statement_id=nov.pk)
    statement_confirm(statement_id=nov.pk)
    statement_approve(statement_id=nov.pk)
    batch = payout_batch_create(statement_ids=[nov.pk])
    assert (batch.total, batch.statements_count) == (D("50.00"), 1)
    payout_batch_paid(batch_id=batch.pk, reference="PP-2026-12-01")
    with pytest.raises(SettlementError, match="already paid"):
        payout_batch_paid(batch_id=batch.pk, reference="PP-again")
    with pytest.raises(SettlementError, match="already paid"):
        statement_pay(statement_id=nov.pk, reference="PP-again")
    nov.refresh_from_db()
    assert nov.status == StatementStatus.PAID and nov.payout_reference == "PP-2026-12-01"
    assert creator_balance(ana.pk, "USD") == D("0.00")
    assert JournalEntry.objects.filter(kind="payout").count() == 1
    assert ledger_problems() == []


def test_clawback_before_payout_nets_on_the_statement_and_after_payout_carries_a_negative_balance(shop):
    bo = make_creator("bo.claw", commission_rate_override=D("0.10"))
    first = delivered_order(bo, shop["sku"], "B-1", price="400.00", quantity=2)  # 80.00
    accrue(now=datetime(2026, 11, 20, tzinfo=UTC))
    # One of the two units comes back before any statement: the commission goes down to 40.00.
    OrderLine.objects.filter(order=first).update(quantity_returned=1)
    (claw,) = clawback_order(order_id=first.pk, now=datetime(2026, 9, 20, tzinfo=UTC))
    assert (claw.amount, claw.units, claw.kind) == (D("-40.00"), -1, "clawback")
    assert clawback_order(order_id=first.pk) == []  # the same return twice claws back once
    october = period_close(cycle="monthly", day=date(2026, 10, 1), now=datetime(2026, 11, 2, tzinfo=UTC))
    st = Statement.objects.get(creator=bo, period=october)
    assert (st.lines_total, st.lines_count, st.payout_due, st.carried_forward) == (D("40.00"), 2, D("0"), D("40.00"))  # under the minimum

    second = delivered_order(bo, shop["sku"], "B-2", price="900.00", delivered=datetime(2026, 10, 1, tzinfo=UTC))  # 90.00, payable Oct 31
    accrue(now=datetime(2026, 11, 20, tzinfo=UTC))
    november = period_close(cycle="monthly", day=date(2026, 11, 1), now=datetime(2026, 12, 1, 9, tzinfo=UTC))
    nov = Statement.objects.get(creator=bo, period=november)
    assert (nov.opening, nov.lines_total, nov.payout_due) == (D("40.00"), D("90.00"), D("130.00"))
    statement_confirm(statement_id=nov.pk)
    statement_approve(statement_id=nov.pk)
    statement_pay(statement_id=nov.pk, reference="WIRE-77")
    assert creator_balance(bo.pk, "USD") == D("0.00")
    # After the payout the buyer returns the second order: the creator now owes 90.00, carried forward.
    OrderLine.objects.filter(order=second).update(quantity_returned=1)
    clawback_order(order_id=second.pk, now=datetime(2026, 12, 3, tzinfo=UTC))
    assert creator_balance(bo.pk, "USD") == D("-90.00")
    december = period_close(cycle="monthly", day=date(2026, 12, 1), now=datetime(2027, 1, 1, 9, tzinfo=UTC))
    dec = Statement.objects.get(creator=bo, period=december)
    assert (dec.opening, dec.lines_total, dec.closing, dec.payout_due, dec.carried_forward) == (D("0"), D("-90.00"), D("-90.00"), D("0"), D("-90.00"))
    assert ledger_problems() == []


def test_accrual_resolves_rates_in_sql_as_the_waterfall_does(shop):
    from django.utils import timezone

    from commissions.models import ProductCommissionRate
    from commissions.services.waterfall import order_profit

    soon = timezone.now() + timedelta(days=5)
    other = make_sku("CM-2")
    ProductCommissionRate.objects.create(product=other.product, rate=D("0.1800"), valid_from=date(2026, 1, 1))
    tiered = make_creator("tia.tier", tier="A")  # A's default is 15%
    own = make_creator("oli.own", tier="A", commission_rate_override=D("0.1950"))
    orders = {
        "tier": delivered_order(tiered, shop["sku"], "R-1", price="19.99", delivered=soon),
        "product": delivered_order(tiered, other, "R-2", price="19.99", delivered=soon),
        "creator": delivered_order(own, other, "R-3", price="19.99", quantity=3, delivered=soon),
    }
    accrue(now=soon + timedelta(minutes=1))
    for source, order in orders.items():
        line = CommissionLine.objects.get(order=order)
        expected = order_profit(order).lines[0]
        assert (line.rate_source, line.rate, line.amount) == (source, expected.commission_rate, expected.commission)
    assert [CommissionLine.objects.get(order=o).amount for o in orders.values()] == [D("3.00"), D("3.60"), D("11.69")]
