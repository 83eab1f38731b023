from django.core.management.base import BaseCommand, CommandError

from imports.services import safety

from ._common import add_job_arguments, get_job


class Command(BaseCommand):
    help = "Discard an import that is on hold; nothing is written and its history row stays."

    def add_arguments(self, parser):
        add_job_arguments(parser)

    def handle(self, *args, **opts):
        try:
            job = safety.import_job_discard(job=get_job(opts))
        except ValueError as exc:
            raise CommandError(str(exc))
        self.stdout.write(f"Import {job.number} discarded.")
