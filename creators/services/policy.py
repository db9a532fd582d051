"""The versioned tier policy and the terms it gives a creator on a day.

Tier rule (shown on the policy and review pages): a creator is placed in the highest tier whose
every threshold they meet. By default a tier has one threshold, monthly orders, so conversion and
ROI are shown but do not decide; a seller who wants them to adds a minimum conversion rate or ROI
to a tier. Example with the defaults: 1,200 orders at 6% conversion → S; with an S minimum
conversion of 8% → A.
"""
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from commissions.periods import SettlementCycle, period_for_day
from creators.exceptions import CreatorError
from creators.models import TIER_RANK, Creator, Tier, TierBand, TierChange, TierPolicy
from erp.l10n import business_today


def tier_policy_in_force(on: date | None = None) -> TierPolicy:
    on = on or business_today()
    policy = (TierPolicy.objects.filter(effective_from__lte=on).order_by("-effective_from", "-version")
              .prefetch_related("bands").first())
    if policy is None:  # every schema gets v1 in a migration; only a deleted policy lands here
        raise CreatorError(_("No tier policy is in force; save one on the tier policy page."))
    return policy


def bands_of(policy: TierPolicy) -> dict[str, TierBand]:
    return {band.tier: band for band in policy.bands.all()}


@dataclass(frozen=True)
class Metrics:
    orders: int
    conversion_rate: Decimal | None
    roi: Decimal | None


@dataclass(frozen=True)
class TierDecision:
    tier: str
    # Per tier checked, highest first: (tier, passed, [(measure, value, threshold, passed)]).
    checks: list


def tier_for(metrics: Metrics, policy: TierPolicy) -> TierDecision:
    """The highest tier whose every threshold `metrics` meets (B, the lowest, needs none beyond
    its order threshold of usually 0)."""
    checks = []
    bands = sorted(bands_of(policy).values(), key=lambda b: TIER_RANK[b.tier], reverse=True)
    for band in bands:
        tests = [("orders", metrics.orders, band.min_monthly_orders, metrics.orders >= band.min_monthly_orders)]
        if band.min_conversion_rate is not None:
            ok = metrics.conversion_rate is not None and metrics.conversion_rate >= band.min_conversion_rate
            tests.append(("conversion", metrics.conversion_rate, band.min_conversion_rate, ok))
        if band.min_roi is not None:
            ok = metrics.roi is not None and metrics.roi >= band.min_roi
            tests.append(("roi", metrics.roi, band.min_roi, ok))
        passed = all(t[3] for t in tests)
        checks.append((band.tier, passed, tests))
        if passed:
            return TierDecision(band.tier, checks)
    return TierDecision(bands[-1].tier if bands else Tier.B, checks)


@dataclass(frozen=True)
class Terms:
    tier: str
    commission_rate: Decimal | None
    rate_source: str  # "override", "tier" or "" (no tier yet)
    settlement_cycle: str
    supply_priority: int
    waits_when_scarce: bool
    support_level: str
    band: TierBand | None


def tier_on(creator: Creator, on: date) -> str:
    """The tier in force on a past or future day, from the dated history."""
    changes = TierChange.objects.filter(creator=creator)
    change = changes.filter(effective_from__lte=on).order_by("-effective_from", "-pk").first()
    if change is not None:
        return change.to_tier
    first = changes.order_by("effective_from", "pk").first()
    return first.from_tier if first is not None else creator.tier


def creator_terms(creator: Creator, on: date | None = None, *, policy: TierPolicy | None = None) -> Terms:
    """What the creator gets on `on` (default today): tier, commission rate (their override, else
    the tier's default in the policy in force), settlement cycle, supply priority, support."""
    on = on or business_today()
    policy = policy or tier_policy_in_force(on)
    tier = creator.tier if on == business_today() else tier_on(creator, on)
    bands = bands_of(policy)
    band = bands.get(tier)
    lowest = max(bands.values(), key=lambda b: b.supply_priority) if bands else None
    rate = creator.commission_rate_override if creator.commission_rate_override is not None else (band.default_rate if band else None)
    source = "override" if creator.commission_rate_override is not None else ("tier" if band else "")
    fallback = band or lowest
    return Terms(
        tier=tier, commission_rate=rate, rate_source=source,
        settlement_cycle=fallback.settlement_cycle if fallback else SettlementCycle.MONTHLY,
        supply_priority=band.supply_priority if band else (lowest.supply_priority + 1 if lowest else 99),
        waits_when_scarce=band.waits_when_scarce if band else True,
        support_level=fallback.support_level if fallback else "", band=band,
    )


def next_period_start(creator: Creator, today: date | None = None) -> date:
    """The first day of the creator's next settlement period (by the cycle they are on now);
    today for a creator without a tier, who has no running period."""
    today = today or business_today()
    if not creator.tier:
        return today
    cycle = creator_terms(creator, today).settlement_cycle
    return period_for_day(cycle, today).last_day + timedelta(days=1)


@dataclass
class BandInput:
    tier: str
    min_monthly_orders: int
    rate_min: Decimal
    rate_max: Decimal
    default_rate: Decimal
    settlement_cycle: str
    supply_priority: int
    waits_when_scarce: bool
    support_level: str
    min_conversion_rate: Decimal | None = None
    min_roi: Decimal | None = None


def _validate_bands(bands: list[BandInput]) -> None:
    by_tier = {b.tier: b for b in bands}
    if set(by_tier) != set(Tier.values) or len(bands) != 3:
        raise CreatorError(_("A policy needs exactly one row for each of S, A and B."))
    s, a, b = by_tier[Tier.S], by_tier[Tier.A], by_tier[Tier.B]
    if not (s.min_monthly_orders > a.min_monthly_orders > b.min_monthly_orders):
        raise CreatorError(_("Monthly order thresholds must fall from S to A to B (e.g. 1000, 500, 0)."))
    if b.min_monthly_orders != 0:
        raise CreatorError(_("Tier B must start at 0 monthly orders, so every creator has a tier."))
    for band in bands:
        if not (0 <= band.rate_min <= band.default_rate <= band.rate_max <= 1):
            raise CreatorError(_("Tier %(tier)s: the default commission must lie within its band (from ≤ default ≤ up to).")
                               % {"tier": band.tier})
        if band.supply_priority < 1:
            raise CreatorError(_("Tier %(tier)s: supply priority starts at 1.") % {"tier": band.tier})
    if not (s.supply_priority <= a.supply_priority <= b.supply_priority):
        raise CreatorError(_("Supply priority must not favour a lower tier over a higher one."))


@transaction.atomic
def tier_policy_save(*, bands: list[BandInput], effective_from: date, probation_after_flat_months: int, scarcity_days_of_cover: int,
                     contact_every_days: int, note: str = "", actor=None) -> TierPolicy:
    """Save the rules as a new version (earlier versions stay as they were, for history and for
    dates before `effective_from`). Raises CreatorError naming what is inconsistent."""
    _validate_bands(bands)
    if effective_from < business_today():
        raise CreatorError(_("A new policy cannot take effect in the past."))
    if probation_after_flat_months < 1:
        raise CreatorError(_("Probation needs at least one month without improvement."))
    # Two managers saving at once compute the same next version; the unique constraint refuses the second.
    version = (TierPolicy.objects.aggregate(v=Max("version"))["v"] or 0) + 1
    try:
        with transaction.atomic():
            policy = TierPolicy.objects.create(
                version=version, effective_from=effective_from, probation_after_flat_months=probation_after_flat_months,
                scarcity_days_of_cover=scarcity_days_of_cover, contact_every_days=contact_every_days, note=note.strip()[:200],
                created_by=actor,
            )
    except IntegrityError:
        raise CreatorError(_("Someone saved the policy at the same moment; reload and try again.")) from None
    TierBand.objects.bulk_create([
        TierBand(policy=policy, tier=b.tier, min_monthly_orders=b.min_monthly_orders, min_conversion_rate=b.min_conversion_rate,
                 min_roi=b.min_roi, rate_min=b.rate_min, rate_max=b.rate_max, default_rate=b.default_rate,
                 settlement_cycle=b.settlement_cycle, supply_priority=b.supply_priority, waits_when_scarce=b.waits_when_scarce,
                 support_level=b.support_level)
        for b in bands
    ])
    from accounts.services import audit_record

    audit_record(actor=actor, verb="tier_policy.saved", target=policy, data={
        "version": policy.version, "effective_from": effective_from.isoformat(),
        "default_rates": {b.tier: str(b.default_rate) for b in bands}})
    return policy


def rate_outside_band(rate: Decimal, tier: str, policy: TierPolicy | None = None) -> TierBand | None:
    """The band `rate` falls outside of for `tier`, or None when it is inside (or no tier yet)."""
    if not tier:
        return None
    band = bands_of(policy or tier_policy_in_force()).get(tier)
    if band is None or band.rate_min <= rate <= band.rate_max:
        return None
    return band
