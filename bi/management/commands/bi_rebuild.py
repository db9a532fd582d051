from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context, tenant_context


class Command(BaseCommand):
    help = ("Recompute the cockpit's figures of every order from scratch (after a fee schedule, commission rate or tier history "
            "was corrected for past days). One seller with --seller, else every seller.")

    def add_arguments(self, parser):
        parser.add_argument("--seller", help="the seller's subdomain")

    def handle(self, *args, **options):
        from bi.services.refresh import rebuild
        from sellers.models import Seller

        with schema_context("public"):
            sellers = Seller.objects.exclude(schema_name="public")
            if options["seller"]:
                sellers = sellers.filter(subdomain=options["seller"])
                if not sellers.exists():
                    raise CommandError(f"No seller with the subdomain {options['seller']!r}.")
            sellers = list(sellers)
        for seller in sellers:
            with tenant_context(seller):
                done = rebuild()
            self.stdout.write(f"{seller.subdomain}: {done.orders:,} orders, {done.days} days in {done.seconds:.1f} s")
