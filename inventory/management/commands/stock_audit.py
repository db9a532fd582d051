from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import get_tenant_model, tenant_context

from inventory.audit import stock_audit_differences


class Command(BaseCommand):
    help = "Recompute stock levels from the ledger and lots for every seller and report differences."

    def add_arguments(self, parser):
        parser.add_argument("--schema", help="audit one seller schema only")

    def handle(self, *args, **options):
        sellers = get_tenant_model().objects.exclude(schema_name="public")
        if options["schema"]:
            sellers = sellers.filter(schema_name=options["schema"])
        total = 0
        for seller in sellers:
            with tenant_context(seller):
                problems = stock_audit_differences()
            total += len(problems)
            status = "OK" if not problems else f"{len(problems)} difference(s)"
            self.stdout.write(f"{seller.schema_name}: {status}")
            for problem in problems:
                self.stdout.write(f"  {problem}")
        if total:
            raise CommandError(f"stock audit found {total} difference(s)")
