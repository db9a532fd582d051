"""An analyst opens the cockpit on the demo's data (the demo's catalogue, warehouses, creators with
their orders and the 90-day history filled in, as `make run` seeds them, in a seller of its own)
in Chromium: the figures on the page are the orders' own, the charts draw, and a click narrows
the period; the screenshots are in test-artifacts/ for a person to look at."""
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Sum
from django_tenants.utils import schema_context, tenant_context

from accounts.modules import Role
from erp.l10n import business_today
from tests.support import PASSWORD, ROOT, free_port, make_user, start_web_server

ARTIFACTS = ROOT / "test-artifacts"


@pytest.mark.browser
def test_an_analyst_reads_the_cockpit_of_the_demo_sales(committed, browser, monkeypatch):
    from bi.models import OrderFact
    from bi.services.refresh import refresh
    from creators.demo import demo_creators_seed
    from inventory.demo import demo_inventory_seed
    from orders.demo import demo_orders_seed
    from orders.models import Order
    from sellers.models import Seller
    from sellers.services import seller_signup

    with schema_context("public"):
        for left in Seller.objects.filter(subdomain="cockpitdemo"):
            left.delete(force_drop=True)
        seller = seller_signup(company_name="Cockpit Demo", subdomain="cockpitdemo", owner_email="owner@cockpitdemo.test", password=PASSWORD).seller
    port = free_port()
    server = start_web_server(port)
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        with tenant_context(seller):
            # The demo's own seeds, as `make run` runs them, with four months of creator history instead of twelve.
            monkeypatch.setattr("creators.demo.MONTHS", 4)
            with transaction.atomic():  # as seed_demo runs them (the history fill uses a temporary table)
                assert demo_inventory_seed() and demo_creators_seed() and demo_orders_seed()
            built = refresh()
            live = Order.objects.exclude(status="cancelled")
            assert built.orders == Order.objects.count() and live.count() > 5000
            analyst = make_user(seller, role=Role.ANALYST)
            today = business_today()
            first = today - timedelta(days=29)
            month = OrderFact.objects.filter(day__gte=first, day__lte=today, in_base=True)
            gmv = month.aggregate(s=Sum("gmv"))["s"]
            orders = month.filter(first_line=True).count()

            site = f"http://cockpitdemo.localhost:{port}"
            page.goto(f"{site}/login/")
            page.fill("input[name=username]", analyst.email)
            page.fill("input[name=password]", PASSWORD)
            page.locator("form:has(input[name=password]) button[type=submit]").click()
            page.wait_for_selector(".side")
            page.goto(f"{site}/insights/")
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(ARTIFACTS / "cockpit-demo.png"), full_page=True)
            cards = page.locator(".kpi").all_inner_texts()
            # The last 30 days' sales and orders, as the orders' facts add up.
            assert Decimal(re.search(r"([\d,]+\.\d\d) USD", cards[0]).group(1).replace(",", "")) == gmv
            assert re.search(rf"\b{orders:,}\b", cards[1])
            # Every chart was drawn by Chart.js, none left blank.
            drawn = page.evaluate("Array.from(document.querySelectorAll('canvas[data-chart]')).map(c => Chart.getChart(c) ? 1 : 0)")
            assert drawn and all(drawn)
            for name, path in (("creators", "creators/"), ("operations", "operations/"), ("stock", "stock/"), ("warehouses", "warehouses/"),
                               ("team", "team/")):
                page.goto(f"{site}/insights/{path}")
                page.wait_for_load_state("networkidle")
                assert page.locator("h1").inner_text()
                page.screenshot(path=str(ARTIFACTS / f"cockpit-demo-{name}.png"), full_page=True)
            # Narrow to the last 7 days with the period menu: fewer orders.
            page.goto(f"{site}/insights/")
            page.select_option("select[name=period]", "7")
            page.get_by_role("button", name="Show").click()
            page.wait_for_load_state("networkidle")
            week = int(re.search(r"([\d,]+)", page.locator(".kpi").nth(1).inner_text().split("\n")[1]).group(1).replace(",", ""))
            assert 0 < week < orders
    finally:
        context.close()
        server.terminate()
        server.wait(timeout=20)
        with schema_context("public"):
            seller.delete(force_drop=True)
