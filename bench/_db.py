"""A throwaway database for a benchmark, next to the one DATABASE_URL names."""
import os
from contextlib import contextmanager

import psycopg

from erp.devstack import libpq_url, url_with_database


@contextmanager
def scratch_database(name: str):
    """Create database `name` (dropped first if left over), point DATABASE_URL at it for the
    block, and drop it afterwards."""
    base = os.environ["DATABASE_URL"]
    admin_url = libpq_url(url_with_database(base, "postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = url_with_database(base, name)
    try:
        yield
    finally:
        os.environ["DATABASE_URL"] = base
        from django.db import connections

        connections.close_all()
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def scratch_platform(name: str):
    """A scratch database with Django set up, the shared schema migrated and the public tenant."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "erp.settings.local")
    os.environ["DJANGO_LOG_LEVEL"] = "WARNING"
    with scratch_database(name):
        import django
        from django.core.management import call_command

        django.setup()
        from sellers.services import public_tenant_ensure

        call_command("migrate_schemas", "--shared", verbosity=0)
        public_tenant_ensure(domains=["localhost"])
        yield


def big_seller(creators_n: int, *, creator_email: bool = False, rate_override_every: int = 0):
    """Seller "big" with 200 SKUs over 10 products and `creators_n` active tier-B creators (every
    `rate_override_every`-th with a 15% rate of their own). Returns (seller, products)."""
    from django_tenants.utils import tenant_context
    from djmoney.money import Money

    from commissions.services.accrual import settlement_settings
    from creators.models import Creator, CreatorStatus
    from inventory.models import SKU, Category, Product
    from sellers.services import seller_signup

    seller = seller_signup(company_name="Big", subdomain="big", owner_email="o@big.example", password="Bench-password-2026").seller
    with tenant_context(seller):
        settlement_settings()
        category = Category.objects.create(name="Beauty")
        products = [Product.objects.create(title=f"Product {i}", category=category) for i in range(10)]
        SKU.objects.bulk_create(SKU(code=f"SKU-{i:04d}", product=products[i % 10], title=f"Item {i}", default_unit_cost=Money("3.00", "USD"))
                                for i in range(200))
        Creator.objects.bulk_create(
            Creator(handle=f"creator_{i:05d}", display_name=f"Creator {i}", status=CreatorStatus.ACTIVE, tier="B",
                    email=f"creator_{i:05d}@bench.example" if creator_email else "",
                    commission_rate_override="0.1500" if rate_override_every and i % rate_override_every == 0 else None)
            for i in range(creators_n))
    return seller, products
