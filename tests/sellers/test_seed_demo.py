from io import StringIO

from django.core.management import call_command
from django_tenants.utils import schema_context, tenant_context

from accounts.models import User
from accounts.modules import Role
from sellers.models import Domain, Seller


def test_seed_demo_creates_one_login_per_role_and_is_idempotent(db, sandbox):
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

    from datetime import timedelta

    from django.utils import timezone

    from orders.models import ExceptionReason, Order, Shipment
    from orders.selectors import dashboard_counts, stage_times

    with tenant_context(demo):
        # 90 days of history with every stage timed, shipments with tracking, nothing left open or overdue from it.
        recent = Order.objects.filter(placed_at__gte=timezone.now() - timedelta(days=85), account__isnull=True)
        assert recent.count() > 5000 and not recent.exclude(status="cancelled").filter(shipped_at__isnull=True).exists()
        assert not Order.objects.filter(total=0, lines__unit_price__gt=0).exists()  # totals add up from the lines
        assert Shipment.objects.filter(status="delivered").exclude(tracking_number="").count() > 3000
        stages = {row["stage"]: row for row in stage_times(days=90)}
        assert all(stages[name]["n"] > 3000 for name in ("receive", "stock_check", "print_ship", "tracking"))
        assert stages["stock_check"]["p50"] < 5 and 3600 < stages["print_ship"]["p50"] < 48 * 3600
        # Live orders from the sandbox TikTok shop, taken in through the client; two land in the exceptions queue.
        live = Order.objects.filter(account__isnull=False)
        assert live.count() == 24 and "took in 24 new orders" in printed
        assert set(live.exclude(exception_reason="").values_list("exception_reason", flat=True)) == {ExceptionReason.UNKNOWN_SKU}
        assert dashboard_counts()["exceptions"] >= 1

    counts = (Seller.objects.count(), Domain.objects.count())
    call_command("seed_demo", "--quiet-logins", stdout=StringIO())
    assert (Seller.objects.count(), Domain.objects.count()) == counts
    with tenant_context(demo):
        assert User.objects.count() == len(Role.values)
        assert Order.objects.filter(account__isnull=False).count() == 24  # not placed again
    with schema_context("public"):
        assert User.objects.filter(email="admin@fanout.example", is_superuser=True).count() == 1
