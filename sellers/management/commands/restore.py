"""manage.py restore PATH [--replace]: a seller backup (.tar from `backup --seller`) or a whole-database
dump. See sellers.backup and the README's Backups section."""
import tarfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from sellers.backup import BackupError, database_restore, seller_restore


class Command(BaseCommand):
    help = "Restore a seller backup or a whole-database backup made by `manage.py backup`."

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--replace", action="store_true",
                            help="overwrite: the seller's current data, or for a database dump, every schema in it")

    def handle(self, *args, path, replace=False, **options):
        path = Path(path)
        if not path.exists():
            raise CommandError(f"{path} does not exist")
        try:
            if tarfile.is_tarfile(path):
                manifest = seller_restore(path, replace=replace)
                self.stdout.write(f"seller {manifest['seller']['subdomain']} restored from {path} (taken {manifest['taken_at']})")
                for table, before in manifest["counts"].items():
                    after = manifest["counts_after"][table]
                    self.stdout.write(f"  {table}: {after}" + ("" if after == before else f"  (backup said {before}!)"))
                if manifest["counts"] != manifest["counts_after"]:
                    raise CommandError("the restored row counts differ from the backup's")
            else:
                if not replace:
                    raise CommandError("restoring a whole database overwrites every seller in it: add --replace")
                database_restore(path)
                self.stdout.write(f"whole database restored from {path}")
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
