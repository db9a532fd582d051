from django.db import connection
from django.shortcuts import render


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
