"""Open redirects: no request sends the browser off the site through `next` (or `back`).

The views that honour such a field are found, not listed: every URL pattern of a seller's site
(the walker of tests/sweep.py, with real ids) and of the platform site is requested, GET and POST,
by the identities that may open it, with `next`/`back` set to a harmless page of the same site;
where the answer redirects there, the view reads the field. Each of those is then sent every
hostile target (other hosts spelled every way browsers accept, other schemes, control characters)
and must neither redirect off the site nor fail."""
from http.cookies import SimpleCookie
from urllib.parse import quote, urlsplit

import pytest
from django.db import transaction
from django.test import Client

from accounts.modules import Role
from erp.redirects import is_safe_target
from tests.security.test_headers import missing_security_headers
from tests.support import PASSWORD, make_user
from tests.sweep import (
    ANONYMOUS,
    CREATOR,
    PORTAL_PASSWORD,
    _clients,
    _fill,
    _fuzz,
    _kwarg_values,
    may_open,
    walk,
    world_build,
    world_release,
)

FIELDS = ("next", "back")
HOSTILE = [
    "//evil.example/", "https://evil.example/", "http://evil.example", "/\\evil.example/", "\\\\evil.example", "\\/evil.example",
    "///evil.example", "http:evil.example", "https:/evil.example", " //evil.example", "\t//evil.example", "/\t/evil.example",
    "javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,<script>alert(1)</script>", "//evil.example@alpha.localhost/",
    "/\r\nSet-Cookie: pwned=1", "https://alpha.localhost.evil.example/", "//%65vil.example",
]
# Views that must be found honouring a same-site `next`/`back` (the probe works, the search is not empty).
KNOWN = {"channels:sync_retry", "orders:bulk", "accounts:language", "accounts:login", "portal:login", "portal:cart_add"}


def off_site(location: str, host: str) -> bool:
    """Whether a browser following this Location would leave `host` (or run a script)."""
    loc = location.strip("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f ")
    loc = loc.replace("\t", "").replace("\n", "").replace("\r", "").replace("\\", "/")  # what browsers do to a URL
    parts = urlsplit(loc)
    scheme = parts.scheme.lower()
    if scheme and scheme not in ("http", "https"):
        return True
    if scheme and not loc[len(scheme) + 1:].startswith("//"):
        return True  # "http:evil.example": browsers read the host from it
    if loc.startswith("//") or parts.netloc:
        return (parts.hostname or "") != host.split(":")[0]
    return False


def test_the_off_site_judge_and_the_helper_agree_with_browsers():
    on_site = {"/\r\nSet-Cookie: pwned=1", "//evil.example@alpha.localhost/"}  # hostile in other ways (a header, a user name)
    for target in HOSTILE:
        assert off_site(target, "alpha.localhost") != (target in on_site), target
    for target in ("/", "/orders/?page=2", "http://alpha.localhost/x/", "//alpha.localhost/x/"):
        assert not off_site(target, "alpha.localhost"), target


@pytest.fixture
def world(alpha, settings):
    from erp.middleware import CachedTenantMiddleware

    settings.FANOUT_TENANT_CACHE_S = 600
    built = world_build(alpha, "alpha", id_floor=1_000_000)
    yield built
    CachedTenantMiddleware._cache.clear()
    world_release(built)


def _send(client, method, url, field_values, data):
    """One request in a savepoint that is rolled back, the client's cookies put back after it."""
    saved = SimpleCookie(client.cookies.output(header="", sep="\n"))
    query = "&".join(f"{k}={quote(v, safe='')}" for k, v in field_values.items())
    with transaction.atomic():
        if method == "get":
            response = client.get(f"{url}?{query}")
        else:
            response = client.post(f"{url}?{query}", {**data, **field_values})
        transaction.set_rollback(True)
    client.cookies = saved
    return response


def _honouring(world, clients):
    """(route, identity, method, field, url) of every view that redirects to a same-site `next`/`back`."""
    found = []
    for route in walk():
        combos = _kwarg_values(route, world, "own") or []
        url = _fill(route, combos[0], "erp.urls_tenants") if combos else None
        if url is None or route.name in ("webhook_tiktok", "webhook_shopify") or route.route == "health/":  # no next there
            continue
        for identity in (ANONYMOUS, Role.OWNER, CREATOR):
            if not may_open(identity, route, "get"):
                continue
            for method in ("get", "post"):
                parent = url.rstrip("/").rsplit("/", 1)[0] + "/"  # a page of the same part of the site (not the page itself)
                probes = {field: f"{parent}?{field}probe=1" for field in FIELDS}
                response = _send(clients[identity], method, url, probes, _fuzz(world))
                assert response.status_code < 500, (method, url, identity, response.status_code)
                # Every page of the site, as everyone who may open it: the security headers are there too.
                assert not missing_security_headers(response), (method, url, identity, missing_security_headers(response))
                location = response.get("Location", "")
                for field in FIELDS:
                    if f"{field}probe" in location:
                        found.append((route, identity, method, field, url))
    return found


def test_no_view_redirects_off_site_through_next(world):
    clients = _clients(world, only=(ANONYMOUS, Role.OWNER, CREATOR))
    found = _honouring(world, clients)
    names = {route.name for route, *_rest in found}
    assert names >= KNOWN, KNOWN - names
    escapes = []
    for route, identity, method, field, url in found:
        for target in HOSTILE:
            response = _send(clients[identity], method, url, {field: target}, _fuzz(world))
            location = response.get("Location", "")
            if response.status_code >= 500 or off_site(location, world.host):
                escapes.append(f"{method.upper()} {url} {field}={target!r} as {identity} -> {response.status_code} {location!r}")
    assert not escapes, "\n".join(escapes)


def test_signing_in_with_a_hostile_next_lands_on_the_site(world):
    """The sign-in forms themselves (staff, seller admin, portal) with right passwords."""
    staff = make_user(world.seller, role=Role.OWNER, email="next.owner@alpha.test")
    for target in HOSTILE:
        for path, data in (("/login/", {"username": staff.email, "password": PASSWORD}),
                           ("/admin/login/", {"username": staff.email, "password": PASSWORD}),
                           ("/portal/login/", {"email": world.creator_email, "password": PORTAL_PASSWORD})):
            client = Client(HTTP_HOST=world.host, raise_request_exception=False)
            response = _send(client, "post", path, {"next": target}, data)
            assert response.status_code == 302, (path, target, response.status_code)
            assert not off_site(response["Location"], world.host), (path, target, response["Location"])


def test_a_signed_in_person_sent_back_to_the_sign_in_page_is_not_an_error(world):
    """`next` naming the sign-in page itself (a redirect loop for a signed-in user) lands on home."""
    clients = _clients(world, only=(Role.OWNER, CREATOR))
    owner = clients[Role.OWNER].get("/login/?next=/login/")
    assert owner.status_code == 302 and owner["Location"] == "/"
    creator = clients[CREATOR].get("/portal/login/?next=/portal/login/")
    assert creator.status_code == 302 and creator["Location"] == "/portal/"


def test_the_platform_site_never_redirects_off_site(db):
    client = Client(HTTP_HOST="localhost", raise_request_exception=False)
    for target in HOSTILE:
        for method, path in (("post", "/i18n/setlang/"), ("get", "/admin/login/"), ("post", "/admin/logout/")):
            response = _send(client, method, path, {"next": target}, {"language": "en"})
            assert response.status_code < 500 and not off_site(response.get("Location", ""), "localhost"), (path, target)


def test_the_helper_accepts_only_this_sites_pages(rf):
    request = rf.get("/", HTTP_HOST="alpha.localhost")
    assert is_safe_target(request, "/orders/?page=2") and is_safe_target(request, "http://alpha.localhost/orders/")
    assert not is_safe_target(request, "/orders/", within="/portal/")
    for target in HOSTILE + ["", "https://alpha.localhost/"]:  # https from a plain-http request is another origin, still refused
        assert not is_safe_target(request, target) or target == "https://alpha.localhost/", target
