from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from schools.management.districts import district_for_command
from schools.resources import HEADING_NAME, HEADING_SIS_ID, school_dataset_from_file
from schools.services import school_import

FILE_NOT_FOUND = "Cannot read {path}: {error}"
COLUMN_FOR_FIELD = {"name": HEADING_NAME, "sis_id": HEADING_SIS_ID}
IMPORT_FAILED = "Nothing was imported: {count} row(s) have problems."


class Command(BaseCommand):
    help = (
        "Create or update a district's schools from a CSV file with the headings 'Name,SIS ID', or a roster export's school list "
        "(SDS School.csv, OneRoster or SDS orgs.csv: the orgs of type school, Clever schools.csv). "
        "Schools are matched by SIS ID, so running it again updates names instead of adding duplicates. "
        "If any row has a problem, nothing is saved."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="Path to the CSV file (headings: Name,SIS ID).")
        parser.add_argument("--district", required=True, metavar="SLUG", help="The district's slug.")
        parser.add_argument("--dry-run", action="store_true", help="Check the file and report counts, save nothing.")

    def handle(self, *args, file, district, dry_run, **options):
        district_obj = district_for_command(district)
        try:
            dataset = school_dataset_from_file(file)
        except OSError as exc:
            raise CommandError(FILE_NOT_FOUND.format(path=file, error=exc.strerror or exc)) from exc
        try:
            result = school_import(district=district_obj, dataset=dataset, dry_run=dry_run)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc

        # Data row N is line N + 1 of the file, after the heading line.
        problems = [f"File: {err.error}" for err in result.base_errors]
        for error_row in result.error_rows:
            problems.extend(f"Line {error_row.number + 1}: {err.error}" for err in error_row.errors)
        for invalid in result.invalid_rows:
            messages = "; ".join(
                f"{COLUMN_FOR_FIELD.get(field, field)}: {' '.join(msgs)}" for field, msgs in invalid.error_dict.items()
            )
            problems.append(f"Line {invalid.number + 1}: {messages}")
        if problems:
            for problem in problems:
                self.stderr.write(problem)
            raise CommandError(IMPORT_FAILED.format(count=len(problems)))

        totals = result.totals
        prefix = "Dry run, nothing saved: " if dry_run else ""
        self.stdout.write(
            self.style.SUCCESS(
                f"{prefix}{totals['new']} created, {totals['update']} updated, {totals['skip']} unchanged "
                f"({district_obj.name})."
            )
        )
