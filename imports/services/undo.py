"""Undo a finished import: disable the users it created, put back the fields it changed, take
back its custom-group additions.

An undo is an ImportJob of its own (`undo_of` names the undone import), claimed and run by
runs.import_job_run like any import, so it has a status, a completion email and a history row.
It commits a batch of users at a time, with a heartbeat, and logs each user it touched; a re-run
after a crash skips the users already logged, so nothing is done twice.

Never reverted: a field changed again since the import (a later import or a hand edit), which
is reported as skipped with its current value, and passwords, whose old hash is not kept.
Created users are disabled, never deleted, so nothing a student did is lost. A protected account
(users.protection: made an administrator since, say) is never disabled or edited: it is listed as skipped.
"""
from collections import Counter

from django.db import IntegrityError, transaction
from django.utils import timezone

from users.models import AuditAction
from users.services import audit_event_record

from ..dispatch import RUN_IMPORT, enqueue_on_commit
from ..models import ImportChange, ImportJob, ImportStatus, WizardStep
from ..targets import get_target
from ..targets.users_undo import (  # noqa: F401  (importable here as before)
    ACTIVE, ACTIVE_KEY, DISABLED, FIELD_HEADINGS, GROUP_KEY, PASSWORD_KEY, PREVIEW_ITEMS, PROTECTED_NOTE, RECORD_FIELDS, REMOVED,
    REVERTED_FIELDS, UNDO_BATCH, FieldUndo, UndoPreview,
)
from ..types import get_spec
from .apply import ImportAborted, import_job_complete
from .classes import classes_touched, classes_undo_counts
from .jobs import ImportError_, import_job_create

UNDOABLE_STATUSES = (ImportStatus.COMPLETED, ImportStatus.COMPLETED_WITH_WARNINGS)
ERROR_NOT_FINISHED = "Only a completed import can be undone; import {number} is {status}."
ERROR_UNDO_OF_UNDO = "Import {number} is itself an undo and cannot be undone."
ERROR_ALREADY_UNDONE = "Import {number} was already undone (import {undo_number}, {status})."
ERROR_UNDO_STARTING = "Import {number} is being undone already."
ERROR_ANOTHER_RUNNING = "Another import of this district is running (import {running}). Undo it once that one has finished."
ERROR_NOTHING_TO_UNDO = "Import {number} created, changed and grouped nobody, so there is nothing to undo."
ERROR_NOT_AN_UNDO = "This job is not an undo."
ERROR_STOPPED = "The undo was stopped while it ran."
BATCH_COUNTS = ("users", "disabled", "reverted", "skipped", "group_removals")


class UndoRefused(ImportError_):
    """An undo that may not start; `code` is stable for callers, the message is for the admin."""

    def __init__(self, message: str, *, code: str):
        super().__init__(message, code=code)


def _target(job: ImportJob):
    return get_target(get_spec(job.import_type))


def import_undo_preview(*, job: ImportJob, limit: int = PREVIEW_ITEMS) -> UndoPreview:
    """What undoing the import would do now: whole counts, and the first `limit` lines of each list."""
    preview = _target(job).undo_preview(job=job, limit=limit)
    preview.counts.update(classes_undo_counts(job=job))
    return preview


def undo_refusal(*, job: ImportJob) -> UndoRefused | None:
    """Why this import may not be undone now, or None."""
    if job.undo_of_id:
        return UndoRefused(ERROR_UNDO_OF_UNDO.format(number=job.number), code="undo_of_undo")
    existing = job.live_undo
    if existing is not None:
        return UndoRefused(
            ERROR_ALREADY_UNDONE.format(number=job.number, undo_number=existing.number, status=existing.get_status_display()),
            code="already_undone",
        )
    if job.status not in UNDOABLE_STATUSES:
        return UndoRefused(
            ERROR_NOT_FINISHED.format(number=job.number, status=job.get_status_display()), code="not_finished"
        )
    running = ImportJob.objects.filter(district_id=job.district_id, status=ImportStatus.RUNNING).exclude(id=job.id).first()
    if running is not None:
        return UndoRefused(ERROR_ANOTHER_RUNNING.format(running=running.number), code="another_running")
    return None


# ---- writes ----


def import_undo_request(*, job: ImportJob, requested_by=None, request=None, now=None, dispatch: bool = True) -> ImportJob:
    """Create the undo job for a finished import, due now, and hand it to a worker. Raises UndoRefused."""
    now = now or timezone.now()
    refusal = undo_refusal(job=job)
    if refusal is not None:
        raise refusal
    users = _target(job).touched(job=job) + classes_touched(job=job)
    if not users:
        raise UndoRefused(ERROR_NOTHING_TO_UNDO.format(number=job.number), code="nothing_to_undo")
    try:
        with transaction.atomic():
            undo = import_job_create(
                district=job.district, created_by=requested_by, description=f"Undo of import {job.number}",
                import_type=job.import_type,
            )
            undo.undo_of = job
            undo.status = ImportStatus.SCHEDULED
            undo.step = WizardStep.REVIEW
            # Dispatched now either way: without `dispatch` the caller runs it at once (--now), and the
            # sweeper only takes it over if neither a worker nor that process has claimed it for a while.
            undo.submitted_at = undo.run_after = undo.dispatched_at = now
            undo.rows_total = users
            undo.save()
            audit_event_record(
                action=AuditAction.UNDO, actor=requested_by, district=job.district, request=request, job=job,
                detail={"undo_job": undo.number, "users": users},
            )
            if dispatch:
                enqueue_on_commit(RUN_IMPORT, undo.id)
    except IntegrityError:  # a second request raced this one past the check: one_undo_per_import
        raise undo_refusal(job=job) or UndoRefused(ERROR_UNDO_STARTING.format(number=job.number), code="already_undone")
    return undo


def import_undo_apply(*, job: ImportJob) -> None:
    """Run a claimed (Running) undo job to its end, a committed batch at a time, then complete it.

    Called by runs.import_job_run, which holds the claim and the district lock. A re-run resumes
    after the users an earlier attempt logged; raises ImportAborted when the job was stopped meanwhile.
    """
    if not job.undo_of_id:
        raise ValueError(ERROR_NOT_AN_UNDO)
    original = ImportJob.objects.select_related("district").get(id=job.undo_of_id)
    # Counts of batches committed by an earlier attempt stay; this attempt adds its own.
    counts = Counter({k: v for k, v in (job.counts or {}).items() if k in BATCH_COUNTS})
    batches = _target(original).undo(job=original, undo_job=job)
    while True:
        with transaction.atomic():
            done = next(batches, None)  # the batch's reads and writes run here, inside this transaction
            if done is None:
                break
            counts.update(done)
            _checkpoint(job, counts)
    counts["passwords_kept"] = ImportChange.objects.filter(job=original, changes__has_key=PASSWORD_KEY).count()
    counts["warnings"] = counts["skipped"]
    with transaction.atomic():
        _checkpoint(job, counts)
        if not import_job_complete(job=job):
            transaction.set_rollback(True)
            raise ImportAborted(ERROR_STOPPED)


def _checkpoint(job: ImportJob, counts: Counter) -> None:
    """Record the batch's counts and a heartbeat; undo the batch if the job was stopped or taken over."""
    updated = ImportJob.objects.filter(id=job.id, status=ImportStatus.RUNNING).update(
        counts={k: counts[k] for k in (*BATCH_COUNTS, "passwords_kept", "warnings")},
        rows_done=min(counts["users"], job.rows_total), heartbeat_at=timezone.now(), status_note="",
    )
    if not updated:
        transaction.set_rollback(True)
        raise ImportAborted(ERROR_STOPPED)

