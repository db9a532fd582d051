from django.db import migrations


def seed(apps, schema_editor):
    from commissions.defaults import fee_schedules_seed

    fee_schedules_seed(apps.get_model("commissions", "FeeSchedule"))


class Migration(migrations.Migration):
    dependencies = [("commissions", "0001_fees_and_rates")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
