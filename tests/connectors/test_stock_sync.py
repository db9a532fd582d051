"""Real-time stock sync against the sandbox: coalesced pushes, drift correction, errors and retry."""
import random
import threading
import time

import httpx
import pytest
from django.core import mail
from django.db import connection
from django_tenants.utils import tenant_context

from accounts.modules import Role
from connectors import tasks
from connectors.models import AccountStatus, ChannelAccount, StockSyncState
from connectors.services import listings_push, stock_reconcile, stock_sync_request
from inventory.selectors import Holder, sellable_quantities
from inventory.services import allocation_set, reservation_create, reservation_release, stock_adjust
from tests.connectors.factories import amazon_seller, sandbox_stock, shopify_shop, tiktok_shop
from tests.inventory.factories import make_sku, make_warehouses, receive
from tests.support import client_for, committed_in, make_user


@pytest.fixture
def in_alpha(alpha):
    with tenant_context(alpha):
        yield alpha


def _expected(account: ChannelAccount, skus) -> dict:
    from inventory.models import SKU

    fresh = list(SKU.objects.filter(pk__in=[s.pk for s in skus]))
    return sellable_quantities(skus=fresh, holder=Holder.channel(account.holder_ref))


def test_push_sends_sellable_per_shop_skips_unchanged_and_records_the_outcome(in_alpha, sandbox):
    url, store = sandbox
    wh = make_warehouses()["LA"]
    a, b = make_sku("SY-A", safety_units=10), make_sku("SY-B")
    receive(a, wh, 100)
    receive(b, wh, 30)
    tiktok, shop = tiktok_shop(url, skus=[a, b])
    allocation_set(sku_id=a.pk, holder=Holder.channel("shopify:999"), quota=50)  # ring-fenced for another shop
    outcome = listings_push(account=tiktok)
    assert (outcome.pushed, outcome.skipped) == (2, 0)
    assert sandbox_stock(url)["tiktok"][shop["shop_id"]] == {f"T{a.pk}": 40, f"T{b.pk}": 30}  # 100 − 10 safety − 50 allocated
    assert listings_push(account=tiktok).skipped == 2  # nothing changed, nothing sent
    state = StockSyncState.objects.get(listing__sku=a)
    assert state.pushed_quantity == 40 and state.pushed_at and state.error == ""


def test_reconcile_reads_the_shop_back_and_corrects_a_change_made_on_the_platform(in_alpha, sandbox):
    url, _store = sandbox
    wh = make_warehouses()["LA"]
    sku = make_sku("RC-1")
    receive(sku, wh, 25)
    account, shop = shopify_shop(url, skus=[sku], quantity=0)
    listings_push(account=account)
    item = f"gid://shopify/InventoryItem/{sku.pk}"
    httpx.post(f"{url}/_sandbox/shopify/{shop['domain']}/stock", json={"item": item, "quantity": 3})  # someone edits Shopify
    outcome = stock_reconcile(account_id=account.pk)
    assert (outcome.checked, outcome.drifted) == (1, 1)
    assert sandbox_stock(url)["shopify"][shop["domain"]][item] == 25


def test_refused_items_and_outages_show_on_the_status_page_and_retry_fixes_them(in_alpha, sandbox):
    url, store = sandbox
    wh = make_warehouses()["LA"]
    sku = make_sku("ER-1")
    receive(sku, wh, 12)
    account, seller = amazon_seller(url, skus=[sku])
    httpx.post(f"{url}/_sandbox/amazon/{seller['seller_id']}/fail", json={"failures": [{"status": 500}] * 4})
    outcome = listings_push(account=account)
    assert outcome.failed == 1 and outcome.retry_sku_ids == [sku.pk]  # transient: queued again
    state = StockSyncState.objects.get(listing__sku=sku)
    assert "HTTP 500" in state.error and state.failures == 1 and state.pushed_quantity is None

    owner = make_user(in_alpha, role=Role.OWNER)
    page = client_for(in_alpha, owner).get("/channels/sync/?errors=on").content.decode()
    assert "ER-1" in page and "HTTP 500" in page
    assert listings_push(account=account).pushed == 1  # the platform is back: an errored row is pushed again
    assert sandbox_stock(url)["amazon"][seller["seller_id"]][sku.code] == 12
    page = client_for(in_alpha, owner).get("/channels/sync/").content.decode()
    assert "In sync" in page and "HTTP 500" not in page


def test_a_revoked_shop_is_marked_for_reauthorisation_and_owners_are_emailed_once(in_alpha, sandbox, django_capture_on_commit_callbacks):
    url, store = sandbox
    wh = make_warehouses()["LA"]
    sku = make_sku("AU-1")
    receive(sku, wh, 5)
    make_user(in_alpha, role=Role.OWNER, email="boss@alpha.test")
    account, shop = tiktok_shop(url, skus=[sku])
    httpx.post(f"{url}/_sandbox/tiktok/{shop['shop_id']}/revoke")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        listings_push(account=account)
        requests_after_first = store.requests["tiktok"]
        listings_push(account=ChannelAccount.objects.get(pk=account.pk))
    account.refresh_from_db()
    assert account.status == AccountStatus.NEEDS_REAUTH and "refresh" in account.status_detail
    assert len(callbacks) == 1  # one alert, not one per failed push
    assert store.requests["tiktok"] == requests_after_first  # a shop needing re-authorisation is not called again
    tasks.account_alert_owners.apply(args=[account.pk])
    assert "boss@alpha.test" in mail.outbox[-1].to and "re-authorised" in mail.outbox[-1].subject
    assert StockSyncState.objects.get(listing__sku=sku).error


SYNC_TABLES = (
    "connectors_stocksyncstate, connectors_channellisting, connectors_webhookevent, connectors_channelaccount, "
    "inventory_lotconsumption, inventory_costlot, inventory_stockmove, inventory_reservationline, inventory_reservation, "
    "inventory_allocation, inventory_stock, inventory_sku, inventory_product, inventory_category, warehouses_warehouse, "
    "accounts_auditevent"
)


@pytest.fixture
def alpha_committed(committed):
    with committed_in("alpha", truncate=SYNC_TABLES) as alpha:
        yield alpha


@pytest.mark.worker
def test_a_burst_of_changes_ends_with_every_shop_showing_the_right_number(alpha_committed, sandbox, worker, settings):
    url, store = sandbox
    wh = make_warehouses()["LA"]
    skus = [make_sku(f"BU-{i:02d}") for i in range(12)]
    for sku in skus:
        receive(sku, wh, 200)
    accounts = [tiktok_shop(url, skus=skus)[0], shopify_shop(url, skus=skus)[0], amazon_seller(url, skus=skus[:6])[0]]
    stock_sync_request(sku_ids=[s.pk for s in skus])

    changes, lock = [0], threading.Lock()

    def burst(worker_no: int) -> None:
        connection.set_tenant(alpha_committed)
        local = random.Random(worker_no)
        try:
            for i in range(40):
                sku = local.choice(skus)
                if local.random() < 0.7:
                    reservation_create(reference=f"B{worker_no}-{i}", warehouse_id=wh.pk, holder=Holder.channel("manual"),
                                       lines=[(sku.pk, local.randint(1, 3))])
                    if local.random() < 0.3:
                        reservation_release(reference=f"B{worker_no}-{i}")
                else:
                    stock_adjust(sku_id=sku.pk, warehouse_id=wh.pk, delta=local.randint(1, 5), reason="cycle count")
                with lock:
                    changes[0] += 1
        finally:
            connection.close()

    threads = [threading.Thread(target=burst, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    def mismatches() -> int:
        shown = sandbox_stock(url)
        wrong = 0
        for account in accounts:
            want = _expected(account, skus)
            for listing in account.listings.select_related("sku"):
                platform = {"tiktok_shop": "tiktok", "shopify": "shopify", "amazon": "amazon"}[account.platform]
                got = shown[platform][account.shop_id].get(listing.external_sku_id)
                wrong += got != want[listing.sku_id]
        return wrong

    deadline = time.monotonic() + 30
    while mismatches() and time.monotonic() < deadline:
        time.sleep(0.3)
    assert mismatches() == 0
    pushes = store.requests.get("tiktok:inventory_update", 0) + store.requests.get("shopify:inventory_set", 0) + store.requests.get("amazon:listing_patch", 0)
    # Pushing each change to each shop would cost changes × shops requests; coalescing sends far fewer.
    assert changes[0] == 160 and pushes < changes[0] * len(accounts) / 2, pushes
