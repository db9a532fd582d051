"""manage.py backup [--seller SUBDOMAIN] [--output PATH]: one seller (its schema and public rows) or
the whole database. See sellers.backup and the README's Backups section."""
from datetime import datetime, timezone
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from sellers.backup import (
    PRIVATE_DIR,
    BackupError,
    database_backup,
    private_dir,
    seller_backup,
)


class Command(BaseCommand):
    help = "Back up one seller (--seller) or the whole database to a file."

    def add_arguments(self, parser):
        parser.add_argument("--seller", help="subdomain of the seller to back up; without it, the whole database")
        parser.add_argument("--output", help="file to write (default: .var/backups/<seller or database>-<UTC time>.tar|.dump)")

    def handle(self, *args, seller=None, output=None, **options):
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        default_dir = Path(settings.BASE_DIR) / ".var" / "backups"
        if not output:  # backups made before it was private become so too
            private_dir(default_dir).chmod(PRIVATE_DIR)
        try:
            if seller:
                path = Path(output or default_dir / f"{seller}-{stamp}.tar")
                manifest = seller_backup(seller, path)
                counts = ", ".join(f"{table} {n}" for table, n in manifest["counts"].items())
                self.stdout.write(f"seller {seller} (schema {manifest['schema']}) backed up to {path}\n  {counts}")
            else:
                path = Path(output or default_dir / f"database-{stamp}.dump")
                database_backup(path)
                self.stdout.write(f"whole database backed up to {path}")
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"  {path.stat().st_size / 1e6:.1f} MB")
