from django.db import connection

from accounts.modules import ICONS, NAVIGATION


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not hasattr(user, "can_use"):
        return {}
    match = getattr(request, "resolver_match", None)
    current = set(match.namespaces) if match else set()
    items = [
        {"label": item.label, "url_name": item.url_name, "icon": item.icon, "active": item.module in current}
        for item in NAVIGATION
        if user.can_use(item.module)
    ]
    tenant = getattr(connection, "tenant", None)
    return {"nav_items": items, "current_seller": tenant, "icons": ICONS}
