"""Every staff URL: 403 for a role without its module, login redirect for anonymous users."""
import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from accounts.modules import NAVIGATION, Module, Role, modules_for_role
from tests.support import client_for, make_user

# Pages that must stay reachable without signing in.
PUBLIC_NAMES = {
    "accounts:login", "accounts:welcome", "accounts:invitation_accept", "set_language", "accounts:password_reset",
    "accounts:password_reset_done", "accounts:password_reset_confirm", "accounts:password_reset_complete",
    # Platforms post webhooks here; the HMAC signature on the body is their authentication.
    "webhook_tiktok", "webhook_shopify",
}
# Signing out in the middle of the sweep would make every later answer a login redirect.
NOT_SWEPT = PUBLIC_NAMES | {"accounts:logout"}
SAMPLE_ARGS = {"token": "x", "user_id": "1", "invitation_id": "1", "object_id": "1"}


def _walk(patterns, prefix="", namespaces=()):
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = (*namespaces, p.namespace) if p.namespace else namespaces
            yield from _walk(p.url_patterns, prefix + str(p.pattern), ns)
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), namespaces, p.name


def _concrete(route: str) -> str:
    import re

    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: SAMPLE_ARGS.get(m.group(1), "1"), route)
    path = path.replace("^", "").replace("$", "").replace("\\Z", "")
    return "/" + path


def staff_urls():
    """(path, module or None) for every URL of the seller site except admin and public pages."""
    found = []
    for route, namespaces, name in _walk(get_resolver("erp.urls_tenants").url_patterns):
        full_name = ":".join([*namespaces, name or ""])
        # The creator portal has its own sign-in and its own sweep (tests/portal).
        if not name or full_name in NOT_SWEPT or "seller_admin" in namespaces or "portal" in namespaces or "(?P" in route:
            continue
        module = next((ns for ns in namespaces if ns in Module.values), None)
        found.append((_concrete(route), module))
    return found


STAFF_URLS = staff_urls()
# Staff pages that belong to no module (every signed-in staff member may use them). A new page
# must either live under a module's namespace or be added here on purpose.
# Changes that only some roles of a module may make (the page itself is open to the module).
MONEY = {Role.OWNER, Role.MANAGER, Role.FINANCE}  # prices, rates, fees, margin plans
INTEGRATIONS = {Role.OWNER, Role.MANAGER}  # 3PL addresses and keys, shop connections
ROLE_RESTRICTED_POSTS = {"/creators/policy/": {Role.OWNER, Role.MANAGER}, "/inventory/exchange-rates/": MONEY, "/inventory/exchange-rates.csv": MONEY, "/commissions/": MONEY,
                         "/commissions/fees/": MONEY, "/commissions/fees/1/end/": MONEY, "/commissions/fees/plans/1/end/": MONEY,
                         "/warehouses/1/fulfilment/": INTEGRATIONS, "/channels/connect/": INTEGRATIONS}
# Pages a role may use outside its modules: Finance keeps the exchange rates (under Inventory).
ALSO_OPEN_TO = {"/inventory/exchange-rates/": {Role.FINANCE}, "/inventory/exchange-rates.csv": {Role.FINANCE}}
SHELL_URLS = {"/", "/account/preferences/", "/account/language/", "/account/password/", "/account/password/done/"}


def test_every_staff_url_is_in_a_module_or_deliberately_module_free():
    assert {path for path, module in STAFF_URLS if module is None} == SHELL_URLS


def test_every_module_has_urls_in_the_sweep():
    assert {m for _, m in STAFF_URLS if m} == set(Module.values)
    assert len(STAFF_URLS) >= 14


@pytest.mark.parametrize("role", Role.values)
def test_every_staff_url_answers_403_to_a_role_without_its_module(alpha, role):
    user = make_user(alpha, role=role)
    client = client_for(alpha, user)
    allowed = modules_for_role(role)
    for path, module in STAFF_URLS:
        for method in ("get", "post"):
            status = getattr(client, method)(path).status_code
            restricted = method == "post" and path in ROLE_RESTRICTED_POSTS and role not in ROLE_RESTRICTED_POSTS[path]
            outside = module is not None and module not in allowed and role not in ALSO_OPEN_TO.get(path, ())
            if outside or restricted:
                assert status == 403, f"{role} {method.upper()} {path} -> {status}"
            else:
                # Allowed: the page, a redirect after a POST, 405 for the wrong method, or 404
                # for a sample id that does not exist; never 403 and never a crash.
                assert status in (200, 302, 404, 405), f"{role} {method.upper()} {path} -> {status}"


def test_every_staff_url_redirects_anonymous_users_to_login(alpha):
    client = client_for(alpha)
    for path, _module in STAFF_URLS:
        for method in ("get", "post"):
            response = getattr(client, method)(path)
            assert response.status_code == 302, f"{method.upper()} {path} -> {response.status_code}"
            assert response["Location"].startswith("/login/?next="), path


@pytest.mark.parametrize("role", Role.values)
def test_navigation_shows_exactly_the_modules_of_the_role(alpha, role):
    page = client_for(alpha, make_user(alpha, role=role)).get("/").content.decode()
    for item in NAVIGATION:
        shown = f'data-module="{item.url_name}"' in page
        assert shown == (item.module in modules_for_role(role)), f"{role}: {item.module}"


def test_deactivated_user_loses_access_immediately(alpha):
    user = make_user(alpha, role=Role.MANAGER)
    client = client_for(alpha, user)
    assert client.get("/orders/").status_code == 200
    from django_tenants.utils import tenant_context

    with tenant_context(alpha):
        user.is_active = False
        user.save()
    assert client.get("/orders/").status_code == 302


def test_logout_ends_the_session(alpha):
    client = client_for(alpha, make_user(alpha, role=Role.ANALYST))
    assert client.get("/").status_code == 200
    assert client.post("/logout/").status_code == 302
    assert client.get("/").status_code == 302


def test_forbidden_page_keeps_the_app_shell_and_explains_why(alpha):
    page = client_for(alpha, make_user(alpha, role=Role.ANALYST)).get("/orders/")
    html = page.content.decode()
    assert page.status_code == 403
    assert "Your role does not include this module" in html
    assert 'data-module="bi:index"' in html and 'data-module="orders:index"' not in html
