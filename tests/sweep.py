"""Tenant and role isolation sweep, shared by tests/security/test_isolation_sweep.py and
bench/isolation_sweep.py.

Every URL pattern of a seller's site (staff modules, shell pages, seller admin, creator portal,
webhooks; found by walking the URL resolver, so a new page is swept without anyone listing it)
is requested, GET and POST, by every identity: anonymous, each staff role and a signed-in portal
creator, with

- `own`:     the own seller's real ids (the baseline: what the identity may do, it may do),
- `foreign`: ids of objects that exist only in the other seller's schema (in the URL, in the
             query string and in the usual id fields of a POST body),
- `peer`:    for portal pages, ids of another creator of the same seller,
- `host`:    the own ids on the other seller's host, with the same session cookie.

A request leaks when
- it answers 500 (an error: counted and listed too),
- an identity without access (anonymous, a role without the module, staff on the portal, a
  creator on staff pages, a non-owner in the seller admin, anyone signed in on another seller's
  host) gets anything but 403/404/405 or a redirect to a sign-in page,
- its body (HTML, JSON, CSV, PDF text) or redirect holds a canary of the other seller's data, or,
  for a portal creator, of another creator's data,
- it writes rows (PostgreSQL's per-transaction tuple counters, so even a write rolled back
  counts) when it is not an allowed request with the own ids.

Each request runs in a savepoint that is rolled back, so the world is the same for every request
(a baseline POST that deactivates a user or signs out does not spoil the ones after it).
"""
from __future__ import annotations

import hashlib
import hmac
import io
import json
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal
from http.cookies import SimpleCookie

from django.db import connection, transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.exceptions import NoReverseMatch
from django_tenants.utils import tenant_context

from accounts.modules import Module, Role, modules_for_role

URLCONF = "erp.urls_tenants"
UTC = dt_timezone.utc
D = Decimal
PORTAL_PASSWORD = "Sweep-portal-2026!"
ANONYMOUS, CREATOR = "anonymous", "creator"
IDENTITIES = (ANONYMOUS, *Role.values, CREATOR)

# Pages anyone may open without signing in, each with the reason. Keep this short: anything else
# must belong to a module, the shell (signed-in staff), the seller admin (Owners) or the portal.
PUBLIC = {
    "accounts:login": "staff sign-in",
    "accounts:logout": "staff sign-out (POST; ends whatever session there is)",
    "accounts:welcome": "sign-up hand-off link (signed, single use, bound to this schema)",
    "accounts:invitation_accept": "staff invitation link (signed token)",
    "accounts:password_reset": "staff password reset request",
    "accounts:password_reset_done": "staff password reset: sent page",
    "accounts:password_reset_confirm": "staff password reset link (token)",
    "accounts:password_reset_complete": "staff password reset: done page",
    "set_language": "language switch of the sign-in pages",
    "webhook_tiktok": "platform webhook: the HMAC signature on the body is the authentication",
    "webhook_shopify": "platform webhook: the HMAC signature on the body is the authentication",
    "portal:login": "creator portal sign-in",
    "portal:logout": "creator portal sign-out",
    "portal:invite": "creator portal invitation link (signed token)",
    "portal:reset": "creator portal password reset request",
    "portal:reset_confirm": "creator portal password reset link (token)",
    "seller_admin:login": "seller admin sign-in form",
    "seller_admin:logout": "seller admin sign-out",
}
# A health check answers load balancers without a session; it must only say up/down.
PUBLIC_NAME_PATTERNS = {re.compile(r"(^|:)health\w*$"): "health check for load balancers (status only, no data)"}
# Paths a middleware answers before URL resolution (so the walker cannot see them): swept like patterns.
MIDDLEWARE_PATHS = ("health/",)
WEBHOOKS = {"webhook_tiktok", "webhook_shopify"}
# Changes only some roles of a module may make (the page itself is open to the module).
_MONEY = {Role.OWNER, Role.MANAGER, Role.FINANCE}  # prices, rates, fees, margin plans
_INTEGRATIONS = {Role.OWNER, Role.MANAGER}  # 3PL addresses and keys, shop connections
ROLE_RESTRICTED_POSTS = {"creators:policy": {Role.OWNER, Role.MANAGER}, "inventory:fx": _MONEY, "inventory:fx_export": _MONEY, "commissions:index": _MONEY,
                         "commissions:fees": _MONEY, "commissions:fee_end": _MONEY, "commissions:margin_plan_end": _MONEY,
                         "warehouses:fulfilment": _INTEGRATIONS, "channels:connect": _INTEGRATIONS}
# Pages a role may use outside its modules: Finance keeps the exchange rates (under Inventory).
ALSO_OPEN_TO = {"inventory:fx": {Role.FINANCE}, "inventory:fx_export": {Role.FINANCE}}
# Rows written on any request, by design: the session store and django-axes' bookkeeping.
IGNORED_TABLES = {"django_session", "axes_accessattempt", "axes_accesslog", "axes_accessfailurelog"}
LOGIN_PATHS = ("/login/", "/portal/login/", "/admin/login/")
# A webhook that is not this seller's: no shop of it signed the body (401; a TikTok body is not read
# before a signature verifies, so its shop cannot be named), no such shop (404), or its sender
# refused too often this minute (429).
WEBHOOK_REFUSALS = (401, 403, 404, 405, 429)
STATEMENT_ACTIONS = ("confirm", "dispute", "resolve", "approve", "pay")
# Usual names of id fields in POST bodies and query strings, and the kind of object they name.
FUZZ_FIELDS = {"id": ("order_id", "shipment_id"), "ids": ("order_id",), "order": ("order_id",), "shipment": ("shipment_id",),
               "number": ("shipment_id",), "statement": ("statement_id",), "listing": ("listing_id",), "item": ("item_id",),
               "alert": ("alert_id",), "sku": ("sku_id",), "warehouse": ("warehouse_id",), "creator": ("creator_id",),
               "supplier": ("supplier_id",), "user": ("user_id",), "account": ("account_id",), "period": ("period_id",),
               "batch": ("batch_id",)}

# Plain fields sent along with the ids, so forms get past "fill this in" to the lookup of the ids.
FILLER = {"last_day": "2031-12-31", "comment": "sweep", "note": "sweep", "reason": "sweep", "reference": "SWEEP-1", "amount": "1.00",
          "quantity": "1", "carrier": "UPS", "tracking_number": "1Z999SWEEP", "delta": "1", "active": "1", "role": "analyst"}


# ============================================================================ URL patterns
@dataclass(frozen=True)
class Route:
    name: str            # "orders:detail"; "" for an unnamed pattern
    route: str           # the pattern text, for reports
    regex: str
    kwargs: tuple[str, ...]
    namespaces: tuple[str, ...]

    @property
    def area(self) -> str:
        if self.name in WEBHOOKS:
            return "hooks"
        if "seller_admin" in self.namespaces:
            return "admin"
        if "portal" in self.namespaces:
            return "portal"
        return "staff"

    @property
    def module(self) -> str | None:
        return next((ns for ns in self.namespaces if ns in Module.values), None)

    @property
    def public(self) -> str | None:
        if self.name in PUBLIC:
            return PUBLIC[self.name]
        return next((why for rx, why in PUBLIC_NAME_PATTERNS.items() if rx.search(self.name) or rx.search(self.route.strip("/^$"))), None)

    @property
    def model(self) -> tuple[str, str] | None:
        """(app_label, model_name) of a seller-admin model page (names like inventory_category_change)."""
        if self.area != "admin":
            return None
        from django.apps import apps

        m = re.match(r"admin/(\w+)/(\w+)/", self.route)
        if m:
            try:
                apps.get_model(m.group(1), m.group(2))
                return m.group(1), m.group(2)
            except LookupError:
                pass
        parts = self.name.split(":")[-1].split("_")
        for i in range(1, len(parts)):
            app, model = "_".join(parts[:i]), "_".join(parts[i:-1])
            try:
                apps.get_model(app, model)
                return app, model
            except (LookupError, ValueError):
                continue
        return None


def walk(urlconf: str = URLCONF) -> list[Route]:
    """Every URL pattern of `urlconf`, recursively through includes."""
    found = []

    def _walk(patterns, prefix_route, prefix_regex, namespaces):
        for p in patterns:
            if isinstance(p, URLResolver):
                ns = (*namespaces, p.namespace) if p.namespace else namespaces
                _walk(p.url_patterns, prefix_route + str(p.pattern), prefix_regex + _regex(p.pattern), ns)
            elif isinstance(p, URLPattern):
                regex = prefix_regex + _regex(p.pattern)
                name = ":".join([*namespaces, p.name]) if p.name else ""
                found.append(Route(name=name, route=prefix_route + str(p.pattern), regex=regex,
                                   kwargs=tuple(re.compile(regex).groupindex), namespaces=namespaces))

    _walk(get_resolver(urlconf).url_patterns, "", "", ())
    for path in MIDDLEWARE_PATHS:
        if not any(r.route == path for r in found):
            found.append(Route(name="", route=path, regex=re.escape(path).replace("\\/", "/"), kwargs=(), namespaces=()))
    return found


def _regex(pattern) -> str:
    rx = pattern.regex.pattern
    return rx.removeprefix("^").removesuffix(r"\Z").removesuffix("$")


def _fill(route: Route, kwargs: dict, urlconf: str) -> str | None:
    if route.name:
        try:
            return reverse(route.name, kwargs=kwargs, urlconf=urlconf)
        except NoReverseMatch:
            return None
    # An unnamed pattern (the admin's catch-all): put the values into its groups by hand.
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: str(kwargs.get(m.group(1), "x")), route.regex)
    return "/" + path.replace("\\", "")


# ============================================================================ the world of one seller
@dataclass
class World:
    seller: object
    tag: str                      # "alpha"
    id_floor: int                 # every id made for the sweep is at least this
    canary: str                   # in every text we control of this seller: "cnryalpha"
    peer_canary: str              # in everything of the portal creator's peer (same seller): "peeralpha"
    ids: dict[str, int] = field(default_factory=dict)            # kwarg name -> id
    peer_ids: dict[str, int] = field(default_factory=dict)       # the peer creator's order_id, statement_id
    admin_ids: dict[tuple[str, str], int] = field(default_factory=dict)
    tokens: dict[str, dict] = field(default_factory=dict)        # route name -> kwargs of a valid link
    extra_canaries: set[str] = field(default_factory=set)        # generated numbers that name this seller's objects
    peer_extra: set[str] = field(default_factory=set)
    users: dict[str, object] = field(default_factory=dict)       # role -> User
    creator_email: str = ""
    webhook: dict = field(default_factory=dict)
    sequences: dict = field(default_factory=dict)               # the schema's sequences before the sweep bumped them

    @property
    def host(self) -> str:
        from erp.tenancy import tenant_host

        return tenant_host(subdomain=self.seller.subdomain)


def _bump_sequences(floor: int) -> dict[str, tuple[int, bool]]:
    """Start this schema's ids at `floor`, so the other seller's ids never exist here. Returns the
    sequences as they were (setval is not undone by a rollback: world_release puts them back)."""
    before = {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT schemaname, sequencename FROM pg_sequences WHERE schemaname = %s", [connection.schema_name])
        for schema, name in cursor.fetchall():
            seq = f'"{schema}"."{name}"'
            cursor.execute(f"SELECT last_value, is_called FROM {seq}")
            before[seq] = cursor.fetchone()
            cursor.execute("SELECT setval(%s, GREATEST(%s, %s))", [seq, before[seq][0], floor])
    return before


def world_release(world: "World") -> None:
    """Put the sequences of the world's schema back (for a shared test database, after the test's rollback)."""
    with tenant_context(world.seller), connection.cursor() as cursor:
        for seq, (last_value, is_called) in world.sequences.items():
            cursor.execute("SELECT setval(%s, %s, %s)", [seq, last_value, is_called])


def world_build(seller, tag: str, *, id_floor: int) -> World:
    """Real data in every module of `seller`, every text we choose marked with its canary."""
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode
    from djmoney.money import Money

    from accounts.services import invitation_create, invitation_token, login_link_create, user_create
    from bi.services.refresh import refresh
    from commissions.models import MarginPlan, PayoutBatch, SettlementPeriod, Statement
    from commissions.services.accrual import accrue, settlement_settings
    from commissions.services.fees import FeeInput, fee_schedule_save
    from commissions.services.margins import PlanInput, margin_plan_save
    from commissions.services.settlement import period_close
    from commissions.services.statements import payout_batch_create, statement_approve, statement_confirm
    from connectors.models import ChannelAccount, ChannelListing, StockSyncState, WebhookEvent
    from creators.models import ContactMethod, CreatorKind, TierReviewItem
    from creators.services.care import contact_log_add, sample_send
    from creators.services.supply import supply_request_submit
    from creators.services.tiers import tier_review_run
    from inventory.models import SKU, Category, HolderKind, ReorderAlert, ReorderSettings, Supplier
    from inventory.selectors import Holder
    from inventory.services import allocation_set
    from inventory.services.fx import exchange_rate_set
    from inventory.services.purchasing import purchase_order_create
    from orders.models import Order, OrderLine, OrderStatus, Shipment, ShipmentStatus
    from orders.services.pipeline import order_pipeline
    from portal.auth import invite_token, reset_tokens
    from portal.models import CreatorAccount, Notification
    from portal.notifications import statements_issued_notify
    from portal.services import portal_accept
    from tests.creators.factories import make_creator
    from tests.inventory.factories import make_sku, receive, usd
    from tests.orders.factories import place
    from warehouses.services import warehouse_create

    canary, peer = f"cnry{tag}", f"peer{tag}"
    world = World(seller=seller, tag=tag, id_floor=id_floor, canary=canary, peer_canary=peer)
    with tenant_context(seller):
        world.sequences = _bump_sequences(id_floor)
        for role in Role.values:
            world.users[role] = user_create(email=f"{role}.{canary}@{tag}.test", password=None, full_name=f"{role.title()} {canary}", role=role)
        owner = world.users[Role.OWNER]
        settings_row = settlement_settings()
        settings_row.minimum_payout = D("1.00")
        settings_row.save()
        ReorderSettings.objects.get_or_create()

        # Inventory: warehouses, a supplier, SKUs with stock, a purchase order, a rate, an allocation.
        la = warehouse_create(code=f"LA{tag[:2].upper()}", name=f"{canary} Los Angeles", zip_code="90021",
                              address_line=f"1 {canary} Way", storage_cost_per_unit_month=usd("0.45"))
        warehouse_create(code=f"NJ{tag[:2].upper()}", name=f"{canary} New Jersey", zip_code="07094", storage_cost_per_unit_month=usd("0.50"))
        supplier = Supplier.objects.create(name=f"{canary} Supplier", lead_time_days=10)
        sku = make_sku(f"{canary.upper()}-SKU1")
        scarce = make_sku(f"{canary.upper()}-SKU2")
        SKU.objects.filter(pk__in=[sku.pk, scarce.pk]).update(list_price=usd("30.00"), preferred_supplier=supplier)
        receive(sku, la, 200, reference=f"{canary}-GRN")
        receive(scarce, la, 3, reference=f"{canary}-GRN2")
        po = purchase_order_create(supplier_id=supplier.pk, warehouse_id=la.pk, lines=[(sku.pk, 40, usd("2.00"))], actor=owner)
        exchange_rate_set(currency="EUR", rate_date=date(2026, 1, 5), rate=D("0.9200"), actor=owner)
        allocation_set(sku_id=sku.pk, holder=Holder(HolderKind.CREATOR, "1"), quota=5)
        alert = ReorderAlert.objects.create(sku=scarce, daily_velocity=D("2.00"), reorder_point=20, position=3, suggested_quantity=60)

        # Creators: the portal creator (a distributor with a margin plan), their peer, a pending invitee.
        main = make_creator(f"{canary}main", email=f"{canary}main@creators.test", display_name=f"{canary} Main",
                            commission_rate_override=D("0.20"), kind=CreatorKind.DISTRIBUTOR, notes=f"{canary} notes")
        other = make_creator(f"{peer}", email=f"{peer}@creators.test", display_name=f"{peer} Peer", commission_rate_override=D("0.20"),
                             notes=f"{canary} {peer} notes")
        invitee = make_creator(f"{canary}invitee", email=f"{canary}invitee@creators.test")
        contact_log_add(creator_id=main.pk, method=ContactMethod.CALL, summary=f"{canary} call")
        sample_send(creator_id=main.pk, sku_id=sku.pk, warehouse_id=la.pk, quantity=2, content_url=f"https://www.tiktok.com/@{canary}/video/1")
        margin_plan_save(PlanInput(creator=main, discount_rate=D("0.30"), valid_from=date(2026, 1, 1), note=f"{canary} plan"))
        fee_schedule_save(FeeInput(channel="tiktok_shop", category_id=Category.objects.first().pk, valid_from=date(2026, 1, 1), valid_to=None,
                                   marketplace_fee_rate=D("0.05"), payment_fee_rate=D("0.02"), refund_admin_fee_rate=D("0"),
                                   refund_admin_fee_cap=None, shipping_estimate=D("5.00")))

        # Delivered orders with shipments for both creators, accrued and settled: statements, a payout.
        delivered = datetime(2026, 9, 5, 18, tzinfo=UTC)
        history = {}
        for creator, who in ((main, canary), (other, peer)):
            order = Order.objects.create(channel="manual", external_id=f"{who.upper()}-1", creator=creator, currency="USD",
                                         placed_at=delivered - timedelta(days=4), delivered_at=delivered, status=OrderStatus.DELIVERED,
                                         ship_name=f"{who} Buyer", ship_line1=f"742 {who} Terrace", ship_city="Springfield", ship_state="IL",
                                         ship_zip="62704", total=D("300.00"))
            OrderLine.objects.create(order=order, sku=sku, quantity=3, unit_price=Money(D("100.00"), "USD"))
            Shipment.objects.create(order=order, warehouse=la, status=ShipmentStatus.DELIVERED, carrier="UPS",
                                    tracking_number=f"1Z{who.upper()}99", reservation_reference=f"ship-{who}")
            history[creator.pk] = order
        accrue(now=datetime(2026, 11, 20, tzinfo=UTC))
        period = period_close(cycle="monthly", day=date(2026, 10, 1), now=datetime(2026, 11, 2, tzinfo=UTC))
        mine = Statement.objects.get(creator=main, period=period)
        theirs = Statement.objects.get(creator=other, period=period)
        statement_confirm(statement_id=theirs.pk)
        statement_approve(statement_id=theirs.pk)
        batch = payout_batch_create(statement_ids=[theirs.pk], user=owner)

        # Portal accounts and their inbox; one invitation still pending.
        for creator in (main, other):
            account = CreatorAccount.objects.create(creator=creator, email=creator.email)
            portal_accept(account=account, password=PORTAL_PASSWORD)
        statements_issued_notify(statement_ids=[mine.pk, theirs.pk])
        pending = CreatorAccount.objects.create(creator=invitee, email=invitee.email, invited_by=owner)
        world.creator_email = main.email

        # A live order through intake and the pipeline: reserved, a shipment in the warehouse queue.
        live = place(f"{canary.upper()}-LIVE-1", [(sku.code, 2)], to="CA", creator_id=main.pk)
        for _ in range(4):
            order_pipeline(order_id=live.pk)
        live.refresh_from_db()
        shipment = Shipment.objects.filter(order=live).order_by("pk").first()
        if shipment is None:  # the pipeline did not get there: a shipment by hand, so the queue URLs have ids
            shipment = Shipment.objects.create(order=live, warehouse=la, status=ShipmentStatus.OPEN, reservation_reference=f"hand-{canary}")

        # Creators' tier review and supply queue.
        review = tier_review_run(month=date(2026, 9, 1), actor=owner)
        item = TierReviewItem.objects.filter(review=review).first()
        supply = supply_request_submit(reference=f"{canary}-SR1", creator_id=other.pk, warehouse_id=la.pk, lines=[(scarce.pk, 50)])

        # Channels: a shop with a listing, its sync state and a failed webhook in the inbox.
        shop_id = f"{id_floor}01"
        account = ChannelAccount.objects.create(platform="tiktok_shop", name=f"{canary} TikTok", shop_id=shop_id, app_key=f"key{id_floor}",
                                                app_secret=f"secret{id_floor}", access_token="t", api_base_url="http://127.0.0.1:9/tiktok",
                                                auth_url="http://127.0.0.1:9/auth", status_detail=f"{canary} ok")
        ChannelAccount.objects.create(platform="shopify", name=f"{canary} Shopify", shop_id=f"s{id_floor}.myshopify.com",
                                                app_secret=f"cs{id_floor}", webhook_secret=f"wh{id_floor}", access_token="t",
                                                api_base_url="http://127.0.0.1:9/s", auth_url="http://127.0.0.1:9/a")
        listing = ChannelListing.objects.create(account=account, sku=sku, external_product_id=f"P{canary}", external_sku_id=f"T{canary}")
        StockSyncState.objects.create(listing=listing, pushed_quantity=5, error=f"{canary} push failed", failures=1)
        event = WebhookEvent.objects.create(account=account, platform="tiktok_shop", event_id=f"{canary}-evt", topic="1",
                                            payload={"shop_id": shop_id, "data": {"order_id": f"{canary}-576"}},
                                            raw_body=json.dumps({"shop_id": shop_id, "note": canary}), status="failed", error=f"{canary} failed")
        world.webhook = {"tiktok": (shop_id, f"key{id_floor}", f"secret{id_floor}"), "shopify": (f"s{id_floor}.myshopify.com", f"cs{id_floor}")}
        # Orders: an order the shop announced that did not arrive (shown with the exceptions).
        from orders.models import IntakeFailure

        missing = IntakeFailure.objects.create(channel="tiktok_shop", account=account, external_id=f"{canary}-577", source="webhook",
                                               event=event, reason="not_found", detail=f"{canary} not returned by TikTok")

        # Team: an open invitation.
        invitation = invitation_create(email=f"hire.{canary}@{tag}.test", role=Role.ANALYST, invited_by=owner)

        # The cockpit's facts and rollups from all of the above.
        refresh()

        from commissions.models import FeeSchedule

        world.ids = {
            "order_id": live.pk, "sku_id": sku.pk, "po_id": po.pk, "warehouse_id": la.pk, "shipment_id": shipment.pk,
            "account_id": account.pk, "event_id": event.pk, "creator_id": main.pk, "review_id": review.pk,
            "request_id": supply.pk, "period_id": period.pk, "statement_id": mine.pk, "batch_id": batch.pk,
            "schedule_id": FeeSchedule.objects.order_by("-pk").first().pk, "plan_id": MarginPlan.objects.get(creator=main).pk,
            "user_id": world.users[Role.ANALYST].pk, "invitation_id": invitation.pk, "listing_id": listing.pk,
            "item_id": item.pk if item else review.pk, "alert_id": alert.pk, "supplier_id": supplier.pk, "failure_id": missing.pk,
        }
        # The portal creator's own objects, and the peer's.
        world.ids["portal_order_id"] = history[main.pk].pk
        world.peer_ids = {"order_id": history[other.pk].pk, "statement_id": theirs.pk, "sku_id": scarce.pk}
        world.extra_canaries = {mine.number, theirs.number, batch.number}
        world.peer_extra = {theirs.number}
        world.admin_ids = _admin_ids(world, supplier=supplier, invitation=invitation)
        world.tokens = {
            "accounts:welcome": {"token": login_link_create(user=world.users[Role.ANALYST], schema_name=connection.schema_name)},
            "accounts:invitation_accept": {"token": invitation_token(invitation=invitation)},
            "accounts:password_reset_confirm": {"uidb64": urlsafe_base64_encode(force_bytes(world.users[Role.ANALYST].pk)),
                                                "token": default_token_generator.make_token(world.users[Role.ANALYST])},
            "portal:invite": {"token": invite_token(pending)},
            "portal:reset_confirm": {"uidb64": urlsafe_base64_encode(force_bytes(other.portal_account.pk)),
                                     "token": reset_tokens.make_token(other.portal_account)},
        }
        assert Notification.objects.filter(account__creator=main).exists()
        assert SettlementPeriod.objects.filter(pk=period.pk).exists() and PayoutBatch.objects.filter(pk=batch.pk).exists()
    return world


def _admin_ids(world, **objects) -> dict:
    """An object of every model registered in the seller admin, by (app_label, model_name)."""
    from erp.tenancy import seller_admin_site

    ids = {}
    for model in seller_admin_site._registry:
        row = model.objects.order_by("-pk").first()  # made for the sweep, above the id floor where it can be
        if row is not None:
            ids[(model._meta.app_label, model._meta.model_name)] = row.pk
    return ids


# ============================================================================ identities
def _clients(world: World, only=IDENTITIES) -> dict[str, Client]:
    """A test client per identity on the world's host."""
    clients = {ANONYMOUS: Client(raise_request_exception=False, HTTP_HOST=world.host)} if ANONYMOUS in only else {}
    with tenant_context(world.seller):
        for role, user in world.users.items():
            if role not in only:
                continue
            client = Client(raise_request_exception=False, HTTP_HOST=world.host)
            client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
            clients[role] = client
    if CREATOR not in only:
        return clients
    creator = Client(raise_request_exception=False, HTTP_HOST=world.host)
    answer = creator.post("/portal/login/", {"email": world.creator_email, "password": PORTAL_PASSWORD})
    assert answer.status_code == 302 and answer["Location"] == "/portal/", f"portal sign-in failed: {answer.status_code}"
    clients[CREATOR] = creator
    return clients


def may_open(identity: str, route: Route, method: str) -> bool:
    """Whether `identity` may use `route` on its own seller's site."""
    if route.public:
        return True
    if route.area == "portal":
        return identity == CREATOR
    if identity in (ANONYMOUS, CREATOR):
        return False
    if route.area == "admin":
        return identity == Role.OWNER
    if route.module and route.module not in modules_for_role(identity) and identity not in ALSO_OPEN_TO.get(route.name, ()):
        return False
    if method == "post" and route.name in ROLE_RESTRICTED_POSTS and identity not in ROLE_RESTRICTED_POSTS[route.name]:
        return False
    return True


# ============================================================================ verdicts
@dataclass
class Probe:
    identity: str
    route: Route
    method: str
    variant: str          # own | foreign | peer | host
    url: str
    allowed: bool         # may this identity use it here with these ids?


@dataclass
class Leak:
    url: str
    method: str
    identity: str
    variant: str
    status: int
    reason: str
    area: str

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.url} as {self.identity} [{self.variant}] -> {self.status}: {self.reason}"


def body_text(response) -> str:
    """Everything a person could read in the response: HTML/JSON/CSV as text, a PDF's text, the redirect target."""
    if getattr(response, "streaming", False):
        raw = b"".join(response.streaming_content)
    else:
        raw = response.content
    text = ""
    if raw.startswith(b"%PDF"):
        from pypdf import PdfReader

        try:
            text = "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(raw)).pages)
        except Exception as exc:  # an unreadable PDF is reported, never skipped silently
            text = f"<unreadable pdf: {exc}>"
    else:
        text = raw.decode("utf-8", errors="replace")
    return text + "\n" + response.get("Location", "") + "\n" + response.get("Content-Disposition", "")


def judge(probe: Probe, response, *, writes: dict[str, int], canaries: dict[str, str], text: str | None = None) -> list[str]:
    """Why this answer is a leak (empty: it is not). `writes`: rows this request must not have
    written but did; `canaries` maps a text that must not show to what it names."""
    reasons = []
    status = response.status_code
    if status >= 500 and not (status == 503 and probe.route.public and "health" in probe.route.route):  # health: 503 = "a check failed"
        exc = getattr(response, "exc_info", None)
        reasons.append(f"server error ({exc[0].__name__}: {str(exc[1])[:120]})" if exc else "server error")
    if not probe.allowed:
        location = response.get("Location", "") if status in (301, 302, 303, 307, 308) else ""
        if status in (301, 302, 303, 307, 308):
            if not any(location.split("?")[0].endswith(p) for p in LOGIN_PATHS):
                reasons.append(f"no access, yet redirected to {location or '?'} (not a sign-in page)")
        elif status not in (WEBHOOK_REFUSALS if probe.route.name in WEBHOOKS else (403, 404, 405)) and status < 500:
            reasons.append(f"no access, yet answered {status}")
    if probe.route.name in WEBHOOKS and probe.method == "post" and probe.variant != "own" and not (400 <= status < 500):
        reasons.append(f"webhook without a valid signature for this seller answered {status}")
    text = (body_text(response) if text is None else text).lower()
    for needle, what in canaries.items():
        if needle.lower() in text:
            reasons.append(f"shows {what} ({needle})")
    if writes:
        reasons.append("wrote rows: " + ", ".join(f"{t} ×{n}" for t, n in sorted(writes.items())))
    return reasons


class WriteCounter:
    """Rows inserted, updated or deleted so far in this transaction, per table of the swept schemas
    (PostgreSQL counts a write even when its savepoint is rolled back)."""

    def __init__(self, schemas):
        with connection.cursor() as cursor:
            cursor.execute("SELECT c.oid, n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                           "WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY(%s) AND NOT c.relname = ANY(%s) ORDER BY c.oid",
                           [list(schemas), sorted(IGNORED_TABLES)])
            rows = cursor.fetchall()
        self.oids = [r[0] for r in rows]
        self.names = [r[1] for r in rows]

    def counts(self) -> list[int]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT array_agg(pg_stat_get_xact_tuples_inserted(o) + pg_stat_get_xact_tuples_updated(o) "
                           "+ pg_stat_get_xact_tuples_deleted(o) ORDER BY o) FROM unnest(%s::oid[]) o", [self.oids])
            return cursor.fetchone()[0] or []

    def diff(self, before: list[int], after: list[int]) -> dict[str, int]:
        return {self.names[i]: a - b for i, (b, a) in enumerate(zip(before, after)) if a != b}


# ============================================================================ the sweep
@dataclass
class Result:
    requests: int = 0
    leaks: list[Leak] = field(default_factory=list)
    routes: list[Route] = field(default_factory=list)
    by_area: Counter = field(default_factory=Counter)
    leaks_by_area: Counter = field(default_factory=Counter)
    statuses: Counter = field(default_factory=Counter)
    errors: int = 0
    seconds: float = 0.0
    unfilled: list[str] = field(default_factory=list)   # patterns the walker could not build a URL for
    route_seconds: Counter = field(default_factory=Counter)  # time spent per pattern
    # Not leaks (nothing shown, nothing written), worth a look: another seller's or creator's id in the
    # URL answered with a page or a redirect instead of 404.
    notes: Counter = field(default_factory=Counter)
    shows_own: set[str] = field(default_factory=set)    # routes whose baseline answer showed the own seller's canary

    def summary(self) -> str:
        lines = [f"{'area':8} {'requests':>9} {'leaks':>6}"]
        for area in sorted(self.by_area):
            lines.append(f"{area:8} {self.by_area[area]:>9} {self.leaks_by_area[area]:>6}")
        lines.append(f"patterns={len(self.routes)} identities={len(IDENTITIES)} errors(5xx)={self.errors} seconds={self.seconds:.1f}")
        lines.append("statuses: " + " ".join(f"{k}={v}" for k, v in sorted(self.statuses.items())))
        if self.unfilled:
            lines.append("patterns without a URL: " + ", ".join(self.unfilled))
        if self.notes:
            lines.append("not leaks, for a look: another seller's/creator's id answered without a 404:")
            lines += [f"  {note} (×{n})" for note, n in sorted(self.notes.items())]
        return "\n".join(lines)


def _kwarg_values(route: Route, world: World, variant: str) -> list[dict] | None:
    """The kwargs to request `route` with: the ids of `world` (the own world for "own" and "peer",
    the other seller's for "foreign"). None when the variant has nothing to say (no ids in the
    route, or none that exists only in that world)."""
    values = {}
    id_like = False
    for name in route.kwargs:
        ident = None
        if route.area == "admin" and name == "object_id":
            key = ("accounts", "user") if route.name.endswith(":view_on_site") else route.model
            ident = world.admin_ids.get(key)
            if ident is None:
                return None
        elif name == "content_type_id":
            from django.contrib.contenttypes.models import ContentType

            values[name] = [ContentType.objects.get_for_model(world.users[Role.OWNER]).pk]
        elif route.name in world.tokens and name in world.tokens[route.name]:
            values[name] = [world.tokens[route.name][name]]
            id_like = variant != "peer"
        elif name == "action":
            values[name] = list(STATEMENT_ACTIONS)
        elif name == "app_label":
            from django.apps import apps

            values[name] = [a.label for a in apps.get_app_configs()]
        elif name == "url":
            values[name] = ["no-such-page/"]
        elif route.area == "portal" and name in ("order_id", "statement_id"):
            if variant == "peer":
                ident = world.peer_ids[name]
            else:
                ident = world.ids["portal_order_id"] if name == "order_id" else world.ids[name]
        elif name in world.ids:
            ident = world.ids[name]
        else:
            values[name] = ["1"]
        if ident is not None:
            # An id below the world's floor may exist in both schemas: it proves nothing about the other seller.
            if variant == "foreign" and int(ident) < world.id_floor:
                values[name] = [ident]
            else:
                values[name] = [ident]
                id_like = True
    if variant != "own" and not id_like:
        return None
    combos = [{}]
    for name, options in values.items():
        combos = [dict(c, **{name: v}) for c in combos for v in options]
    return combos


def _fuzz(world: World, *, peer: bool = False) -> dict:
    """The usual id fields of forms and filters, filled with `world`'s ids (the peer creator's where they differ)."""
    ids = dict(world.ids)
    if peer:
        ids.update(world.peer_ids)
    return {**FILLER, **{name: [ids[k] for k in kinds if k in ids] for name, kinds in FUZZ_FIELDS.items()}}


def _webhook_request(route: Route, signer: World | None) -> dict:
    """A webhook POST signed with `signer`'s shop credentials (None: unsigned and empty)."""
    if signer is None:
        return {"data": b"", "content_type": "application/json"}
    if route.name == "webhook_tiktok":
        shop_id, key, secret = signer.webhook["tiktok"]
        body = json.dumps({"type": 1, "tts_notification_id": f"sweep-{time.monotonic_ns()}", "shop_id": shop_id, "timestamp": int(time.time()),
                           "data": {"order_id": "576", "order_status": "AWAITING_SHIPMENT"}}).encode()
        signature = hmac.new(secret.encode(), key.encode() + body, hashlib.sha256).hexdigest()
        return {"data": body, "content_type": "application/json", "HTTP_AUTHORIZATION": signature}
    from connectors.clients.shopify import shopify_webhook_signature

    domain, secret = signer.webhook["shopify"]
    body = json.dumps({"id": 820982911946154508}).encode()
    return {"data": body, "content_type": "application/json", "HTTP_X_SHOPIFY_HMAC_SHA256": shopify_webhook_signature(secret=secret, raw_body=body),
            "HTTP_X_SHOPIFY_SHOP_DOMAIN": domain, "HTTP_X_SHOPIFY_EVENT_ID": f"sweep-{time.monotonic_ns()}", "HTTP_X_SHOPIFY_TOPIC": "orders/create"}


@dataclass
class Plan:
    variant: str          # own | foreign | foreign-body | peer | peer-body | unsigned | host
    kwargs: dict
    request: dict         # extra arguments of the test client call (data, headers)
    allowed: bool
    may_write: bool


def _plans(route: Route, identity: str, method: str, own: World, foreign: World, *, thorough: bool) -> list[Plan]:
    """What `identity` sends to `route` with `method` on its own host."""
    allowed = may_open(identity, route, method)
    own_combos = _kwarg_values(route, own, "own") or []
    if route.name in WEBHOOKS:
        if method == "get":
            return [Plan("own", kw, {}, allowed, False) for kw in own_combos]
        plans = [Plan("unsigned", kw, _webhook_request(route, None), allowed, False) for kw in own_combos]
        plans += [Plan("foreign", kw, _webhook_request(route, foreign), allowed, False) for kw in own_combos]
        if identity == ANONYMOUS:  # the baseline: a webhook signed for this seller's own shop is taken in
            plans += [Plan("own", kw, _webhook_request(route, own), allowed, True) for kw in own_combos]
        return plans
    plans = [Plan("own", kw, {}, allowed, allowed) for kw in own_combos]
    if allowed and method == "post":  # the usual id fields filled with own ids: the view's real work, the baseline of foreign-body
        plans += [Plan("own", kw, {"data": _fuzz(own)}, allowed, True) for kw in own_combos[:1]]
    if not (allowed or thorough):
        return plans  # refused before any view code runs; the own ids proved it
    fuzz = {"data": _fuzz(foreign)}
    plans += [Plan("foreign", kw, fuzz, allowed, False) for kw in _kwarg_values(route, foreign, "foreign") or []]
    if allowed and (method == "post" or thorough):
        plans += [Plan("foreign-body", kw, fuzz, allowed, True) for kw in own_combos[:1]]
    if route.area == "portal" and identity == CREATOR and allowed:
        peer_fuzz = {"data": _fuzz(own, peer=True)}
        plans += [Plan("peer", kw, peer_fuzz, allowed, False) for kw in _kwarg_values(route, own, "peer") or []]
        plans += [Plan("peer-body", kw, peer_fuzz, allowed, True) for kw in own_combos[:1]]
    return plans


def sweep(own: World, foreign: World, *, urlconf: str = URLCONF, routes: list[Route] | None = None, identities=IDENTITIES,
          thorough: bool = True, host_identities=None, progress=None) -> Result:
    """Request every route as every identity (see the module docstring). `thorough` (the bench) also
    sends the foreign ids where the identity is refused before any view runs, and the foreign id
    fields in the query string of GETs; `host_identities`: who also tries the other seller's host
    (default: everyone)."""
    result = Result(routes=routes if routes is not None else walk(urlconf))
    started = time.perf_counter()
    clients = _clients(own)
    foreign_clients = {}
    for identity, client in clients.items():
        other = Client(raise_request_exception=False, HTTP_HOST=foreign.host)
        other.cookies = SimpleCookie(client.cookies.output(header="", sep="\n"))
        foreign_clients[identity] = other
    own_numbers = own.extra_canaries
    foreign_canaries = {foreign.canary: f"seller {foreign.tag}'s data",
                        **{n: f"seller {foreign.tag}'s number" for n in foreign.extra_canaries - own_numbers}}
    peer_canaries = {own.peer_canary: "another creator's data", **{n: "another creator's statement" for n in own.peer_extra}}
    host_identities = identities if host_identities is None else host_identities

    writes = WriteCounter(["public", own.seller.schema_name, foreign.seller.schema_name])

    def run(identity, client, route, method, url, plan, canaries):
        probe = Probe(identity=identity, route=route, method=method, variant=plan.variant, url=url, allowed=plan.allowed)
        saved = SimpleCookie(client.cookies.output(header="", sep="\n"))
        if identity == ANONYMOUS:
            client.cookies = SimpleCookie()
        t0 = time.perf_counter()
        with transaction.atomic():
            before = writes.counts()
            response = getattr(client, method)(url, **plan.request)
            written = writes.diff(before, writes.counts())
            transaction.set_rollback(True)
        client.cookies = saved
        text = body_text(response)
        result.route_seconds[route.route] += time.perf_counter() - t0
        if plan.variant == "own" and plan.allowed and client is clients.get(identity) and own.canary in text.lower():
            result.shows_own.add(route.name)
        reasons = judge(probe, response, writes={} if plan.may_write else written, canaries=canaries, text=text)
        result.requests += 1
        result.by_area[route.area] += 1
        result.statuses[response.status_code] += 1
        if any(r.startswith("server error") for r in reasons):
            result.errors += 1
        if (plan.allowed and plan.variant in ("foreign", "peer") and response.status_code in (200, 302) and route.name not in WEBHOOKS
                and not {"token", "uidb64"} & set(route.kwargs)  # link pages say "this link is not valid" with a 200
                and route.area != "admin"):  # Django's admin redirects an unknown id to its index with a message
            result.notes[f"{method.upper()} {route.route} [{plan.variant}] -> {response.status_code}"] += 1
        if reasons:
            result.leaks.append(Leak(url=url, method=method, identity=identity, variant=plan.variant, status=response.status_code,
                                     reason="; ".join(reasons), area=route.area))
            result.leaks_by_area[route.area] += 1

    # The other seller's owner and creator open every page of their own site first: their answers must
    # not show this seller's data, and anything a page caches is then there for this seller to hit.
    for identity, client in _clients(foreign, only=(Role.OWNER, CREATOR)).items():
        for route in result.routes:
            for kw in (_kwarg_values(route, foreign, "own") or [])[:1]:
                url = _fill(route, kw, urlconf)
                if url is not None and route.name not in WEBHOOKS:
                    run(identity, client, route, "get", url, Plan("reverse", kw, {}, may_open(identity, route, "get"), True),
                        {own.canary: f"seller {own.tag}'s data"})

    for n, route in enumerate(result.routes):
        own_combos = [kw for kw in (_kwarg_values(route, own, "own") or []) if _fill(route, kw, urlconf)]
        if not own_combos:
            result.unfilled.append(route.route)
            continue
        for identity in identities:
            canaries = dict(foreign_canaries)
            if identity == CREATOR:
                canaries.update(peer_canaries)
            for method in ("get", "post"):
                for plan in _plans(route, identity, method, own, foreign, thorough=thorough):
                    url = _fill(route, plan.kwargs, urlconf)
                    if url is not None:
                        run(identity, clients[identity], route, method, url, plan, canaries)
                # The own ids on the other seller's host, with the same cookies: no session holds there.
                if identity in host_identities:
                    url = _fill(route, own_combos[0], urlconf)
                    request = _webhook_request(route, own) if route.name in WEBHOOKS and method == "post" else {}
                    plan = Plan("host", own_combos[0], request, bool(route.public) and route.name not in WEBHOOKS, False)
                    run(identity, foreign_clients[identity], route, method, url, plan, {} if route.public else
                        {**foreign_canaries, own.canary: f"seller {own.tag}'s data"})
        if progress:
            progress(n + 1, len(result.routes), result)
    result.seconds = time.perf_counter() - started
    return result
