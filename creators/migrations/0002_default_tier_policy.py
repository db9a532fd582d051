"""Every seller starts with version 1 of the tier policy: the defaults from the product brief."""
from datetime import date
from decimal import Decimal

from django.db import migrations

DEFAULT_BANDS = [
    # tier, monthly orders from, commission from / up to / default, cycle, supply priority, waits when scarce, support
    ("S", 1000, "0.2000", "0.2500", "0.2000", "weekly", 1, False, "dedicated"),
    ("A", 500, "0.1500", "0.2000", "0.1500", "semi_monthly", 2, False, "standard"),
    ("B", 0, "0.1000", "0.1500", "0.1000", "monthly", 3, True, "self_serve"),
]


def create_default_policy(apps, schema_editor):
    TierPolicy = apps.get_model("creators", "TierPolicy")
    TierBand = apps.get_model("creators", "TierBand")
    if TierPolicy.objects.exists():
        return
    policy = TierPolicy.objects.create(version=1, effective_from=date(2000, 1, 1), note="Defaults")
    for tier, orders, low, high, default, cycle, priority, waits, support in DEFAULT_BANDS:
        TierBand.objects.create(policy=policy, tier=tier, min_monthly_orders=orders, rate_min=Decimal(low), rate_max=Decimal(high),
                                default_rate=Decimal(default), settlement_cycle=cycle, supply_priority=priority,
                                waits_when_scarce=waits, support_level=support)


class Migration(migrations.Migration):
    dependencies = [("creators", "0001_initial")]
    operations = [migrations.RunPython(create_default_policy, migrations.RunPython.noop)]
