"""Create the platform's public tenant and its domain (FANOUT_BASE_DOMAIN), and record the seller
schema template of this version's migrations (sellers.schemas) so that the first sign-up does not
wait for it. Idempotent; run it after migrations in every deployment (docker-compose's `migrate`
service does)."""
from django.conf import settings
from django.core.management.base import BaseCommand

from sellers.schemas import template_ensure
from sellers.services import public_tenant_ensure


class Command(BaseCommand):
    help = "Create the public tenant and its domain (idempotent)."

    def handle(self, *args, **options):
        public_tenant_ensure(domains=[settings.FANOUT_BASE_DOMAIN])
        template_ensure()
        self.stdout.write(f"public site ready at {settings.FANOUT_BASE_DOMAIN}")
