import sys

from django.core.management.base import BaseCommand, CommandError

from imports.errors import Refusal
from imports.models import ImportStatus
from imports.services import runs
from imports.services import undo as undo_service
from users.selectors import district_admin_find

from ._common import add_job_arguments, get_job, send_owed_emails

PREVIEW_LINES = 50


class Command(BaseCommand):
    help = (
        "Undo a finished import: disable the users it created, put back the fields it changed (not passwords, "
        "not fields changed since) and take back its group additions. Asks nothing; --dry-run only shows what it would do."
    )

    def add_arguments(self, parser):
        add_job_arguments(parser)
        parser.add_argument("--dry-run", action="store_true", help="Show what the undo would do; change nothing.")
        parser.add_argument("--now", action="store_true", help="Run the undo at once in this process, emails included.")
        parser.add_argument("--as", dest="as_user", metavar="USERNAME", help="Requesting admin; gets the completion email.")

    def handle(self, *args, **opts):
        job = get_job(opts)
        admin = None
        if opts["as_user"]:
            admin = district_admin_find(district=job.district, username=opts["as_user"])
            if admin is None:
                raise CommandError(f'No district administrator "{opts["as_user"]}" in {job.district.slug}.')
        refusal = undo_service.undo_refusal(job=job)
        if refusal is not None:
            raise CommandError(str(refusal))
        if opts["dry_run"]:
            self._preview(job)
            return
        try:
            undo = undo_service.import_undo_request(job=job, requested_by=admin, dispatch=not opts["now"])
        except Refusal as exc:
            raise CommandError(str(exc))
        if not opts["now"]:
            self.stdout.write(f"Import {undo.number} will undo import {job.number}; a worker runs it now.")
            return
        if runs.import_job_run(job_id=undo.id, queue_emails=False) is None:
            raise CommandError(f"Import {undo.number} (undo of import {job.number}) was taken by a worker; see list_imports.")
        send_owed_emails(undo, self.stderr)
        self.stdout.write(f"Import {undo.number} (undo of import {job.number}): {undo.get_status_display()} {undo.counts}")
        if undo.status == ImportStatus.FAILED:
            self.stderr.write(undo.failure_reason)
            sys.exit(1)

    def _preview(self, job):
        preview = undo_service.import_undo_preview(job=job, limit=PREVIEW_LINES)
        c = preview.counts
        write = self.stdout.write
        write(f"Undo of import {job.number} would (nothing is changed by --dry-run):")
        write(f"  disable {c['disabled']} user(s) the import created")
        write(f"  put back {c['reverted']} field(s) of {c['users_reverted']} user(s)")
        write(f"  skip {c['skipped']} field(s) changed since the import")
        write(f"  leave {c['passwords_kept']} password(s) as they are")
        write(f"  remove {c['group_removals']} custom-group membership(s)")
        for line in preview.skipped:
            write(f"skipped  {line['district_user_id']}  {line['field']}: the import set {line['after']!r}, now {line['current']!r} (kept)")
        for line in preview.reverts:
            write(f"revert   {line['district_user_id']}  {line['field']}: {line['current']!r} -> {line['before']!r}")
        for user in preview.disable:
            write(f"disable  {user['district_user_id']}  {user['username']}")
        for line in preview.group_removals:
            write(f"ungroup  {line['district_user_id']}  {line['group']}")
        for district_user_id in preview.passwords:
            write(f"password {district_user_id}  not reverted")
        if any(len(x) >= PREVIEW_LINES for x in (preview.skipped, preview.reverts, preview.disable, preview.group_removals)):
            write(f"(each list shows its first {PREVIEW_LINES} lines)")
