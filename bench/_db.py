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
