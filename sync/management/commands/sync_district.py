import sys

from django.core.management.base import BaseCommand, CommandError

from imports.management.commands._common import get_district
from sync import services
from sync.models import SyncRunStatus

FAILED = (SyncRunStatus.FAILED,)


class Command(BaseCommand):
    help = (
        "Sync one district now, in this process: fetch its roster (drop folder or OneRoster API), import it and "
        "print the delta counts. Exits 1 when the fetch or the run fails, 2 when the district was busy."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug", metavar="SLUG")
        parser.add_argument("--now", action="store_true", help="Run now (the default for this command; kept for scripts).")
        parser.add_argument("--dry-run", action="store_true", help="Fetch, validate and print what would change; write nothing.")

    def handle(self, *args, slug, dry_run=False, **opts):
        district = get_district(slug)
        try:
            run = services.sync_run(district=district, trigger="command", dry_run=dry_run)
        except services.SyncRefused as exc:
            raise CommandError(str(exc))
        if run.received:
            self.stdout.write(f"Received: {run.received}")
        for import_type, delta in (run.delta or {}).items():
            if delta:
                number = f"import {delta['number']}, " if delta.get("number") and not dry_run else ""
                self.stdout.write(f"{import_type}: {number}{services.delta_line(delta)}")
                if delta.get("updated_fields"):
                    self.stdout.write("  updated fields: " + ", ".join(f"{k} {v}" for k, v in delta["updated_fields"].items()))
        status = run.get_status_display()
        if run.status == SyncRunStatus.HELD:
            self.stdout.write(f"Held: {run.message} Approve or discard it in Import History (or approve_import/discard_import).")
            return
        if run.status in FAILED:
            self.stderr.write(f"{status}: {run.message}")
            sys.exit(1)
        if run.status == SyncRunStatus.BUSY:
            self.stderr.write(f"{status}: {run.message}")
            sys.exit(2)
        self.stdout.write(f"{status}." + (f" {run.message}" if run.message else ""))
