"""The Content-Security-Policy breaks nothing a person uses: in Chromium, the pages with scripts
(htmx, charts, select-all boxes, confirmations, the language switch) work and the browser reports
no violation of the policy."""
import secrets

import pytest
from django_tenants.utils import schema_context, tenant_context

from accounts.models import User
from accounts.modules import Role
from sellers.models import Seller
from tests.support import PASSWORD, make_user

PAGES = ("/", "/orders/", "/inventory/", "/inventory/purchase-orders/", "/warehouses/", "/channels/", "/creators/",
         "/commissions/payouts/", "/insights/", "/team/", "/admin/", "/portal/login/")


@pytest.mark.browser
def test_pages_work_under_the_content_security_policy(web_server, browser):
    with schema_context("public"):
        alpha = Seller.objects.get(subdomain="alpha")  # committed: the web server is another process
    user = make_user(alpha, role=Role.OWNER, email=f"csp.{secrets.token_hex(3)}@alpha.test")
    site = web_server.replace("localhost", "alpha.localhost")
    context = browser.new_context()
    page = context.new_page()
    violations = []
    page.on("console", lambda msg: violations.append(f"{page.url}: {msg.text}") if "Content Security Policy" in msg.text else None)
    try:
        # The sign-in page's language select submits itself (a listener in fanout.js, no inline handler).
        page.goto(f"{site}/login/")
        with page.expect_navigation():
            page.select_option("select[name=language]", "zh-hans")
        assert page.locator("html").get_attribute("lang") == "zh-hans"
        with page.expect_navigation():
            page.select_option("select[name=language]", "en")
        page.fill("input[name=username]", user.email)
        page.fill("input[name=password]", PASSWORD)
        page.locator("form:has(input[name=password]) button[type=submit]").click()
        page.wait_for_selector(".side")
        for path in PAGES:
            page.goto(f"{site}{path}")
            page.wait_for_load_state("load")
        # Chart.js draws the cockpit's charts from our own script files.
        page.goto(f"{site}/insights/")
        assert page.evaluate("typeof Chart") == "function"
        # htmx is loaded and allowed to run.
        assert page.evaluate("typeof htmx") == "object"
        assert not violations, "\n".join(violations)
    finally:
        context.close()
        with tenant_context(alpha):  # audit events name this user for good: deactivate, not delete
            User.objects.filter(pk=user.pk).update(is_active=False)
