from django.core.management.base import BaseCommand, CommandError

from imports.services import safety

from ._common import add_job_arguments, get_job


class Command(BaseCommand):
    help = "Approve an import that is on hold because it changes too much of the district; it is then scheduled."

    def add_arguments(self, parser):
        add_job_arguments(parser)

    def handle(self, *args, **opts):
        try:
            job = safety.import_job_approve(job=get_job(opts))
        except ValueError as exc:
            raise CommandError(str(exc))
        self.stdout.write(f"Import {job.number} approved; it starts {job.run_after:%Y-%m-%d %H:%M %Z}.")
