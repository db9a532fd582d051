"""A throwaway database for a benchmark, next to the one DATABASE_URL names."""
import os
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import psycopg


def _with_db(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _libpq(url: str) -> str:
    # libpq understands postgresql://; Django-style postgres:// is the same thing.
    return "postgresql" + url[len("postgres"):] if url.startswith("postgres://") else url


@contextmanager
def scratch_database(name: str):
    """Create database `name` (dropped first if left over), point DATABASE_URL at it for the
    block, and drop it afterwards."""
    base = os.environ["DATABASE_URL"]
    admin_url = _libpq(_with_db(base, "postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = _with_db(base, name)
    try:
        yield
    finally:
        os.environ["DATABASE_URL"] = base
        from django.db import connections

        connections.close_all()
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
