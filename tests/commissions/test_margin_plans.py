"""Distributors' margin plans: they buy at list price less their discount; a wholesale order is
priced by the plan; on orders they sell on at retail that we ship we owe them the sale less the
plan price, accrued, clawed back and settled like a commission."""
from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context
from djmoney.money import Money

from accounts.modules import Role
from commissions.models import CommissionLine, MarginPlan
from commissions.services.accrual import accrue, clawback_order
from commissions.services.checks import ledger_problems
from commissions.services.ledger import creator_balance
from commissions.services.margins import PlanInput, margin_plan_end, margin_plan_save
from commissions.services.waterfall import order_profit
from orders.models import Channel, Order, OrderLine, OrderStatus
from tests.creators.factories import make_creator
from tests.inventory.factories import make_sku
from tests.support import client_for, make_user

D = Decimal
UTC = dt_timezone.utc


@pytest.fixture
def plan_shop(alpha):
    with tenant_context(alpha):
        sku = make_sku("MP-1")
        sku.list_price = Money(D("29.99"), "USD")
        sku.save()
        dist = make_creator("dana.dist", kind="distributor", start=date(2026, 1, 1))
        yield {"sku": sku, "dist": dist, "seller": alpha}


def _order(creator, sku, number, *, order_type, price, quantity, delivered):
    order = Order.objects.create(channel=Channel.MANUAL, external_id=number, order_type=order_type, creator=creator, currency="USD",
                                 placed_at=delivered - timedelta(days=3), delivered_at=delivered, status=OrderStatus.DELIVERED)
    OrderLine.objects.create(order=order, sku=sku, quantity=quantity, unit_price=Money(D(price), "USD"))
    return order


def test_a_plan_is_for_distributors_only_never_overlaps_and_ends_cleanly(plan_shop):
    dist = plan_shop["dist"]
    creator = make_creator("cara.creator")
    with pytest.raises(ValidationError, match="is a creator, not a distributor"):
        margin_plan_save(PlanInput(creator=creator, discount_rate=D("0.30"), valid_from=date(2026, 1, 1)))
    with pytest.raises(ValidationError, match="between 0% and 100%, got 120.00%"):
        margin_plan_save(PlanInput(creator=dist, discount_rate=D("1.2"), valid_from=date(2026, 1, 1)))
    first = margin_plan_save(PlanInput(creator=dist, discount_rate=D("0.35"), valid_from=date(2026, 1, 1)))
    with pytest.raises(ValidationError, match="overlaps @dana.dist's plan from 2026-01-01 to until further notice"):
        margin_plan_save(PlanInput(creator=dist, discount_rate=D("0.40"), valid_from=date(2026, 6, 1)))
    with pytest.raises(ValidationError, match="the last day is before the first day"):
        margin_plan_end(plan_id=first.pk, last_day=date(2025, 12, 31))
    margin_plan_end(plan_id=first.pk, last_day=date(2026, 5, 31))
    with pytest.raises(ValidationError, match="already ends on 2026-05-31"):
        margin_plan_end(plan_id=first.pk, last_day=date(2026, 6, 30))  # would overlap the next plan
    margin_plan_save(PlanInput(creator=dist, discount_rate=D("0.40"), valid_from=date(2026, 6, 1)))
    assert list(MarginPlan.objects.filter(creator=dist).order_by("valid_from").values_list("discount_rate", "valid_to")) == [
        (D("0.3500"), date(2026, 5, 31)), (D("0.4000"), None)]


def test_dropship_sales_earn_the_sale_less_plan_price_wholesale_earns_nothing_and_returns_claw_back(plan_shop):
    dist, sku = plan_shop["dist"], plan_shop["sku"]
    margin_plan_save(PlanInput(creator=dist, discount_rate=D("0.35"), valid_from=date(2026, 1, 1)))  # 29.99 × 0.65 = 19.4935 → 19.49
    # The plan beats the distributor's own commission rate wherever it prices the SKU.
    dist.commission_rate_override = D("0.10")
    dist.save()
    unpriced = make_sku("MP-2")  # no list price: falls back to the commission rates
    when = datetime(2026, 9, 5, 18, tzinfo=UTC)
    dropship = _order(dist, sku, "DS-1", order_type="dropship", price="29.99", quantity=3, delivered=when)
    wholesale = _order(dist, sku, "WS-1", order_type="wholesale", price="19.49", quantity=24, delivered=when)
    fallback = _order(dist, unpriced, "DS-2", order_type="dropship", price="20.00", quantity=1, delivered=when)
    accrue(now=datetime(2026, 11, 20, tzinfo=UTC))

    line = CommissionLine.objects.get(order=dropship)
    assert (line.rate_source, line.plan_price, line.amount) == ("margin", D("19.49"), D("31.50"))  # 89.97 − 3 × 19.49
    assert not CommissionLine.objects.filter(order=wholesale).exists()  # they bought at the plan price: nothing more is owed
    assert CommissionLine.objects.get(order=fallback).amount == D("2.00")  # 10% of 20.00, their own rate
    # The order page's waterfall says the same.
    shown = {o.external_id: order_profit(o).lines[0] for o in (dropship, wholesale, fallback)}
    assert (shown["DS-1"].commission, shown["DS-1"].commission_source, shown["DS-1"].plan_price) == (D("31.50"), "margin", D("19.49"))
    assert (shown["WS-1"].commission, shown["WS-1"].commission_source) == (D("0"), "plan")
    assert (shown["DS-2"].commission, shown["DS-2"].commission_source) == (D("2.00"), "creator")
    assert creator_balance(dist.pk, "USD") == D("33.50")

    # One of the three units comes back: the margin on it (29.99 − 19.49 = 10.50) is clawed back, to the cent.
    OrderLine.objects.filter(order=dropship).update(quantity_returned=1)
    clawback = clawback_order(order_id=dropship.pk, now=datetime(2026, 11, 21, tzinfo=UTC))[0]
    assert (clawback.amount, clawback.units, clawback.plan_price) == (D("-10.50"), -1, D("19.49"))
    assert creator_balance(dist.pk, "USD") == D("23.00")
    assert order_profit(dropship).lines[0].commission == D("21.00")
    assert ledger_problems() == []


def test_wholesale_import_and_manual_order_take_the_plan_price_or_name_what_is_missing(plan_shop, alpha):
    from tests.orders.test_views import _upload

    dist = plan_shop["dist"]
    ops = client_for(alpha, make_user(alpha, role=Role.OPERATIONS))
    header = "order_number,creator_handle,sku,quantity,unit_price,discount,ship_name,ship_line1,ship_line2,ship_city,ship_state,ship_zip,ship_country,ship_phone"
    rows = [header, "W-1,dana.dist,MP-1,10,,,Dana Shop,1 Main St,,,NY,10118,US,", "W-1,dana.dist,MP-1,2,18.00,,Dana Shop,1 Main St,,,NY,10118,US,"]
    html = ops.post("/orders/import/", {"file": _upload("\n".join(rows))}).content.decode()
    assert "<td>2</td><td><code>unit_price</code></td>" in html and "@dana.dist has no margin plan in force to price it" in html
    assert not Order.objects.exists()

    margin_plan_save(PlanInput(creator=dist, discount_rate=D("0.35"), valid_from=date(2026, 1, 1)))
    ops.post("/orders/import/", {"file": _upload("\n".join(rows))})
    ops.post("/orders/import/", {"apply": "1"})
    order = Order.objects.get(channel=Channel.WHOLESALE, external_id="W-1")
    # The blank price took the plan's 19.49; the line with its own price kept it.
    assert sorted((line.quantity, line.unit_price.amount) for line in order.lines.all()) == [(2, D("18.00")), (10, D("19.49"))]
    assert str(order.total) == "230.90"

    form = {"order_type": "retail", "creator": str(dist.pk), "ship_name": "Dana", "ship_line1": "1 Main St", "ship_zip": "10118", "ship_country": "US",
            "lines-TOTAL_FORMS": "1", "lines-INITIAL_FORMS": "0", "lines-0-sku": "mp-1", "lines-0-quantity": "5", "external_id": "PH-9"}
    page = ops.post("/orders/new/", form)
    assert "only a wholesale order can take its buyer&#x27;s margin plan price" in page.content.decode()
    form["order_type"] = "wholesale"
    assert ops.post("/orders/new/", form).status_code == 302
    assert Order.objects.get(external_id="PH-9").lines.get().unit_price.amount == D("19.49")


def test_finance_adds_and_ends_plans_on_the_fees_page(plan_shop, alpha):
    finance = client_for(alpha, make_user(alpha, role=Role.FINANCE))
    page = finance.get("/commissions/fees/").content.decode()
    assert "No margin plans" in page and "@dana.dist · Distributor" in page
    form = {"form": "plan", "creator": str(plan_shop["dist"].pk), "discount": "135", "valid_from": "2026-01-01"}
    assert "between 0% and 100%" in finance.post("/commissions/fees/", form).content.decode()
    form["discount"] = "35"
    assert finance.post("/commissions/fees/", form).status_code == 302
    page = finance.get("/commissions/fees/").content.decode()
    assert "35.00%" in page and "@dana.dist" in page
    plan = MarginPlan.objects.get()
    assert "overlaps @dana.dist" in finance.post("/commissions/fees/", form).content.decode()
    finance.post(f"/commissions/fees/plans/{plan.pk}/end/", {"last_day": "2026-03-31"})
    plan.refresh_from_db()
    assert plan.valid_to == date(2026, 3, 31)
