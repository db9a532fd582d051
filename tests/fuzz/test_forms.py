"""Every form of the staff site, the creator portal and the public sign-up, found by walking the
URL resolver and the pages' links, then posted with the right field names and hostile values.
Never a 500; a refused post shows why (form errors or a message) and writes nothing."""
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import Resolver404, URLPattern, URLResolver, get_resolver, resolve
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_tenants.utils import tenant_context
from djmoney.money import Money
from hypothesis import given
from hypothesis import strategies as st

from accounts.models import Invitation
from accounts.modules import Role
from accounts.services import login_link_create
from commissions.models import MarginPlan, Statement
from commissions.services.statements import payout_batch_create, statement_approve, statement_confirm
from connectors.models import ChannelAccount
from creators.selectors import this_month
from creators.services.metrics import add_months
from creators.services.tiers import tier_review_run
from inventory.models import SKU, Supplier
from inventory.services.purchasing import purchase_order_create, purchase_order_send
from orders.models import Order, OrderLine, OrderStatus, Shipment
from orders.services.pipeline import order_pipeline
from portal.auth import reset_tokens
from portal.models import CreatorAccount
from portal.services import portal_accept
from tests.creators.factories import make_creator
from tests.fuzz.support import count_case, field_errors_in, fuzz_settings, garbage, messages_in, table_writes, written_since
from tests.inventory.factories import make_sku, make_warehouses, receive
from tests.orders.factories import place
from tests.portal.test_portal import GOOD, _sign_in, _world
from tests.support import client_for, make_user

# Pages that end the session or belong to Django's own admin (not ours to fuzz), and downloads.
NOT_CRAWLED = re.compile(r"^/(admin/|logout/|portal/logout/|i18n/)|\.(csv|pdf)$|/(pdf|csv)/$|/pick-list/|/packing-slips/")
MAX_PAGES = 160


@dataclass
class Form:
    action: str
    enctype: str
    fields: dict = field(default_factory=dict)  # name -> list of candidate values (first: as rendered)
    files: set = field(default_factory=set)
    multiple: set = field(default_factory=set)


class FormParser(HTMLParser):
    def __init__(self, page: str):
        super().__init__(convert_charrefs=True)
        self.page, self.forms, self.links = page, [], set()
        self._form = self._select = self._textarea = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.links.add(urljoin(self.page, a["href"]).split("#")[0])
        elif tag == "form" and (a.get("method") or "get").lower() == "post":
            self._form = Form(action=urljoin(self.page, a.get("action") or self.page), enctype=a.get("enctype") or "")
            self.forms.append(self._form)
        elif self._form is None or not a.get("name"):
            return
        elif tag == "input":
            kind = (a.get("type") or "text").lower()
            if kind == "file":
                self._form.files.add(a["name"])
            elif kind in ("checkbox", "radio"):
                values = self._form.fields.setdefault(a["name"], [])
                values.append(a.get("value", "on"))
                if kind == "checkbox":
                    self._form.multiple.add(a["name"])
            elif kind not in ("submit", "button", "reset", "image"):
                self._form.fields.setdefault(a["name"], []).insert(0, a.get("value", ""))
            else:
                self._form.fields.setdefault(a["name"], []).append(a.get("value", ""))
        elif tag == "button":
            self._form.fields.setdefault(a["name"], []).append(a.get("value", ""))
        elif tag == "select":
            self._select = self._form.fields.setdefault(a["name"], [])
            if "multiple" in a:
                self._form.multiple.add(a["name"])
        elif tag == "option" and self._select is not None:
            self._select.append(a.get("value", ""))
        elif tag == "textarea":
            self._textarea = a["name"]
            self._form.fields.setdefault(a["name"], [""])

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea and self._form is not None and data.strip():
            self._form.fields[self._textarea].insert(0, data)


def _paid_creator(handle: str) -> None:
    """A creator with a delivered order of September, so October's close issues them a statement."""
    sku = make_sku(f"{handle[:3].upper()}-SKU")
    creator = make_creator(handle, commission_rate_override=Decimal("0.20"), email=f"{handle}@creators.test")
    delivered = datetime(2026, 9, 5, 18, tzinfo=dt_timezone.utc)
    order = Order.objects.create(channel="manual", external_id=f"{handle.upper()}-1", creator=creator, currency="USD", total=Decimal("300.00"),
                                 placed_at=delivered - timedelta(days=4), delivered_at=delivered, status=OrderStatus.DELIVERED)
    OrderLine.objects.create(order=order, sku=sku, quantity=3, unit_price=Money(Decimal("100.00"), "USD"))


def _deeper_pages(seller, warehouse, sku, owner, portal) -> dict:
    """What makes the deeper pages appear: a draft and a sent purchase order, a tier review with a
    proposal, approved statements (one ready to pay, one in a payout batch), a margin plan that
    opens the portal shop (with something in the cart), and valid reset and sign-in links."""
    with tenant_context(seller):
        supplier = Supplier.objects.create(name="LA Local", currency="USD")
        draft = purchase_order_create(supplier_id=supplier.pk, warehouse_id=warehouse.pk, lines=[(sku.pk, 10, Money(Decimal("2.00"), "USD"))])
        sent = purchase_order_create(supplier_id=supplier.pk, warehouse_id=warehouse.pk, lines=[(sku.pk, 40, Money(Decimal("2.50"), "USD"))])
        purchase_order_send(po_id=sent.pk)

        make_creator("fuzz.fading", tier="S")  # no orders last month: a demotion to decide
        review = tier_review_run(month=add_months(this_month(), -1))
        assert review.items.filter(creator__handle="fuzz.fading").exists()

        statements = list(Statement.objects.filter(creator__handle__in=("paid.fuzz", "ready.fuzz")).order_by("creator__handle"))
        for statement in statements:
            statement_confirm(statement_id=statement.pk)
            statement_approve(statement_id=statement.pk, user=owner)
        batch = payout_batch_create(statement_ids=[statements[0].pk], user=owner)

        creator = portal["creator"]
        creator.kind = "distributor"
        creator.save(update_fields=["kind"])
        MarginPlan.objects.create(creator=creator, discount_rate=Decimal("0.30"), valid_from=date(2026, 1, 1))
        SKU.objects.filter(pk=sku.pk).update(list_price=Decimal("40.00"), list_price_currency="USD")

        resetting = make_user(seller, role=Role.ANALYST)  # not the owner: a fuzzed reset must not sign the staff client out
        uid = urlsafe_base64_encode(force_bytes(resetting.pk))
        staff_reset = f"/password-reset/{uid}/{default_token_generator.make_token(resetting)}/"
        other = make_creator("fuzz.reset", email="fuzz.reset@creators.test")
        account = CreatorAccount.objects.create(creator=other, email="fuzz.reset@creators.test")
        portal_accept(account=account, password=GOOD)
        account.refresh_from_db()
        portal_reset = f"/portal/reset/{urlsafe_base64_encode(force_bytes(account.pk))}/{reset_tokens.make_token(account)}/"
        welcome = f"/welcome/{login_link_create(user=make_user(seller, role=Role.OWNER), schema_name=seller.schema_name)}/"
    return {"po_id": sent.pk, "draft_po_id": draft.pk, "review_id": review.pk, "batch_id": batch.pk, "staff_reset": staff_reset,
            "staff_reset_form": f"/password-reset/{uid}/set-password/", "portal_reset": portal_reset, "welcome": welcome}


@pytest.fixture
def site(alpha):
    """A seller with something on every page: stock, orders in the warehouse queue, a shop, a
    purchase order, creators with statements and a portal account, a team member and an invitation."""
    with tenant_context(alpha):
        warehouses = make_warehouses()
        _paid_creator("paid.fuzz")
        _paid_creator("ready.fuzz")
    portal = _world(alpha, "fuzzcreator")
    with tenant_context(alpha):
        sku = make_sku("FORM-1")
        receive(sku, warehouses["LA"], 200)
        Supplier.objects.create(name="GZ Supplies", currency="CNY")
        for i in range(3):
            order_pipeline(order_id=place(f"FORM-{i}", [("FORM-1", 1)]).pk)
        place("FORM-BAD", [("GHOST-1", 1)])  # an exception
        ChannelAccount.objects.create(platform="tiktok_shop", name="TT", shop_id="7494", app_key="6abc", app_secret="s3cret", access_token="t",
                                      api_base_url="http://127.0.0.1:9/tiktok", auth_url="http://127.0.0.1:9/auth")
        owner = make_user(alpha, role=Role.OWNER)
        member = make_user(alpha, role=Role.ANALYST)
        staff = client_for(alpha, owner)
        staff.post("/team/invite/", {"email": "invited@alpha.test", "role": Role.ANALYST})
        ids = {"warehouse_id": warehouses["LA"].pk, "sku_id": sku.pk, "user_id": member.pk, "creator_id": portal["creator"].pk,
               "order_id": portal["order"].pk, "statement_id": portal["statement"].pk, "period_id": portal["statement"].period_id,
               "shipment_id": Shipment.objects.filter(warehouse=warehouses["LA"]).first().pk,
               "account_id": ChannelAccount.objects.first().pk, "invitation_id": Invitation.objects.first().pk}
        from accounts.services import invitation_create, invitation_token

        invitation = invitation_create(email="second@alpha.test", role=Role.FINANCE, invited_by=owner)
        ids["token"] = invitation_token(invitation=invitation)
    ids.update(_deeper_pages(alpha, warehouses["LA"], sku, owner, portal))
    shopper = _sign_in(alpha, portal["account"].email, GOOD)
    shopper.post("/portal/shop/add/", {"sku": sku.pk, "quantity": 2})  # a cart, so the cart page shows its forms
    with tenant_context(alpha):
        yield {"seller": alpha, "owner": owner, "staff": staff, "portal": shopper, "ids": ids,
               "welcomed": Client(HTTP_HOST=f"{alpha.subdomain}.localhost"),
               "anonymous": Client(HTTP_HOST=f"{alpha.subdomain}.localhost"), "public": Client(HTTP_HOST="localhost")}


def _patterns(resolver, prefix=""):
    for p in resolver.url_patterns:
        if isinstance(p, URLResolver):
            yield from _patterns(p, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern)


def _start_pages(ids, urlconf) -> list[str]:
    pages = []
    for route in _patterns(get_resolver(urlconf)):
        if route.startswith("^") or "admin/" in route:
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(ids[m.group(1)]) if m.group(1) in ids else "\x00", route)
        if "\x00" not in path:
            pages.append("/" + path)
    return pages


def _crawl(client, pages: list[str], urlconf: str, forms: dict, who: str, *, follow: bool = False, max_pages: int = MAX_PAGES) -> None:
    """Every POST form reachable from `pages` by links, one per (view, field names). `follow`:
    follow redirects too (a reset link moves its token into the session; a sign-in link lands on
    the home page)."""
    queue, seen = list(pages), set()
    while queue and len(seen) < max_pages:
        path = queue.pop(0)
        if path in seen or NOT_CRAWLED.search(path):
            continue
        seen.add(path)
        answer = client.get(path, follow=follow)
        if answer.status_code != 200 or not answer.get("Content-Type", "").startswith("text/html"):
            continue
        if getattr(answer, "redirect_chain", None):
            path = urlsplit(answer.redirect_chain[-1][0]).path
        parser = FormParser(f"http://testserver{path}")
        parser.feed(answer.content.decode())
        for link in sorted(parser.links):  # a fixed order: the same forms on every run
            parts = urlsplit(link)
            if parts.netloc == "testserver" and not parts.query and parts.path not in seen:
                queue.append(parts.path)
        for form in parser.forms:
            action = urlsplit(form.action).path
            try:
                match = resolve(action, urlconf=urlconf)
            except Resolver404:
                continue
            if NOT_CRAWLED.search(action) or match.view_name in ("accounts:logout", "portal:logout", "set_language"):
                continue
            form.action = action
            shape = tuple(sorted(re.sub(r"\d+", "#", name) for name in form.fields))  # qty_12 and qty_13: the same form
            forms.setdefault((who, match.view_name, shape, tuple(sorted(form.files))), form)


def _all_forms(site) -> dict[tuple, Form]:
    forms: dict[tuple, Form] = {}
    tenant = [p for p in _start_pages(site["ids"], "erp.urls_tenants")]
    _crawl(site["staff"], [p for p in tenant if not p.startswith("/portal/")], "erp.urls_tenants", forms, "staff")
    _crawl(site["portal"], [p for p in tenant if p.startswith("/portal/")], "erp.urls_tenants", forms, "portal")
    ids = site["ids"]
    _crawl(site["anonymous"], ["/login/", "/password-reset/", "/portal/login/", "/portal/reset/", f"/invite/{ids['token']}/", ids["staff_reset"],
                               ids["portal_reset"]], "erp.urls_tenants", forms, "anonymous", follow=True)
    _crawl(site["welcomed"], [ids["welcome"]], "erp.urls_tenants", forms, "welcomed", follow=True, max_pages=1)
    _crawl(site["public"], _start_pages({}, "erp.urls_public"), "erp.urls_public", forms, "public")
    return forms


@st.composite
def fuzzed_post(draw, form: Form):
    data = {}
    for name, candidates in form.fields.items():
        how = draw(st.sampled_from(["as_rendered", "choice", "garbage", "garbage", "missing"]))
        if how == "missing":
            continue
        if how == "garbage" or not candidates:
            value = draw(garbage)
        elif how == "choice":
            value = draw(st.sampled_from(candidates))
        else:
            value = candidates[0]
        data[name] = [value, draw(garbage)] if name in form.multiple and draw(st.booleans()) else value
    for name in form.files:
        data[name] = SimpleUploadedFile("fuzz.csv", draw(st.binary(max_size=200)), content_type="text/csv")
    return data


SHOWN_ERROR = ("error", "warning")


HOME = {"staff": "/", "portal": "/portal/", "anonymous": "/login/", "public": "/signup/", "welcomed": "/"}


def _outcome(client, answer, home: str) -> tuple[str, str]:
    """('error' | 'success' | 'silent' | 'file' | 'status', detail) of a post, following its redirect."""
    if answer.status_code >= 400:
        return "status", str(answer.status_code)
    hops = 0
    while answer.status_code in (301, 302, 303) and hops < 3:
        answer = client.get(answer["Location"])
        hops += 1
    if answer.status_code >= 400:  # the post was handled; a `next` of garbage may send the browser nowhere
        client.get(home)  # show (and so clear) its messages, or the next case would see them
        return "redirected", str(answer.status_code)
    if not answer.get("Content-Type", "").startswith("text/html"):
        return "file", answer.get("Content-Type", "")
    html = answer.content.decode()
    notes = messages_in(html)
    if any(tag in tags for tags, _t in notes for tag in SHOWN_ERROR) or field_errors_in(html) or "problem to fix" in html or "problems to fix" in html:
        return "error", repr(notes or field_errors_in(html))[:300]
    if notes:
        return "success", repr(notes)[:300]
    return "silent", html[:0]


def test_every_form_survives_fuzzed_posts(site):
    forms = _all_forms(site)
    views = {view for _who, view, _f, _files in forms}
    # ...and the pages only data opens: the portal shop and cart, purchase orders, a tier review,
    # payouts, and the token pages (reset links, the sign-up hand-off that lands signed in).
    ids, found = site["ids"], {(who, form.action) for (who, _v, _f, _files), form in forms.items()}
    deeper = {("portal", "/portal/shop/add/"), ("portal", "/portal/shop/cart/"),
              ("staff", f"/inventory/purchase-orders/{ids['po_id']}/receive/"), ("staff", f"/inventory/purchase-orders/{ids['draft_po_id']}/send/"),
              ("staff", f"/creators/reviews/{ids['review_id']}/decide/"),
              ("staff", "/commissions/payouts/"), ("staff", f"/commissions/payouts/{ids['batch_id']}/"),
              ("anonymous", ids["staff_reset_form"]), ("anonymous", ids["portal_reset"]), ("welcomed", "/account/language/")}
    assert deeper <= found, sorted(deeper - found)
    assert "inventory:po_cancel" in views  # one per field names: the draft's or the sent order's
    # The crawl really reached the modules (a broken crawl would pass trivially).
    for expected in ("orders:create", "orders:import", "inventory:sku_adjust", "inventory:fx", "warehouses:index", "warehouses:pack",
                     "channels:connect", "creators:create", "creators:edit", "commissions:fees", "team:invite", "team:role",
                     "accounts:preferences", "portal:reset", "accounts:login", "portal:login", "accounts:invitation_accept", "signup"):
        assert expected in views, (expected, sorted(views))
    silent = []
    for (who, view, _names, _files), form in sorted(forms.items()):
        client = site[who]

        @fuzz_settings(max_examples=5)  # 81 forms x 5 keeps tests/fuzz within ~45 s
        @given(data=fuzzed_post(form))
        def run(data):
            count_case("form")
            before = table_writes()
            answer = client.post(form.action, data)
            assert answer.status_code < 500, (view, data)
            written = written_since(before)
            outcome, detail = _outcome(client, answer, HOME[who])
            if outcome in ("error", "status"):
                assert not written, (view, form.action, data, outcome, detail, written)
            if outcome == "silent" and not written:
                silent.append((view, form.action, repr(data)[:300], detail, answer.status_code))

        run()
        with tenant_context(site["seller"]):  # a fuzzed post may have signed the owner out or changed their password
            site["staff"].force_login(site["owner"], backend="django.contrib.auth.backends.ModelBackend")
    print(f"forms fuzzed: {len(forms)} ({len(views)} views)", end=" ")
    assert not silent, silent  # a post that changed nothing says why
