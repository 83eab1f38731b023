import csv

from django.core.management.base import BaseCommand

from classes.selectors import class_export_rows
from core.csv_safety import CommandLineWriter, safe_cell
from schools.management.districts import district_for_command
from users.models import AuditAction
from users.services import audit_event_record

HEADINGS = ("Class SIS ID", "Class Name", "School SIS ID", "Teacher District IDs", "Student District IDs")
ID_SEPARATOR = ";"


class Command(BaseCommand):
    help = (
        "Export every class of a district, one row each, with the headings: " + ", ".join(HEADINGS)
        + f". The District IDs are sorted and joined by '{ID_SEPARATOR}'. A cell starting with =, +, -, @, tab or "
        "carriage return gets a leading ' so a spreadsheet never runs it as a formula."
    )

    def add_arguments(self, parser):
        parser.add_argument("--district", required=True, metavar="SLUG")
        parser.add_argument("--format", dest="file_format", choices=["csv"], default="csv")
        parser.add_argument("-o", "--output", metavar="PATH", help="Write to this file instead of standard output.")

    def handle(self, *args, district, file_format, output, **options):
        district_obj = district_for_command(district)
        out = open(output, "w", encoding="utf-8", newline="") if output else CommandLineWriter(self.stdout)  # noqa: SIM115
        try:
            writer = csv.writer(out)
            writer.writerow(HEADINGS)
            count = 0
            for sis_id, name, school, teachers, students in class_export_rows(district=district_obj):
                writer.writerow([safe_cell(v) for v in (sis_id, name, school, ID_SEPARATOR.join(teachers), ID_SEPARATOR.join(students))])
                count += 1
        finally:
            if output:
                out.close()
        audit_event_record(action=AuditAction.EXPORT_CLASSES, district=district_obj, detail={"classes": count, "to_file": bool(output)})
        if output:
            self.stdout.write(f"Wrote {count} classes of {district_obj.name} to {output}.")
