from django.core.management.base import BaseCommand, CommandError

from imports.models import ImportJob
from imports.services import safety

from ._common import get_district


class Command(BaseCommand):
    help = "Approve an import that is on hold because it changes too much of the district; it is then scheduled."

    def add_arguments(self, parser):
        parser.add_argument("number", type=int)
        parser.add_argument("--district", required=True, metavar="SLUG")

    def handle(self, *args, **opts):
        district = get_district(opts["district"])
        job = ImportJob.objects.filter(district=district, number=opts["number"]).first()
        if job is None:
            raise CommandError(f"No import {opts['number']} in {district.slug}.")
        try:
            job = safety.import_job_approve(job=job)
        except ValueError as exc:
            raise CommandError(str(exc))
        self.stdout.write(f"Import {job.number} approved; it starts {job.run_after:%Y-%m-%d %H:%M %Z}.")
