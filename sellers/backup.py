"""Backups with PostgreSQL's own tools (pg_dump / pg_restore, from the pgserver package so their
version is never older than the server's).

- A **seller** is its schema plus its rows in the public schema (the Seller and its Domains). Its
  backup is one tar file: `manifest.json` (those rows, the row counts of its main tables, when and
  from which database version) and `schema.dump` (pg_dump's custom format of the schema alone).
  Restoring recreates the public rows when the seller is gone (same id and subdomain), or, with
  `replace`, moves the seller's current schema aside and drops it once the restore succeeded;
  pg_restore runs in one transaction and a failure puts the old schema back.
- The **whole database** is one pg_dump custom-format file; restoring it (`--clean --if-exists`)
  puts every schema back as it was in the dump.
- A backup holds everything a seller owns, so only its owner may read it: files are 0600 and the
  folders we create 0700 (the default `.var/backups` too), whatever the umask. It holds no live
  sessions and no django-axes lockout rows: their tables come back empty, so a stolen backup
  signs nobody in and a restore signs everyone out.
"""
from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from django.db import connection, transaction
from django_tenants.utils import schema_context

FORMAT = 1
# Tables backed up without their rows (pg_dump patterns, per schema): live sessions (a session key
# is as good as a password) and django-axes' attempts and lockouts (bookkeeping of the moment).
NO_DATA_TABLES = ("django_session", "axes_*")
PRIVATE_FILE, PRIVATE_DIR = 0o600, 0o700
# Counted into the manifest and checked after a restore.
COUNTED_TABLES = ("orders_order", "orders_orderline", "orders_shipment", "commissions_journalentry", "commissions_posting",
                  "commissions_commissionline", "commissions_statement", "commissions_payoutbatch", "inventory_sku",
                  "inventory_stockmove", "creators_creator", "accounts_user")


class BackupError(Exception):
    pass


def pg_tool(name: str) -> str:
    try:
        import pgserver

        candidate = Path(pgserver.__file__).parent / "pginstall" / "bin" / name
        if candidate.exists():
            return str(candidate)
    except ImportError:
        pass
    found = shutil.which(name)
    if not found:
        raise BackupError(f"{name} not found (it comes with the pgserver package or PostgreSQL's client tools)")
    return found


def _libpq_env() -> dict[str, str]:
    s = connection.settings_dict
    env = dict(os.environ)
    host = s.get("HOST") or s.get("OPTIONS", {}).get("host", "")
    for key, value in (("PGHOST", host), ("PGPORT", str(s.get("PORT") or "")), ("PGUSER", s.get("USER") or ""),
                       ("PGPASSWORD", s.get("PASSWORD") or ""), ("PGDATABASE", s["NAME"])):
        if value:
            env[key] = value
        else:
            env.pop(key, None)
    return env


def _run(argv: list[str], *, stdout=subprocess.PIPE) -> None:
    done = subprocess.run(argv, env=_libpq_env(), stdout=stdout, stderr=subprocess.PIPE, umask=0o077)
    if done.returncode != 0:
        raise BackupError(f"{Path(argv[0]).name} failed: {done.stderr.decode(errors='replace').strip()[-2000:]}")


def private_dir(path: Path) -> Path:
    """`path` as a folder only its owner can open: created 0700 with any missing parents (folders
    that exist already are left as they are; the default backups folder is tightened by the caller)."""
    path = missing = Path(path)
    created = []
    while not missing.exists():
        created.append(missing)
        missing = missing.parent
    for folder in reversed(created):
        folder.mkdir(mode=PRIVATE_DIR)
        folder.chmod(PRIVATE_DIR)  # mkdir's mode passes through the umask
    return path


def _private_file(path: Path):
    """`path` opened for writing, readable by its owner only (also when it existed before)."""
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    os.fchmod(fd, PRIVATE_FILE)
    return os.fdopen(fd, "wb")


def _dump_argv(*schemas: str) -> list[str]:
    """pg_dump in custom format to stdout, without sessions and lockout rows (see NO_DATA_TABLES)."""
    argv = [pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-acl"]
    argv += [f"--schema={schema}" for schema in schemas]
    argv += [f"--exclude-table-data={schema}.{table}" for schema in (schemas or ("*",)) for table in NO_DATA_TABLES]
    return argv


def table_counts(schema: str) -> dict[str, int]:
    counts = {}
    with connection.cursor() as cursor:
        for table in COUNTED_TABLES:
            cursor.execute(f'SELECT count(*) FROM "{schema}"."{table}"')
            counts[table] = cursor.fetchone()[0]
    return counts


def _seller_rows(seller) -> dict:
    from sellers.models import Seller

    fields = {f.attname: getattr(seller, f.attname) for f in Seller._meta.concrete_fields}
    fields = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in fields.items()}
    domains = [{"domain": d.domain, "is_primary": d.is_primary} for d in seller.domains.all()]
    return {"seller": fields, "domains": domains}


def seller_backup(subdomain: str, path: Path) -> dict:
    """Write one seller's backup to `path`; returns the manifest."""
    from sellers.models import Seller

    with schema_context("public"):
        seller = Seller.objects.filter(subdomain=subdomain).first()
        if seller is None:
            raise BackupError(f"no seller with subdomain {subdomain!r}")
        manifest = {
            "format": FORMAT, "kind": "seller", "schema": seller.schema_name,
            "taken_at": datetime.now(timezone.utc).isoformat(), "server_version": connection.pg_version,
            **_seller_rows(seller), "counts": table_counts(seller.schema_name),
        }
    with tempfile.TemporaryDirectory() as tmp:
        dump = Path(tmp) / "schema.dump"
        with _private_file(dump) as out:
            _run(_dump_argv(seller.schema_name), stdout=out)
        with _private_file(Path(path)) as out, tarfile.open(fileobj=out, mode="w") as tar:
            data = json.dumps(manifest, indent=2).encode()
            info = tarfile.TarInfo("manifest.json")
            info.size, info.mode = len(data), PRIVATE_FILE
            tar.addfile(info, io.BytesIO(data))
            tar.add(dump, arcname="schema.dump", filter=_private_member)
    return manifest


def _private_member(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.mode, info.uid, info.gid, info.uname, info.gname = PRIVATE_FILE, 0, 0, "", ""
    return info


def read_manifest(path: Path) -> dict:
    try:
        with tarfile.open(path) as tar:
            manifest = json.load(tar.extractfile("manifest.json"))
    except (OSError, tarfile.TarError, KeyError, ValueError) as exc:
        raise BackupError(f"{path} is not a Fanout seller backup: {exc}") from exc
    if manifest.get("format") != FORMAT or manifest.get("kind") != "seller":
        raise BackupError(f"{path}: unknown backup format {manifest.get('format')!r}")
    return manifest


def seller_restore(path: Path, *, replace: bool = False) -> dict:
    """Restore a seller from `path`. Returns the manifest with the restored `counts_after`."""
    from sellers.models import Domain, Seller

    manifest = read_manifest(path)
    schema, fields = manifest["schema"], manifest["seller"]
    with schema_context("public"):
        existing = Seller.objects.filter(schema_name=schema).first()
        if existing is not None and not replace:
            raise BackupError(f"seller {existing.subdomain!r} exists; restore with --replace to overwrite it with the backup")
        clash = Seller.objects.filter(subdomain=fields["subdomain"]).exclude(schema_name=schema).first()
        if clash is not None:
            raise BackupError(f"subdomain {fields['subdomain']!r} now belongs to another seller (schema {clash.schema_name})")
    aside = f"{schema}_before_restore"[:63]
    with tempfile.TemporaryDirectory() as tmp, tarfile.open(path) as tar:
        tar.extract("schema.dump", tmp, filter="data")
        dump = Path(tmp) / "schema.dump"
        # pg_restore is another session, so what it needs is committed first: the public rows of a
        # seller that is gone, or the current schema moved aside (put back if the restore fails).
        with schema_context("public"), transaction.atomic():
            if existing is None:
                seller = Seller(**{k: v for k, v in fields.items() if k not in ("id", "created_at")})
                if not Seller.objects.filter(pk=fields["id"]).exists():
                    seller.pk = fields["id"]
                seller.auto_create_schema = False  # the schema comes from the dump
                seller.save()
                Seller.objects.filter(pk=seller.pk).update(created_at=datetime.fromisoformat(fields["created_at"]))
                for domain in manifest["domains"]:
                    Domain.objects.create(tenant=seller, domain=domain["domain"], is_primary=domain["is_primary"])
            with connection.cursor() as cursor:
                cursor.execute(f'DROP SCHEMA IF EXISTS "{aside}" CASCADE')
                cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema])
                if cursor.fetchone():
                    cursor.execute(f'ALTER SCHEMA "{schema}" RENAME TO "{aside}"')
        try:
            _run([pg_tool("pg_restore"), "--no-owner", "--no-acl", "--single-transaction", "--exit-on-error",
                  f"--dbname={connection.settings_dict['NAME']}", str(dump)])
        except BackupError:
            with schema_context("public"), transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [aside])
                if cursor.fetchone():
                    cursor.execute(f'ALTER SCHEMA "{aside}" RENAME TO "{schema}"')
                if existing is None:
                    Domain.objects.filter(tenant__schema_name=schema).delete()
                    Seller.objects.filter(schema_name=schema).delete()
            raise
        with connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA IF EXISTS "{aside}" CASCADE')
    from erp.middleware import CachedTenantMiddleware

    CachedTenantMiddleware._cache.clear()
    connection.set_schema_to_public()
    manifest["counts_after"] = table_counts(schema)
    return manifest


def database_backup(path: Path) -> None:
    """Every schema in one pg_dump file (owner-only, without sessions and lockout rows)."""
    with _private_file(Path(path)) as out:
        _run(_dump_argv(), stdout=out)


def database_restore(path: Path, *, dbname: str | None = None) -> None:
    """Restore a whole-database dump over the database in settings (or `dbname`, which must exist)."""
    if not Path(path).exists():
        raise BackupError(f"{path} does not exist")
    _run([pg_tool("pg_restore"), "--no-owner", "--no-acl", "--clean", "--if-exists", "--single-transaction", "--exit-on-error",
          f"--dbname={dbname or connection.settings_dict['NAME']}", str(path)])
