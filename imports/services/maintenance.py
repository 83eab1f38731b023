"""Housekeeping run by beat: abandoned drafts and student files past their retention."""
import datetime

from django.conf import settings
from django.utils import timezone

from ..models import FINISHED_STATUSES, EmailKind, EmailStatus, ImportEmail, ImportJob, ImportStatus
from .jobs import import_files_purge, import_job_close


def drafts_purge_stale(*, now=None) -> int:
    """Delete drafts untouched for IMPORT_DRAFT_MAX_AGE_HOURS, with their files."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(hours=settings.IMPORT_DRAFT_MAX_AGE_HOURS)
    stale = list(ImportJob.objects.filter(status=ImportStatus.DRAFT, updated_at__lt=cutoff))
    for job in stale:
        import_job_close(job=job)
    return len(stale)


def files_purge_expired(*, now=None) -> int:
    """Delete files of finished jobs older than their district's retention; the history row stays."""
    now = now or timezone.now()
    purged = 0
    jobs = ImportJob.objects.filter(status__in=FINISHED_STATUSES, files__deleted_at__isnull=True).select_related("district").distinct()
    for job in jobs:
        finished = job.completed_at or job.updated_at
        if finished + datetime.timedelta(days=job.district.file_retention_days) <= now:
            import_files_purge(job=job)
            purged += 1
    return purged


INTERRUPTED_SEND = "The send was interrupted (the worker stopped); it may not have arrived."
STUCK_SEND_AFTER = datetime.timedelta(hours=1)


def emails_mark_interrupted(*, now=None) -> int:
    """An email claimed for sending whose worker died is never sent twice, but it is shown as failed."""
    now = now or timezone.now()
    stuck = ImportEmail.objects.filter(status=EmailStatus.SENDING, updated_at__lt=now - STUCK_SEND_AFTER)
    job_ids = set(stuck.filter(kind=EmailKind.COMPLETION).values_list("job_id", flat=True))
    marked = stuck.update(status=EmailStatus.FAILED, last_error=INTERRUPTED_SEND, updated_at=now)
    ImportJob.objects.filter(id__in=job_ids).update(completion_email_error=INTERRUPTED_SEND)
    return marked
