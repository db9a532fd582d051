"""Tier changes, the monthly tier review and its decisions.

Review rules (shown on the review page):
- Proposed tier: the tier rule of creators.services.policy on the reviewed month's figures.
  Higher than the creator's tier → promotion; lower → demotion; no tier yet → first tier.
- A month "without improvement" is one whose orders are not above the month before (months
  before the creator started do not count). A B-tier creator who is active and has gone
  `probation_after_flat_months` (default 3) such months in a row is proposed for probation;
  one already on probation who goes one more month without improvement is proposed for
  retirement; one on probation whose orders rose is proposed to come off probation.
- Only active and probation creators are reviewed. Decisions are the manager's: nothing changes
  until a proposal is approved. A tier change takes effect from the start of the creator's next
  settlement period; a status change at once. Every change is kept with who and why.
"""
from datetime import date, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from creators.exceptions import CreatorError
from creators.models import (
    TIER_RANK,
    ChangeSource,
    Creator,
    CreatorMonth,
    CreatorStatus,
    Decision,
    ProposalKind,
    ReviewStatus,
    TierChange,
    TierReview,
    TierReviewItem,
)
from creators.services.metrics import add_months, metrics_refresh, month_start
from creators.services.policy import Metrics, next_period_start, tier_for, tier_policy_in_force
from erp.l10n import business_today

REVIEWED_STATUSES = (CreatorStatus.ACTIVE, CreatorStatus.PROBATION)


def scheduled_tier(creator: Creator) -> str:
    """The tier the creator will have once every recorded change has taken effect."""
    latest = creator.tier_changes.order_by("-effective_from", "-pk").first()
    return latest.to_tier if latest else creator.tier


def change_record(*, creator: Creator, to_tier: str, to_status: str, source: str, reason: str, actor=None,
                  review_item: TierReviewItem | None = None, today: date | None = None) -> list[TierChange]:
    """Record a tier and/or status change for a locked `creator`: the status at once, the tier
    from the next settlement period (at once for a creator's first tier)."""
    today = today or business_today()
    from_tier = scheduled_tier(creator)
    changes = []
    if to_status != creator.status:
        changes.append(TierChange(creator=creator, from_tier=from_tier, to_tier=from_tier, from_status=creator.status, to_status=to_status,
                                  effective_from=today, applied=True, source=source, reason=reason, changed_by=actor))
        creator.status = to_status
    if to_tier != from_tier:
        effective = next_period_start(creator, today) if creator.tier else today
        changes.append(TierChange(creator=creator, from_tier=from_tier, to_tier=to_tier, from_status=creator.status, to_status=creator.status,
                                  effective_from=effective, applied=effective <= today, source=source, reason=reason, changed_by=actor))
        if effective <= today:
            creator.tier = to_tier
    if not changes:
        return []
    if review_item is not None:
        changes[-1].review_item = review_item
    TierChange.objects.bulk_create(changes)
    creator.save(update_fields=["status", "tier", "updated_at"])
    return changes


@transaction.atomic
def tier_set(*, creator_id: int, tier: str, status: str, reason: str, actor=None) -> list[TierChange]:
    """A manager sets a creator's tier and/or status by hand; a reason is required."""
    if not reason.strip():
        raise CreatorError(_("Say why: the reason is kept in the tier history."))
    creator = Creator.objects.select_for_update().filter(pk=creator_id).first()
    if creator is None:
        raise CreatorError(_("No such creator."))
    if status not in CreatorStatus.values or (tier and tier not in TIER_RANK):
        raise CreatorError(_("Unknown tier or status."))
    if status != CreatorStatus.PROSPECT and not tier:
        raise CreatorError(_("Choose a tier for a creator who is not a prospect."))
    return change_record(creator=creator, to_tier=tier, to_status=status, source=ChangeSource.MANUAL, reason=reason.strip(), actor=actor)


@transaction.atomic
def tier_changes_apply(*, today: date | None = None) -> int:
    """Put tier changes whose date has come into force. Safe to run any number of times."""
    today = today or business_today()
    due = list(TierChange.objects.select_for_update().filter(applied=False, effective_from__lte=today).order_by("effective_from", "pk"))
    for change in due:
        Creator.objects.filter(pk=change.creator_id).update(tier=change.to_tier, updated_at=timezone.now())
        change.applied = True
    TierChange.objects.bulk_update(due, ["applied"])
    return len(due)


def flat_streak(history: list[int]) -> int:
    """Consecutive months, counted back from the last, whose orders were not above the month before."""
    streak = 0
    for i in range(len(history) - 1, 0, -1):
        if history[i] > history[i - 1]:
            break
        streak += 1
    return streak


def _first_month(creator: Creator) -> date:
    start = creator.start_date or timezone.localdate(creator.created_at)
    return month_start(start)


@transaction.atomic
def tier_review_run(*, month: date, actor=None) -> TierReview:
    """Propose tiers for `month` (a finished month, normally the last one). Rebuilds the metrics
    it needs first. Running it again refreshes pending proposals and leaves decided ones alone;
    two runs at once are serialised on the review row."""
    month = month_start(month)
    if month >= month_start(business_today()):
        raise CreatorError(_("Only a finished month can be reviewed."))
    tier_changes_apply()
    policy = tier_policy_in_force()
    window = policy.probation_after_flat_months + 1
    months = [add_months(month, -i) for i in range(window, -1, -1)]
    metrics_refresh(months=months)
    review, _created = TierReview.objects.get_or_create(month=month, defaults={"policy": policy, "created_by": actor})
    review = TierReview.objects.select_for_update().get(pk=review.pk)
    review.policy = policy
    creators = list(Creator.objects.filter(status__in=REVIEWED_STATUSES).order_by("pk"))
    figures = {(m.creator_id, m.month): m for m in CreatorMonth.objects.filter(month__in=months, creator__status__in=REVIEWED_STATUSES)}
    scheduled = {}
    for change in TierChange.objects.filter(creator__status__in=REVIEWED_STATUSES).order_by("creator_id", "effective_from", "pk"):
        scheduled[change.creator_id] = change.to_tier
    existing = {item.creator_id: item for item in TierReviewItem.objects.select_for_update().filter(review=review)}
    proposed_ids, to_create, to_update = set(), [], []
    for creator in creators:
        proposal = _proposal(creator, month, months, figures, policy, scheduled.get(creator.pk, creator.tier))
        if proposal is None:
            continue
        proposed_ids.add(creator.pk)
        item = existing.get(creator.pk)
        if item is None:
            to_create.append(TierReviewItem(review=review, creator=creator, **proposal))
        elif item.decision == Decision.PENDING:
            for field, value in proposal.items():
                setattr(item, field, value)
            to_update.append(item)
    TierReviewItem.objects.bulk_create(to_create, batch_size=1000)
    TierReviewItem.objects.bulk_update(to_update, ["kind", "current_tier", "proposed_tier", "current_status", "proposed_status", "evidence"])
    TierReviewItem.objects.filter(review=review, decision=Decision.PENDING).exclude(creator_id__in=proposed_ids).delete()
    review.reviewed_creators = len(creators)
    review.status = ReviewStatus.OPEN if review.items.filter(decision=Decision.PENDING).exists() else ReviewStatus.DONE
    review.save()
    return review


def _proposal(creator, month, months, figures, policy, current_tier) -> dict | None:
    row = figures.get((creator.pk, month))
    orders = row.orders if row else 0
    metrics = Metrics(orders=orders, conversion_rate=row.conversion_rate if row else None, roi=row.roi if row else None)
    decision = tier_for(metrics, policy)
    first = _first_month(creator)
    history = [(m, figures[(creator.pk, m)].orders if (creator.pk, m) in figures else 0) for m in months if m >= first]
    streak = flat_streak([n for _m, n in history])
    tier, status = decision.tier, creator.status
    kind = None
    if not current_tier:
        kind = ProposalKind.FIRST_TIER
    elif TIER_RANK[tier] > TIER_RANK[current_tier]:
        kind = ProposalKind.PROMOTION
    elif TIER_RANK[tier] < TIER_RANK[current_tier]:
        kind = ProposalKind.DEMOTION
    if tier == "B":
        if creator.status == CreatorStatus.ACTIVE and streak >= policy.probation_after_flat_months:
            status, kind = CreatorStatus.PROBATION, ProposalKind.PROBATION
        elif creator.status == CreatorStatus.PROBATION and streak > policy.probation_after_flat_months:
            status, kind = CreatorStatus.RETIRED, ProposalKind.RETIREMENT
        elif creator.status == CreatorStatus.PROBATION and streak == 0 and len(history) > 1:
            status, kind = CreatorStatus.ACTIVE, kind or ProposalKind.PROBATION_LIFTED
    elif creator.status == CreatorStatus.PROBATION:
        status, kind = CreatorStatus.ACTIVE, kind or ProposalKind.PROBATION_LIFTED
    if kind is None:
        return None
    evidence = {
        "month": month.isoformat(), "orders": orders, "gmv": str(row.gmv.amount) if row else "0.00",
        "currency": str(row.gmv.currency) if row else "",
        "conversion_rate": str(metrics.conversion_rate) if metrics.conversion_rate is not None else None,
        "roi": str(metrics.roi) if metrics.roi is not None else None,
        "history": [[m.isoformat(), n] for m, n in history], "flat_months": streak,
        "probation_after": policy.probation_after_flat_months, "policy_version": policy.version,
        "checks": [[t, ok, [[name, None if v is None else str(v), str(th), passed] for name, v, th, passed in tests]]
                   for t, ok, tests in decision.checks],
    }
    return {"kind": kind, "current_tier": current_tier, "proposed_tier": tier, "current_status": creator.status,
            "proposed_status": status, "evidence": evidence}


@transaction.atomic
def review_items_decide(*, item_ids, approve: bool, actor=None, note: str = "") -> int:
    """Approve or reject pending proposals (others are left as decided). Approval records the
    change in the tier history with the proposal's reason. Returns how many were decided."""
    from creators.selectors import proposal_reason

    ids = [int(i) for i in item_ids]
    if not ids:
        raise CreatorError(_("Select at least one proposal."))
    items = list(TierReviewItem.objects.select_for_update(of=("self",)).filter(pk__in=ids, decision=Decision.PENDING)
                 .select_related("review").order_by("creator_id"))
    creators = Creator.objects.select_for_update().in_bulk([i.creator_id for i in items])
    now = timezone.now()
    for item in items:
        item.decision = Decision.APPROVED if approve else Decision.REJECTED
        item.decided_by, item.decided_at, item.decision_note = actor, now, note.strip()[:200]
        item.save(update_fields=["decision", "decided_by", "decided_at", "decision_note"])
        if approve:
            with translation.override("en"):  # the stored text is the audit copy; pages render it translated
                reason = " ".join(proposal_reason(item))
            if note.strip():
                reason += f" — {note.strip()}"
            change_record(creator=creators[item.creator_id], to_tier=item.proposed_tier, to_status=item.proposed_status,
                          source=ChangeSource.REVIEW, reason=reason, actor=actor, review_item=item)
    for review in {item.review for item in items}:
        if not review.items.filter(decision=Decision.PENDING).exists():
            TierReview.objects.filter(pk=review.pk).update(status=ReviewStatus.DONE)
    return len(items)


def review_due_month(today: date | None = None) -> date:
    """The month the monthly job reviews: the last finished one."""
    return add_months(month_start(today or business_today()), -1)


def tier_review_monthly() -> int | None:
    """The beat job: review last month once (when no review of it exists yet)."""
    month = review_due_month()
    if TierReview.objects.filter(month=month).exists():
        return None
    return tier_review_run(month=month).pk


def to_call_filter(policy) -> Q:
    cutoff = timezone.now() - timedelta(days=policy.contact_every_days)
    return Q(tier="S", status__in=REVIEWED_STATUSES) & (Q(last_contacted_at__isnull=True) | Q(last_contacted_at__lt=cutoff))
