"""The seller site's URLs plus three deliberately broken pages, to prove the sweep catches each kind
of defect (tests/security/test_isolation_sweep.py)."""
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.urls import include, path
from django_tenants.utils import schema_context

from erp.urls_tenants import urlpatterns as seller_urlpatterns
from portal.auth import portal_view


@login_not_required
def other_sellers_skus(request):
    """A query that forgot which seller it is for: reads the other schema, and anyone may open it."""
    other = "beta" if request.tenant.schema_name != "beta" else "alpha"
    from inventory.models import SKU

    with schema_context(other):
        return HttpResponse(", ".join(SKU.objects.values_list("code", flat=True)))


@portal_view
def any_order(request, order_id: int):
    """A portal page that forgot to filter by the signed-in creator."""
    from orders.models import Order

    order = Order.objects.get(pk=order_id)
    return HttpResponse(f"{order.external_id} {order.ship_name}")


@login_not_required
def writes_for_anyone(request):
    """A page that changes data for whoever asks."""
    from inventory.models import Supplier

    Supplier.objects.update(name="renamed")
    return HttpResponse("ok")


# Listed first, so "portal:" names reverse to this include (only the leaky pages are swept with it).
urlpatterns = [
    path("leaky/skus/", other_sellers_skus, name="leaky_skus"),
    path("leaky/write/", writes_for_anyone, name="leaky_write"),
    path("portal-leaky/", include(([path("orders/<int:order_id>/", any_order, name="leaky_order")], "portal"), namespace="portal")),
    *seller_urlpatterns,
]
LEAKY_NAMES = {"leaky_skus", "leaky_write", "portal:leaky_order"}
