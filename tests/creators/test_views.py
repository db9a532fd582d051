import io
from decimal import Decimal

import pytest
from django_tenants.utils import tenant_context

from accounts.modules import Role
from creators.models import ContentStats, Creator, Decision, TierChange, TierPolicy, TierReviewItem
from creators.selectors import this_month
from creators.services.metrics import add_months, metrics_refresh
from tests.creators.factories import add_orders, make_creator
from tests.inventory.factories import make_sku, make_warehouses, receive
from tests.support import client_for, make_user


@pytest.fixture
def roster(alpha):
    """60 creators with last month's figures, a niche each, so the list paginates and sorts."""
    with tenant_context(alpha):
        sku = make_sku("ROSTER-1")
        last = add_months(this_month(), -1)
        creators = []
        for i in range(60):
            c = make_creator(f"roster.{i:02d}", tier="B", niche="beauty" if i % 2 else "home", followers=1000 * i)
            creators.append(c)
        for i, c in enumerate(creators[:10]):
            add_orders(c, sku, month=last, count=i + 1, price="10.00", commission="1.00")
            ContentStats.objects.create(creator=c, month=last, clicks=100)
        metrics_refresh(months=[last])
    return {"creators": creators, "last": last, "sku": sku}


def test_creator_list_filters_sorts_and_paginates_in_few_queries(alpha, roster, django_assert_num_queries):
    client = client_for(alpha, make_user(alpha, role=Role.CREATOR_MANAGER))
    last = roster["last"].isoformat()
    # 5 for tenant, session and user; then niches, count, policy (2), to-call and review badges, owners, the page.
    with django_assert_num_queries(13):
        page = client.get(f"/creators/?month={last}&sort=gmv")
    html = page.content.decode()
    assert page.status_code == 200 and "60 creators" in html and "Page 1 of 2" in html
    # Highest GMV first: roster.09 (10 orders × 10.00) before roster.08.
    assert html.index("@roster.09") < html.index("@roster.08") < html.index("@roster.00")
    assert "100.00 USD" in html and "10.00%" in html  # GMV with its currency; 10 orders ÷ 100 clicks
    with django_assert_num_queries(13):
        second = client.get(f"/creators/?month={last}&sort=gmv&page=2")
    assert second.status_code == 200
    low_first = client.get(f"/creators/?month={last}&sort=orders&asc=on").content.decode()
    assert low_first.index("@roster.00") < low_first.index("@roster.09")
    beauty = client.get("/creators/?niche=beauty").content.decode()
    assert "30 creators" in beauty and "@roster.01" in beauty and "@roster.02<" not in beauty
    assert "@roster.07" in client.get("/creators/?q=@ROSTER.07").content.decode()
    assert "No creators match" in client.get("/creators/?q=nobody-here").content.decode()
    csv_text = client.get("/creators/creators.csv?niche=home").getvalue().decode()
    assert csv_text.splitlines()[0].startswith("handle,platform_creator_id") and len(csv_text.splitlines()) == 31


def test_creator_detail_shows_terms_charts_orders_and_formulas(alpha, roster):
    client = client_for(alpha, make_user(alpha, role=Role.CREATOR_MANAGER))
    creator = roster["creators"][9]
    html = client.get(f"/creators/{creator.pk}/").content.decode()
    assert "@roster.09" in html and "10.00%" in html  # B default rate
    assert 'data-chart="chart-orders"' in html and "vendor/chartjs/chart.umd.min.js" in html
    assert "ROI = GMV ÷ (commission paid or owed + FIFO cost of samples" in html
    assert "10 orders" in html and "roster.09-" in html
    assert client.get("/creators/999999/").status_code == 404


def test_add_creator_refuses_duplicates_and_out_of_band_rates_until_confirmed(alpha):
    client = client_for(alpha, make_user(alpha, role=Role.CREATOR_MANAGER))
    form = {"handle": "@New.Star", "kind": "creator", "followers": "5000", "initial_status": "active", "initial_tier": "A", "rate_percent": "22"}
    refused = client.post("/creators/new/", form)
    assert "22.00% is outside tier A&#x27;s band of 15.00%–20.00%" in refused.content.decode()
    with tenant_context(alpha):
        assert not Creator.objects.filter(handle__iexact="new.star").exists()
    done = client.post("/creators/new/", {**form, "confirm_outside_band": "on"}, follow=True)
    assert "Added @New.Star" in done.content.decode() and "outside the tier band (confirmed)" in done.content.decode()
    dup = client.post("/creators/new/", {**form, "handle": "new.star", "confirm_outside_band": "on"})
    assert "Another creator already has this handle." in dup.content.decode()
    negative = client.post("/creators/new/", {**form, "handle": "neg", "followers": "-5"})
    assert negative.status_code == 200 and "Ensure this value is greater than or equal to 0" in negative.content.decode()
    with tenant_context(alpha):
        creator = Creator.objects.get(handle="New.Star")
        assert creator.commission_rate_override == Decimal("0.2200") and creator.tier == "A"
        assert TierChange.objects.filter(creator=creator, to_tier="A").exists()


def _upload(client, path, text, **extra):
    f = io.BytesIO(text.encode())
    f.name = "upload.csv"
    return client.post(path, {"file": f, **extra})


def test_creator_csv_import_previews_row_errors_and_imports_all_or_nothing(alpha):
    client = client_for(alpha, make_user(alpha, role=Role.CREATOR_MANAGER))
    with tenant_context(alpha):
        make_creator("existing.one", tier="B")
    bad = ("handle,display_name,kind,followers,tier,commission_rate_percent,status\n"
           "good.one,Good,creator,100,B,12,active\n"
           "Good.One,Dup,creator,100,B,,active\n"
           "neg,Neg,creator,-4,B,,active\n"
           "rich,Rich,creator,10,A,30,active\n"
           "x,Bad,robot,10,,,active\n")
    html = _upload(client, "/creators/import/", bad).content.decode()
    for needle in ("duplicate of row 2", "cannot be negative, got -4", "30.00% is outside tier A&#x27;s band", "must be one of creator, distributor, wholesale",
                   "A handle is 2–40 letters"):
        assert needle in html, needle
    assert "Apply import" not in html
    with tenant_context(alpha):
        assert not Creator.objects.filter(handle="good.one").exists()
    ok = ("handle,display_name,kind,followers,tier,commission_rate_percent,rate_outside_band_ok,status,tags\n"
          "good.one,Good,creator,100,B,12,,active,live;skincare\n"
          "rich,Rich,distributor,10,A,30,yes,active,\n"
          "existing.one,Renamed,creator,50,,,,active,\n")
    preview = _upload(client, "/creators/import/", ok).content.decode()
    assert "Ready: 2 new, 1 updated" in preview
    done = client.post("/creators/import/", {"apply": "1"}, follow=True).content.decode()
    assert "Imported: 2 new creators, 1 updated." in done
    with tenant_context(alpha):
        assert Creator.objects.get(handle="rich").override_outside_band is True
        assert Creator.objects.get(handle="good.one").tags == ["live", "skincare"]
        assert Creator.objects.get(handle="existing.one").display_name == "Renamed"


def test_content_stats_import_names_bad_rows_and_updates_conversion(alpha, roster):
    client = client_for(alpha, make_user(alpha, role=Role.CREATOR_MANAGER))
    month = roster["last"].strftime("%Y-%m")
    bad = f"handle,month,videos,views,clicks\nroster.09,{month},2,1000,-1\nnobody,{month},1,1,1\nroster.08,2026-13,1,1,1\n"
    html = _upload(client, "/creators/content-stats/import/", bad).content.decode()
    for needle in ("must be a whole number of 0 or more", "no creator with the handle @nobody", "use the form 2026-03"):
        assert needle in html, needle
    good = f"handle,month,videos,views,clicks\nroster.09,{month},4,20000,50\n"
    assert "Ready: 1 creator-month" in _upload(client, "/creators/content-stats/import/", good).content.decode()
    client.post("/creators/content-stats/import/", {"apply": "1"})
    with tenant_context(alpha):
        row = roster["creators"][9].months.get(month=roster["last"])
        assert (row.clicks, row.conversion_rate) == (50, Decimal("0.2000"))  # 10 orders ÷ 50 clicks


def test_review_page_bulk_approves_and_rejects_with_history(alpha):
    with tenant_context(alpha):
        sku = make_sku("REV-1")
        last = add_months(this_month(), -1)
        up = [make_creator(f"up.{i}", tier="A") for i in range(3)]
        for c in up:
            add_orders(c, sku, month=last, count=1000)
    manager = make_user(alpha, role=Role.CREATOR_MANAGER)
    client = client_for(alpha, manager)
    page = client.post("/creators/reviews/run/", {"month": last.isoformat()}, follow=True).content.decode()
    assert "3 proposals" in page and "Meets S: at least 1,000 orders." in page
    with tenant_context(alpha):
        items = list(TierReviewItem.objects.filter(creator__in=up).order_by("creator__handle"))
    review_id = items[0].review_id
    client.post(f"/creators/reviews/{review_id}/decide/", {"item": [items[0].pk, items[1].pk], "action": "approve", "note": "great month"})
    client.post(f"/creators/reviews/{review_id}/decide/", {"item": [items[2].pk], "action": "reject"})
    with tenant_context(alpha):
        decisions = [TierReviewItem.objects.get(pk=i.pk).decision for i in items]
        assert decisions == [Decision.APPROVED, Decision.APPROVED, Decision.REJECTED]
        change = TierChange.objects.get(review_item=items[0])
        assert change.changed_by == manager and "great month" in change.reason
    detail = client.get(f"/creators/{items[0].creator_id}/").content.decode()
    assert "Becomes tier S on" in detail and "Monthly review" in detail
    assert client.post(f"/creators/reviews/{review_id}/decide/", {"action": "approve"}, follow=True).status_code == 200


def test_policy_page_saves_a_new_version_for_managers_only(alpha):
    from erp.l10n import business_today

    manager = client_for(alpha, make_user(alpha, role=Role.MANAGER))
    page = manager.get("/creators/policy/").content.decode()
    assert "Version 1" in page and "20.00% – 25.00%" in page
    data = {"effective_from": business_today().isoformat(), "probation_after_flat_months": "3", "scarcity_days_of_cover": "10",
            "contact_every_days": "7", "note": "S needs 8% conversion"}
    for tier, orders, low, high, default, cycle, prio, waits, support in [
            ("S", 1000, 20, 25, 22, "weekly", 1, "", "dedicated"), ("A", 500, 15, 20, 15, "semi_monthly", 2, "", "standard"),
            ("B", 0, 10, 15, 10, "monthly", 3, "on", "self_serve")]:
        data.update({f"{tier}_min_monthly_orders": orders, f"{tier}_rate_min_percent": low, f"{tier}_rate_max_percent": high,
                     f"{tier}_default_percent": default, f"{tier}_settlement_cycle": cycle, f"{tier}_supply_priority": prio,
                     f"{tier}_support_level": support})
        if waits:
            data[f"{tier}_waits_when_scarce"] = waits
    data["S_min_conversion_percent"] = "8"
    done = manager.post("/creators/policy/", data, follow=True).content.decode()
    assert "Saved as version 2" in done and "conversion ≥ 8.00%" in done
    bad = manager.post("/creators/policy/", {**data, "A_default_percent": "30"}).content.decode()
    assert "default commission must lie within its band" in bad
    creators_manager = client_for(alpha, make_user(alpha, role=Role.CREATOR_MANAGER))
    assert "Owners and managers can change the policy." in creators_manager.get("/creators/policy/").content.decode()
    assert creators_manager.post("/creators/policy/", data).status_code == 403
    with tenant_context(alpha):
        assert TierPolicy.objects.count() == 2


def test_supply_pages_show_the_queue_in_order(alpha):
    from creators.services.supply import supply_request_submit

    with tenant_context(alpha):
        la = make_warehouses()["LA"]
        sku = make_sku("Q-1")
        receive(sku, la, 5)
        s, b = make_creator("queue.s", tier="S"), make_creator("queue.b", tier="B")
        supply_request_submit(reference="Q-B", creator_id=b.pk, warehouse_id=la.pk, lines=[(sku.pk, 8)])
        supply_request_submit(reference="Q-S", creator_id=s.pk, warehouse_id=la.pk, lines=[(sku.pk, 9)])
    client = client_for(alpha, make_user(alpha, role=Role.CREATOR_MANAGER))
    overview = client.get("/creators/supply/").content.decode()
    assert "Q-1" in overview and ">2<" in overview.replace(" ", "")
    queue = client.get(f"/creators/supply/sku/{sku.pk}/").content.decode()
    assert queue.index("@queue.s") < queue.index("@queue.b") and "not enough stock" in queue
    drained = client.post(f"/creators/supply/sku/{sku.pk}/drain/", follow=True).content.decode()
    assert "Nobody could be served yet" in drained
