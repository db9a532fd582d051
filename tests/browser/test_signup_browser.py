"""A seller signs up in a real browser, lands on their own subdomain and sees their dashboard."""
import secrets

import pytest
from playwright.sync_api import expect
from django_tenants.utils import schema_context

from sellers.models import Seller
from tests.support import PASSWORD, ROOT

ARTIFACTS = ROOT / "test-artifacts"


@pytest.mark.browser
def test_seller_signs_up_in_a_browser_and_lands_on_its_dashboard(web_server, page):
    subdomain = f"pw{secrets.token_hex(3)}"
    try:
        page.goto(f"{web_server}/")
        page.get_by_role("link", name="Create your seller account").click()
        page.get_by_label("Company name").fill("Playwright Plush Toys")
        page.get_by_label("Subdomain").fill(subdomain)
        page.get_by_label("Your email").fill("founder@plush.test")
        page.get_by_label("Password").fill(PASSWORD)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "signup-form.png"), full_page=True)
        page.get_by_role("button", name="Create my seller site").click()

        page.wait_for_url(f"http://{subdomain}.localhost:*/", timeout=30_000)
        assert page.url.startswith(f"http://{subdomain}.localhost:")
        expect(page.get_by_role("heading", name="Hello, founder")).to_be_visible()
        expect(page.get_by_text("Welcome to Fanout! Your seller site is ready.")).to_be_visible()
        assert page.locator(".side .seller").inner_text() == "Playwright Plush Toys"
        for module in ("Orders", "Inventory", "Warehouses", "Creators", "Commissions", "Insights", "Team"):
            expect(page.locator(".side").get_by_role("link", name=module)).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "signup-dashboard.png"), full_page=True)

        # The session belongs to this seller's site only: the public site is still signed out
        # and another seller's site asks to sign in.
        page.goto(web_server.replace("localhost", "alpha.localhost") + "/")
        assert "/login/" in page.url
    finally:
        with schema_context("public"):
            for seller in Seller.objects.filter(subdomain=subdomain):
                seller.delete(force_drop=True)


@pytest.mark.browser
def test_signup_errors_show_on_the_form_in_a_browser(web_server, page):
    page.goto(f"{web_server}/signup/")
    page.get_by_label("Company name").fill("Taken Inc")
    page.get_by_label("Subdomain").fill("admin")
    page.get_by_label("Your email").fill("x@taken.test")
    page.get_by_label("Password").fill("password")
    page.get_by_role("button", name="Create my seller site").click()
    expect(page.get_by_text("“admin” is reserved")).to_be_visible()
    expect(page.get_by_text("This password is too common.")).to_be_visible()
    assert page.url.endswith("/signup/")
    page.screenshot(path=str(ARTIFACTS / "signup-errors.png"), full_page=True)
