from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Sum
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from djmoney.money import Money

from warehouses.forms import WarehouseForm
from warehouses.models import Warehouse
from warehouses.services import warehouse_create, warehouse_delete


@require_http_methods(["GET", "POST"])
def warehouse_list(request):
    form = WarehouseForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            warehouse = warehouse_create(code=data["code"], name=data["name"], zip_code=data["zip_code"], address_line=data["address_line"],
                                         storage_cost_per_unit_month=Money(data["storage_cost"], "USD"))
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, _("Warehouse %(code)s added in %(city)s, %(state)s.") % {"code": warehouse.code, "city": warehouse.city, "state": warehouse.state})
            return redirect("warehouses:index")
    from orders.selectors import queue_counts

    warehouses = list(Warehouse.objects.annotate(units=Sum("stocks__on_hand"), reserved=Sum("stocks__reserved")).order_by("-is_active", "code"))
    counts = queue_counts()
    for w in warehouses:
        w.queue = {"open": 0, "picking": 0, "packed": 0} | counts.get(w.pk, {})
    return render(request, "warehouses/list.html", {"warehouses": warehouses, "form": form})


@require_POST
def warehouse_remove(request, warehouse_id: int):
    warehouse = get_object_or_404(Warehouse, pk=warehouse_id)
    try:
        warehouse_delete(warehouse_id=warehouse.pk)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Warehouse %(code)s removed (closed if it has history).") % {"code": warehouse.code})
    return redirect("warehouses:index")


@require_http_methods(["GET", "POST"])
def warehouse_fulfilment(request, warehouse_id: int):
    from accounts.modules import Duty
    from warehouses.forms import FulfilmentForm
    from warehouses.services import warehouse_fulfilment_set

    # Changes need the integrations duty (ModulePermissionMiddleware refuses others' posts); others may look.
    warehouse = get_object_or_404(Warehouse, pk=warehouse_id, is_active=True)
    form = FulfilmentForm(request.POST if request.method == "POST" else None, initial={"fulfilment": warehouse.fulfilment, "threepl_url": warehouse.threepl_url})
    if request.method == "POST" and form.is_valid():
        try:
            warehouse_fulfilment_set(warehouse_id=warehouse.pk, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, _("%(code)s: shipments now go to %(who)s.") % {
                "code": warehouse.code, "who": Warehouse.objects.get(pk=warehouse.pk).get_fulfilment_display()})
            return redirect("warehouses:index")
    return render(request, "warehouses/fulfilment.html", {"warehouse": warehouse, "form": form,
                                                         "can_edit": request.user.has_duty(Duty.INTEGRATIONS)})
