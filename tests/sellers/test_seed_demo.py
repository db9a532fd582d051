from io import StringIO

from django.core.management import call_command
from django_tenants.utils import schema_context, tenant_context

from accounts.models import User
from accounts.modules import Role
from sellers.models import Domain, Seller


def test_seed_demo_creates_one_login_per_role_and_is_idempotent(db):
    out = StringIO()
    call_command("seed_demo", stdout=out)
    printed = out.getvalue()
    demo = Seller.objects.get(subdomain="demo")
    with tenant_context(demo):
        roles = sorted(User.objects.values_list("role", flat=True))
    assert roles == sorted(Role.values)
    for email in ("owner@demo.example", "analyst@demo.example", "Fanout-demo-2026"):
        assert email in printed

    from creators.models import Creator, CreatorMonth, SupplyRequest, TierReviewItem

    with tenant_context(demo):
        assert Creator.objects.filter(tier="S").count() >= 3 and CreatorMonth.objects.filter(orders__gte=1000).exists()
        assert TierReviewItem.objects.filter(kind="promotion").exists() and SupplyRequest.objects.filter(status="waiting").exists()
        assert "seeded demo creators" in printed

    counts = (Seller.objects.count(), Domain.objects.count())
    call_command("seed_demo", "--quiet-logins", stdout=StringIO())
    assert (Seller.objects.count(), Domain.objects.count()) == counts
    with tenant_context(demo):
        assert User.objects.count() == len(Role.values)
    with schema_context("public"):
        assert User.objects.filter(email="admin@fanout.example", is_superuser=True).count() == 1
