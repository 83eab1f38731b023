"""Run a submitted job: re-validate, then write users in committed chunks that a re-run skips."""
import logging
import pickle
from contextlib import nullcontext
import secrets
import tempfile
from collections import Counter

from django.conf import settings
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX, make_password
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from users.models import CustomGroup, User

from .. import selectors
from ..models import (
    EmailKind, ImportChange, ImportEmail, ImportIssue, ImportJob, ImportStatus, PasswordBatch, PasswordBatchStatus,
)
from ..pipeline.classify import NEW, classify
from ..pipeline.normalize import STAFF
from ..pipeline.rows import RECORD_FIELDS, UserRow
from . import writers
from .passwords import password_batches_plan
from .safety import import_job_hold_if_needed
from .sources import ImportOptions, iter_user_rows, sources_for_job
from .validation import validate_import

logger = logging.getLogger(__name__)

RESULT_KEYS = ("rows", "created", "updated", "unchanged", "conflicts", "errors", "warnings")
ERROR_REVALIDATION = "The file no longer validates: {errors} error(s) were found when the import ran. Nothing was changed."


class ImportAborted(Exception):
    """The job cannot go on; the message is safe to show the admin (no student data)."""


class PasswordsPending(Exception):
    """Every row is written; file passwords are being hashed by PasswordBatch tasks."""


class ImportHeld(Exception):
    """The re-validated import would change more than the district's threshold: it waits for approval."""


def store_issues(job: ImportJob, sources, issues) -> None:
    file_ids = {s.info.name: s.file_id for s in sources}
    ImportIssue.objects.bulk_create(
        [
            ImportIssue(
                job=job, file_id=file_ids.get(i.file), row=i.row, column=i.column[:255], field=i.field,
                code=i.code, severity=i.severity, message=i.message, suggestion=i.suggestion,
            )
            for i in issues
        ],
        batch_size=2000,
    )


def import_job_validate(*, job: ImportJob, row_sink=None, heartbeat: bool = False):
    """Validate and preview the job's files under its options; replaces its stored problems.

    With heartbeat, a running job keeps its heartbeat fresh while a large file is validated.
    """
    sources = sources_for_job(job)
    options = ImportOptions.from_job(job)

    def beat() -> None:
        ImportJob.objects.filter(id=job.id, status=ImportStatus.RUNNING).update(heartbeat_at=timezone.now())

    # A running job commits as it goes, so its heartbeat is seen; the wizard replaces problems atomically.
    with nullcontext() if heartbeat else transaction.atomic():
        ImportIssue.objects.filter(job=job).delete()
        result = validate_import(
            district=job.district, sources=sources, options=options,
            issue_sink=lambda issues: store_issues(job, sources, issues), row_sink=row_sink,
            on_batch=beat if heartbeat else None,
        )
        job.validation_summary = result.summary()
        job.validated_at = timezone.now()
        job.rows_total = result.counts["rows"]
        job.save(update_fields=["validation_summary", "validated_at", "rows_total", "updated_at"])
    return result


class RowSpool:
    """Valid rows kept on local disk between re-validation and writing, so the file is parsed once per run.

    Not used when the file has passwords: they must never rest on disk in clear text.
    """

    def __init__(self):
        self._file = tempfile.TemporaryFile()

    def add(self, row: UserRow) -> None:
        pickle.dump(
            (row.file, row.row, row.district_id, tuple(row.values[k] for k in RECORD_FIELDS)),
            self._file, protocol=pickle.HIGHEST_PROTOCOL,
        )

    def __iter__(self):
        self._file.seek(0)
        load = pickle.Unpickler(self._file).load
        while True:
            try:
                file, number, district_id, values = load()
            except EOFError:
                return
            yield UserRow(file=file, row=number, district_id=district_id, values=dict(zip(RECORD_FIELDS, values)))

    def close(self) -> None:
        self._file.close()


def _chunks(rows, size: int, skip: int):
    chunk, index = [], 0
    for item in rows:
        index += 1
        if index <= skip:
            continue
        chunk.append(item)
        if len(chunk) >= size:
            yield index, chunk
            chunk = []
    if chunk:
        yield index, chunk


def _new_user(row, *, job: ImportJob, username: str, now) -> dict:
    v = row.values
    return {
        "password": make_password(row.password) if row.password and not row.password_deferred else _unusable_password(),
        "is_superuser": False, "username": username,
        "first_name": v["first_name"] or "", "last_name": v["last_name"] or "", "email": v["email"] or "",
        "is_staff": False, "is_active": True, "date_joined": now,
        "district_id": job.district_id, "district_user_id": row.district_id,
        "user_type": v["user_type"], "middle_name": v["middle_name"] or "",
        "grade": v["grade"] or "", "school_id": v["school_id"],
        "state_user_id": v["state_user_id"] or "", "alternate_user_id": v["alternate_user_id"] or "",
        "limited_english": bool(v["limited_english"]),
        "economically_disadvantaged": bool(v["economically_disadvantaged"]),
        "is_district_admin": False, "created_by_import_id": job.id,
    }


def _unusable_password() -> str:
    # What make_password(None) stores, without its per-character random draw (the hot path's top cost).
    return UNUSABLE_PASSWORD_PREFIX + secrets.token_urlsafe(30)


def _usernames(job: ImportJob, district_ids: list[str]) -> dict[str, str]:
    """Stable usernames for new users; a clash with an existing name gets a numeric suffix."""
    wanted = {d: writers.base_username(job.district.slug, d) for d in district_ids}
    taken = selectors.taken_usernames(usernames=list(wanted.values()))
    out, used = {}, set()
    for district_id, name in wanted.items():
        candidate, n = name, 1
        while candidate in taken or candidate in used:
            n += 1
            candidate = f"{name}-{n}"
            if User.objects.filter(username=candidate).exists():
                taken.add(candidate)
        used.add(candidate)
        out[district_id] = candidate
    return out


def _apply_chunk(
    job: ImportJob, rows, options: ImportOptions, counts: Counter, *, start_index: int = 0, hash_inline: bool = True
) -> None:
    """Write one chunk. Without hash_inline, file passwords are left to PasswordBatch tasks."""
    existing = selectors.existing_users_by_district_id(district=job.district, district_ids=[r.district_id for r in rows])
    now = timezone.now()
    new_rows, updates, changes, password_hashes, to_hash = [], [], [], [], []
    for index, row in enumerate(rows, start=start_index):
        if row.password and not hash_inline:
            to_hash.append(index)
            row.password_deferred = True
        current = existing.get(row.district_id)
        outcome = classify(row, current, conflict_policy=options.conflict_policy, password_policy=options.password_policy)
        if outcome.kind == "conflict":
            counts["conflicts"] += 1
        if outcome.kind == NEW:
            new_rows.append(row)
            continue
        if not outcome.writes:
            counts["unchanged"] += 1
            continue
        counts["updated"] += 1
        if outcome.changes:
            final = {key: current.values[key] for key in RECORD_FIELDS}
            final.update({key: after for key, (before, after) in outcome.changes.items()})
            updates.append((current.id, final))
        if outcome.set_password and hash_inline:
            password_hashes.append((current.id, make_password(row.password)))
        record = {k: [_plain(b), _plain(a)] for k, (b, a) in outcome.changes.items()}
        if outcome.set_password:
            record["password"] = ["(kept private)", "(changed)"]
        changes.append(ImportChange(job=job, user_id=current.id, district_user_id=row.district_id, changes=record))

    usernames = _usernames(job, [r.district_id for r in new_rows])
    writers.insert_users([_new_user(r, job=job, username=usernames[r.district_id], now=now) for r in new_rows])
    counts["created"] += len(new_rows)
    writers.update_users(updates)
    writers.set_passwords(password_hashes)
    ImportChange.objects.bulk_create(changes, batch_size=2000)
    password_batches_plan(job=job, indexes=to_hash)

    ids = selectors.user_ids_by_district_id(district=job.district, district_ids=[r.district_id for r in new_rows])
    ids.update({d: u.id for d, u in existing.items()})
    _add_to_group(job, rows, ids)
    if job.email_staff:
        ImportEmail.objects.bulk_create(
            [
                ImportEmail(job=job, kind=EmailKind.LOGIN, user_id=ids[r.district_id])
                for r in rows if r.values.get("user_type") == STAFF and r.values.get("email")
            ],
            ignore_conflicts=True, batch_size=2000,
        )


def _plain(value):
    return value if value is None or isinstance(value, (str, int, bool)) else str(value)


def _add_to_group(job: ImportJob, rows, ids: dict[str, int]) -> None:
    if not job.custom_group_id:
        return
    students_only = job.group_members == "students"
    member_ids = [ids[r.district_id] for r in rows if not students_only or r.is_student]
    through = CustomGroup.members.through
    through.objects.bulk_create(
        [through(customgroup_id=job.custom_group_id, user_id=uid) for uid in member_ids],
        ignore_conflicts=True, batch_size=2000,
    )


def import_job_apply(*, job: ImportJob, chunk_rows: int | None = None, hash_inline: bool = True) -> ImportJob:
    """Re-validate, then write every row in committed chunks; resumes after the last committed chunk.

    The caller holds the claim on the job (status Running). Raises ImportAborted when the
    file no longer validates; the job is then Failed and nothing was written.
    """
    chunk_rows = chunk_rows or settings.IMPORT_CHUNK_ROWS
    sources = sources_for_job(job)
    options = ImportOptions.from_job(job)
    spool = RowSpool() if "password" not in options.field_mapping else None
    try:
        _validate_and_apply(job, sources, options, chunk_rows, spool, hash_inline)
    finally:
        if spool is not None:
            spool.close()
    job.refresh_from_db()
    return job


def _validate_and_apply(
    job: ImportJob, sources, options: ImportOptions, chunk_rows: int, spool: RowSpool | None, hash_inline: bool
) -> None:
    result = import_job_validate(job=job, row_sink=spool.add if spool is not None else None, heartbeat=True)
    if result.has_errors:
        raise ImportAborted(ERROR_REVALIDATION.format(errors=result.counts["errors"]))
    if job.rows_committed == 0 and import_job_hold_if_needed(job=job):
        raise ImportHeld()
    counts = Counter({k: v for k, v in (job.counts or {}).items() if k in RESULT_KEYS})
    counts["rows"] = result.counts["rows"]
    counts["errors"] = result.counts["errors"]
    counts["warnings"] = result.counts["warnings"]
    ImportJob.objects.filter(id=job.id).update(rows_total=result.counts["rows"], heartbeat_at=timezone.now())

    rows = iter(spool) if spool is not None else (row for _, row in iter_user_rows(sources, options))
    for position, chunk in _chunks(rows, chunk_rows, job.rows_committed):
        with transaction.atomic():
            _apply_chunk(job, chunk, options, counts, start_index=position - len(chunk), hash_inline=hash_inline)
            updated = ImportJob.objects.filter(id=job.id, status=ImportStatus.RUNNING).update(
                rows_committed=position, rows_done=position, heartbeat_at=timezone.now(),
                counts={k: counts[k] for k in RESULT_KEYS},
            )
            if not updated:  # cancelled or claimed elsewhere: undo this chunk and stop
                transaction.set_rollback(True)
                raise ImportAborted("The import was stopped while it ran.")
        logger.info("import %s: committed rows up to %s", job.id, position)

    ImportJob.objects.filter(id=job.id).update(counts={k: counts[k] for k in RESULT_KEYS}, rows_done=F("rows_total"))
    if PasswordBatch.objects.filter(job=job).exclude(status=PasswordBatchStatus.DONE).exists():
        raise PasswordsPending()
    import_job_complete(job=job)


def import_job_complete(*, job: ImportJob) -> bool:
    """Running -> Completed (with warnings); False if something else finished or stopped it first."""
    warnings = (ImportJob.objects.values_list("counts", flat=True).get(id=job.id) or {}).get("warnings")
    return bool(ImportJob.objects.filter(id=job.id, status=ImportStatus.RUNNING).update(
        status=ImportStatus.COMPLETED_WITH_WARNINGS if warnings else ImportStatus.COMPLETED,
        completed_at=timezone.now(), rows_done=F("rows_total"), status_note="",
    ))
