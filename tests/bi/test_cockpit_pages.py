"""The cockpit pages show what the orders and the commission ledger say, to the cent; each page and
its CSV downloads answer the roles that have the Insights module and no one else; one seller
never sees another's figures; and the refresh runs in a real Celery worker."""
import csv
import io
import random
import time
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.db.models import Sum
from django_tenants.utils import tenant_context

from accounts.modules import Role
from bi.models import DailyTotal, OrderFact
from bi.services.refresh import refresh
from commissions.models import CommissionLine
from commissions.services.accrual import accrue
from commissions.services.waterfall import order_profit
from erp.l10n import business_today
from orders.models import Order, OrderStatus
from orders.services.pipeline import order_retry
from tests.bi.test_rollups import _move, _orders, _shop
from tests.support import client_for, committed_in, make_user

D = Decimal
PAGES = ("", "creators/", "operations/", "stock/", "warehouses/", "team/")


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


def _period(days: int = 60) -> str:
    today = business_today()
    return f"period=custom&first={today - timedelta(days=days - 1)}&last={today}"


def _csv_rows(response) -> list[dict]:
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.getvalue().decode())))


def test_cockpit_figures_match_the_orders_and_the_commission_ledger(alpha):
    rng = random.Random(41)
    with tenant_context(alpha):
        shop = _shop(rng)
        orders = _orders(rng, shop, 40, "P", other_currency=0)
        _move(rng, orders, deliver=1.0)  # everything that ships is delivered, so it has accrued
        accrue()
        refresh()
        live = Order.objects.exclude(status=OrderStatus.CANCELLED)
        # Straight from the orders: sales are each line's price less discount for the units kept, half-up to the cent.
        gmv = sum((line.unit_price.amount * (line.quantity - line.quantity_returned)
                   - line.discount.amount * (line.quantity - line.quantity_returned) / line.quantity).quantize(D("0.01"), ROUND_HALF_UP)
                  for order in live for line in order.lines.all())
        profits = [lp for order in live for lp in order_profit(order).lines if lp.net is not None]
        net = sum((lp.net for lp in profits), D(0))
        commission = sum((lp.commission for lp in profits), D(0))
        # The ledger: what the accrual and clawbacks recorded for the delivered (= shipped) orders.
        ledger = CommissionLine.objects.aggregate(s=Sum("amount"))["s"] or D(0)
        assert commission == ledger and commission > 0
        assert profits and len(profits) < sum(o.lines.count() for o in live)  # some orders have not shipped

        owner = make_user(alpha, role=Role.OWNER)
        client = client_for(alpha, owner)
        page = client.get(f"/insights/?{_period()}")
        assert page.status_code == 200
        html = page.content.decode()
        assert f"{_money(gmv)} USD" in html and f"{_money(net)} USD" in html and f"-{_money(commission)} USD" in html
        assert f"<strong>{live.count()}</strong>" in html

        waterfall = {r["step"]: D(r["amount"]) for r in _csv_rows(client.get(f"/insights/?{_period()}&export=waterfall"))}
        assert waterfall["Net profit"] == net and waterfall["Creator commission"] == -commission
        assert sum(waterfall.values()) - waterfall["Net profit"] == net  # the steps add up to the net profit
        by_channel = _csv_rows(client.get(f"/insights/?{_period()}&export=channel"))
        assert sum(D(r["gmv"]) for r in by_channel) == gmv and sum(int(r["orders"]) for r in by_channel) == live.count()
        by_day = _csv_rows(client.get(f"/insights/?{_period()}&grain=day&export=series"))
        assert len(by_day) == 60 and sum(D(r["net_profit"]) for r in by_day) == net

        # The previous period holds nothing: the change reads "no earlier figures", not a division by zero.
        assert "no earlier figures" in html
        # A filter narrows every figure: TikTok Shop only.
        tiktok = _csv_rows(client.get(f"/insights/?{_period()}&channel=tiktok_shop&export=channel"))
        assert [r["channel"] for r in tiktok] == ["TikTok Shop"]

        # Leaderboard: each creator's orders and GMV are theirs; ROI as on the creator pages.
        board = {r["handle"]: r for r in _csv_rows(client.get(f"/insights/creators/?{_period()}&export=leaderboard"))}
        for creator in shop["creators"]:
            mine = live.filter(creator=creator)
            if not mine.exists():
                continue
            row = board[creator.handle]
            assert int(row["orders"]) == mine.count()
            mine_gmv = sum(F.gmv for F in OrderFact.objects.filter(order_id__in=mine.values("pk")))
            assert D(row["gmv"]) == mine_gmv
            if D(row["commission"]):
                assert D(row["roi"]) == (D(row["gmv"]) / (D(row["commission"]) + D(row["sample_cost"]))).quantize(D("0.01"), ROUND_HALF_UP)
        html = client.get(f"/insights/creators/?{_period()}").content.decode()
        assert "More followers is not better" in html and "chart-followers-roi" in html

        # Operations, stock, warehouses and team all answer with their figures.
        ops = client.get(f"/insights/operations/?{_period()}").content.decode()
        assert "Shipped within the ship-by deadline" in ops and "Time per stage" in ops
        assert _csv_rows(client.get(f"/insights/operations/?{_period()}&export=stages"))
        stock = _csv_rows(client.get("/insights/stock/?export=stock"))
        assert {r["sku"] for r in stock} == {s.code for s in shop["skus"]}
        econ = _csv_rows(client.get(f"/insights/warehouses/?{_period()}&export=warehouses"))
        shipped = sum(int(r["shipments"]) for r in econ)
        assert shipped == sum(o.shipments.filter(status__in=["shipped", "delivered"]).count() for o in live)
        assert client.get(f"/insights/warehouses/?{_period()}").status_code == 200


def test_team_counts_orders_handled_and_exceptions_cleared(alpha):
    with tenant_context(alpha):
        shop = _shop(random.Random(5))
        ops = make_user(alpha, role=Role.OPERATIONS)
        from tests.orders.factories import place

        order = place("TEAM-1", [("RND-0", 1)], to="CA")
        Order.objects.filter(pk=order.pk).update(exception_reason="address_invalid", exception_detail="ZIP", status="address_invalid")
        order_retry(order_id=order.pk, actor=ops)
        assert shop
        owner = client_for(alpha, make_user(alpha, role=Role.OWNER))
        rows = {r["email"]: r for r in _csv_rows(owner.get(f"/insights/team/?{_period(7)}&export=team"))}
        assert rows[ops.email]["orders_handled"] == "1" and rows[ops.email]["exceptions_cleared"] == "1"
        # An analyst sees the same figures, but staff accounts (emails) are the Team module's.
        client = client_for(alpha, make_user(alpha, role=Role.ANALYST))
        rows = _csv_rows(client.get(f"/insights/team/?{_period(7)}&export=team"))
        assert all(r["email"] == "" for r in rows) and ops.email not in client.get(f"/insights/team/?{_period(7)}").content.decode()
        assert [r["orders_handled"] for r in rows if r["role"] == Role.OPERATIONS] == ["1"]
        ops_page = client.get(f"/insights/operations/?{_period(7)}&export=exceptions")
        assert {r["reason"]: r["cleared_in_period"] for r in _csv_rows(ops_page)}["Address invalid"] == "1"


@pytest.mark.parametrize("role,allowed", [(Role.OWNER, True), (Role.MANAGER, True), (Role.ANALYST, True), (Role.FINANCE, True),
                                          (Role.OPERATIONS, False), (Role.WAREHOUSE, False), (Role.CREATOR_MANAGER, False)])
def test_only_roles_with_insights_open_the_cockpit(alpha, role, allowed):
    client = client_for(alpha, make_user(alpha, role=role))
    for path in PAGES:
        assert client.get(f"/insights/{path}").status_code == (200 if allowed else 403), path
        assert client.get(f"/insights/{path}?export=series").status_code in ((200, 404) if allowed else (403,))


def test_one_seller_never_sees_anothers_figures_and_bad_filters_are_explained(alpha, beta):
    with tenant_context(alpha):
        rng = random.Random(9)
        _orders(rng, _shop(rng), 5, "ISO", other_currency=0)
        refresh()
        assert DailyTotal.objects.exists()
    client = client_for(beta, make_user(beta, role=Role.OWNER))
    html = client.get(f"/insights/?{_period()}").content.decode()
    assert "No orders in this period." in html
    assert _csv_rows(client.get(f"/insights/?{_period()}&export=channel")) == []
    assert _csv_rows(client.get(f"/insights/creators/?{_period()}&export=leaderboard")) == []
    # Backwards dates: the page says so and shows the default period.
    today = business_today()
    html = client.get(f"/insights/?period=custom&first={today}&last={today - timedelta(days=3)}").content.decode()
    assert "The last day is before the first day." in html and "Showing the last 30 days instead." in html


BI_TABLES = ("orders_shipmentline, orders_shipment, orders_orderevent, orders_orderline, orders_order, inventory_lotconsumption, "
             "inventory_costlot, inventory_stockmove, inventory_reservationline, inventory_reservation, inventory_allocation, inventory_stock, "
             "inventory_sku, inventory_product, inventory_category, warehouses_warehouse")


@pytest.mark.worker
def test_the_worker_keeps_the_figures_fresh(committed, worker):
    from bi.tasks import refresh as refresh_task
    from tests.inventory.factories import make_sku, make_warehouses, receive
    from tests.orders.factories import place

    with committed_in("alpha", truncate=BI_TABLES):
        warehouses = make_warehouses()
        sku = make_sku("BI-W-1")
        receive(sku, warehouses["LA"], 10)
        order = place("BI-W-A", [("BI-W-1", 3)], to="CA")  # committed: the trigger queued it
        refresh_task.delay()
        deadline = time.monotonic() + 30
        while not OrderFact.objects.filter(order_id=order.pk).exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        fact = OrderFact.objects.get(order_id=order.pk)
        assert fact.units == 3 and fact.gmv == D("60.00")
        assert DailyTotal.objects.filter(grain="d").aggregate(s=Sum("gmv"))["s"] == D("60.00")
