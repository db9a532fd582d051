"""The creator portal: invitation, sign-in apart from staff, lockout and reset, the creator's own
dashboard, orders, commissions and statements, and a sweep proving nobody sees anyone else's."""
import re
from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal

import pytest
from django.core import mail
from django.test import Client
from django_tenants.utils import tenant_context
from djmoney.money import Money

from accounts.modules import Role
from commissions.models import Statement, StatementStatus
from commissions.services.accrual import accrue
from commissions.services.settlement import period_close
from erp.tenancy import seller_site_url
from orders.models import Order, OrderLine, OrderStatus, Shipment, ShipmentStatus
from portal.models import CreatorAccount
from portal.services import portal_accept, portal_invite
from tests.creators.factories import make_creator
from tests.inventory.factories import make_sku, make_warehouses
from tests.support import client_for, make_user
from warehouses.models import Warehouse

D = Decimal
UTC = dt_timezone.utc
GOOD = "Lip-gloss-2026!"


def _portal(seller) -> Client:
    return Client(HTTP_HOST=f"{seller.subdomain}.localhost")


def _sign_in(seller, email, password=GOOD) -> Client:
    client = _portal(seller)
    page = client.post("/portal/login/", {"email": email, "password": password})
    assert page.status_code == 302 and page["Location"] == "/portal/", page.content.decode()[:400]
    return client


def _world(seller, handle: str, *, with_statement: bool = True):
    """A creator with a delivered, shipped order (street address and all), its commission, and
    (optionally) an issued October statement; plus an open account for them."""
    with tenant_context(seller):
        sku = make_sku(f"{handle[:3].upper()}-SKU")
        creator = make_creator(handle, commission_rate_override=D("0.20"), email=f"{handle}@creators.test")
        delivered = datetime(2026, 9, 5, 18, tzinfo=UTC)
        order = Order.objects.create(channel="manual", external_id=f"{handle.upper()}-1", creator=creator, currency="USD",
                                     placed_at=delivered - timedelta(days=4), delivered_at=delivered, status=OrderStatus.DELIVERED,
                                     ship_name="Secret Buyer", ship_line1="742 Evergreen Terrace", ship_city="Springfield", ship_state="IL",
                                     ship_zip="62704", total=D("300.00"))
        OrderLine.objects.create(order=order, sku=sku, quantity=3, unit_price=Money(D("100.00"), "USD"))
        warehouse = Warehouse.objects.filter(code="LA").first() or make_warehouses()["LA"]
        Shipment.objects.create(order=order, warehouse=warehouse, status=ShipmentStatus.DELIVERED, carrier="UPS",
                                tracking_number=f"1Z{handle.upper()[:4]}99", reservation_reference=f"ship-{handle}")
        accrue(now=datetime(2026, 11, 20, tzinfo=UTC))
        statement = None
        if with_statement:
            period = period_close(cycle="monthly", day=date(2026, 10, 1), now=datetime(2026, 11, 2, tzinfo=UTC))
            statement = Statement.objects.get(creator=creator, period=period)
        account = CreatorAccount.objects.create(creator=creator, email=f"{handle}@creators.test")
        portal_accept(account=account, password=GOOD)
        return {"creator": creator, "order": order, "statement": statement, "account": account}


def test_invited_creator_sets_a_password_and_stays_apart_from_staff(alpha, django_capture_on_commit_callbacks):
    with tenant_context(alpha):
        creator = make_creator("nina.new", email="nina@creators.test")
    manager = client_for(alpha, make_user(alpha, role=Role.CREATOR_MANAGER))
    with django_capture_on_commit_callbacks(execute=True):
        page = manager.post(f"/creators/{creator.pk}/portal-invite/", {"email": "nina@creators.test"})
    assert page.status_code == 302
    site = seller_site_url(schema_name=alpha.schema_name)
    link = re.search(re.escape(site) + r"/portal/invite/\S+/", mail.outbox[-1].body).group(0)
    path = link.removeprefix(site)
    creator_client = _portal(alpha)
    weak = creator_client.post(path, {"password": "12345", "password2": "12345"}).content.decode()
    assert "This password is too short" in weak
    page = creator_client.post(path, {"password": GOOD, "password2": GOOD})
    assert page.status_code == 302 and page["Location"] == "/portal/"
    assert "Hi @nina.new" in creator_client.get("/portal/").content.decode()
    assert creator_client.get(path).status_code == 404  # the link is used up
    # A creator session is no staff session: staff pages send them to the staff sign-in, admin too.
    for staff_page in ("/", "/orders/", "/commissions/", "/creators/", "/admin/"):
        answer = creator_client.get(staff_page)
        assert answer.status_code == 302 and "/portal" not in answer["Location"] and "login" in answer["Location"], staff_page
    # A staff session does not open the portal.
    answer = manager.get("/portal/")
    assert answer.status_code == 302 and answer["Location"].startswith("/portal/login/")
    # The staff page shows the account in use; a second invitation is refused.
    detail = manager.get(f"/creators/{creator.pk}/").content.decode()
    assert "in use (nina@creators.test)" in detail
    manager.post(f"/creators/{creator.pk}/portal-invite/", {"email": "nina@creators.test"})
    assert "already uses the portal" in manager.get(f"/creators/{creator.pk}/").content.decode()


def test_wrong_passwords_lock_the_account_and_a_reset_link_works_once(alpha, settings):
    settings.AXES_FAILURE_LIMIT = 3
    world = _world(alpha, "lola.lock", with_statement=False)
    client = _portal(alpha)
    for _attempt in range(2):
        assert "do not match" in client.post("/portal/login/", {"email": "lola.lock@creators.test", "password": "wrong-one-1"}).content.decode()
    assert client.post("/portal/login/", {"email": "lola.lock@creators.test", "password": "wrong-one-1"}).status_code == 429
    assert client.post("/portal/login/", {"email": "lola.lock@creators.test", "password": GOOD}).status_code == 429  # locked even when right

    client.post("/portal/reset/", {"email": "LOLA.lock@creators.test"})
    link = re.search(r"/portal/reset/\S+/\S+/", mail.outbox[-1].body).group(0)
    assert client.post("/portal/reset/", {"email": "nobody@creators.test"}).status_code == 302 and len(mail.outbox) == 1  # no probing
    new = "Brand-new-pass-77"
    assert client.post(link, {"password": new, "password2": new}).status_code == 302
    assert client.get(link).status_code == 404  # used up: the password changed
    _sign_in(alpha, world["account"].email, new)


def test_the_creator_sees_their_own_business_and_settles_their_statement(alpha):
    world = _world(alpha, "ava.mine")
    client = _sign_in(alpha, world["account"].email)
    home = client.get("/portal/").content.decode()
    assert "Payable balance" in home and "60.00 USD" in home  # 20% of 300.00, past its return window
    orders = client.get("/portal/orders/").content.decode()
    assert "AVA.MINE-1" in orders and "Springfield, IL" in orders
    assert "742 Evergreen" not in orders and "Secret Buyer" not in orders
    detail = client.get(f"/portal/orders/{world['order'].pk}/").content.decode()
    assert "https://www.ups.com/track?tracknum=1ZAVA.99" in detail and "742 Evergreen" not in detail and "62704" not in detail
    csv_text = client.get("/portal/orders/?export=csv").getvalue().decode()
    assert "AVA.MINE-1" in csv_text and "Springfield" in csv_text and "Evergreen" not in csv_text
    lines = client.get("/portal/commissions/").content.decode()
    assert "60.00 USD" in lines and "payable" in lines and "FIFO" not in lines

    statement = world["statement"]
    page = client.get(f"/portal/statements/{statement.pk}/").content.decode()
    assert statement.number in page and "60.00" in page
    pdf = client.get(f"/portal/statements/{statement.pk}/pdf/")
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    client.post(f"/portal/statements/{statement.pk}/dispute/", {"comment": ""})
    statement.refresh_from_db()
    assert statement.status == StatementStatus.ISSUED  # an empty dispute is refused
    client.post(f"/portal/statements/{statement.pk}/confirm/")
    statement.refresh_from_db()
    assert statement.status == StatementStatus.CONFIRMED
    assert "Confirmed by @ava.mine in the portal" in client.get(f"/portal/statements/{statement.pk}/").content.decode()


def test_sweep_nobody_reaches_another_creators_or_sellers_objects(alpha, beta):
    mine = _world(alpha, "xena.x", with_statement=False)
    other = _world(alpha, "yuri.y")  # closes October for both
    with tenant_context(alpha):
        mine["statement"] = Statement.objects.get(creator=mine["creator"])
    foreign = _world(beta, "zoe.z")
    x = _sign_in(alpha, mine["account"].email)
    anonymous = _portal(alpha)

    def urls(world):
        s, o = world["statement"].pk, world["order"].pk
        return [("get", f"/portal/orders/{o}/"), ("get", f"/portal/statements/{s}/"), ("get", f"/portal/statements/{s}/pdf/"),
                ("post", f"/portal/statements/{s}/confirm/"), ("post", f"/portal/statements/{s}/dispute/")]

    for world in (other, foreign):
        for method, url in urls(world):
            answer = getattr(x, method)(url, {"comment": "mine now"} if method == "post" else None)
            assert answer.status_code in (403, 404), (method, url, answer.status_code)
            body = answer.content.decode(errors="ignore")
            assert world["order"].external_id not in body and world["statement"].number not in body
    for method, url in urls(mine) + [("get", "/portal/"), ("get", "/portal/orders/"), ("get", "/portal/commissions/"), ("get", "/portal/statements/"),
                                     ("get", "/portal/orders/?export=csv")]:
        answer = getattr(anonymous, method)(url)
        assert answer.status_code == 302 and answer["Location"].startswith("/portal/login/"), url
    # Y's and seller B's notifications (an issued statement each) never show in X's inbox, and a
    # product not open to creators (no list price) cannot be put in a cart.
    from portal.notifications import statements_issued_notify

    for world, seller in ((other, alpha), (foreign, beta)):
        with tenant_context(seller):
            statements_issued_notify(statement_ids=[world["statement"].pk])
    with tenant_context(alpha):
        hidden = Order.objects.get(pk=other["order"].pk).lines.get().sku
    assert x.post("/portal/shop/add/", {"sku": hidden.pk, "quantity": 1}).status_code == 404
    assert "Your cart is empty" in x.get("/portal/shop/cart/").content.decode()
    # Lists hold only X's own rows.
    for url in ("/portal/orders/", "/portal/commissions/", "/portal/statements/", "/portal/orders/?export=csv", "/portal/", "/portal/inbox/",
                "/portal/shop/", "/portal/shop/cart/", "/portal/orders/?source=purchases"):
        body = x.get(url).getvalue().decode()
        assert "YURI" not in body.upper() and "ZOE" not in body.upper() and other["statement"].number not in body, url
    for world, seller in ((other, alpha), (foreign, beta)):
        with tenant_context(seller):
            world["statement"].refresh_from_db()
        assert world["statement"].status == StatementStatus.ISSUED  # nothing X posted changed it
    # X's session is worthless on seller B's site, and X's email and password are unknown there.
    assert _portal(beta).post("/portal/login/", {"email": mine["account"].email, "password": GOOD}).status_code == 200
    # CSRF: a form post without the token is refused.
    strict = Client(HTTP_HOST="alpha.localhost", enforce_csrf_checks=True)
    assert strict.post("/portal/login/", {"email": mine["account"].email, "password": GOOD}).status_code == 403


def test_invitations_need_an_email_and_renewing_one_voids_the_old_link(alpha, django_capture_on_commit_callbacks):
    with tenant_context(alpha):
        creator = make_creator("rita.renew")
        staff = make_user(alpha, role=Role.MANAGER)
        with pytest.raises(Exception, match="has no email address"):
            portal_invite(creator=creator, email="", invited_by=staff, site_url="http://alpha.localhost")
        with django_capture_on_commit_callbacks(execute=True):
            portal_invite(creator=creator, email="rita@creators.test", invited_by=staff, site_url="http://alpha.localhost")
        first = re.search(r"/portal/invite/\S+/", mail.outbox[-1].body).group(0)
        with django_capture_on_commit_callbacks(execute=True):
            portal_invite(creator=creator, email="rita@creators.test", invited_by=staff, site_url="http://alpha.localhost")
        second = re.search(r"/portal/invite/\S+/", mail.outbox[-1].body).group(0)
    client = _portal(alpha)
    assert client.get(first).status_code == 404 and client.get(second).status_code == 200


PORTAL_PUBLIC = {"login", "logout", "invite", "reset", "reset_confirm"}


def portal_urls():
    from django.urls import get_resolver

    from tests.accounts.test_permissions import _concrete, _walk

    return [(_concrete(route), name) for route, namespaces, name in _walk(get_resolver("erp.urls_tenants").url_patterns)
            if "portal" in namespaces and name not in PORTAL_PUBLIC]


def test_every_portal_page_sends_anonymous_and_staff_visitors_to_the_portal_sign_in(alpha):
    urls = portal_urls()
    assert len(urls) >= 8
    staff = client_for(alpha, make_user(alpha, role=Role.OWNER))
    for client in (_portal(alpha), staff):
        for path, name in urls:
            for method in ("get", "post"):
                answer = getattr(client, method)(path)
                assert answer.status_code == 302 and answer["Location"].startswith("/portal/login/?next="), (method, path, answer.status_code)
