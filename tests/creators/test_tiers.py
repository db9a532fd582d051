from datetime import timedelta
from decimal import Decimal

import pytest
from django_tenants.utils import tenant_context

from commissions.periods import period_for_day
from creators.exceptions import CreatorError
from creators.models import ContentStats, CreatorStatus, Decision, ProposalKind, TierChange
from creators.selectors import proposal_reason, this_month
from creators.services.metrics import add_months, metrics_refresh
from creators.services.policy import BandInput, Metrics, bands_of, creator_terms, tier_for, tier_policy_in_force, tier_policy_save
from creators.services.tiers import review_items_decide, tier_changes_apply, tier_review_run
from erp.l10n import business_today
from tests.creators.factories import add_orders, make_creator
from tests.inventory.factories import make_sku


@pytest.fixture
def shop(alpha):
    with tenant_context(alpha):
        yield {"sku": make_sku("TIER-1"), "last": add_months(this_month(), -1)}


def _bands(policy, **changes):
    out = []
    for band in bands_of(policy).values():
        values = {f: getattr(band, f) for f in ("tier", "min_monthly_orders", "rate_min", "rate_max", "default_rate", "settlement_cycle",
                                                "supply_priority", "waits_when_scarce", "support_level", "min_conversion_rate", "min_roi")}
        values.update(changes.get(band.tier, {}))
        out.append(BandInput(**values))
    return out


def test_tier_for_judges_on_monthly_orders_by_default_with_the_brief_examples(shop):
    policy = tier_policy_in_force()
    assert tier_for(Metrics(orders=800, conversion_rate=Decimal("0.12"), roi=Decimal("3.5")), policy).tier == "A"
    # More orders at a worse conversion still counts as orders under the default policy.
    assert tier_for(Metrics(orders=1200, conversion_rate=Decimal("0.06"), roi=Decimal("2.1")), policy).tier == "S"
    assert tier_for(Metrics(orders=999, conversion_rate=None, roi=None), policy).tier == "A"
    assert tier_for(Metrics(orders=499, conversion_rate=None, roi=None), policy).tier == "B"


def test_tier_for_applies_a_conversion_gate_when_the_policy_says_so(shop):
    policy = tier_policy_in_force()
    stricter = tier_policy_save(bands=_bands(policy, S={"min_conversion_rate": Decimal("0.08")}), effective_from=business_today(),
                                probation_after_flat_months=3, scarcity_days_of_cover=7, contact_every_days=7, note="S needs 8%")
    assert stricter.version == policy.version + 1 and tier_policy_in_force() == stricter
    decision = tier_for(Metrics(orders=1200, conversion_rate=Decimal("0.06"), roi=Decimal("2.1")), stricter)
    assert decision.tier == "A"
    assert decision.checks[0][0] == "S" and decision.checks[0][1] is False  # failed on conversion
    # The earlier version is kept unchanged for history.
    assert bands_of(policy)["S"].min_conversion_rate is None


def test_policy_refuses_inconsistent_bands(shop):
    policy = tier_policy_in_force()
    with pytest.raises(CreatorError, match="within its band"):
        tier_policy_save(bands=_bands(policy, A={"default_rate": Decimal("0.30")}), effective_from=business_today(),
                         probation_after_flat_months=3, scarcity_days_of_cover=7, contact_every_days=7)
    with pytest.raises(CreatorError, match="fall from S to A to B"):
        tier_policy_save(bands=_bands(policy, A={"min_monthly_orders": 1500}), effective_from=business_today(),
                         probation_after_flat_months=3, scarcity_days_of_cover=7, contact_every_days=7)


def test_review_keeps_the_a_example_and_promotes_the_b_example_with_reasons(shop):
    last, sku = shop["last"], shop["sku"]
    a = make_creator("amy.a", tier="A")
    b = make_creator("bob.b", tier="A")
    add_orders(a, sku, month=last, count=800)
    add_orders(b, sku, month=last, count=1200)
    ContentStats.objects.create(creator=a, month=last, clicks=6667)  # 800 / 6667 = 12.00%
    ContentStats.objects.create(creator=b, month=last, clicks=20000)  # 6%
    review = tier_review_run(month=last)
    items = {i.creator.handle: i for i in review.items.select_related("creator")}
    assert "amy.a" not in items  # A with 800 orders stays A: nothing to decide
    item = items["bob.b"]
    assert (item.kind, item.current_tier, item.proposed_tier) == (ProposalKind.PROMOTION, "A", "S")
    reason = " ".join(proposal_reason(item))
    assert "1,200 orders" in reason and "conversion 6.00%" in reason and "Meets S: at least 1,000 orders." in reason


def test_approved_promotion_changes_rate_and_cycle_from_the_next_period(shop):
    last, sku = shop["last"], shop["sku"]
    creator = make_creator("rising.star", tier="A")
    add_orders(creator, sku, month=last, count=1000)
    item = tier_review_run(month=last).items.get()
    assert review_items_decide(item_ids=[item.pk], approve=True, actor=None) == 1
    assert review_items_decide(item_ids=[item.pk], approve=True, actor=None) == 0  # a double click decides nothing twice
    change = TierChange.objects.get(creator=creator, review_item=item)
    today = business_today()
    next_start = period_for_day("semi_monthly", today).last_day + timedelta(days=1)  # A is settled semi-monthly
    assert change.effective_from == next_start and not change.applied and "1,000 orders" in change.reason
    creator.refresh_from_db()
    assert creator.tier == "A"
    assert creator_terms(creator).commission_rate == Decimal("0.1500")
    future = creator_terms(creator, next_start)
    assert (future.tier, future.commission_rate, future.settlement_cycle) == ("S", Decimal("0.2000"), "weekly")
    assert tier_changes_apply(today=next_start) == 1 and tier_changes_apply(today=next_start) == 0
    creator.refresh_from_db()
    assert creator.tier == "S"


def test_rejected_proposal_changes_nothing_and_override_beats_the_tier_default(shop):
    last, sku = shop["last"], shop["sku"]
    creator = make_creator("steady", tier="A", commission_rate_override=Decimal("0.1800"))
    add_orders(creator, sku, month=last, count=100)
    item = tier_review_run(month=last).items.get()
    assert item.kind == ProposalKind.DEMOTION and item.proposed_tier == "B"
    review_items_decide(item_ids=[item.pk], approve=False, actor=None, note="seasonal dip")
    item.refresh_from_db()
    assert item.decision == Decision.REJECTED and not TierChange.objects.filter(review_item=item).exists()
    assert creator_terms(creator).commission_rate == Decimal("0.1800")
    # Re-running the review leaves the decision alone.
    tier_review_run(month=last)
    item.refresh_from_db()
    assert item.decision == Decision.REJECTED


def _months_back(n):
    last = add_months(this_month(), -1)
    return [add_months(last, -i) for i in range(n - 1, -1, -1)]


def test_probation_after_three_flat_months_then_retirement_or_recovery(shop):
    sku = shop["sku"]
    months = _months_back(5)
    flat = make_creator("flat.fay", tier="B", start=months[0])
    two_flat = make_creator("two.flat", tier="B", start=months[1])
    for month, n in zip(months, [120, 100, 100, 90, 90]):
        add_orders(flat, sku, month=month, count=n)
    for month, n in zip(months[1:], [50, 60, 60, 55]):
        add_orders(two_flat, sku, month=month, count=n)
    review = tier_review_run(month=months[-1])
    items = {i.creator.handle: i for i in review.items.select_related("creator")}
    assert "two.flat" not in items  # 60 → 60 → 55: two months without improvement, not three
    item = items["flat.fay"]
    assert item.kind == ProposalKind.PROBATION and item.proposed_status == CreatorStatus.PROBATION
    assert "4 months without improvement: 120 → 100 → 100 → 90 → 90." in " ".join(proposal_reason(item))
    review_items_decide(item_ids=[item.pk], approve=True)
    flat.refresh_from_db()
    assert flat.status == CreatorStatus.PROBATION  # a status change takes effect at once


def test_probation_leads_to_retirement_without_improvement_and_back_to_active_with_it(shop):
    sku = shop["sku"]
    months = _months_back(5)
    stuck = make_creator("stuck", tier="B", status=CreatorStatus.PROBATION, start=months[0])
    better = make_creator("better", tier="B", status=CreatorStatus.PROBATION, start=months[0])
    for month, n in zip(months, [90, 80, 80, 70, 70]):
        add_orders(stuck, sku, month=month, count=n)
    for month, n in zip(months, [90, 80, 80, 70, 95]):
        add_orders(better, sku, month=month, count=n)
    items = {i.creator.handle: i for i in tier_review_run(month=months[-1]).items.select_related("creator")}
    assert (items["stuck"].kind, items["stuck"].proposed_status) == (ProposalKind.RETIREMENT, CreatorStatus.RETIRED)
    assert (items["better"].kind, items["better"].proposed_status) == (ProposalKind.PROBATION_LIFTED, CreatorStatus.ACTIVE)


def test_review_refuses_the_running_month(shop):
    with pytest.raises(CreatorError, match="finished month"):
        tier_review_run(month=this_month())


def test_metrics_recompute_idempotently_with_documented_formulas(shop):
    last, sku = shop["last"], shop["sku"]
    creator = make_creator("metric.mia", tier="B")
    orders = add_orders(creator, sku, month=last, count=4, price="25.00", quantity=2, commission="5.00", returned=1)
    ContentStats.objects.create(creator=creator, month=last, videos=3, views=9000, clicks=50)
    assert metrics_refresh(months=[last]) == 1
    first = creator.months.get(month=last)
    assert (first.orders, first.units, first.returned_units) == (4, 8, 1)
    assert first.gmv.amount == Decimal("200.00") and first.returns_value.amount == Decimal("25.00")
    assert first.commission.amount == Decimal("20.00")
    assert first.conversion_rate == Decimal("0.0800")  # 4 orders ÷ 50 clicks
    assert first.roi == Decimal("10.00")  # 200 ÷ (20 + 0)
    assert metrics_refresh(months=[last]) == 1
    again = creator.months.get(month=last)
    assert [getattr(again, f) for f in ("orders", "gmv", "conversion_rate", "roi")] == [getattr(first, f) for f in ("orders", "gmv", "conversion_rate", "roi")]
    assert creator.months.count() == 1
    orders[0].status = "cancelled"
    orders[0].save()
    metrics_refresh(months=[last])
    assert creator.months.get(month=last).orders == 3
    # Sources gone → row gone.
    for o in orders:
        o.delete()
    ContentStats.objects.filter(creator=creator).delete()
    metrics_refresh(months=[last])
    assert not creator.months.exists()
