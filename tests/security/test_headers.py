"""Security headers on every kind of answer: pages, sign-in, error pages (403, 404, 405, 500),
the suspended-seller page, an unknown or forbidden host, /health/, webhooks, static files, files,
redirects and the platform site. The answers given before any view runs (health, the seller
lookup, a suspended seller) used to carry none of them. The walk over every URL pattern in
tests/security/test_redirects.py checks the same on every page."""
import re
from pathlib import Path

from django.http import HttpResponse
from django.test import Client
from django.urls import path
from django_tenants.utils import schema_context

from accounts.modules import Role
from erp.headers import SecurityHeadersMiddleware
from sellers.models import Seller
from tests.support import ROOT, client_for, make_user


def missing_security_headers(response) -> list[str]:
    """What is missing or wrong among the security headers of `response` (empty: all there)."""
    problems = []
    csp = response.get("Content-Security-Policy", "")
    if "frame-ancestors 'none'" not in csp:
        problems.append(f"Content-Security-Policy without frame-ancestors 'none': {csp!r}")
    if not response.get("Content-Type", "").startswith("application/pdf"):
        for directive in ("default-src 'self'", "script-src 'self'", "object-src 'none'", "base-uri 'none'"):
            if directive not in csp:
                problems.append(f"Content-Security-Policy without {directive}: {csp!r}")
        if "'unsafe-eval'" in csp or re.search(r"script-src[^;]*'unsafe-inline'", csp):
            problems.append(f"Content-Security-Policy allows inline scripts or eval: {csp!r}")
    expected = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin",
                "Cross-Origin-Opener-Policy": "same-origin"}
    for name, value in expected.items():
        if response.get(name) != value:
            problems.append(f"{name}: {response.get(name)!r}, want {value!r}")
    if "camera=()" not in response.get("Permissions-Policy", ""):
        problems.append(f"Permissions-Policy: {response.get('Permissions-Policy')!r}")
    return problems


def _boom(request):
    raise RuntimeError("a view failing")


urlpatterns = [path("boom/", _boom)]  # this module is the URLconf of the 500 case


def test_every_kind_of_answer_carries_the_security_headers(alpha, beta, settings):
    anonymous = Client(HTTP_HOST="alpha.localhost", raise_request_exception=False)
    owner = client_for(alpha, make_user(alpha, role=Role.OWNER))
    analyst = client_for(alpha, make_user(alpha, role=Role.ANALYST))
    answers = {
        "staff page": owner.get("/"),
        "staff list": owner.get("/orders/"),
        "CSV file": owner.get("/orders/export/"),
        "sign-in page": anonymous.get("/login/"),
        "portal sign-in page": anonymous.get("/portal/login/"),
        "redirect to sign-in": anonymous.get("/orders/"),
        "403 (no module)": analyst.get("/team/"),
        "404 page": owner.get("/no-such-page/"),
        "405 method": anonymous.get("/hooks/tiktok-shop/"),
        "webhook refused": anonymous.post("/hooks/tiktok-shop/", b"{}", content_type="application/json"),
        "webhook (shopify) refused": anonymous.post("/hooks/shopify/", b"{}", content_type="application/json"),
        "health": anonymous.get("/health/"),
        "static file": anonymous.get("/static/css/fanout.css"),
        "seller admin": owner.get("/admin/"),
        "unknown host": Client(HTTP_HOST="nobody.localhost", raise_request_exception=False).get("/"),
        "forbidden host": Client(HTTP_HOST="evil.example", raise_request_exception=False).get("/"),
        "platform landing": Client(HTTP_HOST="localhost").get("/"),
        "platform sign-up": Client(HTTP_HOST="localhost").get("/signup/"),
        "platform admin sign-in": Client(HTTP_HOST="localhost").get("/admin/login/"),
    }
    with schema_context("public"):
        Seller.objects.filter(pk=beta.pk).update(is_active=False)
    try:
        answers["suspended seller"] = Client(HTTP_HOST="beta.localhost", raise_request_exception=False).get("/login/")
    finally:
        with schema_context("public"):
            Seller.objects.filter(pk=beta.pk).update(is_active=True)
    settings.ROOT_URLCONF = __name__
    answers["500 page"] = Client(HTTP_HOST="alpha.localhost", raise_request_exception=False).get("/boom/")

    statuses = {kind: answer.status_code for kind, answer in answers.items()}
    assert statuses["suspended seller"] == 403 and statuses["unknown host"] == 404 and statuses["forbidden host"] == 404
    assert statuses["500 page"] == 500 and statuses["static file"] == 200 and statuses["health"] in (200, 503), statuses
    problems = {kind: missing for kind, answer in answers.items() if (missing := missing_security_headers(answer))}
    assert not problems, problems


def test_a_pdf_keeps_frame_ancestors_but_not_the_page_policy():
    """Browsers show a PDF with a plugin (object-src) and inline styles: the page policy would blank it."""
    response = SecurityHeadersMiddleware(lambda request: HttpResponse(b"%PDF-1.7", content_type="application/pdf"))(None)
    assert response["Content-Security-Policy"] == "frame-ancestors 'none'" and missing_security_headers(response) == []


def test_sign_up_may_hand_over_to_the_sellers_own_site(db):
    """The sign-up form's answer redirects to <seller>.<base domain>: form-action must allow it."""
    csp = Client(HTTP_HOST="localhost").get("/signup/")["Content-Security-Policy"]
    assert "form-action 'self' localhost:* *.localhost:*" in csp


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)


def test_no_template_needs_inline_script():
    """The policy allows only our own script files: a template with an inline <script>, an
    on…= handler or a javascript: link would silently stop working in the browser."""
    offenders = []
    for template in sorted((ROOT / "templates").rglob("*.html")) + sorted(Path(ROOT).glob("*/templates/**/*.html")):
        text = template.read_text()
        for pattern in (INLINE_SCRIPT, INLINE_HANDLER, re.compile(r"javascript:", re.IGNORECASE)):
            offenders += [f"{template.relative_to(ROOT)}: {m.group(0)!r}" for m in pattern.finditer(text)]
    assert not offenders, "\n".join(offenders)
