"""Claiming, running, retrying and dispatching jobs. Tasks call these; they hold no logic themselves."""
import datetime
import logging
import time

from django.db import transaction
from django.db.models import F, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from ..dispatch import HASH_PASSWORD_BATCH, RUN_IMPORT, SEND_IMPORT_EMAILS, enqueue_after_commit, enqueue_now
from ..errors import Refusal
from ..targets import own_run_target
from ..models import EmailKind, ImportEmail, ImportJob, ImportStatus, PasswordBatch, PasswordBatchStatus
from ..targets.base import district_lock
from .apply import ApplyOutcome, import_job_apply, import_job_complete
from .passwords import password_batch_hash
from .sources import ImportOptions, StreamStart, iter_user_rows, sources_for_job
from .classes import classes_after_users, classes_job_apply, classes_undo_apply
from .undo import import_undo_apply

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
# A running job writes a heartbeat at least every chunk; past this it is presumed dead and re-dispatched.
STALE_HEARTBEAT = datetime.timedelta(minutes=5)
# A dispatched job not started by then (broker restarted, message lost) is dispatched again.
REDISPATCH_AFTER = datetime.timedelta(minutes=10)
LOCK_RETRY_DELAY = datetime.timedelta(minutes=1)
WAITING_NOTE = "Waiting for another import of this district to finish."
FAILED_ATTEMPTS = (
    "The import's worker stopped {attempts} times before finishing (for example, the server restarted), "
    "so it was not tried again. Rows before row {row} were saved; run it again to finish."
)
FAILED_UNEXPECTED = "The import stopped at row {row} because of an internal error ({error}). Rows before it were saved."


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


def district_import_lock(district_id: int):
    """Only one import of a district applies at a time. Yields False when another holds it."""
    return district_lock(district_id)


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
        row = job.next_row or job.rows_committed + 1
        _fail(job, FAILED_ATTEMPTS.format(attempts=MAX_ATTEMPTS, row=row), row=row)
        _queue_completion_email(job, queue_emails)
        return job
    with district_import_lock(job.district_id) as acquired:
        if not acquired or _another_running(job):
            _wait_for_lock(job)
            return job
        try:
            # A worker fans password hashing out to other workers; a run in one process hashes inline.
            if job.undo_of_id:  # an undo is a job too: same claim, lock, retries and completion email
                _undo(job)
            elif own_run_target(job.import_type):  # a type that writes through a target of its own
                classes_job_apply(job=job)
            else:
                outcome = import_job_apply(job=job, hash_inline=not queue_emails).outcome
                if outcome == ApplyOutcome.HELD:
                    return job
                if outcome == ApplyOutcome.PASSWORDS_PENDING:
                    password_batches_dispatch(job=job)
                    return job
                classes_after_users(job=job)
        except Refusal as exc:
            job.refresh_from_db()
            if job.status == ImportStatus.RUNNING:
                _fail(job, str(exc), row=job.rows_committed + 1 if job.rows_committed else None)
        except Exception as exc:  # a fault: keep the committed chunks, record where it stopped
            # Only the exception's type is logged: its text may quote a row of student data.
            job.refresh_from_db()
            row = getattr(exc, "failed_row", None) or job.next_row or job.rows_committed + 1
            logger.error("import %s failed at row %s: %s", job.id, row, type(exc).__name__)
            _fail(job, FAILED_UNEXPECTED.format(row=row, error=type(exc).__name__), row=row)
    job.refresh_from_db()
    # Not when another run took the job over (this worker was presumed dead): that run sends it.
    if job.is_finished:
        _queue_completion_email(job, queue_emails)
    return job


def _undo(job: ImportJob) -> None:
    original = job.undo_of
    if own_run_target(original.import_type):
        classes_undo_apply(job=job, complete=True)
        return
    if original.also_classes:  # the classes first: they name the users the undo disables
        classes_undo_apply(job=job, complete=False)
    import_undo_apply(job=job)


def _queue_completion_email(job: ImportJob, queue: bool) -> None:
    if job.created_by_id:
        ImportEmail.objects.get_or_create(job=job, kind=EmailKind.COMPLETION, user_id=job.created_by_id)
    if queue:
        enqueue_after_commit(SEND_IMPORT_EMAILS, job.id)


def import_jobs_dispatch_due(*, now=None) -> list[int]:
    """Hand due Scheduled jobs, and Running jobs whose worker died, to the workers. A claim makes a double dispatch harmless."""
    now = now or timezone.now()
    due = ImportJob.objects.filter(
        Q(status=ImportStatus.SCHEDULED, run_after__lte=now)
        & (Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=now - REDISPATCH_AFTER))
        | Q(status=ImportStatus.RUNNING, heartbeat_at__lt=now - STALE_HEARTBEAT)
    ).values_list("id", flat=True)
    ids = list(due)
    for job_id in ids:
        ImportJob.objects.filter(id=job_id).update(dispatched_at=now)
        enqueue_now(RUN_IMPORT, job_id)
    return ids


STALE_BATCH = datetime.timedelta(minutes=10)
HASHING_NOTE = "Setting passwords: {done} of {total} rows ({rate:.1f} per second)."


def password_batches_dispatch(*, job: ImportJob) -> int:
    """Hand every unfinished password batch to the workers (a batch whose worker died included)."""
    stale = timezone.now() - STALE_BATCH
    PasswordBatch.objects.filter(job=job, status=PasswordBatchStatus.RUNNING, claimed_at__lt=stale).update(
        status=PasswordBatchStatus.PENDING
    )
    ids = list(PasswordBatch.objects.filter(job=job, status=PasswordBatchStatus.PENDING).values_list("id", flat=True))
    ImportJob.objects.filter(id=job.id).update(status_note=HASHING_NOTE.format(done=0, total=_batch_rows(job), rate=0))
    for batch_id in ids:
        enqueue_after_commit(HASH_PASSWORD_BATCH, batch_id)
    return len(ids)


def _batch_rows(job: ImportJob, **status) -> int:
    """The rows the password batches read: a batch's slice ends at the file's last row, not HASH_BATCH_ROWS past its start."""
    rows = ImportJob.objects.values_list("rows_total", flat=True).get(id=job.id)
    batches = PasswordBatch.objects.filter(job=job, **status).only("start_index", "end_index")
    return sum(max(0, min(b.end_index, rows or b.end_index) - b.start_index) for b in batches)


def password_batch_run(*, batch_id: int) -> None:
    """Hash one batch; the last batch to finish completes the job."""
    now = timezone.now()
    claimed = PasswordBatch.objects.filter(id=batch_id, status=PasswordBatchStatus.PENDING).update(
        status=PasswordBatchStatus.RUNNING, claimed_at=now
    )
    if not claimed:
        return
    batch = PasswordBatch.objects.select_related("job__district").get(id=batch_id)
    job = batch.job
    start = StreamStart.from_json(batch.start) if batch.start else None  # none: planned before starts were kept
    # One row at a time: the batch stops at its slice's end, and no row past it is built.
    rows = iter_user_rows(sources_for_job(job), ImportOptions.from_job(job), start=start, block_rows=1)
    started = time.monotonic()
    hashed = password_batch_hash(batch=batch, rows=enumerate((row for _, row in rows), start.index if start else 0))
    seconds = time.monotonic() - started
    PasswordBatch.objects.filter(id=batch_id).update(status=PasswordBatchStatus.DONE, hashed=hashed, seconds=seconds)
    done = PasswordBatch.objects.filter(job=job, status=PasswordBatchStatus.DONE)
    totals = done.aggregate(hashed=Sum("hashed"), seconds=Sum("seconds"))
    rate = (totals["hashed"] or 0) / totals["seconds"] if totals["seconds"] else 0.0
    ImportJob.objects.filter(id=job.id).update(
        heartbeat_at=timezone.now(),
        status_note=HASHING_NOTE.format(done=_batch_rows(job, status=PasswordBatchStatus.DONE), total=_batch_rows(job), rate=rate),
    )
    if PasswordBatch.objects.filter(job=job).exclude(status=PasswordBatchStatus.DONE).exists():
        return
    if import_job_complete(job=job):
        classes_after_users(job=job)  # the upload's classes, after its users, before the email says it is done
        job.refresh_from_db()
        _queue_completion_email(job, True)
