"""A Chinese-speaking team member: the login page follows the browser, the header switch turns the
staff site Chinese for good, and forms and their errors speak Chinese too."""
import re
import secrets

import pytest
from django_tenants.utils import schema_context, tenant_context
from playwright.sync_api import expect

from accounts.models import User
from accounts.modules import Role
from sellers.models import Seller
from tests.support import PASSWORD, ROOT, make_user

ARTIFACTS = ROOT / "test-artifacts"
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def zh_context(browser):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 860})
    yield context
    context.close()


@pytest.mark.browser
def test_a_chinese_speaking_user_sees_dashboard_forms_and_errors_in_chinese(web_server, zh_context):
    with schema_context("public"):
        alpha = Seller.objects.get(subdomain="alpha")  # committed: the web server is another process
    user = make_user(alpha, role=Role.OWNER, email=f"lin.wei.{secrets.token_hex(3)}@alpha.test")
    site = web_server.replace("localhost", "alpha.localhost")
    page = zh_context.new_page()
    try:
        ARTIFACTS.mkdir(exist_ok=True)
        page.goto(f"{site}/login/")
        assert page.locator("html").get_attribute("lang") == "zh-hans"  # from the browser's Accept-Language
        page.fill("input[name=username]", user.email)
        page.fill("input[name=password]", "not-the-password")
        page.locator("form:has(input[name=password]) button[type=submit]").click()
        page.wait_for_load_state()
        page.screenshot(path=str(ARTIFACTS / "zh-login-error.png"), full_page=True)
        error = page.locator(".errorlist, .error, .alert").first.inner_text(timeout=5000)
        assert CJK.search(error) and "password" not in error.lower()

        page.fill("input[name=username]", user.email)
        page.fill("input[name=password]", PASSWORD)
        page.locator("form:has(input[name=password]) button[type=submit]").click()
        page.wait_for_selector(".side")
        # The account was made in English; one click on 中文 switches it, and it sticks.
        with page.expect_navigation():
            page.get_by_role("button", name="中文").click()
        nav = page.locator(".side").inner_text()
        for word in ("订单", "库存", "仓库", "渠道", "达人", "佣金", "团队", "退出登录"):
            assert word in nav
        assert "Sign out" not in nav
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "zh-dashboard.png"), full_page=True)
        with tenant_context(alpha):
            assert User.objects.get(pk=user.pk).language == "zh-hans"

        page.goto(f"{site}/inventory/exchange-rates/")
        expect(page.get_by_role("heading", name="汇率", exact=True)).to_be_visible()
        page.fill("input[name=rate]", "七块一")
        page.get_by_role("button", name="保存汇率").click()
        expect(page.locator(".errorlist").first).to_be_visible()
        errors = page.locator(".errorlist").all_inner_texts()
        assert errors and all(CJK.search(e) for e in errors) and not any("Enter a number" in e for e in errors)
        page.screenshot(path=str(ARTIFACTS / "zh-form-errors.png"), full_page=True)
    finally:
        with tenant_context(alpha):  # audit events name this user for good: deactivate, not delete
            User.objects.filter(pk=user.pk).update(is_active=False)
            from axes.utils import reset

            reset(username=user.email)
