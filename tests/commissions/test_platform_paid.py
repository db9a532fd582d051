"""Orders where TikTok pays the creator: we record the commission (profit, creator metrics) but
never pay it, and TikTok's finance statements, read through our client from the sandbox, show
where TikTok paid something else."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.modules import Role
from commissions.models import CommissionLine, JournalEntry, PlatformCommissionCheck, Statement
from commissions.services.accrual import accrue
from commissions.services.checks import ledger_problems
from commissions.services.ledger import creator_balance
from commissions.services.recon import mismatches, reconcile_account
from commissions.services.waterfall import order_profit
from orders.models import Order, OrderStatus
from orders.services.pipeline import order_pipeline, shipment_pack, shipment_ship
from tests.connectors.factories import tiktok_shop
from tests.creators.factories import make_creator
from tests.inventory.factories import make_sku, make_warehouses, receive
from tests.orders.test_intake import _buy, _change, _deliver
from tests.support import client_for, make_user

D = Decimal


@pytest.fixture
def shop(alpha, sandbox):
    url, _store = sandbox
    with tenant_context(alpha):
        warehouses = make_warehouses()
        sku = make_sku("AFF-1")
        receive(sku, warehouses["LA"], 20)
        account, remote = tiktok_shop(url, skus=[sku])
        yield {"url": url, "account": account, "remote": remote, "sku": sku, "seller": alpha, "wh": warehouses}


def _delivered_affiliate_order(shop, n: int, actual: str, quantity: int = 1) -> Order:
    order_id = _buy(shop, quantity, creator_username="mia.affiliate", commission_rate=1000, affiliate_commission=actual)
    _deliver(shop, f"AFF-{n}-a", 1, {"order_id": order_id})
    order = Order.objects.get(external_id=order_id)
    order_pipeline(order_id=order.pk)
    shipment = order.shipments.get()
    shipment_pack(shipment_id=shipment.pk)
    shipment_ship(shipment_id=shipment.pk, carrier="USPS", tracking_number=f"9400{n}")
    _change(shop, order_id, status="DELIVERED")
    _deliver(shop, f"AFF-{n}-b", 1, {"order_id": order_id})
    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED and order.platform_pays_commission
    return order


def test_tiktok_paid_commission_is_recorded_not_paid_and_reconciled_against_the_finance_statement(shop):
    mia = make_creator("mia.affiliate", commission_rate_override=D("0.25"))  # her own rate does not apply where TikTok pays
    matching = _delivered_affiliate_order(shop, 1, actual="3.00")  # 10% of 29.99 = 3.00
    short = _delivered_affiliate_order(shop, 2, actual="2.70")
    accrue(now=timezone.now() + timedelta(seconds=1))
    lines = CommissionLine.objects.filter(creator=mia).order_by("order_id")
    assert [(l.amount, l.rate, l.rate_source, l.platform_paid, l.entry_id) for l in lines] == [
        (D("3.00"), D("0.1000"), "platform", True, None)] * 2
    # Profit sees the commission; the creator's balance with us does not.
    assert order_profit(matching).lines[0].commission == D("3.00")
    assert creator_balance(mia.pk, "USD") == D("0") and not JournalEntry.objects.exists()

    result = reconcile_account(shop["account"])
    assert result.orders == 2 and result.statements >= 1
    assert reconcile_account(shop["account"]).orders == 2 and PlatformCommissionCheck.objects.count() == 2  # re-reading changes nothing
    (off,) = mismatches()
    assert (off.order_id, off.estimate, off.actual, off.diff) == (short.pk, D("3.00"), D("2.70"), D("-0.30"))

    finance = client_for(shop["seller"], make_user(shop["seller"], role=Role.FINANCE))
    page = finance.get("/commissions/reconciliation/").content.decode()
    assert short.external_id in page and matching.external_id not in page and "-0.30 USD" in page

    # The buyer returns the short order: TikTok claws back its commission; still nothing of ours moves.
    _change(shop, short.external_id, return_items=[{"sku_id": f"T{shop['sku'].pk}", "quantity": 1}])
    _deliver(shop, "AFF-2-c", 12, {"order_id": short.external_id, "return_status": "RETURN_OR_REFUND_REQUEST_COMPLETE",
                                   "return_line_items": [{"sku_id": f"T{shop['sku'].pk}", "quantity": 1}]})
    claw = CommissionLine.objects.get(order=short, kind="clawback")
    assert (claw.amount, claw.platform_paid, claw.entry_id) == (D("-3.00"), True, None)
    assert not Statement.objects.exists() and ledger_problems() == []
