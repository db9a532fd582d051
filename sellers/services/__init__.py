"""Writes on sellers, in the public schema: provisioning a seller (provisioning.py) and the public
site's sign-up that leads to it (signup_requests.py)."""
from sellers.services.provisioning import (  # noqa: F401
    SignupResult,
    public_tenant_ensure,
    seller_settings_update,
    seller_signup,
    signup_validate,
    subdomain_is_taken,
)
