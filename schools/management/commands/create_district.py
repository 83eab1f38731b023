from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from schools.services import district_create


class Command(BaseCommand):
    help = "Create a district. The slug names it in other commands (for example --district SLUG)."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="Short unique name: letters, digits, '-' or '_' (e.g. springfield).")
        parser.add_argument("--name", required=True, help='Display name, e.g. "Springfield Public Schools".')
        parser.add_argument(
            "--timezone",
            default="America/New_York",
            help="IANA time zone used for off-peak scheduling (default: America/New_York).",
        )

    def handle(self, *args, slug, name, timezone, **options):
        try:
            district = district_create(slug=slug, name=name, timezone=timezone)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stdout.write(
            self.style.SUCCESS(f"Created district {district.name} ({district.slug}, {district.timezone}).")
        )
