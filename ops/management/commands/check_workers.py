"""Exit non-zero when no Celery worker answers a ping or beat's heartbeat is stale (for a monitor or cron)."""
from celery import current_app as app  # the project's app (classworks_import/celery.py), without importing the project
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ops import services

NO_WORKER = "No Celery worker answered a ping within {timeout:g} s."
NO_BEAT = "Celery beat has never recorded a heartbeat: is exactly one `celery beat` running?"
STALE_BEAT = "Celery beat's last heartbeat was {minutes:.1f} minutes ago (more than {limit:g}): is beat running?"


class Command(BaseCommand):
    help = "Check that a Celery worker answers and that beat is alive; exit 1 naming what is wrong."

    def add_arguments(self, parser):
        parser.add_argument("--timeout", type=float, default=5.0, help="Seconds to wait for ping replies (default 5).")
        parser.add_argument(
            "--beat-max-age", type=float, default=settings.OPS_BEAT_MAX_AGE_MINUTES,
            help=f"Minutes since beat's heartbeat before it counts as down (default {settings.OPS_BEAT_MAX_AGE_MINUTES}).",
        )

    def handle(self, *args, timeout, beat_max_age, **options):
        problems = []
        replies = app.control.ping(timeout=timeout)
        workers = sorted(name for reply in replies for name in reply)
        if workers:
            self.stdout.write(f"Workers answering: {len(workers)} ({', '.join(workers)})")
        else:
            problems.append(NO_WORKER.format(timeout=timeout))

        age = services.heartbeat_age(name=services.BEAT)
        if age is None:
            problems.append(NO_BEAT)
        elif age.total_seconds() > beat_max_age * 60:
            problems.append(STALE_BEAT.format(minutes=age.total_seconds() / 60, limit=beat_max_age))
        else:
            self.stdout.write(f"Beat heartbeat: {age.total_seconds():.0f} s ago")

        if problems:
            raise CommandError(" ".join(problems))
        self.stdout.write("OK")
