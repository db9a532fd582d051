"""Tenant and role isolation: every URL pattern of a seller's site (found by walking the resolver),
as anonymous, every staff role and a portal creator, with the own seller's ids, the other seller's
ids, another creator's ids and on the other seller's host (tests/sweep.py). Nothing may leak and
nothing may answer 500; and the detector itself is shown to catch each kind of leak."""
import time

import pytest
from django.http import HttpResponse, HttpResponseRedirect

from accounts.modules import Module, Role
from tests.sweep import (
    ANONYMOUS,
    CREATOR,
    IDENTITIES,
    PUBLIC,
    Probe,
    Route,
    body_text,
    judge,
    sweep,
    walk,
    world_build,
    world_release,
)

# Patterns the walker must find, one or more per area; if it stops walking includes, this fails.
KEY_PATTERNS = {
    "orders:detail", "orders:action", "orders:export", "inventory:po_pdf", "inventory:sku_detail", "warehouses:ship",
    "warehouses:pick_list", "channels:account", "channels:event_retry", "creators:detail", "creators:review_decide",
    "creators:supply_cancel", "commissions:statement_pdf", "commissions:statement_action", "commissions:payout_csv",
    "commissions:margin_plan_end", "bi:index", "bi:team", "team:role", "team:invitation_revoke", "portal:order",
    "portal:statement_pdf", "portal:statement_action", "portal:cart_add", "portal:inbox", "webhook_tiktok", "webhook_shopify",
    "seller_admin:index", "seller_admin:accounts_user_change", "accounts:dashboard", "accounts:preferences", "set_language",
}


@pytest.fixture
def worlds(alpha, beta, settings):
    from erp.middleware import CachedTenantMiddleware

    settings.FANOUT_TENANT_CACHE_S = 600  # alpha and beta stay as they are during the sweep: no lookup per request
    own = world_build(alpha, "alpha", id_floor=1_000_000)
    foreign = world_build(beta, "beta", id_floor=2_000_000)
    yield own, foreign
    CachedTenantMiddleware._cache.clear()
    for world in (own, foreign):
        world_release(world)


def test_the_walker_finds_every_area_and_the_key_patterns():
    routes = walk()
    names = {r.name for r in routes}
    assert KEY_PATTERNS <= names, KEY_PATTERNS - names
    assert {r.area for r in routes} == {"staff", "portal", "hooks", "admin"}
    assert {r.module for r in routes if r.module} == set(Module.values)
    assert len(routes) >= 170
    assert any(r.route == "health/" and r.public for r in routes)  # answered by a middleware, swept all the same
    # The allow-list of public pages names real patterns only (a renamed page must not silently become public).
    assert set(PUBLIC) <= names


def test_every_pattern_as_every_identity_leaks_nothing(worlds):
    own, foreign = worlds
    started = time.perf_counter()
    # In CI: every identity on every pattern with the own ids; the other seller's and the other creator's
    # ids wherever a view runs; the other host as anonymous, Owner and creator. The bench does it all.
    result = sweep(own, foreign, thorough=False, host_identities=(ANONYMOUS, Role.OWNER, CREATOR))
    print(f"\n{result.summary()}\nrequests={result.requests} leaks={len(result.leaks)} in {time.perf_counter() - started:.0f} s")
    assert not result.leaks, "\n".join(map(str, result.leaks))
    assert not result.unfilled, result.unfilled
    # Not a leak, but the rule everywhere: another seller's (or creator's) id in the URL is a 404.
    assert not result.notes, "\n".join(result.notes)
    # Each identity requested each pattern at least with GET and POST: the walker did not stop early.
    assert result.requests >= len(result.routes) * len(IDENTITIES) * 2
    assert result.by_area["portal"] > 0 and result.by_area["hooks"] > 0 and result.by_area["admin"] > 0
    # The canaries are where the leaks would be: the own seller's pages, CSVs and PDFs show their own.
    for name in ("orders:detail", "orders:export", "inventory:po_pdf", "warehouses:pick_list", "commissions:statement_pdf",
                 "creators:export", "bi:creators", "channels:event", "team:index", "portal:statement_pdf", "portal:orders"):
        assert name in result.shows_own, f"{name} never showed the own seller's canary: the sweep would not see a leak there"


def _probe(identity=Role.ANALYST, name="orders:detail", method="get", variant="own", allowed=False):
    route = Route(name=name, route=name, regex="", kwargs=(), namespaces=tuple(name.split(":")[:-1]))
    return Probe(identity=identity, route=route, method=method, variant=variant, url="/x/", allowed=allowed)


def test_the_detector_flags_each_kind_of_leak():
    canaries = {"cnrybeta": "seller beta's data"}
    quiet = {"writes": {}, "canaries": canaries}
    # Refusals and sign-in redirects are fine; anything else for an identity without access is not.
    assert judge(_probe(), HttpResponse(status=403), **quiet) == []
    assert judge(_probe(), HttpResponseRedirect("/login/?next=/orders/1/"), **quiet) == []
    assert judge(_probe(), HttpResponse("the order"), **quiet) == ["no access, yet answered 200"]
    assert "not a sign-in page" in judge(_probe(), HttpResponseRedirect("/orders/"), **quiet)[0]
    # Errors, the other seller's data (also in a redirect or a download), rows written.
    assert judge(_probe(allowed=True), HttpResponse(status=500), **quiet) == ["server error"]
    assert judge(_probe(allowed=True), HttpResponse("SKU CNRYBETA-SKU1"), **quiet) == ["shows seller beta's data (cnrybeta)"]
    assert judge(_probe(allowed=True), HttpResponseRedirect("/x/?q=cnrybeta"), **quiet) != []
    csv = HttpResponse("code\ncnrybeta-sku1\n", content_type="text/csv")
    assert judge(_probe(allowed=True), csv, **quiet) != []
    assert judge(_probe(allowed=True), HttpResponse(), writes={"alpha.orders_order": 1}, canaries=canaries) == ["wrote rows: alpha.orders_order ×1"]
    # A webhook answered 2xx without a valid signature for this seller.
    assert judge(_probe(ANONYMOUS, "webhook_tiktok", "post", "unsigned", True), HttpResponse("{}"), **quiet) != []


def test_the_detector_reads_pdfs():
    from weasyprint import HTML

    pdf = HttpResponse(HTML(string="<p>Statement for @cnrybetamain</p>").write_pdf(), content_type="application/pdf")
    assert "cnrybetamain" in body_text(pdf)
    assert judge(_probe(allowed=True), pdf, writes={}, canaries={"cnrybeta": "seller beta's data"}) != []


def test_the_sweep_catches_planted_defects(worlds, settings):
    """Three broken pages (tests/security/leaky_urls.py): another seller's rows for anyone, a portal page
    without the creator filter, a page that writes for anyone. The same sweep must report each."""
    from tests.security.leaky_urls import LEAKY_NAMES

    settings.ROOT_URLCONF = "tests.security.leaky_urls"
    own, foreign = worlds
    routes = [r for r in walk("tests.security.leaky_urls") if r.name in LEAKY_NAMES]
    result = sweep(own, foreign, urlconf="tests.security.leaky_urls", routes=routes, thorough=False, host_identities=())
    found = {(leak.url.split("?")[0], leak.identity, leak.variant): leak.reason for leak in result.leaks}
    skus = found[("/leaky/skus/", ANONYMOUS, "own")]
    assert "shows seller beta's data" in skus and "no access, yet answered 200" in skus
    assert "another creator's data" in found[(f"/portal-leaky/orders/{own.peer_ids['order_id']}/", CREATOR, "peer")]
    assert "wrote rows: alpha.inventory_supplier" in found[("/leaky/write/", ANONYMOUS, "own")]
    assert "wrote rows" not in found.get(("/leaky/write/", Role.OWNER, "own"), "")  # an allowed request with own ids may write
