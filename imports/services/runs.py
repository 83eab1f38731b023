"""Claiming, running, retrying and dispatching jobs. Tasks call these; they hold no logic themselves."""
import datetime
import logging
from contextlib import contextmanager

from django.db import connection, transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from ..models import EmailKind, ImportEmail, ImportJob, ImportStatus
from .apply import ImportAborted, ImportHeld, import_job_apply

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
# A running job writes a heartbeat at least every chunk; past this it is presumed dead and re-dispatched.
STALE_HEARTBEAT = datetime.timedelta(minutes=5)
# A dispatched job not started by then (broker restarted, message lost) is dispatched again.
REDISPATCH_AFTER = datetime.timedelta(minutes=10)
LOCK_RETRY_DELAY = datetime.timedelta(minutes=1)
WAITING_NOTE = "Waiting for another import of this district to finish."
FAILED_ATTEMPTS = "The import stopped {attempts} times before finishing and was not tried again. Last error: {error}"
FAILED_UNEXPECTED = "The import stopped at row {row} because of an internal error ({error}). Rows before it were saved."
_LOCK_NAMESPACE = 7201


def import_job_claim(*, job_id: int, now=None, retry_failed: bool = False) -> ImportJob | None:
    """Take the job for this worker: a due Scheduled job, or a Running one whose worker died.

    retry_failed lets an operator resume a Failed job after its last committed chunk.
    """
    now = now or timezone.now()
    claimable = Q(status=ImportStatus.SCHEDULED, run_after__lte=now) | Q(
        status=ImportStatus.RUNNING, heartbeat_at__lt=now - STALE_HEARTBEAT
    )
    if retry_failed:
        claimable |= Q(status=ImportStatus.FAILED, rows_total__gt=0)
    claimed = ImportJob.objects.filter(claimable, id=job_id).update(
        status=ImportStatus.RUNNING, started_at=Coalesce(F("started_at"), now), heartbeat_at=now,
        attempts=F("attempts") + 1, status_note="", failure_reason="", failed_row=None,
    )
    return ImportJob.objects.select_related("district").get(id=job_id) if claimed else None


def _fail(job: ImportJob, reason: str, row: int | None = None) -> None:
    ImportJob.objects.filter(id=job.id).update(
        status=ImportStatus.FAILED, failure_reason=reason, failed_row=row, completed_at=timezone.now()
    )


@contextmanager
def district_import_lock(district_id: int):
    """Only one import of a district applies at a time. Yields False when another holds it."""
    if connection.vendor != "postgresql":
        yield True
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [_LOCK_NAMESPACE, district_id])
        acquired = cursor.fetchone()[0]
    try:
        yield acquired
    finally:
        if acquired:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [_LOCK_NAMESPACE, district_id])


def _another_running(job: ImportJob) -> bool:
    fresh = timezone.now() - STALE_HEARTBEAT
    return ImportJob.objects.filter(
        district_id=job.district_id, status=ImportStatus.RUNNING, heartbeat_at__gte=fresh
    ).exclude(id=job.id).exists()


def _wait_for_lock(job: ImportJob) -> None:
    ImportJob.objects.filter(id=job.id, status=ImportStatus.RUNNING).update(
        status=ImportStatus.SCHEDULED, run_after=timezone.now() + LOCK_RETRY_DELAY, status_note=WAITING_NOTE,
        attempts=F("attempts") - 1, dispatched_at=None,
    )


def import_job_run(*, job_id: int, queue_emails: bool = True, retry_failed: bool = False) -> ImportJob | None:
    """Claim and run one job to its end. Returns None when there was nothing to claim.

    A worker that dies is retried (by the sweeper) up to MAX_ATTEMPTS; an error inside the run
    fails the job at once with the row reached, since running the same data again would fail again.
    """
    job = import_job_claim(job_id=job_id, retry_failed=retry_failed)
    if job is None:
        return None
    if job.attempts > MAX_ATTEMPTS and not retry_failed:
        _fail(job, FAILED_ATTEMPTS.format(attempts=MAX_ATTEMPTS, error=job.failure_reason or "none recorded"),
              row=job.rows_committed + 1)
        _queue_completion_email(job, queue_emails)
        return job
    with district_import_lock(job.district_id) as acquired:
        if not acquired or _another_running(job):
            _wait_for_lock(job)
            return job
        try:
            import_job_apply(job=job)
        except ImportHeld:
            return job
        except ImportAborted as exc:
            job.refresh_from_db()
            if job.status == ImportStatus.RUNNING:
                _fail(job, str(exc), row=job.rows_committed + 1 if job.rows_committed else None)
        except Exception as exc:  # a fault: keep the committed chunks, record where it stopped
            # Only the exception's type is logged: its text may quote a row of student data.
            logger.error("import %s failed at row %s: %s", job.id, job.rows_committed + 1, type(exc).__name__)
            job.refresh_from_db()
            _fail(job, FAILED_UNEXPECTED.format(row=job.rows_committed + 1, error=type(exc).__name__), row=job.rows_committed + 1)
    job.refresh_from_db()
    # Not when another run took the job over (this worker was presumed dead): that run sends it.
    if job.is_finished:
        _queue_completion_email(job, queue_emails)
    return job


def _queue_completion_email(job: ImportJob, queue: bool) -> None:
    from ..tasks import send_import_emails

    if job.created_by_id:
        ImportEmail.objects.get_or_create(job=job, kind=EmailKind.COMPLETION, user_id=job.created_by_id)
    if queue:
        transaction.on_commit(lambda: send_import_emails.delay(job.id))


def import_jobs_dispatch_due(*, now=None) -> list[int]:
    """Hand due Scheduled jobs, and Running jobs whose worker died, to the workers. A claim makes a double dispatch harmless."""
    from ..tasks import run_import

    now = now or timezone.now()
    due = ImportJob.objects.filter(
        Q(status=ImportStatus.SCHEDULED, run_after__lte=now)
        & (Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=now - REDISPATCH_AFTER))
        | Q(status=ImportStatus.RUNNING, heartbeat_at__lt=now - STALE_HEARTBEAT)
    ).values_list("id", flat=True)
    ids = list(due)
    for job_id in ids:
        ImportJob.objects.filter(id=job_id).update(dispatched_at=now)
        run_import.delay(job_id)
    return ids
