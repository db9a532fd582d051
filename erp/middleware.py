import time

from django.conf import settings
from django.db import connection
from django.shortcuts import render
from django_tenants.middleware.main import TenantMainMiddleware


class CachedTenantMiddleware(TenantMainMiddleware):
    """django-tenants' middleware, remembering which seller a host name belongs to for a few
    seconds per process (FANOUT_TENANT_CACHE_S) instead of reading it on every request. A
    seller suspended or renamed takes effect within that time."""

    _cache: dict[str, tuple[float, object]] = {}

    def get_tenant(self, domain_model, hostname):
        ttl = settings.FANOUT_TENANT_CACHE_S
        if ttl <= 0:
            return super().get_tenant(domain_model, hostname)
        now = time.monotonic()
        hit = self._cache.get(hostname)
        if hit and hit[0] > now:
            return hit[1]
        tenant = super().get_tenant(domain_model, hostname)
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[hostname] = (now + ttl, tenant)
        return tenant


class SellerActiveMiddleware:
    """A seller the platform suspended (Seller.is_active off) gets a clear page on every URL of
    its site, including its admin and login, until the platform reactivates it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        tenant = getattr(request, "tenant", None)
        if tenant is not None and connection.schema_name != "public" and not tenant.is_active:
            return render(request, "sellers/suspended.html", {"seller": tenant}, status=403)
        return self.get_response(request)
