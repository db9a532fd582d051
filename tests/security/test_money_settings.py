"""Money settings (list prices, exchange rates, fee schedules, product commission rates, margin
plans, settlement settings) change only for Finance, Managers and Owners, and integrations (3PL
addresses and keys, shop connections) only for Owners and Managers; every change leaves an audit
row naming its actor, and audit rows can be neither changed nor deleted (issue 23).

The class test walks every page, form and CSV import that writes one of them with every role."""
import io
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import httpx
import pytest
from django.db import ProgrammingError, connection, transaction
from django.db.models import ProtectedError
from django_tenants.utils import tenant_context

from accounts.modules import Role
from tests.support import client_for, make_user

MONEY = {Role.OWNER, Role.MANAGER, Role.FINANCE}
INTEGRATIONS = {Role.OWNER, Role.MANAGER}
INVENTORY_MONEY = {Role.OWNER, Role.MANAGER}  # list prices come with the SKU import, an Inventory page Finance does not use


@dataclass
class World:
    sku: object
    product: object
    distributor: object
    schedule: object
    plan: object
    warehouse: object
    threepl_url: str


@pytest.fixture
def world(alpha, sandbox):
    from djmoney.money import Money

    from commissions.models import FeeSchedule, MarginPlan
    from inventory.models import SKU
    from tests.creators.factories import make_creator
    from tests.inventory.factories import make_sku, make_warehouses

    url, _store = sandbox
    with tenant_context(alpha):
        sku = make_sku("PRICE-1")
        SKU.objects.filter(pk=sku.pk).update(list_price=Decimal("6.84"), list_price_currency="USD")
        distributor = make_creator("bigdistributor", kind="distributor")
        schedule = FeeSchedule.objects.create(channel="tiktok_shop", valid_from=date(2020, 1, 1), marketplace_fee_rate=Decimal("0.06"),
                                              payment_fee_rate=0, refund_admin_fee_rate=0, shipping_estimate=Money(5, "USD"))
        plan = MarginPlan.objects.create(creator=distributor, discount_rate=Decimal("0.30"), valid_from=date(2020, 1, 1))
        warehouses = make_warehouses()
        account = httpx.post(f"{url}/_sandbox/3pl/accounts", json={"name": "3PL"}).json()
        yield World(sku, sku.product, distributor, schedule, plan, warehouses["LA"], f"{url}/3pl/{account['account']}")


def _csv(name: str, text: str):
    upload = io.BytesIO(text.encode())
    upload.name = name
    return upload


# Each write: how the role tries it (client, world, n: a number unique to the attempt), what it
# changes (read back before and after), who may, and the audit verb it leaves.
def _sku_import(client, w, n):
    price = f"{n}.01"
    client.post("/inventory/import/", {"file": _csv("skus.csv", f"code,title,product,category,list_price\n"
                                                                 f"PRICE-1,Lipstick,{w.product.title},{w.product.category.name},{price}\n")})
    client.post("/inventory/import/", {"apply": "1"})


def _fx_form(client, w, n):
    client.post("/inventory/exchange-rates/", {"action": "add", "rate_date": "2026-01-05", "currency": "CNY", "rate": f"7.{n:02d}"})


def _fx_csv(client, w, n):
    client.post("/inventory/exchange-rates/", {"action": "preview", "file": _csv("fx.csv", f"date,currency,rate\n2026-01-06,EUR,0.{n:02d}\n")})
    client.post("/inventory/exchange-rates/", {"apply": "1"})


def _fee_schedule(client, w, n):
    start = date(2015, 1, 1) + timedelta(days=3 * n)  # before the schedules in force (open-ended from 2020)
    client.post("/commissions/fees/", {"form": "fee", "channel": "shopify", "valid_from": start, "valid_to": start + timedelta(days=1),
                                       "marketplace_fee": "3", "payment_fee": "2.9", "refund_admin_fee": "0", "shipping_estimate": "5.00"})


def _product_rate(client, w, n):
    client.post("/commissions/fees/", {"form": "rate", "product": w.product.pk, "rate": f"{n}", "valid_from": "2031-01-01"})


def _margin_plan(client, w, n):
    start = date(2016, 1, 1) + timedelta(days=3 * n)  # before the plan in force (open-ended from 2020)
    client.post("/commissions/fees/", {"form": "plan", "creator": w.distributor.pk, "discount": f"{n}", "valid_from": start,
                                       "valid_to": start + timedelta(days=1)})


def _fee_end(client, w, n):
    client.post(f"/commissions/fees/{w.schedule.pk}/end/", {"last_day": date(2030, 12, 31) - timedelta(days=n)})


def _plan_end(client, w, n):
    client.post(f"/commissions/fees/plans/{w.plan.pk}/end/", {"last_day": date(2030, 12, 31) - timedelta(days=n)})


def _settlement(client, w, n):
    client.post("/commissions/", {"return_window_days": 30 + n, "minimum_payout": "50.00"})


def _threepl(client, w, n):
    client.post(f"/warehouses/{w.warehouse.pk}/fulfilment/", {"fulfilment": "3pl", "threepl_url": f"{w.threepl_url}/v{n}",
                                                              "threepl_api_key": f"key-{n}"})


def _state(model_path: str, **filters):
    def read(w):
        from django.apps import apps

        model = apps.get_model(model_path)
        return sorted(map(str, model.objects.filter(**{k: v(w) if callable(v) else v for k, v in filters.items()}).values_list()))
    return read


WRITES = {
    "SKU list price (CSV import)": (_sku_import, _state("inventory.SKU", code="PRICE-1"), INVENTORY_MONEY, "sku.list_price_changed"),
    "exchange rate (form)": (_fx_form, _state("inventory.ExchangeRate"), MONEY, "exchange_rate.set"),
    "exchange rates (CSV import)": (_fx_csv, _state("inventory.ExchangeRate"), MONEY, "exchange_rate.set"),
    "fee schedule": (_fee_schedule, _state("commissions.FeeSchedule"), MONEY, "fee_schedule.created"),
    "fee schedule end": (_fee_end, _state("commissions.FeeSchedule"), MONEY, "fee_schedule.ended"),
    "product commission rate": (_product_rate, _state("commissions.ProductCommissionRate"), MONEY, "product_rate.created"),
    "margin plan": (_margin_plan, _state("commissions.MarginPlan"), MONEY, "margin_plan.created"),
    "margin plan end": (_plan_end, _state("commissions.MarginPlan"), MONEY, "margin_plan.ended"),
    "settlement settings": (_settlement, _state("commissions.SettlementSettings"), MONEY, "settlement_settings.changed"),
    "3PL address and key": (_threepl, _state("warehouses.Warehouse", code="LA"), INTEGRATIONS, "warehouse.fulfilment_changed"),
}


@pytest.mark.parametrize("name", sorted(WRITES))
def test_each_money_setting_changes_only_for_its_roles_and_names_the_actor(alpha, world, name):
    from accounts.models import AuditEvent

    attempt, state, allowed, verb = WRITES[name]
    for n, role in enumerate(Role.values, start=1):
        user = make_user(alpha, role=role)
        client = client_for(alpha, user)
        with tenant_context(alpha):
            before = state(world)
        attempt(client, world, n)
        with tenant_context(alpha):
            changed = state(world) != before
            audited = AuditEvent.objects.filter(verb=verb, actor=user).count()
            summaries = [e.summary for e in AuditEvent.objects.filter(verb=verb, actor=user)]
        assert changed == (role in allowed), f"{name} as {role}: {'changed' if changed else 'unchanged'}"
        assert (audited > 0) == (role in allowed), f"{name} as {role}: {audited} audit rows"
        assert all(s != verb for s in summaries), f"{name}: no readable summary for {verb}: {summaries}"


def test_the_walk_covers_every_page_that_declares_a_duty():
    """A new page that changes a money setting or an integration is declared in
    accounts.modules.DUTY_PAGES; this test's walk must then try it."""
    from django.urls import reverse

    from accounts.modules import DUTY_PAGES

    tried = {"inventory:fx", "inventory:fx_export", "commissions:fees", "commissions:fee_end", "commissions:margin_plan_end", "commissions:index",
             "warehouses:fulfilment", "channels:connect"}  # channels:connect: tests/connectors/test_connect_guard.py
    assert set(DUTY_PAGES) == tried  # inventory:fx_export only reads: listed so Finance may download the rates
    assert reverse("inventory:sku_import")  # the SKU import is walked too (prices are refused per row, not per page)


def test_a_warehouse_worker_cannot_undercut_a_distributor_price(alpha, world):
    """The reported case: the Warehouse role set a list price from 6.84 to 0.01 through the SKU
    import, which moved the distributor's portal price. Now the preview names the row and
    nothing changes; the same file without the price column still imports."""
    from inventory.models import SKU

    staff = client_for(alpha, make_user(alpha, role=Role.WAREHOUSE))
    row = f"PRICE-1,Lipstick,{world.product.title},{world.product.category.name}"
    page = staff.post("/inventory/import/", {"file": _csv("skus.csv", f"code,title,product,category,list_price\n{row},0.01\n")})
    assert "only Owner, Manager or Finance may change list prices" in page.content.decode()
    staff.post("/inventory/import/", {"apply": "1"})
    with tenant_context(alpha):
        assert SKU.objects.get(code="PRICE-1").list_price.amount == Decimal("6.84")
    renamed = f"PRICE-1,Lipstick v2,{world.product.title},{world.product.category.name}"
    staff.post("/inventory/import/", {"file": _csv("skus.csv", f"code,title,product,category,list_price\n{renamed},6.84\n")})
    staff.post("/inventory/import/", {"apply": "1"})  # unchanged price, new title: fine
    with tenant_context(alpha):
        sku = SKU.objects.get(code="PRICE-1")
        assert sku.title == "Lipstick v2" and sku.list_price.amount == Decimal("6.84")


def test_audit_events_cannot_be_changed_or_deleted(alpha, world):
    from accounts.admin import AuditEventAdmin
    from accounts.models import AuditEvent, User
    from erp.tenancy import seller_admin_site

    owner = make_user(alpha, role=Role.OWNER)
    _fx_form(client_for(alpha, owner), world, 10)
    with tenant_context(alpha):
        event = AuditEvent.objects.filter(verb="exchange_rate.set", actor=owner).get()
        for change in (lambda: AuditEvent.objects.filter(pk=event.pk).delete(),
                       lambda: AuditEvent.objects.filter(pk=event.pk).update(data={}),
                       lambda: AuditEvent.objects.filter(pk=event.pk).update(actor=None)):
            with pytest.raises(ProgrammingError, match="audit events cannot be changed or deleted"), transaction.atomic():
                change()
        with pytest.raises(ProtectedError), transaction.atomic():  # the actor stays: deactivate people, not delete them
            User.objects.filter(pk=owner.pk).delete()
        assert AuditEvent.objects.filter(pk=event.pk, actor=owner).exists()
        admin = AuditEventAdmin(AuditEvent, seller_admin_site)
        request = type("R", (), {"user": owner})()
        assert not admin.has_delete_permission(request, event) and not admin.has_change_permission(request, event)
    # Nor through the seller admin's pages.
    site = client_for(alpha, owner)
    assert site.post(f"/admin/accounts/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert site.post("/admin/accounts/auditevent/", {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"}
                     ).status_code in (200, 302)
    with tenant_context(alpha):
        assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_every_schema_refuses_audit_changes(alpha, beta):
    """The trigger is in every seller's schema (and the public one), not only the test seller's."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT n.nspname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
                       "WHERE t.tgname = 'accounts_auditevent_immutable'")
        schemas = {row[0] for row in cursor.fetchall()}
    assert {"public", alpha.schema_name, beta.schema_name} <= schemas


def test_category_fees_changed_in_the_seller_admin_are_audited(alpha):
    from accounts.models import AuditEvent
    from inventory.models import Category

    owner = make_user(alpha, role=Role.OWNER)
    with tenant_context(alpha):
        category = Category.objects.create(name="Lips")
    page = client_for(alpha, owner).post(f"/admin/inventory/category/{category.pk}/change/", {"name": "Lips", "marketplace_fee_rate": "0.0800"})
    assert page.status_code == 302
    with tenant_context(alpha):
        event = AuditEvent.objects.get(verb="category.fee_rate_changed", actor=owner)
        assert "Lips" in event.summary and "0.0800" in event.summary


def test_a_seller_with_audit_events_is_deleted_backed_up_and_restored_as_before(committed, tmp_path):
    """The trigger stops row changes only: dropping a seller's schema, its backup and its restore
    (with and without --replace) still work, and the restored rows are as immutable as before."""
    import secrets

    from django.core.management import call_command
    from django_tenants.utils import schema_context

    from accounts.models import AuditEvent
    from sellers.models import Seller
    from sellers.services import seller_signup
    from tests.support import PASSWORD

    subdomain = f"au{secrets.token_hex(3)}"
    seller = seller_signup(company_name="Audit Atelier", subdomain=subdomain, owner_email=f"owner@{subdomain}.test", password=PASSWORD).seller
    backup = tmp_path / "seller.tar"
    try:
        with tenant_context(seller):
            from inventory.services.fx import exchange_rate_set

            exchange_rate_set(currency="CNY", rate_date=date(2026, 1, 5), rate="7.10")
            events = sorted(AuditEvent.objects.values_list("id", "verb", "actor_id"))
        assert ("exchange_rate.set" in {v for _i, v, _a in events}) and len(events) >= 2
        call_command("backup", "--seller", subdomain, "--output", str(backup))
        call_command("restore", str(backup), "--replace")
        with schema_context("public"):
            Seller.objects.get(subdomain=subdomain).delete(force_drop=True)
        call_command("restore", str(backup))
        with schema_context("public"):
            restored = Seller.objects.get(subdomain=subdomain)
        with tenant_context(restored):
            assert sorted(AuditEvent.objects.values_list("id", "verb", "actor_id")) == events
            with pytest.raises(ProgrammingError, match="audit events cannot be changed or deleted"), transaction.atomic():
                AuditEvent.objects.all().delete()
    finally:
        with schema_context("public"):
            for leftover in Seller.objects.filter(subdomain=subdomain):
                leftover.delete(force_drop=True)
