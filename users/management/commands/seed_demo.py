from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from users.services import DEMO_ADMIN_PASSWORD, DEMO_SLUG, demo_seed


class Command(BaseCommand):
    help = (
        f"Create or refresh the demo district (slug '{DEMO_SLUG}') with schools, staff, students, "
        "custom groups and a district admin, then print how to sign in. Safe to run again: nothing "
        "is duplicated, and the admin's password is reset to the one printed."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--password",
            default=DEMO_ADMIN_PASSWORD,
            help=f"The demo admin's password (default: {DEMO_ADMIN_PASSWORD}).",
        )

    def handle(self, *args, password, **options):
        try:
            seed = demo_seed(password=password)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stdout.write(self.style.SUCCESS(f"Demo district ready: {seed.district.name} ({seed.district.slug})."))
        self.stdout.write(f"Sign in at: {seed.login_url}")
        self.stdout.write(f"Username:   {seed.admin.username}")
        self.stdout.write(f"Password:   {seed.password}")
