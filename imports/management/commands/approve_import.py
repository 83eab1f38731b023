from django.core.management.base import BaseCommand, CommandError

from imports.errors import Refusal
from imports.services import safety
from users.models import AuditAction
from users.services import audit_event_record

from ._common import add_actor_argument, add_job_arguments, get_actor, get_job


class Command(BaseCommand):
    help = "Approve an import that is on hold because it changes too much of the district; it is then scheduled."

    def add_arguments(self, parser):
        add_job_arguments(parser)
        add_actor_argument(parser)

    def handle(self, *args, **opts):
        job = get_job(opts)
        actor = get_actor(opts, job.district)
        try:
            job = safety.import_job_approve(job=job, approved_by=actor)
        except Refusal as exc:
            raise CommandError(str(exc))
        audit_event_record(action=AuditAction.APPROVE, actor=actor, job=job, detail={"source": "approve_import"})
        self.stdout.write(f"Import {job.number} approved; it starts {job.run_after:%Y-%m-%d %H:%M %Z}.")
