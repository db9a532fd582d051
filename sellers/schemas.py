"""Seller schemas: made by replaying a recorded migration, and migrated only when one is pending.

Migrating a new schema runs ~80 migrations through Django's migration state, rendering models
hundreds of times: 6–20 s per seller, almost all of it Python. A no-op `migrate_schemas` still
renders every model and checks every content type and permission of every schema (0.25 s each).
Instead:

- **The template**: once per version of the migrations, an empty schema (`_fanout_template`) is
  migrated exactly as a seller's schema used to be, while every statement sent to PostgreSQL is
  recorded (DDL, the functions and triggers bi/ and inventory/ install, the rows of data migrations,
  content types, permissions and django_migrations), parameters inlined. The schema itself is rolled
  back; the recording is kept in `SchemaTemplate` under the code's `migrations_fingerprint` (the
  migrations' names and source, the project modules they import, Django's version). New migrations
  mean a new fingerprint, so the template is recorded again from scratch.
- **A new seller's schema** replays the recording in the transaction that creates the seller, with
  the new schema first on the search_path, as the migration had it. It is the same SQL in the same
  order, so the schema is the same as a migrated one: tests/sellers/test_schemas.py compares
  every catalog entry and every row. Only django_migrations.applied differs (the recording's time).
  Catalog reads made to plan the migration are left out of the recording.
- **migrate_schemas** skips a seller's schema whose django_migrations already lists every migration
  on disk (`MigrateSkippingUpToDate`, settings.GET_EXECUTOR_FUNCTION); a schema with anything
  pending is migrated as before.
"""
from __future__ import annotations

import ast
import hashlib
import importlib.util
import logging
import re
import sys
import time
from functools import cache
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django_tenants.migration_executors import get_executor
from django_tenants.migration_executors.standard import StandardExecutor

logger = logging.getLogger(__name__)

TEMPLATE_SCHEMA = "_fanout_template"  # no subdomain maps to it: subdomains start with a letter
_TEMPLATE_NAME_RE = re.compile(rf'"?(?<![\w$]){TEMPLATE_SCHEMA}(?![\w$])"?')
# pg_advisory_xact_lock key held while the template is recorded, so that it is recorded once.
_LOCK_KEY = 0x46616E6F7574  # "Fanout"


# --- Which code the template comes from -------------------------------------------------------

@cache
def migrations_fingerprint() -> str:
    """A hash of Django's version, every migration's name and source, and the source of the project
    modules the migrations import (data migrations seed defaults from them). Computed once per
    process: the code does not change under a running process."""
    import django
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(None, ignore_no_migrations=True)
    digest = hashlib.sha256(django.get_version().encode())
    files: set[Path] = set()
    for key in sorted(loader.disk_migrations):
        digest.update(f"{key[0]}.{key[1]}\n".encode())
        path = Path(sys.modules[loader.disk_migrations[key].__module__].__file__)
        files.add(path)
        files.update(_project_imports(path))
    for path in sorted(files):
        digest.update(f"{path.parent.name}/{path.name}\n".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:40]


def _project_imports(path: Path) -> set[Path]:
    """Source files of this project's modules imported anywhere in `path` (also inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_bytes())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [node.module]
        else:
            continue
        for name in names:
            spec = importlib.util.find_spec(name)
            origin = Path(spec.origin) if spec and spec.origin else None
            if origin and origin.suffix == ".py" and origin.is_relative_to(settings.BASE_DIR) and ".venv" not in origin.parts:
                found.add(origin)
    return found


# --- Recording ----------------------------------------------------------------------------------

def _planning_read(sql: str) -> bool:
    """Catalog reads the migration makes to plan its next step: they change nothing."""
    head = sql.lstrip()[:6].upper()
    upper = sql.upper()
    return head == "SELECT" and ("PG_CATALOG" in upper or "INFORMATION_SCHEMA" in upper) and "SETVAL" not in upper and "NEXTVAL" not in upper


def _record() -> tuple[str, int]:
    """Migrate an empty template schema, recording every statement; leaves nothing behind (runs in
    a savepoint that is rolled back). Returns (script, number of statements)."""
    from django.core.management import call_command

    statements: list[str] = []

    def recorder(execute, sql, params, many, context):
        if many:
            params = list(params)
        if not _planning_read(sql):
            mogrify = context["cursor"].cursor.mogrify  # psycopg's client-side binding, as the server would see it
            statements.extend(mogrify(sql, p) for p in (params if many else [params]))
        return execute(sql, params, many, context)

    with transaction.atomic():
        savepoint = transaction.savepoint()
        try:
            with connection.cursor() as cursor:
                cursor.execute(f"DROP SCHEMA IF EXISTS {TEMPLATE_SCHEMA} CASCADE")
                cursor.execute(f"CREATE SCHEMA {TEMPLATE_SCHEMA}")
            with connection.execute_wrapper(recorder):
                call_command("migrate_schemas", tenant=True, schema_name=TEMPLATE_SCHEMA, interactive=False, verbosity=0)
        finally:
            transaction.savepoint_rollback(savepoint)
            connection.set_schema_to_public()
    return ";\n".join(s.rstrip().rstrip(";") for s in statements) + ";\n", len(statements)


def template_script() -> str:
    """The recorded migration of the running code, recorded now if there is none yet (one process
    records it, the others wait for it). Inside a transaction the recording is committed with it."""
    from sellers.models import SchemaTemplate

    fingerprint = migrations_fingerprint()
    if fingerprint in _scripts:
        return _scripts[fingerprint]
    script = SchemaTemplate.objects.filter(fingerprint=fingerprint).values_list("script", flat=True).first()
    if script is not None:
        _scripts[fingerprint] = script
        return script
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
        script = SchemaTemplate.objects.filter(fingerprint=fingerprint).values_list("script", flat=True).first()
        if script is None:
            started = time.monotonic()
            script, count = _record()
            SchemaTemplate.objects.exclude(fingerprint=fingerprint).delete()
            SchemaTemplate.objects.create(fingerprint=fingerprint, script=script, statements=count,
                                          build_seconds=time.monotonic() - started)
            logger.info("recorded the seller schema template: %s statements in %.1fs", count, time.monotonic() - started)
    _scripts[fingerprint] = script
    return script


_scripts: dict[str, str] = {}  # by fingerprint: the recording never changes


def template_ensure() -> None:
    """Record the template now if the running code has none (run outside a transaction, so that it
    is committed for every process at once; deployments and the provisioning task call it)."""
    from django_tenants.utils import schema_context

    with schema_context("public"):
        template_script()


def schema_clone(*, schema_name: str) -> None:
    """Create schema `schema_name` by replaying the template, inside the caller's transaction (a
    failure later in it leaves no schema behind)."""
    from django_tenants.utils import schema_context

    if not connection.in_atomic_block:
        raise RuntimeError("schema_clone runs inside the transaction that creates the seller")
    with schema_context("public"):
        script = template_script()
        with connection.cursor() as cursor:
            cursor.execute("SELECT quote_ident(%s)", [schema_name])
            ident = cursor.fetchone()[0]
            cursor.execute(f"CREATE SCHEMA {ident}")
    # django-tenants sets the search_path (the new schema, then public), and so does the recording, as the migration did.
    with schema_context(schema_name), connection.cursor() as cursor:
        cursor.execute(_TEMPLATE_NAME_RE.sub(ident, script))
    connection.set_schema_to_public()


# --- migrate_schemas ------------------------------------------------------------------------------

def schemas_up_to_date(schema_names: list[str]) -> set[str]:
    """Those of `schema_names` whose django_migrations lists every migration on disk."""
    from django.db.migrations.loader import MigrationLoader

    if not schema_names:
        return set()
    expected = set(MigrationLoader(None, ignore_no_migrations=True).graph.nodes)
    done = set()
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname, quote_ident(nspname) FROM pg_namespace WHERE nspname = ANY(%s) "
                       "AND to_regclass(quote_ident(nspname) || '.django_migrations') IS NOT NULL", [list(schema_names)])
        for name, ident in cursor.fetchall():
            cursor.execute(f"SELECT app, name FROM {ident}.django_migrations")
            if expected <= set(cursor.fetchall()):
                done.add(name)
    return done


class MigrateSkippingUpToDate(StandardExecutor):
    """django-tenants' standard executor, minus the seller schemas that have nothing to apply
    (a plain `migrate_schemas`; an option that asks for more runs every schema as before)."""

    _MORE = ("app_label", "migration_name", "fake", "fake_initial", "plan", "prune", "check_unapplied", "run_syncdb")

    def run_migrations(self, tenants=None):
        tenants = list(tenants or [])
        if not any(self.options.get(option) for option in self._MORE):
            skip = schemas_up_to_date([t for t in tenants if t != self.PUBLIC_SCHEMA_NAME])
            if skip and int(self.options.get("verbosity", 1)) >= 1:
                sys.stdout.write(f"{len(skip)} seller schema(s) already up to date\n")
            tenants = [t for t in tenants if t not in skip]
        super().run_migrations(tenants=tenants)


def migrate_executor(codename=None):
    """settings.GET_EXECUTOR_FUNCTION: ours unless `--executor` names another."""
    return get_executor(codename) if codename else MigrateSkippingUpToDate
