from django.db import connection

from accounts.modules import ICONS, NAVIGATION


def navigation(request):
    user = getattr(request, "user", None)
    on_seller_site = connection.schema_name != "public"
    if user is None or not user.is_authenticated or not on_seller_site:
        return {}
    match = getattr(request, "resolver_match", None)
    current = set(match.namespaces) if match else set()
    items = [
        {"label": item.label, "url_name": item.url_name, "icon": item.icon, "active": item.module in current}
        for item in NAVIGATION
        if user.can_use(item.module)
    ]
    tenant = getattr(connection, "tenant", None)
    return {"staff_shell": True, "nav_items": items, "current_seller": tenant, "icons": ICONS}
