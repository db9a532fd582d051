"""Creator pages: list, detail, add/edit, tier changes, contacts, samples, CSV import/export."""
from datetime import date

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from creators import selectors
from creators.exceptions import CreatorError
from creators.forms import ContactForm, CreatorCreateForm, CreatorFilterForm, CreatorForm, SampleForm, TierSetForm
from creators.models import Creator, Decision, TierReviewItem
from creators.services.care import contact_log_add, sample_send
from creators.services.policy import creator_terms, tier_policy_in_force
from creators.services.records import creator_save
from creators.services.tiers import tier_set
from erp.csvimport import csv_import_view
from erp.csvutil import csv_response, wants_excel
from portal.models import CreatorAccount

PAGE_SIZE = 50


def _form_errors_to_messages(request, form) -> None:
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        for error in errors:
            messages.error(request, f"{label}: {error}" if label else error)


def _filters(request):
    this_month = selectors.this_month()
    form = CreatorFilterForm(request.GET or None, niches=selectors.niches(), this_month=this_month)
    f = form.cleaned_data if form.is_valid() else {}
    month = date.fromisoformat(f["month"]) if f.get("month") else this_month
    qs = selectors.creator_list(
        month=month, search=f.get("q", ""), tier=f.get("tier", ""), status=f.get("status", ""), niche=f.get("niche", ""),
        owner_id=f["owner"].pk if f.get("owner") else None, kind=f.get("kind", ""), sort=f.get("sort") or "gmv",
        descending=not f.get("asc"),
    )
    return form, month, qs


@require_GET
def creator_list(request):
    form, month, qs = _filters(request)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    policy = tier_policy_in_force()
    return render(request, "creators/list.html", {
        "form": form, "page": page, "month": month, "query": query.urlencode(),
        "to_call_count": selectors.to_call(policy=policy).count(),
        "pending_reviews": TierReviewItem.objects.filter(decision=Decision.PENDING).count(),
    })


@require_GET
def creator_export(request):
    from creators.services.records import COLUMNS, creator_csv_export

    _form, _month, qs = _filters(request)
    return csv_response(header=COLUMNS, rows=creator_csv_export(qs), filename="creators.csv", excel=wants_excel(request))


@require_http_methods(["GET", "POST"])
def creator_create(request):
    form = CreatorCreateForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            creator = creator_save(data=form.service_data(), confirm_outside_band=form.cleaned_data["confirm_outside_band"], actor=request.user,
                                   initial_tier=form.cleaned_data["initial_tier"], initial_status=form.cleaned_data["initial_status"])
        except CreatorError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Added @%(handle)s.") % {"handle": creator.handle})
            return redirect("creators:detail", creator_id=creator.pk)
    return render(request, "creators/form.html", {"form": form, "title": _("Add a creator")})


@require_http_methods(["GET", "POST"])
def creator_edit(request, creator_id: int):
    creator = get_object_or_404(Creator, pk=creator_id)
    form = CreatorForm(request.POST if request.method == "POST" else None, instance=creator)
    if request.method == "POST" and form.is_valid():
        try:
            creator_save(creator=creator, data=form.service_data(), confirm_outside_band=form.cleaned_data["confirm_outside_band"],
                         actor=request.user)
        except CreatorError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Saved."))
            return redirect("creators:detail", creator_id=creator.pk)
    return render(request, "creators/form.html", {"form": form, "creator": creator, "title": _("Edit @%(handle)s") % {"handle": creator.handle}})


def _chart(series, key, label, *, percent=False, kind="line"):
    values = []
    for point in series:
        row = point["row"]
        value = getattr(row, key, None) if row else None
        if hasattr(value, "amount"):
            value = value.amount
        if value is not None and percent:
            value = value * 100
        values.append(float(value) if value is not None else (0 if key in ("orders", "gmv") else None))
    return {"id": f"chart-{key}", "type": kind, "label": label, "labels": [p["month"].strftime("%Y-%m") for p in series], "values": values, "percent": percent}


@require_GET
def creator_detail(request, creator_id: int):
    creator = get_object_or_404(Creator.objects.select_related("owner"), pk=creator_id)
    this_month = selectors.this_month()
    series = selectors.metric_series(creator=creator, last_month=this_month, months=12)
    terms = creator_terms(creator)
    pending = creator.tier_changes.filter(applied=False).order_by("effective_from").first()
    orders = Paginator(selectors.creator_orders(creator=creator), 20).get_page(request.GET.get("orders_page"))
    return render(request, "creators/detail.html", {
        "creator": creator, "terms": terms, "pending": pending, "series": list(reversed(series)),
        "charts": [
            _chart(series, "orders", _("Orders"), kind="bar"), _chart(series, "gmv", _("GMV")),
            _chart(series, "conversion_rate", _("Conversion rate (%)"), percent=True), _chart(series, "roi", _("ROI")),
        ],
        "orders": orders, "samples": creator.samples.select_related("sku", "warehouse")[:50],
        "portal_account": CreatorAccount.objects.filter(creator=creator).first(),
        "contacts": creator.contacts.select_related("by")[:50],
        "history": _history(creator),
        "waiting": selectors.creator_waiting_requests(creator=creator),
        "tier_form": TierSetForm(initial={"tier": creator.tier, "status": creator.status}), "contact_form": ContactForm(),
        "sample_form": SampleForm(),
    })


def _history(creator):
    """Tier history; a change from a review shows that review's reasons in the reader's language."""
    rows = list(creator.tier_changes.select_related("changed_by", "review_item")[:50])
    for change in rows:
        item = change.review_item
        if item is not None:
            change.reason = " ".join(selectors.proposal_reason(item)) + (f" — {item.decision_note}" if item.decision_note else "")
    return rows


@require_POST
def creator_tier_set(request, creator_id: int):
    creator = get_object_or_404(Creator, pk=creator_id)
    form = TierSetForm(request.POST)
    if not form.is_valid():
        _form_errors_to_messages(request, form)
    else:
        try:
            changes = tier_set(creator_id=creator.pk, actor=request.user, **form.cleaned_data)
        except CreatorError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("Recorded in the tier history.") if changes else _("Nothing changed."))
    return redirect("creators:detail", creator_id=creator.pk)


@require_POST
def creator_contact_add(request, creator_id: int):
    creator = get_object_or_404(Creator, pk=creator_id)
    form = ContactForm(request.POST)
    if not form.is_valid():
        _form_errors_to_messages(request, form)
    else:
        try:
            contact_log_add(creator_id=creator.pk, actor=request.user, **form.cleaned_data)
        except CreatorError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("Contact logged."))
    if request.POST.get("next") == "to_call":
        return redirect("creators:to_call")
    return redirect("creators:detail", creator_id=creator.pk)


@require_POST
def creator_sample_add(request, creator_id: int):
    creator = get_object_or_404(Creator, pk=creator_id)
    form = SampleForm(request.POST)
    if not form.is_valid():
        _form_errors_to_messages(request, form)
    else:
        c = form.cleaned_data
        try:
            sample = sample_send(creator_id=creator.pk, sku_id=c["sku_code"].pk, warehouse_id=c["warehouse"].pk, quantity=c["quantity"],
                                 sent_on=c["sent_on"], content_url=c["content_url"], notes=c["notes"], actor=request.user)
        except CreatorError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("Sample %(ref)s shipped: %(qty)s × %(sku)s, cost %(cost)s.") % {
                "ref": sample.reference, "qty": sample.quantity, "sku": c["sku_code"].code, "cost": sample.cost})
    return redirect("creators:detail", creator_id=creator.pk)


@require_GET
def to_call(request):
    policy = tier_policy_in_force()
    return render(request, "creators/to_call.html", {"creators": selectors.to_call(policy=policy), "policy": policy,
                                                     "contact_form": ContactForm()})


def _csv_import(request, *, session_key, parse, apply, template_context, done_url, done_message):
    return csv_import_view(request, session_key=session_key, parse=parse, apply=apply, template="creators/import.html",
                           preview_template="creators/_import_preview.html", preview_context={"kind": template_context["kind"]},
                           context=template_context, done_url=done_url, done_message=done_message, errors=(CreatorError,))


@require_http_methods(["GET", "POST"])
def creator_import(request):
    from creators.services.records import COLUMNS, creator_csv_apply, creator_csv_parse

    return _csv_import(
        request, session_key="creator_import_text", parse=creator_csv_parse, apply=creator_csv_apply,
        template_context={"columns": COLUMNS, "kind": "creators", "title": _("Import creators from CSV")}, done_url="creators:index",
        done_message=lambda r: _("Imported: %(c)s new creators, %(u)s updated.") % {"c": r.creates, "u": r.updates},
    )


@require_http_methods(["GET", "POST"])
def content_import(request):
    from creators.services.content import COLUMNS, content_csv_apply, content_csv_parse

    return _csv_import(
        request, session_key="content_import_text", parse=content_csv_parse, apply=content_csv_apply,
        template_context={"columns": COLUMNS, "kind": "content", "title": _("Import content stats from CSV")}, done_url="creators:index",
        done_message=lambda r: _("Imported content stats for %(n)s creator-months; conversion and ROI are updated.") % {"n": len(r.rows)},
    )


@require_POST
def creator_portal_invite(request, creator_id: int):
    """Invite the creator to the portal (or send a fresh link to one who has not accepted yet)."""
    from erp.tenancy import seller_site_url
    from portal.services import PortalError, portal_invite

    creator = get_object_or_404(Creator, pk=creator_id)
    try:
        account = portal_invite(creator=creator, email=request.POST.get("email", ""), invited_by=request.user,
                                site_url=seller_site_url(schema_name=request.tenant.schema_name))
    except PortalError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Portal invitation sent to %(email)s.") % {"email": account.email})
    return redirect("creators:detail", creator_id=creator.pk)
