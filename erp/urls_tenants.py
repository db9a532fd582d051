"""URLs of a seller's site (<subdomain>.<base domain>). Each module is included under its own
namespace; ModulePermissionMiddleware maps the namespace to the role permission."""
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.i18n import set_language

from connectors import views as connector_views
from erp.tenancy import seller_admin_site

urlpatterns = [
    path("admin/", seller_admin_site.urls),
    path("orders/", include("orders.urls")),
    path("inventory/", include("inventory.urls")),
    path("warehouses/", include("warehouses.urls")),
    path("channels/", include("connectors.urls")),
    # Platforms post here; the signature on the body is the authentication.
    path("hooks/tiktok-shop/", connector_views.webhook_tiktok, name="webhook_tiktok"),
    path("hooks/shopify/", connector_views.webhook_shopify, name="webhook_shopify"),
    path("creators/", include("creators.urls")),
    path("commissions/", include("commissions.urls")),
    path("insights/", include("bi.urls")),
    path("team/", include("accounts.urls_team")),
    # The creator portal: its own sign-in, never a staff session (see portal.auth).
    path("portal/", include("portal.urls")),
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("", include("accounts.urls")),
]
