from django.core.management.base import BaseCommand, CommandError

from core.csv_safety import CommandLineWriter
from schools.management.districts import district_for_command
from users.exports import FORMATS, user_export_headings, user_export_json, user_export_write_csv, user_export_xlsx
from users.models import AuditAction, User
from users.selectors import user_list
from users.services import audit_event_record

XLSX_NEEDS_OUTPUT = "xlsx is a binary format: give a file with -o PATH."
NO_SUCH_ADMIN = 'No district administrator "{username}" in {slug}.'


class Command(BaseCommand):
    @property
    def help(self) -> str:
        return (
            "Export every user of a district, one row each, with the headings: "
            + ", ".join(user_export_headings())
            + ". User Type is 0 for students and 1 for staff; flags are Y or N; custom groups are "
            "separated by ';'. In csv and xlsx, a cell starting with =, +, -, @, tab or carriage "
            "return gets a leading ' so a spreadsheet never runs it as a formula. Writes to standard "
            "output unless -o is given."
        )

    def add_arguments(self, parser):
        parser.add_argument("--district", required=True, metavar="SLUG", help="The district's slug.")
        parser.add_argument(
            "--format", dest="file_format", choices=FORMATS, default="csv", help="Output format (default: csv)."
        )
        parser.add_argument("-o", "--output", metavar="PATH", help="Write to this file instead of standard output.")
        parser.add_argument("--as", dest="as_user", metavar="USERNAME",
                            help="The district administrator the export is for; the audit trail names them.")

    def handle(self, *args, district, file_format, output, as_user=None, **options):
        if file_format == "xlsx" and not output:
            raise CommandError(XLSX_NEEDS_OUTPUT)
        district_obj = district_for_command(district)
        actor = None
        if as_user:
            actor = User.objects.filter(username=as_user, district=district_obj, is_district_admin=True).first()
            if actor is None:
                raise CommandError(NO_SUCH_ADMIN.format(username=as_user, slug=district_obj.slug))
        count = self._export(district_obj, file_format, output)
        # Every run is on the district's audit trail: it hands out every student's record.
        audit_event_record(
            action=AuditAction.EXPORT_USERS, actor=actor, district=district_obj,
            detail={"format": file_format, "users": count, "to_file": bool(output)},
        )
        if output:
            self.stdout.write(f"Wrote {district_obj.name} users to {output}.")

    def _export(self, district_obj, file_format: str, output: str | None) -> int:
        """Write the export; returns the number of users in it."""
        if file_format in ("xlsx", "json"):
            count = user_list(district=district_obj).count()
        if file_format == "xlsx":
            with open(output, "wb") as fh:
                fh.write(user_export_xlsx(district=district_obj))
        elif file_format == "json":
            text = user_export_json(district=district_obj)
            if output:
                with open(output, "w", encoding="utf-8") as fh:
                    fh.write(text)
            else:
                self.stdout.write(text)
        else:
            if output:
                with open(output, "w", encoding="utf-8", newline="") as fh:
                    count = user_export_write_csv(district=district_obj, stream=fh)
            else:
                count = user_export_write_csv(district=district_obj, stream=CommandLineWriter(self.stdout))
        return count
