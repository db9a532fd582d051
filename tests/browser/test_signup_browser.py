"""A seller signs up in a real browser against gunicorn and a real Celery worker: the form, the
emailed confirmation link (read from the worker's file email backend), a password, the progress
page while the worker creates the seller, and the landing on its own subdomain's dashboard."""
import re
import secrets
from pathlib import Path

import pytest
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from erp.celery import app
from sellers.models import Seller, SignupRequest
from tests.support import PASSWORD, ROOT, free_port, start_web_server, wait_for

ARTIFACTS = ROOT / "test-artifacts"


def confirmation_link(mail_dir: Path, email: str) -> str:
    """The newest sign-up link to `email` in the worker's mail folder (one .log file per connection)."""
    def found():
        for path in sorted(mail_dir.glob("*.log"), reverse=True) if mail_dir.exists() else []:
            for message in reversed(path.read_text().split("-" * 79)):
                match = re.search(r"http://\S+/signup/confirm/\S+/", message) if f"To: {email}" in message else None
                if match:
                    return match.group(0)
        return None
    return wait_for(found, f"the confirmation email to {email}", timeout=45)


@pytest.fixture
def site(worker):
    """The web server, sending its tasks to this test's worker."""
    port = free_port()
    proc = start_web_server(port, CELERY_DEFAULT_QUEUE=app.conf.task_default_queue)
    yield f"http://localhost:{port}", worker["mail_dir"]
    proc.terminate()
    proc.wait(timeout=20)


@pytest.mark.browser
@pytest.mark.worker
def test_seller_signs_up_in_a_browser_and_lands_on_its_dashboard(site, page):
    web, mail_dir = site
    subdomain = f"pw{secrets.token_hex(3)}"
    try:
        page.goto(f"{web}/")
        page.get_by_role("link", name="Create your seller account").click()
        page.get_by_label("Company name").fill("Playwright Plush Toys")
        page.get_by_label("Subdomain").fill(subdomain)
        page.get_by_label("Your email").fill("founder@plush.test")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "signup-form.png"), full_page=True)
        page.get_by_role("button", name="Email me the confirmation link").click()
        expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
        expect(page.get_by_text("founder@plush.test")).to_be_visible()
        with schema_context("public"):
            assert not Seller.objects.filter(subdomain=subdomain).exists()  # nothing until the address is confirmed

        # The worker's FANOUT_SITE_URL names port 8000; this server runs on another.
        link = re.sub(r"^http://[^/]+", web, confirmation_link(mail_dir, "founder@plush.test"))
        page.goto(link)
        expect(page.get_by_role("heading", name="Confirm and create your site")).to_be_visible()
        page.get_by_label("Choose a password").fill("password")
        page.get_by_label("Repeat the password").fill("password")
        page.get_by_role("button", name="Create my seller site").click()
        expect(page.get_by_text("This password is too common.")).to_be_visible()
        page.get_by_label("Choose a password").fill(PASSWORD)
        page.get_by_label("Repeat the password").fill(PASSWORD)
        page.get_by_role("button", name="Create my seller site").click()

        page.wait_for_url(f"http://{subdomain}.localhost:*/", timeout=60_000)
        assert page.url.startswith(f"http://{subdomain}.localhost:")
        expect(page.get_by_role("heading", name="Hello, founder")).to_be_visible()
        expect(page.get_by_text("Welcome to Fanout! Your seller site is ready.")).to_be_visible()
        assert page.locator(".side .seller").inner_text() == "Playwright Plush Toys"
        for module in ("Orders", "Inventory", "Warehouses", "Creators", "Commissions", "Insights", "Team"):
            expect(page.locator(".side").get_by_role("link", name=module)).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "signup-dashboard.png"), full_page=True)

        # The link is spent, and the session belongs to this seller's site only: another seller's site asks to sign in.
        page.goto(link)
        expect(page.get_by_text("This link was already used.")).to_be_visible()
        page.goto(web.replace("localhost", "alpha.localhost") + "/")
        assert "/login/" in page.url
    finally:
        with schema_context("public"):
            for seller in Seller.objects.filter(subdomain=subdomain):
                seller.delete(force_drop=True)
            SignupRequest.objects.filter(subdomain=subdomain).delete()


@pytest.mark.browser
def test_signup_errors_show_on_the_form_in_a_browser(web_server, page):
    page.goto(f"{web_server}/signup/")
    page.get_by_label("Company name").fill("Taken Inc")
    page.get_by_label("Subdomain").fill("admin")
    page.get_by_label("Your email").fill("not-an-email")
    page.get_by_role("button", name="Email me the confirmation link").click()
    expect(page.get_by_text("“admin” is reserved")).to_be_visible()
    expect(page.get_by_text("Enter a valid email address.")).to_be_visible()
    assert page.url.endswith("/signup/")
    page.screenshot(path=str(ARTIFACTS / "signup-errors.png"), full_page=True)
