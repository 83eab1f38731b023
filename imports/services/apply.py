"""Run a submitted job: re-validate, then write users in committed chunks.

A re-run after a crash decides every write again against the stored users, so what an earlier
attempt committed is found unchanged and is never written twice.
"""
import itertools
import logging
from dataclasses import dataclass
from enum import StrEnum
import pickle
import tempfile
from collections import Counter
from contextlib import nullcontext

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from ..errors import Refusal
from ..models import ImportIssue, ImportJob, ImportSource, ImportStatus, PasswordBatch, PasswordBatchStatus, Severity
from ..pipeline.rows import UserRow
from ..targets import get_target
from ..targets.base import values_getter
from . import passwords
from .passwords import password_batches_plan
from .roster import import_job_roster_apply
from .safety import import_job_hold_if_needed
from .sources import ImportOptions, iter_user_rows, sources_for_job
from .validation import (
    BuiltRows, built_pass_reusable, built_rows_current, built_rows_delete, built_verdicts_delete, store_issues, validate_import,
)

logger = logging.getLogger(__name__)

APPLY_BATCH_ROWS = 5000  # rows looked up and written at a time, inside one committed chunk
CHECKING_NOTE = "Checking the file again before writing: {done:,} of {total:,} rows."
ERROR_REVALIDATION = "The file no longer validates: {errors} error(s) were found when the import ran. Nothing was changed."


class ImportAborted(Refusal):
    """The job cannot go on; the message is safe to show the admin (no student data)."""

    default_code = "import_aborted"


class ApplyOutcome(StrEnum):
    """How a run of import_job_apply ended, short of a refusal."""

    COMPLETED = "completed"
    HELD = "held"  # the re-validated import would change more than the district's threshold: it waits for approval
    PASSWORDS_PENDING = "passwords_pending"  # every row is written; PasswordBatch tasks hash the file passwords


@dataclass(frozen=True)
class ApplyResult:
    job: ImportJob
    outcome: ApplyOutcome


def import_job_validate(*, job: ImportJob, row_sink=None, heartbeat: bool = False, every_valid_row: bool | None = None):
    """Validate and preview the job's files under its options; replaces its stored problems.

    With heartbeat, a running job keeps its heartbeat fresh while a large file is validated, and
    reuses the rows an earlier validation built when its choices and files are unchanged; without
    it (a draft validated in one call), the rows it builds are kept for the run.
    """
    sources = sources_for_job(job)
    options = ImportOptions.from_job(job)
    if every_valid_row is None:  # the wizard's pass keeps its rows for a run with the options chosen so far
        every_valid_row = job.writes_every_valid_row

    def beat(rows_checked: int) -> None:
        ImportJob.objects.filter(id=job.id, status=ImportStatus.RUNNING).update(
            heartbeat_at=timezone.now(),
            status_note=CHECKING_NOTE.format(done=rows_checked, total=job.rows_total or rows_checked),
        )

    built, rows, check_duplicates, record = None, None, True, None
    if heartbeat:
        # This check replaces the stored summary and problems: the wizard's verdicts no longer go with them.
        built_verdicts_delete(job=job)
        rows = built_rows_current(job=job, sources=sources, options=options)
        # The same rows as the pass that built them: duplicates within them cannot have changed.
        check_duplicates = rows is None or (job.validation_summary or {}).get("duplicates") != 0
    else:
        built = BuiltRows(job, sources, options)
        record = built.record
    # A running job commits as it goes, so its heartbeat is seen; the wizard replaces problems atomically.
    try:
        with nullcontext() if heartbeat else transaction.atomic():
            ImportIssue.objects.filter(job=job).delete()
            result = validate_import(
                district=job.district, sources=sources, options=options,
                issue_sink=lambda issues: store_issues(job, sources, issues), row_sink=row_sink,
                on_batch=beat if heartbeat else None, rows=rows, check_duplicates=check_duplicates,
                outcome_sink=built.mark if built is not None else None, record=record,
                screen=not every_valid_row,  # a row_sink that keeps every valid row must be handed the unchanged ones
            )
            job.validation_summary = result.summary()
            job.validated_at = timezone.now()
            job.rows_total = result.counts["rows"]
            fields = ["validation_summary", "validated_at", "rows_total", "updated_at"]
            if built is not None:
                job.built_rows_key = built.keep()
                fields.append("built_rows_key")
            job.save(update_fields=fields)
    finally:
        if built is not None:
            built.discard()
    return result


class RowSpool:
    """The rows a run must write, kept on local disk between re-validation and writing.

    The file is parsed once per run, and an unchanged row is never looked at again. Not used
    when the file has passwords: they must never rest on disk in clear text.
    """

    BATCH_ROWS = 2000  # rows pickled together: a dump and a load per row were 8% of a fresh run; memory stays bounded

    def __init__(self, *, keep_all: bool, columns: tuple[str, ...]):
        self.columns = columns  # the import type's record columns
        self._file = tempfile.TemporaryFile()
        self._pickler = pickle.Pickler(self._file, protocol=pickle.HIGHEST_PROTOCOL)
        self._values_of = values_getter(columns)
        self._batch = []
        self._batches = 0
        self.keep_all = keep_all  # group membership and login emails need every row, not only the writes
        self.index = 0
        self.kept = 0

    def add(self, row: UserRow, outcome) -> None:
        index, self.index = self.index, self.index + 1
        if self.keep_all or outcome.writes:
            self._batch.append((index, row.file, row.row, row.district_id, self._values_of(row.values)))
            self.kept += 1
            if len(self._batch) >= self.BATCH_ROWS:
                self._dump()

    def _dump(self) -> None:
        self._pickler.dump(self._batch)
        self._pickler.clear_memo()  # the memo would otherwise keep every row in memory
        self._batch = []
        self._batches += 1

    def __iter__(self):
        if self._batch:
            self._dump()
        self._file.flush()
        self._file.seek(0)
        load, source, columns = pickle.load, self._file, self.columns
        for _ in range(self._batches):
            for index, file, number, district_id, values in load(source):  # one batch in memory at a time
                yield UserRow(file=file, row=number, district_id=district_id, values=dict(zip(columns, values)), index=index)

    def close(self) -> None:
        self._file.close()


def _indexed(rows):
    for index, row in enumerate(rows):
        row.index = index
        yield row


def _take(items, limit: int, size: int):
    """Up to `limit` items from an iterator, as lists of at most `size`."""
    taken = 0
    while taken < limit:
        batch = list(itertools.islice(items, min(size, limit - taken)))
        if not batch:
            return
        taken += len(batch)
        yield batch


def _apply_chunk(
    job: ImportJob, rows, options: ImportOptions, counts: Counter, *, hash_inline: bool = True, batch_starts=None
) -> None:
    """Write one batch of rows through the import type's target. Without hash_inline, file passwords are
    left to PasswordBatch tasks."""
    get_target(options.spec).write(
        job=job, rows=rows, options=options, counts=counts, hash_inline=hash_inline, batch_starts=batch_starts,
        plan_passwords=password_batches_plan,
    )


def import_job_apply(*, job: ImportJob, chunk_rows: int | None = None, hash_inline: bool = True) -> ApplyResult:
    """Re-validate, then write in committed chunks. A re-run after a crash resumes: what is written stays written.

    The caller holds the claim on the job (status Running). Returns the job and whether it
    completed, was held by the safety hold, or waits for its passwords to be hashed; raises
    ImportAborted (a Refusal) when the file no longer validates (nothing is written).
    """
    chunk_rows = chunk_rows or settings.IMPORT_CHUNK_ROWS
    sources = sources_for_job(job)
    options = ImportOptions.from_job(job)
    spool = None
    if options.spec.password_field not in options.field_mapping:
        spool = RowSpool(keep_all=job.writes_every_valid_row, columns=options.spec.record_columns)
    try:
        outcome = _validate_and_apply(job, sources, options, chunk_rows, spool, hash_inline)
        if outcome == ApplyOutcome.COMPLETED:
            built_rows_delete(job=job)  # written: the next run of this job (a retry) reads the file
    finally:
        if spool is not None:
            spool.close()
    job.refresh_from_db()
    return ApplyResult(job=job, outcome=outcome)


def _validate_and_apply(
    job: ImportJob, sources, options: ImportOptions, chunk_rows: int, spool: RowSpool | None, hash_inline: bool
) -> ApplyOutcome:
    # The wizard's pass, when nothing it depends on changed since: its rows are written without a second check.
    every_valid_row = spool is not None and spool.keep_all
    reused = built_pass_reusable(job=job, sources=sources, options=options, every_valid_row=every_valid_row) \
        if spool is not None else None
    if reused is not None:
        result = reused.result
    else:
        result = import_job_validate(job=job, row_sink=spool.add if spool is not None else None, heartbeat=True,
                                     every_valid_row=every_valid_row)
    # A sync imports its valid rows and reports the rest (the error rows stored by the pass above).
    if result.has_errors and job.source != ImportSource.SYNC:
        raise ImportAborted(ERROR_REVALIDATION.format(errors=result.counts["errors"]))
    if job.created_users.count() == 0 and not job.changes.exists() and import_job_hold_if_needed(job=job):
        return ApplyOutcome.HELD
    # Counts of chunks committed by an earlier attempt stay; this attempt adds its own.
    counts = Counter({k: v for k, v in (job.counts or {}).items() if k in ("created", "updated", "conflicts")})
    total = result.counts["rows"]
    ImportJob.objects.filter(id=job.id).update(rows_total=total, heartbeat_at=timezone.now(), status_note="")

    batch_starts = {}
    if reused is not None:
        # Group members and login emails need every valid row, as the spool keeps them all for those.
        items, planned = reused.rows_to_write(every_valid_row=spool.keep_all), reused.count(every_valid_row=spool.keep_all)
    elif spool is not None:
        items, planned = iter(spool), spool.kept
    else:
        # Where each password batch's first row begins, so its task reads only its own rows.
        rows = (row for _, row in iter_user_rows(sources, options, starts=batch_starts, every=passwords.HASH_BATCH_ROWS))
        if result.has_errors:
            errors = _error_rows(job)
            rows = (row for row in rows if (row.file, row.row) not in errors)
        items, planned = _indexed(rows), total
    done = 0
    while True:
        with transaction.atomic():
            taken, last_index, first_row = 0, None, None
            for batch in _take(items, chunk_rows, APPLY_BATCH_ROWS):
                first_row = first_row or (batch[0].file, batch[0].row)
                try:
                    _apply_chunk(job, batch, options, counts, hash_inline=hash_inline, batch_starts=batch_starts)
                except Exception as exc:
                    # The spreadsheet row the failed chunk starts at, as every other message counts rows.
                    exc.failed_row = first_row[1]
                    raise
                taken += len(batch)
                last_index, last_row = batch[-1].index, batch[-1].row
            if not taken:
                break
            done += taken
            updated = ImportJob.objects.filter(id=job.id, status=ImportStatus.RUNNING).update(
                rows_committed=last_index + 1, next_row=last_row + 1,
                rows_done=min(total, round(total * done / max(planned, 1))),
                heartbeat_at=timezone.now(), counts=_result_counts(counts, result),
            )
            if not updated:  # cancelled or claimed elsewhere: undo this chunk and stop
                transaction.set_rollback(True)
                raise ImportAborted("The import was stopped while it ran.")
        logger.info("import %s: committed rows up to %s", job.id, last_index + 1)

    final_counts = _result_counts(counts, result)
    if job.roster_changes:
        final_counts.update(import_job_roster_apply(job=job))
    ImportJob.objects.filter(id=job.id).update(counts=final_counts, rows_done=F("rows_total"))
    # No ANALYZE after every run (it took a fifth of a fresh 100k run): look-ups refresh the statistics
    # first when they are stale (writers.refresh_statistics_if_stale), which also covers the next import.
    if PasswordBatch.objects.filter(job=job).exclude(status=PasswordBatchStatus.DONE).exists():
        return ApplyOutcome.PASSWORDS_PENDING
    import_job_complete(job=job)
    return ApplyOutcome.COMPLETED


def _error_rows(job: ImportJob) -> set[tuple[str, int]]:
    """(file name, row) of each row the pass found in error: a sync writes the others."""
    return set(job.issues.filter(severity=Severity.ERROR, row__isnull=False).values_list("file__original_name", "row"))


def _result_counts(counts: Counter, result) -> dict:
    rows, created, updated, skipped = result.counts["rows"], counts["created"], counts["updated"], result.counts["skipped"]
    return {
        "rows": rows, "created": created, "updated": updated, "unchanged": max(0, rows - created - updated - skipped),
        "skipped": skipped,
        # Conflicts are rows, whatever the policy wrote: this run's preview, or more if an earlier attempt wrote them.
        "conflicts": max(counts["conflicts"], result.counts["conflict"]),
        # A username another district took while this ran: that row's error, and the job completes with warnings.
        "errors": result.counts["errors"] + counts["username_taken"],
        "warnings": result.counts["warnings"] + counts["username_taken"],
    }


def import_job_complete(*, job: ImportJob) -> bool:
    """Running -> Completed (with warnings); False if something else finished or stopped it first."""
    counts = ImportJob.objects.values_list("counts", flat=True).get(id=job.id) or {}
    # A sync's error rows were reported, not imported: it completed with warnings.
    warnings = counts.get("warnings") or counts.get("errors")
    return bool(ImportJob.objects.filter(id=job.id, status=ImportStatus.RUNNING).update(
        status=ImportStatus.COMPLETED_WITH_WARNINGS if warnings else ImportStatus.COMPLETED,
        completed_at=timezone.now(), rows_done=F("rows_total"), status_note="",
    ))
