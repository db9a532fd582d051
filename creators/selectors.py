"""Reads for the creator pages and for other apps (orders, commissions, the portal)."""
from datetime import date
from decimal import Decimal

from django.db.models import Count, F, FilteredRelation, OuterRef, Prefetch, Q, Subquery
from django.utils import formats
from django.utils.translation import gettext as _

from creators.models import (
    Creator,
    CreatorMonth,
    ProposalKind,
    SupplyRequest,
    SupplyRequestLine,
    SupplyStatus,
    TierReviewItem,
)
from creators.services.metrics import add_months, month_start

SORTS = {
    "gmv": "m_gmv", "roi": "m_roi", "conversion": "m_conversion", "orders": "m_orders", "followers": "followers", "handle": "handle",
}


def creator_list(*, month: date, search: str = "", tier: str = "", status: str = "", niche: str = "", owner_id: int | None = None,
                 kind: str = "", tag: str = "", sort: str = "gmv", descending: bool = True):
    """Creators with the chosen month's figures (m_orders, m_gmv, m_conversion, m_roi) and the
    previous month's orders, filtered and sorted; a fixed number of queries per page."""
    previous = CreatorMonth.objects.filter(creator=OuterRef("pk"), month=add_months(month, -1)).values("orders")[:1]
    qs = Creator.objects.select_related("owner").annotate(
        m=FilteredRelation("months", condition=Q(months__month=month)),
        m_orders=F("m__orders"), m_gmv=F("m__gmv"), m_gmv_currency=F("m__gmv_currency"), m_conversion=F("m__conversion_rate"),
        m_roi=F("m__roi"), m_units=F("m__units"), prev_orders=Subquery(previous),
    )
    if search:
        term = search.strip().lstrip("@")
        qs = qs.filter(Q(handle__icontains=term) | Q(display_name__icontains=term) | Q(email__icontains=term)
                       | Q(platform_creator_id=term))
    if tier == "none":
        qs = qs.filter(tier="")
    elif tier:
        qs = qs.filter(tier=tier)
    if status:
        qs = qs.filter(status=status)
    if niche:
        qs = qs.filter(niche__iexact=niche)
    if owner_id:
        qs = qs.filter(owner_id=owner_id)
    if kind:
        qs = qs.filter(kind=kind)
    if tag:
        qs = qs.filter(tags__contains=[tag])
    field = SORTS.get(sort, "m_gmv")
    order = F(field).desc(nulls_last=True) if descending else F(field).asc(nulls_last=True)
    return qs.order_by(order, "handle")


def niches() -> list[str]:
    return list(Creator.objects.exclude(niche="").values_list("niche", flat=True).distinct().order_by("niche"))


def metric_series(*, creator: Creator, last_month: date, months: int = 12) -> list[dict]:
    """The creator's last `months` months, oldest first, with zero rows for months without data."""
    first = add_months(last_month, -(months - 1))
    rows = {m.month: m for m in CreatorMonth.objects.filter(creator=creator, month__gte=first, month__lte=last_month)}
    return [{"month": m, "row": rows.get(m)} for m in (add_months(first, i) for i in range(months))]


def creator_orders(*, creator: Creator):
    from orders.models import Order

    return Order.objects.filter(creator=creator).prefetch_related("lines__sku").order_by("-placed_at", "-pk")


def to_call(*, policy):
    from creators.services.tiers import to_call_filter

    return Creator.objects.filter(to_call_filter(policy)).select_related("owner").order_by(F("last_contacted_at").asc(nulls_first=True), "handle")


def review_items(*, review, kind: str = "", decision: str = ""):
    qs = TierReviewItem.objects.filter(review=review).select_related("creator__owner", "decided_by")
    if kind:
        qs = qs.filter(kind=kind)
    if decision:
        qs = qs.filter(decision=decision)
    return qs.order_by("decision", "kind", "creator__handle")


def _percent(value) -> str:
    return formats.number_format(Decimal(value) * 100, 2) + "%"


def proposal_reason(item: TierReviewItem) -> list[str]:
    """The numbers that decided a proposal, as sentences (translated to the active language)."""
    e = item.evidence
    lines = []
    orders = formats.number_format(e.get("orders", 0), force_grouping=True)
    conversion = _percent(e["conversion_rate"]) if e.get("conversion_rate") else _("no clicks")
    roi_text = e.get("roi") or "—"
    lines.append(_("%(month)s: %(orders)s orders, conversion %(conversion)s, ROI %(roi)s.")
                 % {"month": e.get("month", "")[:7], "orders": orders, "conversion": conversion, "roi": roi_text})
    for tier, passed, tests in e.get("checks", []):
        for name, value, threshold, ok in tests:
            if name == "orders":
                threshold_text = formats.number_format(int(threshold), force_grouping=True)
                if ok:
                    lines.append(_("Meets %(tier)s: at least %(threshold)s orders.") % {"tier": tier, "threshold": threshold_text})
                else:
                    lines.append(_("Below %(tier)s: needs %(threshold)s orders.") % {"tier": tier, "threshold": threshold_text})
            elif name == "conversion":
                lines.append((_("%(tier)s needs conversion of at least %(threshold)s: met.") if ok else
                              _("%(tier)s needs conversion of at least %(threshold)s: not met.")) % {"tier": tier, "threshold": _percent(threshold)})
            elif name == "roi":
                lines.append((_("%(tier)s needs ROI of at least %(threshold)s: met.") if ok else
                              _("%(tier)s needs ROI of at least %(threshold)s: not met.")) % {"tier": tier, "threshold": threshold})
        if passed:
            break
    history = " → ".join(formats.number_format(n, force_grouping=True) for _m, n in e.get("history", []))
    if item.kind in (ProposalKind.PROBATION, ProposalKind.RETIREMENT, ProposalKind.PROBATION_LIFTED) and history:
        if item.kind == ProposalKind.PROBATION_LIFTED:
            lines.append(_("Orders improved: %(history)s.") % {"history": history})
        else:
            lines.append(_("%(n)s months without improvement: %(history)s.") % {"n": e.get("flat_months"), "history": history})
        if item.kind == ProposalKind.PROBATION:
            lines.append(_("Retirement will be proposed if the next month brings no improvement either."))
    return lines


def supply_queue_overview():
    """SKUs with waiting requests: how many wait, units waiting and the oldest wait."""
    from django.db.models import Min, Sum

    from inventory.models import SKU

    waiting = (SupplyRequestLine.objects.filter(request__status=SupplyStatus.WAITING).values("sku_id")
               .annotate(requests=Count("request_id"), units=Sum("quantity"), oldest=Min("request__created_at")))
    by_sku = {row["sku_id"]: row for row in waiting}
    skus = SKU.objects.filter(pk__in=list(by_sku)).order_by("code")
    return skus, by_sku


def supply_queue(*, sku_id: int, include_done: bool = False):
    lines = SupplyRequestLine.objects.filter(sku_id=sku_id).select_related("request__creator", "request__warehouse")
    if not include_done:
        lines = lines.filter(request__status=SupplyStatus.WAITING)
    return lines.order_by("request__priority", "request__created_at", "request__pk")


def creator_waiting_requests(*, creator: Creator):
    return SupplyRequest.objects.filter(creator=creator, status=SupplyStatus.WAITING).prefetch_related(
        Prefetch("lines", queryset=SupplyRequestLine.objects.select_related("sku")))


def this_month() -> date:
    from erp.l10n import business_today

    return month_start(business_today())
