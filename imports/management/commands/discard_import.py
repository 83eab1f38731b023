from django.core.management.base import BaseCommand, CommandError

from imports.errors import Refusal
from imports.services import safety
from users.models import AuditAction
from users.services import audit_event_record

from ._common import add_actor_argument, add_job_arguments, get_actor, get_job


class Command(BaseCommand):
    help = "Discard an import that is on hold; nothing is written and its history row stays."

    def add_arguments(self, parser):
        add_job_arguments(parser)
        add_actor_argument(parser)

    def handle(self, *args, **opts):
        job = get_job(opts)
        actor = get_actor(opts, job.district)
        try:
            job = safety.import_job_discard(job=job)
        except Refusal as exc:
            raise CommandError(str(exc))
        audit_event_record(action=AuditAction.DISCARD, actor=actor, job=job, detail={"source": "discard_import"})
        self.stdout.write(f"Import {job.number} discarded.")
