from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from erp.ids import ids as id_list
from inventory import selectors
from inventory.exceptions import InventoryError
from inventory.forms import AdjustmentForm, AllocationForm, ReorderToPOForm, StockFilterForm
from inventory.models import SKU, AlertStatus, ReorderAlert
from inventory.selectors import Holder, pool_free, safety_units, sellable_quantity
from inventory.services import allocation_set, stock_adjust
from inventory.services.reorder import reorder_alerts_to_purchase_orders
from warehouses.models import Warehouse


@require_GET
def stock_overview(request):
    form = StockFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    qs = selectors.stock_overview(
        search=filters.get("q", ""), category_id=filters["category"].pk if filters.get("category") else None,
        alerts_only=bool(filters.get("alerts")),
    )
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    warehouses = list(Warehouse.objects.filter(is_active=True).order_by("code"))
    rows = []
    for sku in page:
        by_wh = {s.warehouse_id: s for s in sku.stocks.all()}
        rows.append({
            "sku": sku,
            "levels": [by_wh.get(w.pk) for w in warehouses],
            "free": pool_free(sku=sku),
        })
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "inventory/stock_overview.html", {
        "form": form, "page": page, "rows": rows, "warehouses": warehouses, "query": query.urlencode(),
        "alert_count": ReorderAlert.objects.filter(status=AlertStatus.OPEN).count(),
    })


@require_GET
def sku_detail(request, sku_id: int):
    sku = get_object_or_404(SKU.objects.select_related("product__category", "preferred_supplier"), pk=sku_id)
    allocations = list(sku.allocations.order_by("holder_kind", "holder_ref"))
    ledger = Paginator(selectors.sku_ledger(sku=sku), 25).get_page(request.GET.get("page"))
    return render(request, "inventory/sku_detail.html", {
        "sku": sku,
        "levels": sku.stocks.select_related("warehouse").order_by("warehouse__code"),
        "safety": safety_units(on_hand=sku.on_hand, units=sku.safety_stock_units, percent=sku.safety_stock_percent),
        "free": pool_free(sku=sku),
        "channel_sellable": sellable_quantity(sku=sku, holder=Holder.channel("tiktok_shop")),
        "allocations": [{"a": a, "sellable": sellable_quantity(sku=sku, holder=Holder(a.holder_kind, a.holder_ref), allocation=a)} for a in allocations],
        "lots": selectors.sku_open_lots(sku=sku),
        "ledger": ledger,
        "adjust_form": AdjustmentForm(),
        "allocation_form": AllocationForm(),
        "alert": sku.reorder_alerts.filter(status=AlertStatus.OPEN).first(),
    })


@require_POST
def sku_adjust(request, sku_id: int):
    sku = get_object_or_404(SKU, pk=sku_id)
    form = AdjustmentForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("inventory:sku_detail", sku_id=sku.pk)
    try:
        stock_adjust(sku_id=sku.pk, warehouse_id=form.cleaned_data["warehouse"].pk, delta=form.cleaned_data["delta"],
                     reason=form.cleaned_data["reason"], actor=request.user)
    except InventoryError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Stock adjusted by %(delta)+d at %(wh)s.") % {"delta": form.cleaned_data["delta"], "wh": form.cleaned_data["warehouse"].code})
    return redirect("inventory:sku_detail", sku_id=sku.pk)


@require_GET
def reorder_suggestions(request):
    alerts = ReorderAlert.objects.filter(status=AlertStatus.OPEN).select_related("sku__preferred_supplier").order_by("sku__code")
    return render(request, "inventory/reorder.html", {"alerts": alerts, "form": ReorderToPOForm()})


@require_POST
def reorder_create_pos(request):
    form = ReorderToPOForm(request.POST)
    ids = id_list(request.POST.getlist("alert"))
    if not form.is_valid():
        messages.error(request, _("Choose the warehouse to deliver to."))
        return redirect("inventory:reorder")
    try:
        pos = reorder_alerts_to_purchase_orders(alert_ids=ids, warehouse_id=form.cleaned_data["warehouse"].pk, actor=request.user)
    except InventoryError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Created draft purchase orders: %(numbers)s") % {"numbers": ", ".join(po.number for po in pos)})
    return redirect("inventory:reorder")


@require_POST
def sku_allocation(request, sku_id: int):
    sku = get_object_or_404(SKU, pk=sku_id)
    form = AllocationForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("inventory:sku_detail", sku_id=sku.pk)
    holder = Holder(form.cleaned_data["holder_kind"], form.cleaned_data["holder_ref"].strip())
    try:
        allocation_set(sku_id=sku.pk, holder=holder, quota=form.cleaned_data["quota"])
    except InventoryError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("%(holder)s may now hold %(quota)s units of %(sku)s.") % {
            "holder": holder.ref, "quota": form.cleaned_data["quota"], "sku": sku.code})
    return redirect("inventory:sku_detail", sku_id=sku.pk)


@require_GET
def sku_export(request):
    from erp.csvutil import csv_response, wants_excel
    from inventory.services.catalog_csv import COLUMNS, sku_csv_export

    return csv_response(header=COLUMNS, rows=sku_csv_export(), filename="skus.csv", excel=wants_excel(request))


@require_http_methods(["GET", "POST"])
def sku_import(request):
    """Upload → preview (rows to create and update, every error) → apply, all or nothing; a big
    file is checked and applied by the worker with a progress page (erp/csvimport.py). Both steps
    know who uploads: a list price changed by a role without the money-settings duty is an error."""
    from accounts.modules import Duty
    from erp.csvimport import csv_import_view
    from inventory.services.catalog_csv import COLUMNS, sku_csv_apply, sku_csv_parse

    return csv_import_view(
        request, session_key="sku_import_text", parse=sku_csv_parse, apply=sku_csv_apply, template="inventory/sku_import.html",
        preview_template="inventory/_sku_import_preview.html", context={"columns": COLUMNS, "may_set_prices": request.user.has_duty(Duty.MONEY_SETTINGS)},
        done_url="inventory:index", errors=(InventoryError,),
        done_message=lambda r: _("Imported: %(c)s new SKUs, %(u)s updated.") % {"c": r.creates, "u": r.updates},
    )
