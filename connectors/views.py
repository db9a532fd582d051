import json
import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import RequestDataTooBig
from django.core.paginator import Paginator
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from connectors import selectors, services
from connectors.exceptions import ConnectorError, WebhookRejected
from connectors.forms import ConnectForm, EventFilterForm, ListingsImportForm, SyncFilterForm
from connectors.models import ChannelAccount, InboxStatus, WebhookEvent
from connectors.services.stock_sync import stock_reconcile_later
from erp.ids import ids as id_list
from erp.outbound import sandbox_url
from erp.redirects import redirect_next
from erp.throttle import client_ip

log = logging.getLogger("fanout.connectors.webhooks")


# ---------------------------------------------------------------------------- webhooks (platforms call these)
def _webhook_answer(receive) -> JsonResponse:
    try:
        event, created = receive()
    except WebhookRejected as exc:
        response = JsonResponse({"ok": False, "error": exc.reason}, status=exc.status)
        if exc.retry_after:
            response["Retry-After"] = str(exc.retry_after)
        return response
    return JsonResponse({"ok": True, "event": event.event_id, "duplicate": not created})


def _raw_body(request) -> bytes | None:
    """None when the body is past DATA_UPLOAD_MAX_MEMORY_SIZE (the service answers 413)."""
    try:
        return request.body
    except RequestDataTooBig:
        return None


def _client_ip(request) -> str:
    """The sender's address, by the one rule (X-Forwarded-For only through FANOUT_TRUSTED_PROXIES)."""
    return client_ip(request) or ""


@csrf_exempt
@login_not_required
@require_POST
def webhook_tiktok(request):
    return _webhook_answer(lambda: services.webhook_receive_tiktok(raw_body=_raw_body(request), authorization=request.headers.get("Authorization", ""),
                                                                   client_ip=_client_ip(request)))


@csrf_exempt
@login_not_required
@require_POST
def webhook_shopify(request):
    return _webhook_answer(lambda: services.webhook_receive_shopify(raw_body=_raw_body(request), headers=request.headers,
                                                                    client_ip=_client_ip(request)))


# ---------------------------------------------------------------------------- staff pages
@require_GET
def index(request):
    from connectors.services.webhook_guard import webhook_rejections_recent

    try:
        rejections = webhook_rejections_recent()[:10]
    except Exception:  # Redis down: the page still shows the shops
        log.exception("could not read webhook rejections")
        rejections = []
    return render(request, "connectors/index.html", {
        "accounts": selectors.accounts_overview(),
        "events": WebhookEvent.objects.select_related("account").order_by("-received_at", "-pk")[:10],
        "rejections": rejections,
        "sandbox_url": sandbox_url(),
    })


def connect(request):
    form = ConnectForm(request.POST if request.method == "POST" else None, sandbox_available=bool(sandbox_url()))
    if request.method == "POST" and form.is_valid():
        try:
            account = services.account_connect(data=services.AccountInput(**form.cleaned_data), actor=request.user)
        except ConnectorError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("%(shop)s is connected. Map its items to your SKUs to start syncing stock.") % {"shop": account})
            return redirect("channels:account", account_id=account.pk)
    return render(request, "connectors/connect.html", {"form": form})


@require_GET
def account_detail(request, account_id: int):
    account = get_object_or_404(ChannelAccount, pk=account_id)
    return render(request, "connectors/account.html", {
        "account": account,
        "summary": selectors.account_sync_summary(account=account),
        "import_form": ListingsImportForm(),
        "webhook_path": {"tiktok_shop": "/hooks/tiktok-shop/", "shopify": "/hooks/shopify/"}.get(account.platform),
    })


@require_POST
def account_test(request, account_id: int):
    account = services.account_test(account_id=get_object_or_404(ChannelAccount, pk=account_id).pk, actor=request.user)
    if account.is_active:
        messages.success(request, account.status_detail)
    else:
        messages.error(request, account.status_detail)
    return redirect("channels:account", account_id=account.pk)


@require_POST
def account_disconnect(request, account_id: int):
    account = services.account_disconnect(account_id=get_object_or_404(ChannelAccount, pk=account_id).pk, actor=request.user)
    messages.success(request, _("%(shop)s is disconnected; its stock is no longer synced.") % {"shop": account})
    return redirect("channels:index")


@require_POST
def account_reconcile(request, account_id: int):
    account = get_object_or_404(ChannelAccount, pk=account_id)
    stock_reconcile_later(account_id=account.pk)
    messages.success(request, _("Reading %(shop)s's stock back and correcting any difference; refresh in a moment.") % {"shop": account})
    return redirect("channels:account", account_id=account.pk)


@require_POST
def listings_import(request, account_id: int):
    account = get_object_or_404(ChannelAccount, pk=account_id)
    form = ListingsImportForm(request.POST, request.FILES)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("channels:account", account_id=account.pk)
    try:
        count = services.listings_import(account_id=account.pk, text=form.csv_text())
    except ConnectorError as exc:
        for error in exc.errors[:20] or [exc]:
            messages.error(request, str(error))
        messages.error(request, _("Nothing was imported."))
    else:
        messages.success(request, _("%(count)s listing(s) mapped; their stock is being pushed.") % {"count": count})
    return redirect("channels:account", account_id=account.pk)


@require_GET
def sync_status(request):
    form = SyncFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    qs = selectors.sync_rows(account=filters.get("account"), search=filters.get("q", ""), errors_only=bool(filters.get("errors")))
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    rows = selectors.sync_rows_with_sellable(list(page))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "connectors/sync.html", {
        "form": form, "page": page, "rows": rows, "query": query.urlencode(),
        "error_count": selectors.sync_rows(errors_only=True).count(),
    })


@require_POST
def sync_retry(request):
    ids = id_list(request.POST.getlist("listing"), limit=10_000)
    if request.POST.get("all_failed"):
        ids = list(selectors.sync_rows(errors_only=True).values_list("pk", flat=True))
    by_account = selectors.listings_by_account(listing_ids=ids)
    for account_id, sku_ids in by_account.items():
        services.stock_sync_request(sku_ids=sku_ids, account_ids=[account_id], delay=0)
    messages.success(request, _("Pushing %(count)s listing(s) again.") % {"count": sum(len(v) for v in by_account.values())})
    return redirect_next(request, fallback="channels:sync")


@require_GET
def events(request):
    form = EventFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    qs = WebhookEvent.objects.select_related("account").order_by("-received_at", "-pk")
    if filters.get("status"):
        qs = qs.filter(status=filters["status"])
    if filters.get("account"):
        qs = qs.filter(account=filters["account"])
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "connectors/events.html", {"form": form, "page": page, "query": query.urlencode(),
                                                       "failed": WebhookEvent.objects.filter(status=InboxStatus.FAILED).count()})


@require_GET
def event_detail(request, event_id: int):
    event = get_object_or_404(WebhookEvent.objects.select_related("account"), pk=event_id)
    return render(request, "connectors/event.html", {"event": event, "pretty": json.dumps(event.payload, indent=2, ensure_ascii=False)})


@require_POST
def event_retry(request, event_id: int):
    event = get_object_or_404(WebhookEvent, pk=event_id)
    services.webhook_retry(event_id=event.pk)
    messages.success(request, _("Event %(id)s queued again.") % {"id": event.event_id})
    return redirect("channels:event", event_id=event.pk)
