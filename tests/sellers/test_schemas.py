"""A seller's schema is cloned from a migrated template: the clone must be exactly what migrating
would have made (tables, columns, defaults, constraints, indexes, sequences, functions, triggers,
comments and every row, such as django_migrations, content types, permissions and seeded
defaults). And a no-op migrate_schemas leaves up-to-date schemas alone but still migrates a
schema with a pending migration."""
from datetime import datetime

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone
from django_tenants.signals import schema_migrated
from django_tenants.utils import schema_context

from sellers import schemas
from sellers.models import SchemaTemplate, Seller
from sellers.services import seller_signup
from tests.support import PASSWORD

CATALOG = {
    "relations": """SELECT c.relname, c.relkind, c.relpersistence, c.reloptions::text, c.relrowsecurity, c.relacl::text,
                           obj_description(c.oid, 'pg_class')
                      FROM pg_class c WHERE c.relnamespace = %(s)s::regnamespace""",
    # Columns by position among the live ones: a column a migration dropped leaves a hole in attnum only.
    "columns": """SELECT c.relname, row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum), a.attname,
                         format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attidentity,
                         a.attgenerated, a.attcollation::regcollation::text, a.attstorage, col_description(c.oid, a.attnum)
                    FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                    LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
                   WHERE c.relnamespace = %(s)s::regnamespace""",
    "constraints": """SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid), condeferrable, condeferred,
                             convalidated FROM pg_constraint WHERE connamespace = %(s)s::regnamespace""",
    "indexes": """SELECT i.indrelid::regclass::text, c.relname, pg_get_indexdef(i.indexrelid), i.indisunique, i.indisprimary, i.indisvalid
                    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relnamespace = %(s)s::regnamespace""",
    "sequences": """SELECT c.relname, s.seqtypid::regtype::text, s.seqstart, s.seqincrement, s.seqmax, s.seqmin, s.seqcache, s.seqcycle,
                           (SELECT refobjid::regclass::text || '.' || refobjsubid FROM pg_depend
                             WHERE classid = 'pg_class'::regclass AND objid = c.oid AND refobjsubid > 0)
                      FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid WHERE c.relnamespace = %(s)s::regnamespace""",
    "sequence_positions": """SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = %(s)s""",
    "functions": """SELECT proname, pg_get_function_identity_arguments(oid), pg_get_functiondef(oid), proconfig::text,
                           obj_description(oid, 'pg_proc') FROM pg_proc WHERE pronamespace = %(s)s::regnamespace""",
    "triggers": """SELECT tgrelid::regclass::text, tgname, pg_get_triggerdef(t.oid), tgenabled
                     FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
                    WHERE c.relnamespace = %(s)s::regnamespace AND NOT tgisinternal""",
    "types": """SELECT typname, typtype FROM pg_type WHERE typnamespace = %(s)s::regnamespace""",
    "policies_rules": """SELECT 'rule', rulename, pg_get_ruledef(r.oid) FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class
                          WHERE c.relnamespace = %(s)s::regnamespace
                         UNION ALL SELECT 'policy', polname, pg_get_expr(polqual, polrelid) FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
                          WHERE c.relnamespace = %(s)s::regnamespace""",
}


def _describe(schema: str, *, since: datetime) -> dict[str, list]:
    """Every catalog entry and every row of `schema`, with its name written as <schema> and the
    times written while migrating (django_migrations.applied, created_at of seeded rows) as <now>:
    no two migrations share those."""
    def norm(value):
        if isinstance(value, datetime) and value >= since:
            return "<now>"
        return value.replace(f'"{schema}"', "<schema>").replace(schema, "<schema>") if isinstance(value, str) else value

    found = {}
    with connection.cursor() as cursor:
        for what, sql in CATALOG.items():
            cursor.execute(sql, {"s": schema})
            found[what] = sorted((tuple(norm(v) for v in row) for row in cursor.fetchall()), key=repr)
        cursor.execute("SELECT quote_ident(relname) FROM pg_class WHERE relnamespace = %s::regnamespace AND relkind = 'r' ORDER BY 1", [schema])
        for (table,) in cursor.fetchall():
            cursor.execute(f'SELECT * FROM "{schema}".{table}')
            found[f"rows of {table}"] = sorted(tuple(str(norm(v)) for v in row) for row in cursor.fetchall())
    return found


def _drop(*schemas: str) -> None:
    with connection.cursor() as cursor:
        for schema in schemas:
            cursor.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def scratch_schemas(committed):
    names = ["cmp_migrated", "cmp_cloned"]
    _drop(*names)
    yield names
    _drop(*names)
    connection.set_schema_to_public()


def test_schema_clone_equals_a_migrated_schema_and_the_template_is_recorded_again_for_new_migrations(scratch_schemas):
    migrated, cloned = scratch_schemas
    started = timezone.now()
    # The stored template was recorded from other migrations than the running code's: it is recorded again.
    SchemaTemplate.objects.update(fingerprint="0000-recorded-from-older-migrations")
    schemas._scripts.clear()
    schemas.template_ensure()
    assert list(SchemaTemplate.objects.values_list("fingerprint", flat=True)) == [schemas.migrations_fingerprint()]
    with transaction.atomic():
        schemas.schema_clone(schema_name=cloned)

    with connection.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA {migrated}")
    call_command("migrate_schemas", tenant=True, schema_name=migrated, interactive=False, verbosity=0)
    connection.set_schema_to_public()

    want, got = _describe(migrated, since=started), _describe(cloned, since=started)
    assert len(want["relations"]) > 150 and len(want["functions"]) >= 7 and len(want["triggers"]) >= 6
    assert len(want["rows of django_migrations"]) > 70 and want["rows of auth_permission"]
    assert want.keys() == got.keys()
    for what in want:
        assert got[what] == want[what], what


def test_schema_clone_gives_the_clone_its_own_rows_function_settings_and_sequences(committed):
    """A clone's seeded rows, function settings and sequences are its own, not the template's."""
    seller = seller_signup(company_name="Clone Check", subdomain="clonecheck", owner_email="o@clonecheck.test", password=PASSWORD).seller
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM clonecheck.commissions_feeschedule")
            assert cursor.fetchone()[0] == 6  # the seeded defaults
            cursor.execute("SELECT proconfig::text FROM pg_proc WHERE proname = 'bi_orders_insert' AND pronamespace = 'clonecheck'::regnamespace")
            assert cursor.fetchone()[0] == '{"search_path=clonecheck, public"}'
            cursor.execute("SELECT nextval(pg_get_serial_sequence('clonecheck.accounts_user', 'id'))")
            assert cursor.fetchone()[0] == 2  # the owner took 1: the clone has its own sequences
    finally:
        with schema_context("public"):
            Seller.objects.get(pk=seller.pk).delete(force_drop=True)


def test_noop_migrate_schemas_skips_up_to_date_schemas_and_migrates_a_pending_one(committed):
    seller = seller_signup(company_name="Pending Co", subdomain="pendingco", owner_email="o@pendingco.test", password=PASSWORD).seller
    migrated = []

    def record(sender, schema_name, **kwargs):
        migrated.append(schema_name)

    schema_migrated.connect(record)
    try:
        call_command("migrate_schemas", tenant=True, interactive=False, verbosity=0)
        assert migrated == []  # every seller is up to date: nothing is rendered, checked or written

        # The newest sellers migration (a public-schema app: in a seller's schema it is only recorded) is pending there.
        app, name = next(node for node in MigrationLoader(None).graph.leaf_nodes() if node[0] == "sellers")
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM pendingco.django_migrations WHERE app = %s AND name = %s", [app, name])
        call_command("migrate_schemas", tenant=True, interactive=False, verbosity=0)
        assert migrated == ["pendingco"]
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pendingco.django_migrations WHERE app = %s AND name = %s", [app, name])
            assert cursor.fetchone()[0] == 1
    finally:
        schema_migrated.disconnect(record)
        connection.set_schema_to_public()
        with schema_context("public"):
            Seller.objects.get(pk=seller.pk).delete(force_drop=True)
