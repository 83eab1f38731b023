import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from imports.models import ImportJob, ImportStatus
from imports.services import runs

from ._common import add_job_arguments, get_job, send_owed_emails


class Command(BaseCommand):
    help = "Run one scheduled import now, in this process, emails included. A failed import resumes after its last committed chunk."

    def add_arguments(self, parser):
        add_job_arguments(parser)

    def handle(self, *args, **opts):
        job = get_job(opts)
        if job.status == ImportStatus.SCHEDULED:
            ImportJob.objects.filter(id=job.id).update(run_after=timezone.now())
        if runs.import_job_run(job_id=job.id, queue_emails=False, retry_failed=True) is None:
            raise CommandError(f"Import {job.number} is {job.get_status_display()} and cannot be run now.")
        send_owed_emails(job, self.stderr)
        self.stdout.write(f"Import {job.number}: {job.get_status_display()} {job.counts}")
        if job.status == ImportStatus.FAILED:
            self.stderr.write(job.failure_reason)
            sys.exit(1)
