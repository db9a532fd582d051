"""The portal shop and inbox: a distributor buys at their margin-plan price within what they may
take, the order runs through the normal pipeline, and they hear in the portal and by email when it
ships, when a statement is issued and when it is paid."""
import re
from datetime import date, datetime
from datetime import timezone as dt_timezone
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context

from commissions.models import MarginPlan, Statement
from inventory.models import SKU
from inventory.selectors import Holder
from inventory.services.allocations import allocation_set
from orders.models import Channel, Order, OrderStatus, OrderType
from orders.services.intake import Intake, IntakeLine, order_upsert
from orders.services.pipeline import order_pipeline, shipment_ship
from portal.models import CreatorAccount, Notification
from portal.notifications import notifications_email_send
from portal.services import portal_accept, portal_order_place
from tests.creators.factories import make_creator
from tests.inventory.factories import make_sku, make_warehouses, receive
from tests.portal.test_portal import GOOD, _sign_in, _world

D = Decimal
UTC = dt_timezone.utc
ADDRESS = {"ship_name": "Dana Distributor", "ship_line1": "1 Market St", "ship_city": "San Francisco", "ship_state": "CA", "ship_zip": "94105",
           "ship_country": "US", "ship_phone": ""}


def _shop_world(seller, handle: str, *, kind: str = "distributor", plan: str | None = "0.30"):
    """Two SKUs with list prices, 100 units each in LA; the first has 90 units allocated to the
    TikTok shop, so the buyer may take only the 10 left in the shared pool."""
    with tenant_context(seller):
        warehouses = make_warehouses()
        serum, mask = make_sku("SHOP-SERUM"), make_sku("SHOP-MASK")
        SKU.objects.filter(pk=serum.pk).update(list_price=D("40.00"), list_price_currency="USD")
        SKU.objects.filter(pk=mask.pk).update(list_price=D("12.50"), list_price_currency="USD")
        hidden = make_sku("SHOP-NOPRICE")  # no list price: not offered
        for sku in (serum, mask, hidden):
            receive(sku, warehouses["LA"], 100)
        allocation_set(sku_id=serum.pk, holder=Holder.channel("tiktok_shop"), quota=90)
        creator = make_creator(handle, kind=kind, tier="S", email=f"{handle}@creators.test")
        if plan:
            MarginPlan.objects.create(creator=creator, discount_rate=D(plan), valid_from=date(2026, 1, 1))
        account = CreatorAccount.objects.create(creator=creator, email=f"{handle}@creators.test")
        portal_accept(account=account, password=GOOD)
        return {"creator": creator, "serum": serum, "mask": mask, "hidden": hidden, "account": account}


def _checkout(client, **fields):
    page = client.get("/portal/shop/cart/" + (f"?type={fields['order_type']}" if "order_type" in fields else ""))
    token = re.search(r'name="token" value="([0-9A-F]{10})"', page.content.decode()).group(1)
    return client.post("/portal/shop/cart/", {"action": "place", "token": token, **ADDRESS, **fields}), token


def test_a_distributor_buys_at_their_plan_price_within_what_they_may_take_and_hears_when_it_ships(alpha, django_capture_on_commit_callbacks):
    world = _shop_world(alpha, "dana.dist")
    client = _sign_in(alpha, world["account"].email)
    shop = client.get("/portal/shop/").content.decode()
    assert "your price 28.00 USD" in shop and "your price 8.75 USD" in shop  # 30% off 40.00 and 12.50, half-up to the cent
    assert "You may take 10" in shop and "You may take 100" in shop and "SHOP-NOPRICE" not in shop

    # More than the allocation rule allows is refused, and the cart stays empty.
    page = client.post("/portal/shop/add/", {"sku": world["serum"].pk, "quantity": 11}, follow=True).content.decode()
    assert "You may take 10 of SHOP-SERUM now; your cart would hold 11." in page and "Cart: 0 units" in page
    assert client.post("/portal/shop/add/", {"sku": world["hidden"].pk, "quantity": 1}).status_code == 404
    client.post("/portal/shop/add/", {"sku": world["serum"].pk, "quantity": 4})
    client.post("/portal/shop/add/", {"sku": world["mask"].pk, "quantity": 6})
    cart = client.get("/portal/shop/cart/").content.decode()
    assert "164.50 USD" in cart  # 4 × 28.00 + 6 × 8.75
    dropship = client.get("/portal/shop/cart/?type=dropship").content.decode()
    assert "164.50 USD" in dropship and "Ship to your customer" in dropship  # the same purchase, shipped to their customer

    # A bad address names its field, and nothing is placed.
    page, _token = _checkout(client, order_type="wholesale", ship_zip="00000")
    assert "unknown US ZIP code 00000" in page.content.decode()
    with tenant_context(alpha):
        assert not Order.objects.filter(channel=Channel.PORTAL).exists()

    with django_capture_on_commit_callbacks(execute=False):
        page, token = _checkout(client, order_type="wholesale")
    assert page.status_code == 302
    with tenant_context(alpha):
        order = Order.objects.get(channel=Channel.PORTAL, creator=world["creator"])
        assert (order.external_id, order.order_type, order.total, order.currency) == (f"PO-{token}", OrderType.WHOLESALE, D("164.50"), "USD")
        assert sorted((line.sku.code, line.quantity, line.unit_price.amount) for line in order.lines.all()) == [
            ("SHOP-MASK", 6, D("8.75")), ("SHOP-SERUM", 4, D("28.00"))]
    # The same checkout page submitted twice places one order; the cart is empty afterwards.
    again = client.post("/portal/shop/cart/", {"action": "place", "token": token, "order_type": "wholesale", **ADDRESS})
    assert "Your cart is empty" in client.get("/portal/shop/cart/").content.decode() and again.status_code in (200, 302)
    with tenant_context(alpha):
        assert Order.objects.filter(channel=Channel.PORTAL).count() == 1
        # The normal pipeline: reserved in the creator's supply-priority turn and queued at LA.
        assert order_pipeline(order_id=order.pk) == OrderStatus.ROUTED
        world["serum"].refresh_from_db()
        assert world["serum"].reserved == 4
        shipment = order.shipments.get()
        with django_capture_on_commit_callbacks(execute=False):
            shipment_ship(shipment_id=shipment.pk, carrier="UPS", tracking_number="1ZPORTAL01")
            shipment_ship(shipment_id=shipment.pk, carrier="UPS", tracking_number="1ZPORTAL01")  # the same entry twice
        notes = list(Notification.objects.filter(account=world["account"]))
        assert [n.kind for n in notes] == ["order_shipped"]

    mine = client.get("/portal/orders/?source=purchases").content.decode()
    assert order.external_id in mine and "Shipped" in mine
    detail = client.get(f"/portal/orders/{order.pk}/").content.decode()
    assert "https://www.ups.com/track?tracknum=1ZPORTAL01" in detail
    home = client.get("/portal/").content.decode()
    assert re.search(r'Inbox <span class="count"[^>]*>1</span>', home)
    inbox = client.get("/portal/inbox/").content.decode()
    assert f"Your order {order.external_id} shipped: UPS 1ZPORTAL01." in inbox
    assert 'class="count"' not in client.get("/portal/").content.decode()  # read now

    with tenant_context(alpha):
        assert notifications_email_send(notification_ids=[n.pk for n in notes], site_url="http://alpha.localhost") == 1
        assert notifications_email_send(notification_ids=[n.pk for n in notes], site_url="http://alpha.localhost") == 0  # once
    assert mail.outbox[-1].to == ["dana.dist@creators.test"]
    assert f"http://alpha.localhost/portal/orders/{order.pk}/" in mail.outbox[-1].body


def test_a_creator_without_a_margin_plan_can_browse_but_not_order(alpha):
    world = _shop_world(alpha, "cleo.creator", kind="creator", plan=None)
    client = _sign_in(alpha, world["account"].email)
    shop = client.get("/portal/shop/").content.decode()
    assert "You may take 10" in shop and "your price" not in shop and "ask the seller for one" in shop
    assert 'action="/portal/shop/add/"' not in shop and "Cart:" not in shop
    page = client.post("/portal/shop/add/", {"sku": world["mask"].pk, "quantity": 2}, follow=True).content.decode()
    assert "Ordering here is for distributors and wholesale buyers with a margin plan" in page
    assert "Your cart is empty" in client.get("/portal/shop/cart/").content.decode()
    with tenant_context(alpha):
        with pytest.raises(ValidationError, match="margin plan"):
            portal_order_place(creator=world["creator"], cart={world["mask"].pk: 2}, order_type="dropship", address=ADDRESS, token="ABCDEF0123")
        assert not Order.objects.filter(channel=Channel.PORTAL).exists()


def test_statement_issued_reissued_and_paid_reach_the_inbox_once_and_email_respects_the_choice(alpha, django_capture_on_commit_callbacks):
    from commissions.services.statements import statement_approve, statement_confirm, statement_dispute, statement_pay, statement_resolve

    world = _world(alpha, "ines.inbox", with_statement=False)
    with tenant_context(alpha):
        from commissions.services.settlement import period_close

        period = period_close(cycle="monthly", day=date(2026, 10, 1), now=datetime(2026, 11, 2, tzinfo=UTC))
        statement = Statement.objects.get(creator=world["creator"], period=period)
        assert list(Notification.objects.values_list("account_id", "key")) == [(world["account"].pk, f"statement:{statement.pk}:r1")]
        period_close(cycle="monthly", day=date(2026, 10, 1), now=datetime(2026, 11, 2, tzinfo=UTC))  # closing again notifies nobody again
        statement_dispute(statement_id=statement.pk, comment="missing an order")
        statement_resolve(statement_id=statement.pk, amount="5.00", note="Added the missing order")
        statement_confirm(statement_id=statement.pk)
        statement_approve(statement_id=statement.pk)
        statement_pay(statement_id=statement.pk, reference="PAYPAL-778")
        kinds = list(Notification.objects.filter(account=world["account"]).order_by("pk").values_list("kind", "key"))
        assert kinds == [("statement_issued", f"statement:{statement.pk}:r1"), ("statement_issued", f"statement:{statement.pk}:r2"),
                         ("payment_sent", f"payout:{statement.pk}")]
        CreatorAccount.objects.filter(pk=world["account"].pk).update(email_notifications=False)
        ids = list(Notification.objects.values_list("pk", flat=True))
        assert notifications_email_send(notification_ids=ids, site_url="http://alpha.localhost") == 0  # turned off: none sent
        assert Notification.objects.filter(emailed_at__isnull=True).count() == 0
    client = _sign_in(alpha, world["account"].email)
    inbox = client.get("/portal/inbox/").content.decode()
    assert f"We sent you 65.00 USD for statement {statement.number} (reference PAYPAL-778)." in inbox
    assert f"Statement {statement.number} was issued again after your dispute: 65.00 USD." in inbox
    # The creator turns email back on from the inbox.
    client.post("/portal/inbox/", {"email_notifications": "on"})
    with tenant_context(alpha):
        assert CreatorAccount.objects.get(pk=world["account"].pk).email_notifications is True


def test_unsent_notifications_are_picked_up_by_the_sweep_and_a_failing_one_never_breaks_the_shipment(alpha, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    import portal.notifications as notifications
    from portal.notifications import notifications_pending

    world = _shop_world(alpha, "sia.sweep")
    with tenant_context(alpha):
        old = Notification.objects.create(account=world["account"], kind="order_shipped", key="shipment:900", object_id=1,
                                          data={"order": "X", "carrier": "UPS", "tracking": "1Z"}, created_at=timezone.now() - timedelta(minutes=30))
        Notification.objects.create(account=world["account"], kind="order_shipped", key="shipment:901", object_id=1, data={},
                                    created_at=timezone.now() - timedelta(minutes=30), emailed_at=timezone.now())
        Notification.objects.create(account=world["account"], kind="order_shipped", key="shipment:902", object_id=1, data={})  # just made
        assert notifications_pending() == [old.pk]

        # A broken notification is logged; the shipment it tells of still ships.
        def broken(**kwargs):
            raise RuntimeError("notification store is down")

        monkeypatch.setattr(notifications, "shipment_shipped_notify", broken)
        order, _created = order_upsert(Intake(channel=Channel.PORTAL, external_id="PO-SWEEP00001", order_type=OrderType.WHOLESALE,
                                              creator_id=world["creator"].pk, address=ADDRESS,
                                              lines=[IntakeLine(sku="SHOP-MASK", quantity=1, unit_price="8.75")]))
        order_pipeline(order_id=order.pk)
        shipment = shipment_ship(shipment_id=order.shipments.get().pk, carrier="UPS", tracking_number="1ZSWEEP")
        shipment.refresh_from_db()
        assert shipment.status == "shipped" and Order.objects.get(pk=order.pk).status == OrderStatus.SHIPPED
