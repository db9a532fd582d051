"""Tenant plumbing in one place: seller site URLs and the seller-side admin site."""
from django.conf import settings
from django.contrib.admin import AdminSite
from django.utils.translation import gettext_lazy as _


def tenant_host(*, subdomain: str) -> str:
    return f"{subdomain}.{settings.FANOUT_BASE_DOMAIN}"


def tenant_site_url(*, request, subdomain: str, path: str = "/") -> str:
    """Absolute URL of `path` on a seller's site, keeping the scheme and port the visitor used
    (so `localhost:8000` sends people to `<subdomain>.localhost:8000`)."""
    host = request.get_host()
    port = host.rsplit(":", 1)[1] if ":" in host and not host.endswith("]") else ""
    default_port = "443" if request.is_secure() else "80"
    port_part = "" if port in ("", default_port) else f":{port}"
    return f"{request.scheme}://{tenant_host(subdomain=subdomain)}{port_part}{path}"


class SellerAdminSite(AdminSite):
    """Django admin on a seller's own site. Only tenant models are registered here: the
    platform's Seller and Domain tables live in the public schema and never appear."""

    site_header = _("Fanout seller admin")
    site_title = _("Fanout seller admin")
    index_title = _("Seller administration")


    def has_permission(self, request):
        # Only the seller's Owners; a role change on the Team page takes effect here at once.
        user = request.user
        return bool(user.is_active and user.is_authenticated and getattr(user, "role", None) == "owner")


seller_admin_site = SellerAdminSite(name="seller_admin")


def seller_site_url(*, schema_name: str) -> str:
    """Base URL of a seller's site for links sent outside a request (emails from tasks), built
    from FANOUT_SITE_URL (e.g. http://localhost:8000 -> http://demo.localhost:8000)."""
    from urllib.parse import urlsplit

    from django_tenants.utils import get_tenant_domain_model

    domain = get_tenant_domain_model().objects.filter(tenant__schema_name=schema_name, is_primary=True).first()
    parts = urlsplit(settings.FANOUT_SITE_URL)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{domain.domain if domain else parts.hostname}{port}"
