from django.core.management.base import BaseCommand

from imports.models import ImportType
from imports.selectors import import_job_list

from ._common import get_district


class Command(BaseCommand):
    help = "List a district's imports with type, status and progress, newest first."

    def add_arguments(self, parser):
        parser.add_argument("--district", required=True, metavar="SLUG")

    def handle(self, *args, **opts):
        district = get_district(opts["district"])
        width = max([len("Type"), *(len(label) for _, label in ImportType.choices)])
        self.stdout.write(f"{'No.':>5}  {'Type':<{width}}  {'Status':<24} {'Progress':>19}  {'Completed':<17} Description")
        for job in import_job_list(district=district):
            progress = f"{job.rows_done}/{job.rows_total} {job.progress_percent:>3}%"
            done = job.completed_at.astimezone(district.tzinfo).strftime("%Y-%m-%d %H:%M") if job.completed_at else ""
            self.stdout.write(
                f"{job.number:>5}  {job.get_import_type_display():<{width}}  {job.get_status_display():<24} {progress:>19}  "
                f"{done:<17} {job.description}"
            )
            if job.status_note:
                self.stdout.write(f"       {job.status_note}")
