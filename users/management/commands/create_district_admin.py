import secrets

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from schools.management.districts import district_for_command
from users.services import district_admin_create


def generate_password() -> str:
    """A random password of 16 URL-safe characters (about 96 bits)."""
    return secrets.token_urlsafe(12)


class Command(BaseCommand):
    help = (
        "Create a district administrator: a staff user who may sign in and use Manage Classworks "
        "for that district only. Without --password a random password is generated and printed "
        "once; it is not stored anywhere in clear text, so pass it on now."
    )

    def add_arguments(self, parser):
        parser.add_argument("--district", required=True, metavar="SLUG", help="The district's slug.")
        parser.add_argument("--username", required=True, help="Sign-in name (unique across all districts).")
        parser.add_argument("--email", required=True, help="The admin's email address (import notices go here).")
        parser.add_argument("--first-name", default="", help="Shown in the top-right menu.")
        parser.add_argument("--last-name", default="", help="Shown in the top-right menu.")
        parser.add_argument(
            "--password",
            help="Initial password (checked by the password rules). Omit it to generate a random one.",
        )

    def handle(self, *args, district, username, email, first_name, last_name, password, **options):
        district_obj = district_for_command(district)
        generated = password is None
        if generated:
            password = generate_password()
        try:
            user = district_admin_create(
                district=district_obj,
                username=username,
                email=email,
                password=password,
                first_name=first_name,
                last_name=last_name,
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stdout.write(
            self.style.SUCCESS(f"Created district admin {user.username} for {district_obj.name} ({district_obj.slug}).")
        )
        if generated:
            self.stdout.write(f"Generated password (shown only this once): {password}")
