"""Check the creators' ledger and statements of every seller (or one: --seller <schema>).
Exits 1 when a rule is broken, naming the rows."""
from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import get_tenant_model, tenant_context

from commissions.services.checks import ledger_problems


class Command(BaseCommand):
    help = "Check the commissions ledger invariants of every seller."

    def add_arguments(self, parser):
        parser.add_argument("--seller", help="schema name of one seller")

    def handle(self, *args, seller=None, **options):
        tenants = get_tenant_model().objects.exclude(schema_name="public")
        if seller:
            tenants = tenants.filter(schema_name=seller)
        bad = 0
        for tenant in tenants.order_by("schema_name"):
            with tenant_context(tenant):
                problems = ledger_problems()
            for problem in problems:
                self.stdout.write(f"{tenant.schema_name}: {problem}")
            bad += len(problems)
            if not problems:
                self.stdout.write(f"{tenant.schema_name}: ledger OK")
        if bad:
            raise CommandError(f"{bad} ledger rule(s) broken")
