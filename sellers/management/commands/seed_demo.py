"""Create (or top up) the demo seller so a new user lands in a realistic shop.
Idempotent: running it again changes nothing and duplicates nothing. Grows with each module."""
from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django_tenants.utils import schema_context, tenant_context

from accounts.models import User
from accounts.modules import Role
from accounts.services import user_create
from sellers.models import Seller
from sellers.services import public_tenant_ensure, seller_signup

DEMO_SUBDOMAIN = "demo"
DEMO_PASSWORD = "Fanout-demo-2026"
PLATFORM_ADMIN = "admin@fanout.example"
DEMO_STAFF = [
    (Role.OWNER, "owner@demo.example", "Olivia Owner"),
    (Role.MANAGER, "manager@demo.example", "Marco Manager"),
    (Role.OPERATIONS, "ops@demo.example", "Oscar Operations"),
    (Role.WAREHOUSE, "warehouse@demo.example", "Wendy Warehouse"),
    (Role.FINANCE, "finance@demo.example", "Fiona Finance"),
    (Role.CREATOR_MANAGER, "creators@demo.example", "Chloe Creators"),
    (Role.ANALYST, "analyst@demo.example", "Andy Analyst"),
]


class Command(BaseCommand):
    help = "Create the demo seller with one login per role (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--quiet-logins", action="store_true", help="do not print the demo logins")

    def handle(self, *args, **options):
        base = settings.FANOUT_BASE_DOMAIN
        public_tenant_ensure(domains=[base, "127.0.0.1"])
        with schema_context("public"), transaction.atomic():
            if not User.objects.filter(email=PLATFORM_ADMIN).exists():
                User.objects.create_superuser(PLATFORM_ADMIN, DEMO_PASSWORD, full_name="Platform Admin")

        seller = Seller.objects.filter(subdomain=DEMO_SUBDOMAIN).first()
        if seller is None:
            owner_role, owner_email, _name = DEMO_STAFF[0]
            seller = seller_signup(
                company_name="Demo Beauty Co.", subdomain=DEMO_SUBDOMAIN, owner_email=owner_email, password=DEMO_PASSWORD
            ).seller
            self.stdout.write(f"created demo seller '{seller.name}' (schema {seller.schema_name})")
        with tenant_context(seller), transaction.atomic():
            for role, email, full_name in DEMO_STAFF:
                user = User.objects.filter(email=email).first()
                if user is None:
                    user_create(email=email, password=DEMO_PASSWORD, full_name=full_name, role=role)
                elif not user.full_name:
                    user.full_name = full_name
                    user.save(update_fields=["full_name"])

            from inventory.demo import demo_inventory_seed

            if demo_inventory_seed():
                self.stdout.write("seeded demo warehouses, catalogue, stock and four weeks of sales")

            from creators.demo import demo_creators_seed

            if demo_creators_seed():
                self.stdout.write("seeded demo creators with a year of orders, content stats, samples, contacts and a tier review")

            from orders.demo import demo_orders_seed

            if demo_orders_seed():
                self.stdout.write("filled in 90 days of order history: addresses, shipments, tracking and timelines")

            from commissions.demo import demo_commissions_seed

            if demo_commissions_seed():
                self.stdout.write("accrued creator commissions and closed the ended settlement periods: statements issued, disputed and paid")

            from bi.services.refresh import refresh

            built = refresh()
            if built.orders:
                self.stdout.write(f"built the cockpit's figures for {built.orders:,} orders in {built.seconds:.0f} s")

            from portal.demo import demo_portal_seed

            portal_emails = demo_portal_seed(password=DEMO_PASSWORD)
            from connectors.demo import demo_channels_seed
            from erp.tenancy import seller_site_url

            if demo_channels_seed(webhook_base_url=seller_site_url(schema_name=seller.schema_name)):
                self.stdout.write("connected the demo TikTok Shop, Shopify store and Amazon account on the platform sandbox")
                from orders.demo import demo_live_orders_seed

                placed = demo_live_orders_seed()
                if placed:
                    self.stdout.write(f"took in {placed} new orders from the sandbox TikTok shop; the worker routes them")

        if not options["quiet_logins"]:
            site = settings.FANOUT_SITE_URL.replace("://", f"://{DEMO_SUBDOMAIN}.", 1)
            self.stdout.write(f"\nDemo seller: {site}/   password for every login: {DEMO_PASSWORD}")
            for role, email, _name in DEMO_STAFF:
                self.stdout.write(f"  {Role(role).label:<16} {email}")
            if portal_emails:
                self.stdout.write(f"Creator portal: {site}/portal/   {'   '.join(portal_emails)}")
            self.stdout.write(f"Platform admin: {settings.FANOUT_SITE_URL}/admin/   {PLATFORM_ADMIN}\n")
