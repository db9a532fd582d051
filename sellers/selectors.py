"""Reads on sellers and sign-ups, in the public schema."""
from django_tenants.utils import schema_context

from sellers.models import SignupRequest


def signup_get(*, signup_id) -> SignupRequest | None:
    """The sign-up a browser's session follows (None for no id or an unknown one)."""
    if not isinstance(signup_id, int):
        return None
    with schema_context("public"):
        return SignupRequest.objects.select_related("seller").filter(pk=signup_id).first()
