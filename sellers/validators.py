import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

SUBDOMAIN_RE = re.compile(r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$")
# Names that would collide with the platform's own hosts, PostgreSQL's schemas or common roles.
RESERVED_SUBDOMAINS = frozenset(
    {
        "www", "admin", "public", "api", "app", "apps", "mail", "smtp", "imap", "pop", "ftp",
        "static", "media", "assets", "cdn", "portal", "help", "support", "status", "docs", "blog",
        "root", "postgres", "information-schema", "pg", "localhost", "fanout", "signup", "login",
        "auth", "billing", "dashboard", "test", "dev", "staging", "webhooks", "hooks", "sandbox",
    }
)


def validate_subdomain(value: str) -> None:
    if not SUBDOMAIN_RE.match(value):
        raise ValidationError(
            _("Use 3–32 lowercase letters, digits or hyphens, starting with a letter and not ending with a hyphen."),
            code="invalid",
        )
    if "--" in value:
        raise ValidationError(_("Two hyphens in a row are not allowed."), code="invalid")
    if value in RESERVED_SUBDOMAINS or value.startswith("pg-"):
        raise ValidationError(_("“%(name)s” is reserved. Please choose another subdomain."), code="reserved", params={"name": value})


def schema_name_for(subdomain: str) -> str:
    # Subdomains never contain underscores, so this mapping is one-to-one.
    return subdomain.replace("-", "_")
