"""The supply-priority queue per SKU."""
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from creators import selectors
from creators.exceptions import CreatorError
from creators.services.policy import tier_policy_in_force
from creators.services.supply import sku_cover, supply_queue_drain, supply_request_cancel


@require_GET
def supply_overview(request):
    skus, by_sku = selectors.supply_queue_overview()
    skus = list(skus)
    cover = sku_cover(sku_ids=[s.pk for s in skus])
    return render(request, "creators/supply.html", {
        "rows": [{"sku": s, "queue": by_sku[s.pk], "cover": cover[s.pk]} for s in skus], "policy": tier_policy_in_force(),
    })


@require_GET
def supply_sku(request, sku_id: int):
    from inventory.models import SKU

    sku = get_object_or_404(SKU, pk=sku_id)
    show_all = request.GET.get("all") == "1"
    lines = list(selectors.supply_queue(sku_id=sku.pk, include_done=show_all)[:500])
    return render(request, "creators/supply_sku.html", {
        "sku": sku, "lines": lines, "cover": sku_cover(sku_ids=[sku.pk])[sku.pk], "policy": tier_policy_in_force(), "show_all": show_all,
    })


@require_POST
def supply_drain(request, sku_id: int):
    from inventory.models import SKU

    sku = get_object_or_404(SKU, pk=sku_id)
    served = supply_queue_drain(sku_ids=[sku.pk])
    if served:
        messages.success(request, _("Served %(n)s waiting requests: %(refs)s") % {"n": len(served), "refs": ", ".join(served)})
    else:
        messages.info(request, _("Nobody could be served yet: the first in line still waits for stock."))
    return redirect("creators:supply_sku", sku_id=sku.pk)


@require_POST
def supply_cancel(request, request_id: int):
    from creators.models import SupplyRequest

    entry = get_object_or_404(SupplyRequest.objects.prefetch_related("lines"), pk=request_id)
    try:
        supply_request_cancel(request_id=entry.pk)
    except CreatorError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Request %(ref)s cancelled.") % {"ref": entry.reference})
    first = entry.lines.first()
    return redirect("creators:supply_sku", sku_id=first.sku_id) if first else redirect("creators:supply")
