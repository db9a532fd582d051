"""An analyst opens the cockpit on the demo's sales (the demo's catalogue, warehouses and four weeks
of orders with their 90-day history filled in, as `make run` seeds them) in Chromium: the
figures on the page are the orders' own, the charts draw, and a click narrows the period; the
screenshots are in test-artifacts/ for a person to look at."""
import re
from decimal import Decimal

import pytest
from django.db.models import Sum

from accounts.modules import Role
from tests.support import PASSWORD, ROOT, committed_in, free_port, make_user, start_web_server

ARTIFACTS = ROOT / "test-artifacts"
TABLES = ("orders_shipmentline, orders_shipment, orders_orderevent, orders_orderline, orders_order, inventory_lotconsumption, "
          "inventory_costlot, inventory_stockmove, inventory_reservationline, inventory_reservation, inventory_allocation, inventory_stock, "
          "inventory_reorderalert, inventory_purchaseorderline, inventory_purchaseorder, inventory_sku, inventory_product, inventory_category, "
          "inventory_supplier, inventory_exchangerate, warehouses_warehouse")


@pytest.mark.browser
def test_an_analyst_reads_the_cockpit_of_the_demo_sales(committed, browser):
    from bi.models import OrderFact
    from bi.services.refresh import refresh
    from inventory.demo import demo_inventory_seed
    from orders.demo import demo_orders_seed
    from orders.models import Order

    port = free_port()
    server = start_web_server(port)
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        with committed_in("alpha", truncate=TABLES) as alpha:
            assert demo_inventory_seed() and demo_orders_seed()
            built = refresh()
            live = Order.objects.exclude(status="cancelled")
            assert built.orders == Order.objects.count() and live.count() > 500
            gmv = OrderFact.objects.aggregate(s=Sum("gmv"))["s"]
            analyst = make_user(alpha, role=Role.ANALYST)

            site = f"http://alpha.localhost:{port}"
            page.goto(f"{site}/login/")
            page.fill("input[name=username]", analyst.email)
            page.fill("input[name=password]", PASSWORD)
            page.locator("form:has(input[name=password]) button[type=submit]").click()
            page.wait_for_selector(".side")
            page.goto(f"{site}/insights/?period=90")
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(ARTIFACTS / "cockpit-demo.png"), full_page=True)
            cards = page.locator(".kpi").all_inner_texts()
            shown_gmv = Decimal(re.search(r"([\d,]+\.\d\d) USD", cards[0]).group(1).replace(",", ""))
            assert shown_gmv == gmv  # the demo's sales all fall in the last 90 days
            assert re.search(rf"\b{live.count():,}\b", cards[1])
            # Every chart was drawn by Chart.js (a canvas with pixels), not left blank.
            drawn = page.evaluate("Array.from(document.querySelectorAll('canvas[data-chart]')).map(c => Chart.getChart(c) ? 1 : 0)")
            assert drawn and all(drawn)
            # The leaderboard, operations, stock, warehouses and team pages open too.
            for name, path in (("operations", "operations/?period=90"), ("stock", "stock/"), ("warehouses", "warehouses/?period=90"),
                               ("team", "team/?period=90")):
                page.goto(f"{site}/insights/{path}")
                page.wait_for_load_state("networkidle")
                assert page.locator("h1").inner_text()
                page.screenshot(path=str(ARTIFACTS / f"cockpit-demo-{name}.png"), full_page=True)
            # Narrow to the last 7 days with the period menu: fewer orders.
            page.goto(f"{site}/insights/?period=90")
            page.select_option("select[name=period]", "7")
            page.get_by_role("button", name="Show").click()
            page.wait_for_load_state("networkidle")
            week = int(re.search(r"([\d,]+)", page.locator(".kpi").nth(1).inner_text().split("\n")[1]).group(1).replace(",", ""))
            assert 0 < week < live.count()
    finally:
        context.close()
        server.terminate()
        server.wait(timeout=20)
