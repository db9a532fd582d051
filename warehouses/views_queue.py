"""Warehouse work: each warehouse's queue of shipments to pick, pack and ship; batch pick lists
and packing slips as PDFs; packing by scan or click; tracking by hand or by CSV from a 3PL."""
from collections import defaultdict
from functools import partial

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from erp.csvimport import csv_import_view
from erp.ids import ids as id_list
from erp.ids import whole
from erp.pdf import render_pdf
from inventory.exceptions import InventoryError
from orders.exceptions import OrderError
from orders.forms import ScanForm, TrackingForm
from orders.models import Shipment, ShipmentStatus
from orders.selectors import warehouse_queue
from orders.services.pipeline import shipment_pack, shipment_ship, shipments_pick
from warehouses.models import Warehouse


@require_GET
def queue(request, warehouse_id: int):
    warehouse = get_object_or_404(Warehouse, pk=warehouse_id)
    shipments = list(warehouse_queue(warehouse_id=warehouse.pk)[:300])
    groups = defaultdict(list)
    for s in shipments:
        groups[s.status].append(s)
    return render(request, "warehouses/queue.html", {
        "warehouse": warehouse, "groups": [(status, ShipmentStatus(status).label, groups.get(status, [])) for status in
                                           (ShipmentStatus.OPEN, ShipmentStatus.PICKING, ShipmentStatus.PACKED)],
        "scan": ScanForm(), "tracking": TrackingForm(), "warehouses": Warehouse.objects.filter(is_active=True), "total": len(shipments),
    })


def _selected(request, warehouse):
    ids = id_list(request.POST.getlist("id"))
    return list(Shipment.objects.filter(pk__in=ids, warehouse=warehouse).select_related("order").prefetch_related("lines__sku").order_by("pk"))


@require_POST
def pick_list(request, warehouse_id: int):
    """One pick list for the selected shipments (units per SKU, then per shipment); printing it
    moves them to picking."""
    warehouse = get_object_or_404(Warehouse, pk=warehouse_id)
    shipments = _selected(request, warehouse)
    if not shipments:
        messages.error(request, _("Select the shipments to pick."))
        return redirect("warehouses:queue", warehouse_id=warehouse.pk)
    shipments_pick(shipment_ids=[s.pk for s in shipments], actor=request.user)
    totals = defaultdict(int)
    skus = {}
    for s in shipments:
        for line in s.lines.all():
            totals[line.sku_id] += line.quantity
            skus[line.sku_id] = line.sku
    items = sorted(((skus[k], n) for k, n in totals.items()), key=lambda pair: pair[0].code)
    pdf = render_pdf("warehouses/pick_list_pdf.html", {"warehouse": warehouse, "shipments": shipments, "items": items, "seller": request.tenant,
                                                       "printed_at": timezone.now(), "units": sum(totals.values())}, request=request)
    return _pdf(pdf, f"pick-list-{warehouse.code}-{timezone.now():%Y%m%d-%H%M}.pdf")


@require_POST
def packing_slips(request, warehouse_id: int):
    warehouse = get_object_or_404(Warehouse, pk=warehouse_id)
    shipments = _selected(request, warehouse)
    if not shipments:
        messages.error(request, _("Select the shipments to print slips for."))
        return redirect("warehouses:queue", warehouse_id=warehouse.pk)
    pdf = render_pdf("warehouses/packing_slips_pdf.html", {"warehouse": warehouse, "shipments": shipments, "seller": request.tenant}, request=request)
    return _pdf(pdf, f"packing-slips-{warehouse.code}-{timezone.now():%Y%m%d-%H%M}.pdf")


def _pdf(data: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


@require_POST
def pack(request, warehouse_id: int):
    """Confirm packed: by the scanned shipment number (S0000123) or the row's button."""
    warehouse = get_object_or_404(Warehouse, pk=warehouse_id)
    raw = (request.POST.get("number") or request.POST.get("shipment") or "").strip().upper().lstrip("S")
    shipment = Shipment.objects.filter(pk=whole(raw), warehouse=warehouse).first() if whole(raw) is not None else None
    if shipment is None:
        messages.error(request, _("No shipment %(n)s in %(wh)s.") % {"n": request.POST.get("number") or request.POST.get("shipment"), "wh": warehouse.code})
    else:
        try:
            shipment_pack(shipment_id=shipment.pk, actor=request.user)
        except OrderError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("%(n)s packed.") % {"n": shipment.number})
    return redirect("warehouses:queue", warehouse_id=warehouse.pk)


@require_POST
def ship(request, warehouse_id: int, shipment_id: int):
    warehouse = get_object_or_404(Warehouse, pk=warehouse_id)
    shipment = get_object_or_404(Shipment, pk=shipment_id, warehouse=warehouse)
    form = TrackingForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The label cost must be an amount of 0 or more, like 6.25.") if "shipping_cost" in form.errors
                       else _("Enter both the carrier and the tracking number."))
    else:
        try:
            shipment_ship(shipment_id=shipment.pk, actor=request.user, **form.cleaned_data)
        except (OrderError, InventoryError) as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("%(n)s shipped; tracking goes to the channel now.") % {"n": shipment.number})
    return redirect("warehouses:queue", warehouse_id=warehouse.pk)


@require_http_methods(["GET", "POST"])
def tracking_import(request, warehouse_id: int):
    from orders.services.tracking_csv import COLUMNS, tracking_csv_apply, tracking_csv_parse

    warehouse = get_object_or_404(Warehouse, pk=warehouse_id)
    return csv_import_view(
        request, session_key=f"tracking_import_{warehouse.pk}", parse=partial(tracking_csv_parse, warehouse_id=warehouse.pk),
        apply=partial(tracking_csv_apply, warehouse_id=warehouse.pk), template="warehouses/tracking_import.html",
        preview_template="warehouses/_tracking_preview.html",
        context={"columns": COLUMNS, "warehouse": warehouse}, done_url=request.path.replace("tracking/", ""), errors=(OrderError, InventoryError),
        done_message=lambda r: _("%(n)s shipment(s) shipped with tracking.") % {"n": len(r.rows)},
    )
