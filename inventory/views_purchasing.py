from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from djmoney.money import Money

from erp.l10n import seller_base_currency
from inventory.exceptions import InventoryError
from inventory.models import POStatus, PurchaseOrder
from inventory.services.purchasing import purchase_order_cancel, purchase_order_receive, purchase_order_send


@require_GET
def purchase_order_list(request):
    qs = PurchaseOrder.objects.select_related("supplier", "warehouse").order_by("-created_at", "-pk")
    status = request.GET.get("status", "")
    if status in POStatus.values:
        qs = qs.filter(status=status)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(request, "inventory/po_list.html", {"page": page, "statuses": POStatus.choices, "status": status})


@require_http_methods(["GET", "POST"])
def purchase_order_create_view(request):
    """A new draft purchase order by hand: supplier, warehouse, currency and up to five lines at a
    time (more lines on a second order). Suppliers are kept in the seller admin."""
    from inventory.forms import PurchaseOrderForm, PurchaseOrderLineFormSet
    from inventory.services.purchasing import purchase_order_create

    data = request.POST if request.method == "POST" else None  # an empty POST is a POST: it gets its errors
    form = PurchaseOrderForm(data)
    lines = PurchaseOrderLineFormSet(data, prefix="line")
    if request.method == "POST" and form.is_valid() and lines.is_valid():
        rows = [row for row in lines.cleaned_data if row.get("sku") is not None]
        if not rows:
            form.add_error(None, _("Add at least one line: a SKU, a quantity and a unit cost."))
        else:
            supplier = form.cleaned_data["supplier"]
            currency = form.cleaned_data["currency"] or supplier.currency
            try:
                po = purchase_order_create(
                    supplier_id=supplier.pk, warehouse_id=form.cleaned_data["warehouse"].pk, actor=request.user, currency=currency,
                    lines=[(row["sku"].pk, row["quantity"], Money(row["unit_cost"], currency)) for row in rows],
                )
            except InventoryError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, _("Draft %(number)s created. Mark it as sent once it went to the supplier.") % {"number": po.number})
                return redirect("inventory:po_detail", po_id=po.pk)
    return render(request, "inventory/po_form.html", {"form": form, "lines": lines, "has_suppliers": form.fields["supplier"].queryset.exists()})


@require_GET
def purchase_order_detail(request, po_id: int):
    po = get_object_or_404(PurchaseOrder.objects.select_related("supplier", "warehouse"), pk=po_id)
    return render(request, "inventory/po_detail.html", {"po": po, "lines": po.lines.select_related("sku").order_by("sku__code"),
                                                        "receivable": po.status in (POStatus.SENT, POStatus.PARTIAL),
                                                        "base": seller_base_currency(), "currencies": settings.CURRENCIES})


@require_GET
def purchase_order_pdf(request, po_id: int):
    """The purchase order as a PDF to send to the supplier, in the reader's language; Chinese
    product names print with an embedded CJK font."""
    from django.http import HttpResponse

    from erp.pdf import render_pdf

    po = get_object_or_404(PurchaseOrder.objects.select_related("supplier", "warehouse", "created_by"), pk=po_id)
    lines = list(po.lines.select_related("sku__product").order_by("sku__code"))
    total = sum((line.amount.amount for line in lines), Decimal(0))
    pdf = render_pdf("inventory/po_pdf.html", {"po": po, "lines": lines, "total": Money(total, po.currency),
                                               "seller": request.tenant}, request=request)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{po.number}.pdf"'
    return response


def _po_action(request, po_id: int, action, done_message: str):
    get_object_or_404(PurchaseOrder, pk=po_id)
    try:
        po = action(po_id=po_id)
    except InventoryError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, done_message % {"number": po.number})
    return redirect("inventory:po_detail", po_id=po_id)


@require_POST
def purchase_order_send_view(request, po_id: int):
    return _po_action(request, po_id, purchase_order_send, _("%(number)s marked as sent to the supplier."))


@require_POST
def purchase_order_cancel_view(request, po_id: int):
    return _po_action(request, po_id, purchase_order_cancel, _("%(number)s cancelled."))


@require_POST
def purchase_order_receive_view(request, po_id: int):
    po = get_object_or_404(PurchaseOrder, pk=po_id)
    quantities, errors = {}, []
    for line in po.lines.select_related("sku"):
        raw = request.POST.get(f"qty-{line.sku_id}", "").strip()
        if not raw:
            continue
        if not raw.isdecimal():  # not isdigit(): int("²") fails
            errors.append(_("%(sku)s: enter a whole number of units, not “%(value)s”.") % {"sku": line.sku.code, "value": raw})
            continue
        quantities[line.sku_id] = int(raw)
    landed = None
    raw_landed = request.POST.get("landed_cost", "").strip()
    if raw_landed:
        try:
            currency = request.POST.get("landed_currency") or seller_base_currency()
            if currency not in settings.CURRENCIES:
                raise InvalidOperation
            landed = Money(Decimal(raw_landed), currency)
            if landed.amount < 0:
                raise InvalidOperation
        except InvalidOperation:
            errors.append(_("Landed cost must be an amount like 125.50."))
    if errors:
        for error in errors:
            messages.error(request, error)
        return redirect("inventory:po_detail", po_id=po.pk)
    try:
        po = purchase_order_receive(po_id=po.pk, quantities=quantities, landed_cost=landed, actor=request.user)
    except InventoryError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Received into %(wh)s; %(number)s is now %(status)s.") % {
            "wh": po.warehouse.code, "number": po.number, "status": po.get_status_display()})
    return redirect("inventory:po_detail", po_id=po.pk)
