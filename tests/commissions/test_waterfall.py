"""The per-order profit waterfall: the brief's 1.74 example from a real shipped order, the cent
allocation, commission rate resolution, and fee schedules that refuse bad input."""
from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context

from accounts.modules import Role
from commissions.models import FeeSchedule, ProductCommissionRate
from commissions.services.fees import FeeInput, fee_schedule_end, fee_schedule_save
from commissions.services.rates import commission_rate_for
from commissions.services.waterfall import allocate, order_profit
from inventory.models import Category
from orders.services.intake import Intake, IntakeLine, order_upsert
from orders.services.pipeline import order_pipeline, shipment_ship
from tests.creators.factories import make_creator
from tests.inventory.factories import make_sku, make_warehouses, receive
from tests.orders.factories import ADDRESSES
from tests.support import client_for, make_user

D = Decimal


def _fees(channel="manual", **overrides) -> FeeInput:
    data = dict(channel=channel, category_id=None, valid_from=date(2026, 1, 1), valid_to=None, marketplace_fee_rate=D("0.05"),
                payment_fee_rate=D("0.025"), refund_admin_fee_rate=D("0"), refund_admin_fee_cap=None, shipping_estimate=D("5.00"))
    return FeeInput(**(data | overrides))


@pytest.fixture
def shop(alpha):
    with tenant_context(alpha):
        warehouses = make_warehouses()
        sku = make_sku("WF-1", cost="15.00")
        receive(sku, warehouses["LA"], 10, unit_cost="15.00")
        yield {"sku": sku, "wh": warehouses, "seller": alpha}


def _sell(external_id, lines, *, creator=None):
    intake = Intake(channel="manual", external_id=external_id, address=dict(ADDRESSES["CA"]), creator_id=creator.pk if creator else None,
                    lines=[IntakeLine(sku=code, quantity=qty, unit_price=price) for code, qty, price in lines])
    order = order_upsert(intake)[0]
    order_pipeline(order_id=order.pk)
    return order


def test_the_brief_example_nets_exactly_1_74_and_shows_on_the_order_page(shop, alpha):
    # 5% platform fee, 2.5% payment fee, 5.00 shipping for this category; the channel-wide default stays for the rest.
    category = Category.objects.create(name="Lip oils")
    shop["sku"].product.category = category
    shop["sku"].product.save()
    fee_schedule_save(_fees(category_id=category.pk))
    creator = make_creator("ana.lips", commission_rate_override=D("0.20"))
    order = _sell("WF-174", [("WF-1", 1, "29.99")], creator=creator)
    line = order_profit(order).lines[0]
    assert line.cost is None and line.net is None  # FIFO cost is known once it ships
    shipment_ship(shipment_id=order.shipments.get().pk, carrier="UPS", tracking_number="1Z174")
    line = order_profit(order).lines[0]
    assert (line.price, line.cost, line.platform_fee, line.commission, line.payment_fee, line.shipping) == (
        D("29.99"), D("15.00"), D("1.50"), D("6.00"), D("0.75"), D("5.00"))
    assert line.net == D("1.74") and line.commission_source == "creator"
    manager = client_for(alpha, make_user(alpha, role=Role.MANAGER))
    page = manager.get(f"/orders/{order.pk}/").content.decode()
    assert "Net profit" in page and "<strong>1.74</strong>" in page and "20.00% · creator's rate" in page
    ops = client_for(alpha, make_user(alpha, role=Role.OPERATIONS))
    assert "Net profit" not in ops.get(f"/orders/{order.pk}/").content.decode()  # margins are not for every role


def test_shared_amounts_are_split_to_the_cent(shop):
    assert allocate(D("5.00"), [D(1), D(1), D(1)]) == [D("1.67"), D("1.67"), D("1.66")]
    parts = allocate(D("10.00"), [D("29.99"), D("10.01"), D("0.03")])
    assert sum(parts) == D("10.00") and parts == [D("7.49"), D("2.50"), D("0.01")]
    # One shipment of three lines: the 5.00 estimate is split by price and adds up.
    make_sku("WF-2")
    make_sku("WF-3")
    for code in ("WF-2", "WF-3"):
        from inventory.models import SKU

        receive(SKU.objects.get(code=code), shop["wh"]["LA"], 5)
    order = _sell("WF-SPLIT", [("WF-1", 1, "10.00"), ("WF-2", 1, "10.00"), ("WF-3", 1, "10.00")])
    profit = order_profit(order)
    assert [p.shipping for p in profit.lines] == [D("1.67"), D("1.67"), D("1.66")] and profit.total("shipping") == D("5.00")


def test_commission_rate_comes_from_the_creator_then_the_product_then_the_tier(shop):
    from datetime import timedelta

    from erp.l10n import business_today

    product_id = shop["sku"].product_id
    tiered = make_creator("tiered.one", tier="A")
    today = business_today()
    tier_rate = commission_rate_for(creator=tiered, product_id=product_id, on=today)
    assert tier_rate.source == "tier" and tier_rate.rate == D("0.1500")  # tier A's default in the v1 policy
    ProductCommissionRate.objects.create(product_id=product_id, rate=D("0.1250"), valid_from=today + timedelta(days=1))
    assert commission_rate_for(creator=tiered, product_id=product_id, on=today).source == "tier"  # not in force yet
    ProductCommissionRate.objects.create(product_id=product_id, rate=D("0.1100"), valid_from=today - timedelta(days=30), valid_to=today)
    product_rate = commission_rate_for(creator=tiered, product_id=product_id, on=today)
    assert (product_rate.rate, product_rate.source) == (D("0.1100"), "product")
    tiered.commission_rate_override = D("0.1800")
    tiered.save(update_fields=["commission_rate_override"])
    assert commission_rate_for(creator=tiered, product_id=product_id, on=today).rate == D("0.1800")
    assert commission_rate_for(creator=None, product_id=product_id, on=today).rate == D("0")  # no creator, no commission


def test_fee_schedules_refuse_overlaps_and_rates_outside_0_to_100_percent(shop):
    before = FeeSchedule.objects.count()
    with pytest.raises(ValidationError) as overlap:
        fee_schedule_save(_fees(valid_from=date(2026, 6, 1)))  # the default manual schedule runs from 2020 with no end
    assert "overlaps the schedule from 2020-01-01 to until further notice" in str(overlap.value)
    with pytest.raises(ValidationError) as rate:
        fee_schedule_save(_fees(channel="shopify", marketplace_fee_rate=D("1.2"), valid_from=date(2030, 1, 1)))
    assert "between 0% and 100%, got 120.00%" in str(rate.value)
    assert FeeSchedule.objects.count() == before
    default = FeeSchedule.objects.get(channel="manual", category__isnull=True)
    fee_schedule_end(schedule_id=default.pk, last_day=date(2026, 5, 31))
    fee_schedule_save(_fees(valid_from=date(2026, 6, 1)))  # now it follows on
    assert FeeSchedule.objects.filter(channel="manual").count() == 2


def test_finance_edits_fee_schedules_on_the_page_and_bad_input_changes_nothing(shop, alpha):
    finance = client_for(alpha, make_user(alpha, role=Role.FINANCE))
    page = finance.get("/commissions/fees/").content.decode()
    assert "TikTok Shop" in page and "6.00%" in page and "max $5.00 per SKU" in page  # the defaults every seller starts with
    before = FeeSchedule.objects.count()
    form = {"form": "fee", "channel": "tiktok_shop", "valid_from": "2026-12-01", "marketplace_fee": "8", "payment_fee": "0",
            "refund_admin_fee": "20", "refund_admin_fee_cap": "5.00", "shipping_estimate": "4.50"}
    page = finance.post("/commissions/fees/", form)
    assert page.status_code == 200 and "overlaps the schedule from 2020-01-01" in page.content.decode()
    page = finance.post("/commissions/fees/", form | {"channel": "shopify", "marketplace_fee": "150", "valid_from": "2031-01-01"})
    assert "between 0% and 100%, got 150.00%" in page.content.decode()
    assert FeeSchedule.objects.count() == before
    tiktok = FeeSchedule.objects.get(channel="tiktok_shop")
    assert finance.post(f"/commissions/fees/{tiktok.pk}/end/", {"last_day": "2026-11-30"}).status_code == 302
    assert finance.post("/commissions/fees/", form).status_code == 302  # 8% from December
    assert FeeSchedule.objects.filter(channel="tiktok_shop").count() == 2
    page = finance.post("/commissions/fees/", {"form": "rate", "product": shop["sku"].product_id, "rate": "101", "valid_from": "2026-12-01"})
    assert "between 0% and 100%" in page.content.decode() and not ProductCommissionRate.objects.exists()
    ops = client_for(alpha, make_user(alpha, role=Role.OPERATIONS))
    assert ops.get("/commissions/").status_code == 403


def test_shipping_is_the_label_cost_when_entered_else_the_zone_estimate(shop, alpha):
    zones = [D("4.10"), D("4.40"), D("4.90"), D("5.50"), D("6.10"), D("6.80"), D("7.40"), D("8.30")]
    tiktok = FeeSchedule.objects.get(channel="manual")
    tiktok.zone_estimates = zones
    tiktok.save()
    receive(shop["sku"], shop["wh"]["CHI"], 10, unit_cost="15.00")
    near = _sell("WF-Z1", [("WF-1", 1, "29.99")])  # a San Diego buyer, 110 miles from the Los Angeles warehouse: zone 2
    near.refresh_from_db()
    assert near.shipments.get().warehouse.code == "LA"
    assert order_profit(near).lines[0].shipping == D("4.40")
    from orders.services.pipeline import shipment_pack

    shipment = near.shipments.get()
    shipment_pack(shipment_id=shipment.pk)
    shipment_ship(shipment_id=shipment.pk, carrier="UPS", tracking_number="1ZLABEL", shipping_cost=D("6.37"))
    assert order_profit(near).lines[0].shipping == D("6.37")  # what the label cost beats any estimate
    # The warehouse form takes the label cost too, and refuses a negative one.
    warehouse = client_for(alpha, make_user(alpha, role=Role.WAREHOUSE))
    far = _sell("WF-Z2", [("WF-1", 1, "29.99")])
    far_shipment = far.shipments.get()
    shipment_pack(shipment_id=far_shipment.pk)
    url = f"/warehouses/{far_shipment.warehouse_id}/queue/{far_shipment.pk}/ship/"
    page = warehouse.post(url, {"carrier": "UPS", "tracking_number": "1ZNEG", "shipping_cost": "-1"}, follow=True).content.decode()
    far_shipment.refresh_from_db()
    assert "The label cost must be an amount of 0 or more" in page and far_shipment.status == "packed"
    warehouse.post(url, {"carrier": "UPS", "tracking_number": "1ZOK", "shipping_cost": "5.05"})
    far_shipment.refresh_from_db()
    assert (far_shipment.status, far_shipment.shipping_cost) == ("shipped", D("5.05"))
