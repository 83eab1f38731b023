"""The wizard's background pass: a claimed task per phase that stops when a newer choice supersedes it."""
import json
import logging
import secrets
from collections.abc import Callable
from datetime import timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone


from ... import selectors
from ...models import ImportIssue, ImportJob, ImportStatus, ValidationPhase
from ...types import get_spec
from ...pipeline.issues import Issue
from ...dispatch import VALIDATE_DRAFT, enqueue_on_commit
from ...errors import Refusal
from ...targets import own_run_target
from ..classes import job_classes_check, wizard_summary
from ..sources import ImportOptions, sources_for_job
from .result import store_issues
from .checking import validate_import
from .reuse import BuiltRows
from .values import file_value_counts_bounded, school_values_store

# --- The wizard's background pass -----------------------------------------------------------------
# Leaving Map Fields reads the School column's distinct values; leaving School Mapping validates.
# Both run as a task so that no request of the wizard does work that grows with the file. Each
# batch commits on its own (a short write: on SQLite other users can still sign in), and only
# while the job still asks for this pass: a newer mapping bumps the generation, a re-dispatch
# after a stall replaces the claim, and either way the older task stops at its next batch.

# No batch for this long: the task is presumed lost, and a reload or the sweeper dispatches it again.
VALIDATION_STALE_AFTER = timedelta(minutes=2)
DELETE_BATCH = 5000
ERROR_PASS_FAILED = "The file could not be checked because of an internal error. Go Back and Next to try again."

logger = logging.getLogger(__name__)


class Superseded(Exception):
    """A newer pass owns the job: this one stops without writing."""


def school_values_key(job: ImportJob) -> str:
    """What the stored values depend on: the School column (or one value for every row) and the coded fields' columns."""
    spec = get_spec(job.import_type)
    keys = [spec.lookup_field("schools"), *(f.key for f in spec.coded_fields)]
    return json.dumps([[job.field_mapping.get(k), job.fixed_values.get(k)] for k in keys if k] + [job.file_fixed_values])


def school_values_ready(job: ImportJob) -> bool:
    """The stored school values were read for the School column the job maps now."""
    return job.school_values_key == school_values_key(job)


def validation_running(job: ImportJob, phase: str) -> bool:
    """A pass of this phase is queued or running (one that stopped with an error is not)."""
    return job.validation_phase == phase and not job.validation_error


def _restart_fields(phase: str) -> dict:
    return {
        "validation_generation": F("validation_generation") + 1, "validation_phase": phase, "validation_claim": "",
        "validation_heartbeat_at": timezone.now(), "validation_rows_done": 0, "validation_error": "",
    }


REFRESHED = ("validation_generation", "validation_phase", "validation_claim", "validation_heartbeat_at",
             "validation_rows_done", "validation_error", "validated_at", "validation_summary")


def import_job_validation_invalidate(*, job: ImportJob) -> None:
    """The mapping or options changed: the result goes, and a pass still running stops at its next batch."""
    ImportJob.objects.filter(id=job.id).update(**_restart_fields(""), validated_at=None, validation_summary={})
    job.refresh_from_db(fields=REFRESHED)


def import_job_validation_start(*, job: ImportJob, phase: str) -> None:
    """(Re)start the background pass of this phase for the job's current choices; enqueued on commit."""
    extra = {"validated_at": None, "validation_summary": {}} if phase == ValidationPhase.VALIDATE else {}
    ImportJob.objects.filter(id=job.id).update(**_restart_fields(phase), **extra)
    job.refresh_from_db(fields=REFRESHED)
    enqueue_on_commit(VALIDATE_DRAFT, job.id)


def import_job_validation_ensure(*, job: ImportJob, phase: str, now=None) -> None:
    """A page waiting on this phase: start it if nothing runs, dispatch it again if it stalled."""
    if not validation_running(job, phase):
        if not job.validation_error:
            import_job_validation_start(job=job, phase=phase)
        return
    import_job_validation_redispatch_if_stale(job=job, now=now)


def import_job_validation_redispatch_if_stale(*, job: ImportJob, now=None) -> None:
    """No batch committed for VALIDATION_STALE_AFTER (worker restarted, message lost): dispatch the pass again."""
    now = now or timezone.now()
    if job.validation_heartbeat_at is None or job.validation_heartbeat_at < now - VALIDATION_STALE_AFTER:
        _redispatch(job.id, job.validation_generation, now)
        job.refresh_from_db(fields=REFRESHED)


def _redispatch(job_id: int, generation: int, now) -> bool:
    # Only one reload (or the sweeper) wins; clearing the claim makes a slow old task stop at its next batch.
    stale = Q(validation_heartbeat_at__isnull=True) | Q(validation_heartbeat_at__lt=now - VALIDATION_STALE_AFTER)
    taken = ImportJob.objects.filter(stale, id=job_id, validation_generation=generation, validation_error="").update(
        validation_claim="", validation_heartbeat_at=now,
    )
    if taken:
        enqueue_on_commit(VALIDATE_DRAFT, job_id)
    return bool(taken)


def import_job_validations_redispatch_stale(*, now=None) -> list[int]:
    """The sweeper: wizard passes whose task was lost (worker restarted) are dispatched again."""
    now = now or timezone.now()
    stalled = ImportJob.objects.filter(
        status=ImportStatus.DRAFT, validation_error="", validation_heartbeat_at__lt=now - VALIDATION_STALE_AFTER,
    ).exclude(validation_phase="").values_list("id", "validation_generation")
    return [job_id for job_id, generation in stalled if _redispatch(job_id, generation, now)]


class _Pass:
    """One claimed pass: every write commits only while the job still asks for it."""

    def __init__(self, job: ImportJob, token: str):
        self.job, self.token = job, token

    def _mine(self):
        return ImportJob.objects.filter(
            id=self.job.id, status=ImportStatus.DRAFT, validation_generation=self.job.validation_generation,
            validation_claim=self.token,
        )

    def commit(self, rows_done: int, write: Callable | None = None) -> None:
        with transaction.atomic():
            if not self._mine().update(validation_heartbeat_at=timezone.now(), validation_rows_done=rows_done):
                raise Superseded
            if write is not None:
                write()

    def finish(self, write: Callable | None = None, **fields) -> None:
        with transaction.atomic():
            if not self._mine().update(validation_claim="", validation_phase="", **fields):
                raise Superseded
            if write is not None:
                write()


def import_job_validation_run(*, job_id: int) -> None:
    """The task's body: claim the job's current pass and run it. A repeat delivery or an outdated task does nothing."""
    job = ImportJob.objects.filter(id=job_id, status=ImportStatus.DRAFT).select_related("district").first()
    if job is None or not job.validation_phase or job.validation_error or job.validation_claim:
        return
    token = secrets.token_hex(16)
    claimed = ImportJob.objects.filter(
        id=job.id, status=ImportStatus.DRAFT, validation_generation=job.validation_generation,
        validation_phase=job.validation_phase, validation_claim="",
    ).update(validation_claim=token, validation_heartbeat_at=timezone.now(), validation_rows_done=0)
    if not claimed:
        return
    run = _Pass(job, token)
    try:
        if job.validation_phase == ValidationPhase.SCHOOLS:
            _read_school_values(job, run)
        else:
            _validate_draft(job, run)
    except Superseded:
        return
    except Refusal as exc:  # a file that cannot be read, said in words the admin can act on
        _give_up(run, str(exc))
    except Exception as exc:
        # The exception's class only: its message may quote a cell of the file.
        logger.error("wizard pass of job %s failed: %s", job.id, type(exc).__name__)
        _give_up(run, ERROR_PASS_FAILED)


def _give_up(run: _Pass, message: str) -> None:
    try:
        run.finish(validation_error=message)
    except Superseded:
        pass


def _read_school_values(job: ImportJob, run: _Pass) -> None:
    key = school_values_key(job)
    counts, coded = file_value_counts_bounded(job, on_rows=run.commit)
    if isinstance(counts, str):
        run.finish(validation_error=counts)
        return
    run.finish(lambda: school_values_store(job=job, counts=counts, coded=coded), school_values_key=key)


def _validate_target_draft(job: ImportJob, run: _Pass) -> None:
    """Validate File for Classes: its checks, issues and counts, stored as the wizard shows them."""
    check = job_classes_check(job=job)
    sources = sources_for_job(job)
    run.commit(check.plan.rows, lambda: store_issues(job, sources, check.plan.issues))
    summary = {**wizard_summary(check), "groups": selectors.import_issue_groups(job=job)}
    run.finish(validation_summary=summary, validated_at=timezone.now(), rows_total=check.plan.rows)


def _validate_draft(job: ImportJob, run: _Pass) -> None:
    # The previous pass's problems go first, a batch at a time.
    while True:
        ids = list(ImportIssue.objects.filter(job_id=job.id).values_list("id", flat=True)[:DELETE_BATCH])
        if not ids:
            break
        run.commit(0, lambda ids=ids: ImportIssue.objects.filter(id__in=ids).delete())
    if own_run_target(job.import_type):  # a type with a target of its own checks its rows its own way
        _validate_target_draft(job, run)
        return
    sources = sources_for_job(job)
    options = ImportOptions.from_job(job)
    pending: list[Issue] = []

    def flush(rows_done: int) -> None:
        batch = pending[:]
        pending.clear()
        run.commit(rows_done, lambda: store_issues(job, sources, batch) if batch else None)

    built = BuiltRows(job, sources, options)
    try:
        result = validate_import(
            district=job.district, sources=sources, options=options,
            issue_sink=pending.extend, on_batch=flush, record=built.record,
            # Rows settled unchanged are not kept: a run with group members or login emails would read the file again.
            screen=not job.writes_every_valid_row,
            outcome_sink=built.mark,
        )
        flush(result.counts["rows"])  # duplicates found at the end
        # The problem groups take a scan of every problem (2 s at a million): counted once here, not per page view.
        summary = {**result.summary(), "groups": selectors.import_issue_groups(job=job)}
        # The kept files are put in place only by the pass that still owns the job, with its summary.
        run.finish(
            built.keep, validation_summary=summary, validated_at=timezone.now(), rows_total=result.counts["rows"],
            validation_rows_done=result.counts["rows"], built_rows_key=built.key if built.enabled else "",
        )
    finally:
        built.discard()
