"""Security headers on every answer (first in MIDDLEWARE): the Content-Security-Policy, the
Permissions-Policy, and Django's own security headers as a fallback for answers that did not pass
Django's SecurityMiddleware and XFrameOptionsMiddleware."""
from django.conf import settings


def content_security_policy() -> str:
    """What a page of ours may load: only our own scripts (no inline ones, no eval), our own
    styles and inline style attributes, our own images, no plugins, no framing; forms post to our
    own sites (sign-up hands over to the seller's subdomain)."""
    base = settings.FANOUT_BASE_DOMAIN
    return ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; "
            f"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self' {base}:* *.{base}:*; frame-ancestors 'none'")


PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"


class SecurityHeadersMiddleware:
    """First in the chain: the Content-Security-Policy and Permissions-Policy on every answer, and
    the headers Django's SecurityMiddleware and XFrameOptionsMiddleware set from the same settings
    (nosniff, referrer policy, opener policy, X-Frame-Options) on any answer that did not pass
    them (one raised inside them). Those two come right after, ahead of /health/, the seller lookup
    and the suspended-seller page, so answers given before any view runs carry everything too.
    A PDF gets only frame-ancestors: browsers' PDF viewers are plugins that object-src 'none' blocks."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.policy = content_security_policy()
        self.defaults = {name: value for name, value in (
            ("X-Content-Type-Options", "nosniff" if settings.SECURE_CONTENT_TYPE_NOSNIFF else None),
            ("Referrer-Policy", settings.SECURE_REFERRER_POLICY),
            ("Cross-Origin-Opener-Policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY),
            ("X-Frame-Options", settings.X_FRAME_OPTIONS),
            ("Permissions-Policy", PERMISSIONS_POLICY),
        ) if value}

    def __call__(self, request):
        response = self.get_response(request)
        pdf = response.get("Content-Type", "").startswith("application/pdf")
        response.headers.setdefault("Content-Security-Policy", "frame-ancestors 'none'" if pdf else self.policy)
        exempt = getattr(response, "xframe_options_exempt", False)
        for name, value in self.defaults.items():
            if not (exempt and name == "X-Frame-Options"):
                response.headers.setdefault(name, value)
        return response
