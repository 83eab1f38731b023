from django.core.management.base import BaseCommand

from imports.services.runs import import_jobs_dispatch_due


class Command(BaseCommand):
    help = "Dispatch imports that are due (what the periodic scheduler runs every minute)."

    def handle(self, *args, **opts):
        ids = import_jobs_dispatch_due()
        self.stdout.write(f"Dispatched {len(ids)} import(s).")
