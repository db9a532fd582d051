"""A distributor on their phone: accepts the seller's invitation, sees their dashboard, downloads and
confirms their statement, buys stock at their wholesale price and sees the order ship — with a real
web server, a real Celery worker running the pipeline and the notification email."""
import re
from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal

import pytest
from django.core import mail
from djmoney.money import Money
from playwright.sync_api import expect

from commissions.models import MarginPlan, Statement, StatementStatus
from commissions.services.accrual import accrue
from commissions.services.settlement import period_close
from erp.celery import app
from inventory.models import SKU
from orders.models import Order, OrderLine, OrderStatus
from orders.services.pipeline import shipment_ship
from portal.services import portal_invite
from tests.creators.factories import make_creator
from tests.inventory.factories import make_sku, make_warehouses, receive
from tests.support import ROOT, committed_in, free_port, start_web_server, wait_for

ARTIFACTS = ROOT / "test-artifacts"
UTC = dt_timezone.utc
TABLES = ("portal_notification, portal_creatoraccount, commissions_marginplan, creators_supplyrequestline, creators_supplyrequest, "
          "commissions_statementevent, commissions_commissionline, commissions_adjustment, commissions_posting, commissions_journalentry, "
          "commissions_statement, commissions_payoutbatch, commissions_settlementperiod, "
          "orders_shipmentline, orders_shipment, orders_orderevent, orders_orderline, orders_order, creators_creator, "
          "inventory_lotconsumption, inventory_costlot, inventory_stockmove, inventory_reservationline, inventory_reservation, "
          "inventory_allocation, inventory_stock, inventory_sku, inventory_product, inventory_category, warehouses_warehouse")
PASSWORD = "Phone-first-2026!"




@pytest.mark.browser
@pytest.mark.worker
def test_a_distributor_on_a_phone_accepts_confirms_orders_and_sees_it_ship(committed, worker, browser):
    port = free_port()
    server = start_web_server(port, CELERY_DEFAULT_QUEUE=app.conf.task_default_queue)  # the web server's tasks go to this test's worker
    site = f"http://alpha.localhost:{port}"
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, accept_downloads=True)
    page = context.new_page()
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        with committed_in("alpha", truncate=TABLES):
            # The seller's side: stock with list prices, a distributor with a 30%-off plan, a
            # delivered dropship sale of theirs from September and October's statement.
            warehouses = make_warehouses()
            serum = make_sku("PH-SERUM")
            SKU.objects.filter(pk=serum.pk).update(list_price=Decimal("40.00"), list_price_currency="USD")
            receive(serum, warehouses["LA"], 50)
            dana = make_creator("dana.phone", kind="distributor", commission_rate_override=Decimal("0.20"), email="dana@phone.test")
            MarginPlan.objects.create(creator=dana, discount_rate=Decimal("0.30"), valid_from=date(2026, 1, 1))
            delivered = datetime(2026, 9, 5, 18, tzinfo=UTC)
            sale = Order.objects.create(channel="manual", external_id="PH-SALE-1", creator=dana, currency="USD", order_type="dropship",
                                        placed_at=delivered - timedelta(days=3), delivered_at=delivered, status=OrderStatus.DELIVERED,
                                        ship_city="Austin", ship_state="TX", total=Decimal("120.00"))
            OrderLine.objects.create(order=sale, sku=serum, quantity=3, unit_price=Money(Decimal("40.00"), "USD"))
            accrue(now=datetime(2026, 11, 20, tzinfo=UTC))
            period = period_close(cycle="monthly", day=date(2026, 10, 1), now=datetime(2026, 11, 2, tzinfo=UTC))
            statement = Statement.objects.get(creator=dana, period=period)
            assert statement.closing == Decimal("36.00")  # 3 × (40.00 − 28.00 plan price)
            portal_invite(creator=dana, email="dana@phone.test", invited_by=None, site_url=site)
            link = re.search(r"http://alpha\.localhost:\d+/portal/invite/\S+/", mail.outbox[-1].body).group(0)

            # The creator opens the invitation on their phone and sets a password.
            page.goto(link)
            page.fill("input[name=password]", PASSWORD)
            page.fill("input[name=password2]", PASSWORD)
            page.get_by_role("button", name="Save password").click()
            expect(page.get_by_text("Welcome, @dana.phone!")).to_be_visible()
            expect(page.get_by_text("Payable balance")).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "portal-phone-dashboard.png"), full_page=True)

            # Statements: download the PDF, then confirm.
            page.get_by_role("link", name="Statements").click()
            page.get_by_role("link", name=statement.number).click()
            expect(page.get_by_text("36.00").first).to_be_visible()
            with page.expect_download() as download:
                page.get_by_role("link", name="Download PDF").click()
            assert open(download.value.path(), "rb").read(4) == b"%PDF"
            page.get_by_role("button", name="Confirm", exact=True).click()
            expect(page.get_by_text(f"statement {statement.number} is confirmed")).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "portal-phone-statement.png"), full_page=True)
            statement.refresh_from_db()
            assert statement.status == StatementStatus.CONFIRMED

            # The shop: 5 units at the wholesale price, shipped to themselves.
            page.get_by_role("link", name="Shop").click()
            expect(page.get_by_text("your price 28.00 USD")).to_be_visible()
            page.locator("#sku-%d input[name=quantity]" % serum.pk).fill("5")
            page.locator("#sku-%d" % serum.pk).get_by_role("button", name="Add").click()
            expect(page.get_by_text("Added 5 × PH-SERUM to your cart.")).to_be_visible()
            page.get_by_role("link", name=re.compile("^Cart")).click()
            expect(page.get_by_text("140.00 USD").first).to_be_visible()
            page.fill("input[name=ship_name]", "Dana Phone")
            page.fill("input[name=ship_line1]", "1 Market St")
            page.fill("input[name=ship_zip]", "94105")
            page.screenshot(path=str(ARTIFACTS / "portal-phone-cart.png"), full_page=True)
            page.get_by_role("button", name=re.compile("^Place order")).click()
            expect(page.get_by_text(re.compile(r"Order PO-[0-9A-F]{10} is placed"))).to_be_visible()
            order = Order.objects.get(channel="portal", creator=dana)
            assert order.total == Decimal("140.00")

            # The worker reserves it in dana's supply turn and queues it at a warehouse; then it ships.
            wait_for(lambda: Order.objects.get(pk=order.pk).status == OrderStatus.ROUTED, "the worker to route the order")
            shipment_ship(shipment_id=order.shipments.get().pk, carrier="UPS", tracking_number="1ZPHONE0001")
            page.reload()
            expect(page.locator("h1 .badge")).to_have_text("Shipped")
            expect(page.get_by_role("link", name="1ZPHONE0001")).to_have_attribute("href", "https://www.ups.com/track?tracknum=1ZPHONE0001")
            expect(page.locator(".portal-nav .count")).to_have_text("1")
            page.screenshot(path=str(ARTIFACTS / "portal-phone-shipped.png"), full_page=True)
            page.get_by_role("link", name=re.compile("^Inbox")).click()
            expect(page.get_by_text(f"Your order {order.external_id} shipped: UPS 1ZPHONE0001.")).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "portal-phone-inbox.png"), full_page=True)
            # The worker emailed it too (the notification's email task).
            mails = wait_for(lambda: [p for p in worker["mail_dir"].glob("*.log") if "1ZPHONE0001" in p.read_text()]
                          if worker["mail_dir"].exists() else [], "the shipped email")
            assert "dana@phone.test" in mails[0].read_text()
    finally:
        context.close()
        server.terminate()
        server.wait(timeout=20)
