"""The monthly tier review and the tier policy."""
from datetime import date

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.modules import Role
from creators import selectors
from creators.exceptions import CreatorError
from creators.forms import PolicyForm, ReviewDecisionForm
from creators.models import Decision, ProposalKind, TierPolicy, TierReview
from creators.services.metrics import add_months
from creators.services.policy import tier_policy_in_force, tier_policy_save
from creators.services.tiers import review_due_month, review_items_decide, tier_review_run
from erp.ids import ids as id_list

POLICY_EDITORS = (Role.OWNER, Role.MANAGER)


@require_GET
def review_list(request):
    from django.db.models import Count

    from creators.models import TierReviewItem

    reviews = list(TierReview.objects.select_related("policy").order_by("-month")[:24])
    counts = {review.pk: {d: 0 for d in Decision.values} for review in reviews}
    for row in TierReviewItem.objects.filter(review__in=list(counts)).values("review_id", "decision").annotate(n=Count("pk")):
        counts[row["review_id"]][row["decision"]] = row["n"]
    return render(request, "creators/reviews.html", {
        "reviews": [(r, counts[r.pk]) for r in reviews], "due_month": review_due_month(),
        "months": [add_months(review_due_month(), -i) for i in range(6)],
    })


@require_POST
def review_run(request):
    try:
        month = date.fromisoformat(request.POST.get("month", ""))
        review = tier_review_run(month=month, actor=request.user)
    except ValueError:
        messages.error(request, _("Choose a month."))
        return redirect("creators:reviews")
    except CreatorError as exc:
        messages.error(request, str(exc))
        return redirect("creators:reviews")
    messages.success(request, _("Review of %(month)s is ready: %(n)s proposals.") % {"month": review.month.strftime("%Y-%m"), "n": review.items.count()})
    return redirect("creators:review", review_id=review.pk)


@require_GET
def review_detail(request, review_id: int):
    review = get_object_or_404(TierReview.objects.select_related("policy", "created_by"), pk=review_id)
    kind = request.GET.get("kind", "") if request.GET.get("kind", "") in ProposalKind.values else ""
    decision = request.GET.get("decision", "") if request.GET.get("decision", "") in Decision.values else ""
    page = Paginator(selectors.review_items(review=review, kind=kind, decision=decision), 100).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "creators/review.html", {
        "review": review, "page": page, "rows": [(item, selectors.proposal_reason(item)) for item in page],
        "kinds": ProposalKind.choices, "decisions": Decision.choices, "kind": kind, "decision": decision, "query": query.urlencode(),
        "form": ReviewDecisionForm(),
    })


@require_POST
def review_decide(request, review_id: int):
    review = get_object_or_404(TierReview, pk=review_id)
    form = ReviewDecisionForm(request.POST)
    ids = id_list(request.POST.getlist("item"))
    if not form.is_valid():
        messages.error(request, _("Choose approve or reject."))
    else:
        try:
            n = review_items_decide(item_ids=list(review.items.filter(pk__in=ids).values_list("pk", flat=True)),
                                    approve=form.cleaned_data["action"] == "approve", actor=request.user, note=form.cleaned_data["note"])
        except CreatorError as exc:
            messages.error(request, str(exc))
        else:
            if form.cleaned_data["action"] == "approve":
                messages.success(request, _("Approved %(n)s proposals; they are in the tier history.") % {"n": n})
            else:
                messages.success(request, _("Rejected %(n)s proposals.") % {"n": n})
    return redirect("creators:review", review_id=review.pk)


@require_http_methods(["GET", "POST"])
def policy(request):
    current = tier_policy_in_force()
    can_edit = request.user.role in POLICY_EDITORS
    if request.method == "POST" and not can_edit:
        raise PermissionDenied
    from erp.l10n import business_today

    form = PolicyForm(request.POST if request.method == "POST" else None, initial=PolicyForm.initial_from(current, business_today()))
    if request.method == "POST" and form.is_valid():
        c = form.cleaned_data
        try:
            saved = tier_policy_save(bands=form.bands(), effective_from=c["effective_from"], probation_after_flat_months=c["probation_after_flat_months"],
                                     scarcity_days_of_cover=c["scarcity_days_of_cover"], contact_every_days=c["contact_every_days"],
                                     note=c["note"], actor=request.user)
        except CreatorError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Saved as version %(v)s, in force from %(date)s.") % {"v": saved.version, "date": saved.effective_from})
            return redirect("creators:policy")
    versions = TierPolicy.objects.select_related("created_by").prefetch_related("bands")[:20]
    return render(request, "creators/policy.html", {"current": current, "form": form, "can_edit": can_edit, "versions": versions,
                                                    "bands": sorted(current.bands.all(), key=lambda b: -b.min_monthly_orders)})
