"""Run a submitted job: re-validate, then write users in committed chunks.

A re-run after a crash decides every write again against the stored users, so what an earlier
attempt committed is found unchanged and is never written twice.
"""
import base64
import itertools
import logging
import os
import pickle
import tempfile
from collections import Counter
from contextlib import nullcontext
from operator import itemgetter

from django.conf import settings
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX, make_password
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from users.models import CustomGroup, User
from users.locks import district_ids_lock, usernames_lock
from users.protection import protected_q

from .. import selectors
from ..models import (
    EmailKind, ImportChange, ImportEmail, ImportIssue, ImportJob, ImportSource, ImportStatus, PasswordBatch, PasswordBatchStatus,
    Severity,
)
from ..models import ImportGroupAddition
from ..pipeline.classify import NEW, PASSWORD_OVERWRITE, classify, without_password
from ..pipeline.masking import mask_value
from ..pipeline.normalize import STAFF
from ..pipeline.rows import UserRow
from . import writers
from . import passwords
from .passwords import password_batches_plan
from .roster import import_job_roster_apply
from .safety import import_job_hold_if_needed
from .sources import ImportOptions, iter_user_rows, sources_for_job
from .validation import (
    USERNAME_TAKEN_ELSEWHERE, USERNAME_TAKEN_ELSEWHERE_SUGGESTION, BuiltRows, built_pass_reusable, built_rows_current,
    built_rows_delete, built_verdicts_delete, validate_import,
)

logger = logging.getLogger(__name__)

APPLY_BATCH_ROWS = 5000  # rows looked up and written at a time, inside one committed chunk
CHECKING_NOTE = "Checking the file again before writing: {done:,} of {total:,} rows."
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

    With heartbeat, a running job keeps its heartbeat fresh while a large file is validated, and
    reuses the rows an earlier validation built when its choices and files are unchanged; without
    it (a draft validated in one call), the rows it builds are kept for the run.
    """
    sources = sources_for_job(job)
    options = ImportOptions.from_job(job)

    def beat(rows_checked: int) -> None:
        ImportJob.objects.filter(id=job.id, status=ImportStatus.RUNNING).update(
            heartbeat_at=timezone.now(),
            status_note=CHECKING_NOTE.format(done=rows_checked, total=job.rows_total or rows_checked),
        )

    built, rows, check_duplicates = None, None, True
    if heartbeat:
        # This check replaces the stored summary and problems: the wizard's verdicts no longer go with them.
        built_verdicts_delete(job=job)
        rows = built_rows_current(job=job, sources=sources, options=options)
        # The same rows as the pass that built them: duplicates within them cannot have changed.
        check_duplicates = rows is None or (job.validation_summary or {}).get("duplicates") != 0
    else:
        built = BuiltRows(job, sources, options)
        rows = built.record(iter_user_rows(sources, options, keep_skipped=True))
    # A running job commits as it goes, so its heartbeat is seen; the wizard replaces problems atomically.
    try:
        with nullcontext() if heartbeat else transaction.atomic():
            ImportIssue.objects.filter(job=job).delete()
            result = validate_import(
                district=job.district, sources=sources, options=options,
                issue_sink=lambda issues: store_issues(job, sources, issues), row_sink=row_sink,
                on_batch=beat if heartbeat else None, rows=rows, check_duplicates=check_duplicates,
                outcome_sink=built.mark if built is not None else None,
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
        self._values_of = _values_getter(columns)
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


def _new_users(rows, *, job: ImportJob, usernames: dict[str, str], now, spec) -> writers.NewUsers:
    """The chunk's new users as COPY rows: the District ID, password and username, then the record values."""
    if not rows:
        return writers.NewUsers((), [])
    record = tuple(rows[0].values)  # every row of a run has the same record columns
    values_of = _values_getter(record)
    engine = (spec.match_column, "password", "username")
    # A Username column the file left blank: the generated name, not the column's "".
    username_at = len(engine) + record.index("username") if "username" in record else None
    unusable = iter(_unusable_passwords(sum(1 for r in rows if not r.password or r.password_deferred)))
    out = []
    for row in rows:
        name = usernames.get(row.district_id, "")
        password = make_password(row.password) if row.password and not row.password_deferred else next(unusable)
        values = [row.district_id, password, name, *values_of(row.values)]
        if username_at is not None and not values[username_at]:
            values[username_at] = name
        out.append(values)
    return writers.new_users(
        spec, engine, record, out, date_joined=now, district_id=job.district_id, created_by_import_id=job.id
    )


def _values_getter(columns: tuple[str, ...]):
    if len(columns) >= 2:
        return itemgetter(*columns)
    return lambda values: tuple(values[c] for c in columns)


_UNUSABLE_RANDOM_BYTES = 30  # 40 url-safe characters, as secrets.token_urlsafe(30)


def _unusable_passwords(count: int) -> list[str]:
    """`count` unusable passwords, as make_password(None) makes them (the prefix and 40 random characters,
    url-safe here), from one os.urandom call: a call per user was 7% of a fresh run. 30 bytes encode to 40
    characters without padding, so each user's slice of the encoding is token_urlsafe(30) of its own bytes."""
    if count <= 0:
        return []
    text = base64.urlsafe_b64encode(os.urandom(_UNUSABLE_RANDOM_BYTES * count)).decode("ascii")
    size = _UNUSABLE_RANDOM_BYTES * 4 // 3
    return [UNUSABLE_PASSWORD_PREFIX + text[i:i + size] for i in range(0, size * count, size)]


def _without_taken_usernames(job: ImportJob, rows, counts: Counter) -> list:
    """The rows whose given username is still free; each of the others is an error of the run, not written."""
    given = [r.values["username"] for r in rows if r.values.get("username")]
    owners = selectors.username_owners(usernames=given) if given else {}
    taken = [r for r in rows if r.values.get("username") and r.values["username"].lower() in owners]
    if not taken:
        return rows
    files = dict(job.files.values_list("original_name", "id"))
    ImportIssue.objects.bulk_create([
        ImportIssue(job=job, file_id=files.get(r.file), row=r.row, field="username", code="username_taken",
                    severity=Severity.ERROR, message=USERNAME_TAKEN_ELSEWHERE.format(username=r.values["username"]),
                    suggestion=USERNAME_TAKEN_ELSEWHERE_SUGGESTION)
        for r in taken
    ])
    counts["username_taken"] += len(taken)
    skipped = {id(r) for r in taken}
    return [r for r in rows if id(r) not in skipped]


def _usernames(job: ImportJob, rows) -> dict[str, str]:
    """Stable usernames for new users the file gives none; a clash with an existing name gets a numeric suffix."""
    given = {r.values["username"].lower() for r in rows if r.values.get("username")}
    wanted = {r.district_id: writers.base_username(job.district.slug, r.district_id) for r in rows if not r.values.get("username")}
    taken = selectors.taken_usernames(usernames=list(wanted.values()))
    out, used = {}, set(given)
    for district_id, name in wanted.items():
        candidate, n = name, 1
        while candidate.lower() in taken or candidate.lower() in used:
            n += 1
            candidate = f"{name}-{n}"
            if User.objects.filter(username__iexact=candidate).exists():
                taken.add(candidate.lower())
        used.add(candidate.lower())
        out[district_id] = candidate
    return out


def _apply_chunk(
    job: ImportJob, rows, options: ImportOptions, counts: Counter, *, hash_inline: bool = True, batch_starts=None
) -> None:
    """Write one batch of rows. Without hash_inline, file passwords are left to PasswordBatch tasks.

    Every write is decided again against the stored users, so a re-run after a crash finds the
    rows it already wrote unchanged and writes nothing twice. Rows are looked up, and made-up usernames
    checked, right before they are written, even when the wizard's pass found them new: inserting first
    and catching the unique violation would put the keys in the database server's log.
    """
    # The Users tab checks a District ID under the same lock: neither writes one the other just gave.
    district_ids_lock(district_id=job.district_id)
    written = counts["created"] + counts["updated"]
    if writers.refresh_statistics_if_stale(written_since=written - counts["written_at_analyze"]):
        counts["written_at_analyze"] = written
    existing = selectors.existing_users_by_district_id(
        district=job.district, district_ids=[r.district_id for r in rows], spec=options.spec
    )
    # Decided before this chunk writes: a password it sets must not make an account look claimed.
    login_allowed = _login_email_allowed(job, rows, existing) if job.email_staff else set()
    claimed = _claimed_password_ids(job, rows, existing) if options.password_policy == PASSWORD_OVERWRITE else set()
    password_notices = []
    now = timezone.now()
    new_rows, updates, changes, password_hashes, to_hash, replaced_emails = [], [], [], [], [], []
    for row in rows:
        if row.password and not hash_inline:
            to_hash.append(row.index)
            row.password_deferred = True
        current = existing.get(row.district_id)
        outcome = classify(row, current, conflict_policy=options.conflicts, password_policy=options.password_policy)
        if outcome.set_password and current is not None and current.id in claimed:
            if not job.replace_claimed_passwords:
                outcome = without_password(outcome)
            else:
                password_notices.append(ImportEmail(job=job, kind=EmailKind.PASSWORD_CHANGED, user_id=current.id))
        if outcome.kind == "conflict":
            counts["conflicts"] += 1
        if outcome.kind == NEW:
            if options.spec.creates_users:  # validation made an unknown key an error for the others
                new_rows.append(row)
            continue
        if not outcome.writes:
            continue
        counts["updated"] += 1
        if outcome.changes:
            final = dict(current.values)
            final.update({key: after for key, (before, after) in outcome.changes.items()})
            updates.append((current.id, final))
        if outcome.set_password and hash_inline:
            password_hashes.append((current.id, make_password(row.password)))
        # The change log is shown and reported: a file value equal to the row's password is masked there.
        passwords = (row.password,) if row.password else ()
        record = {k: [_plain(b), mask_value(_plain(a), passwords)] for k, (b, a) in outcome.changes.items()}
        if outcome.set_password:
            record["password"] = ["(kept private)", "(changed)"]
        # The stored District ID: a type may match on another key (a OneRoster sourcedId).
        changes.append(ImportChange(job=job, user_id=current.id, district_user_id=current.district_user_id or row.district_id, changes=record))
        if _staff_email_replaced(current, outcome):
            replaced_emails.append(changes[-1])

    if new_rows:
        # Another district's import may have taken a username since validation: checked again under a lock
        # every import takes before inserting, so the COPY never meets a unique violation.
        usernames_lock()
        new_rows = _without_taken_usernames(job, new_rows, counts)
    usernames = _usernames(job, new_rows)
    writers.insert_users(_new_users(new_rows, job=job, usernames=usernames, now=now, spec=options.spec))
    counts["created"] += len(new_rows)
    writers.update_users(updates)
    writers.set_passwords(password_hashes)
    notices = _email_change_notices(job, replaced_emails)
    ImportChange.objects.bulk_create(changes, batch_size=2000)
    ImportEmail.objects.bulk_create(notices + password_notices, ignore_conflicts=True)
    password_batches_plan(job=job, indexes=to_hash, starts=batch_starts)

    if not (job.custom_group_id or job.email_staff):
        return  # the ids below are only for group members and login emails
    ids = selectors.user_ids_by_district_id(district=job.district, district_ids=[r.district_id for r in new_rows])
    ids.update({d: u.id for d, u in existing.items()})
    _add_to_group(job, rows, ids)
    if job.email_staff:
        ImportEmail.objects.bulk_create(
            [
                ImportEmail(job=job, kind=EmailKind.LOGIN, user_id=ids[r.district_id])
                for r in _login_rows(rows)
                if r.district_id not in existing or existing[r.district_id].id in login_allowed
            ],
            ignore_conflicts=True, batch_size=2000,
        )


def _login_rows(rows):
    return [r for r in rows if r.values.get("user_type") == STAFF and r.values.get("email")]


def _login_email_allowed(job: ImportJob, rows, existing: dict) -> set[int]:
    """Existing users a set-password link may go to: made by this job, or never signed in and without a password.

    Anyone else already holds the account; a link mailed to an address in the file would hand it over.
    """
    matched = [existing[r.district_id] for r in _login_rows(rows) if r.district_id in existing]
    ids = [u.id for u in matched if not u.protected]
    if not ids:
        return set()
    unclaimed = Q(created_by_import_id=job.id) | Q(last_login__isnull=True, password__startswith=UNUSABLE_PASSWORD_PREFIX)
    return set(
        User.objects.filter(unclaimed, id__in=ids).exclude(protected_q()).values_list("id", flat=True)
    )


def _claimed_password_ids(job: ImportJob, rows, existing: dict) -> set[int]:
    """Matched users with a file password who have signed in (not made by this job): their holder owns the password."""
    ids = [existing[r.district_id].id for r in rows if r.password and r.district_id in existing]
    if not ids:
        return set()
    return set(
        User.objects.filter(id__in=ids, last_login__isnull=False).exclude(created_by_import_id=job.id)
        .values_list("id", flat=True)
    )


def _staff_email_replaced(current, outcome) -> bool:
    before, after = outcome.changes.get("email", (None, None))
    types = (current.values.get("user_type"), outcome.changes.get("user_type", (None, None))[1])
    return bool(before) and before.lower() != (after or "").lower() and STAFF in types


def _email_change_notices(job: ImportJob, replaced: list[ImportChange]) -> list[ImportEmail]:
    """A notice owed to the replaced address of each staff member who has signed in; their change records it."""
    if not replaced:
        return []
    signed_in = set(
        User.objects.filter(id__in=[c.user_id for c in replaced], last_login__isnull=False).values_list("id", flat=True)
    )
    notices = []
    for change in replaced:
        if change.user_id in signed_in:
            change.old_email_notified = True
            notices.append(ImportEmail(job=job, kind=EmailKind.EMAIL_CHANGED, user_id=change.user_id))
    return notices


def _plain(value):
    return value if value is None or isinstance(value, (str, int, bool)) else str(value)


def _add_to_group(job: ImportJob, rows, ids: dict[str, int]) -> None:
    if not job.custom_group_id:
        return
    students_only = job.group_members == "students"
    member_ids = [ids[r.district_id] for r in rows if not students_only or r.is_student]
    through = CustomGroup.members.through
    already = set(
        through.objects.filter(customgroup_id=job.custom_group_id, user_id__in=member_ids).values_list("user_id", flat=True)
    )
    through.objects.bulk_create(
        [through(customgroup_id=job.custom_group_id, user_id=uid) for uid in member_ids],
        ignore_conflicts=True, batch_size=2000,
    )
    _record_group_additions(job, [uid for uid in member_ids if uid not in already])


def _record_group_additions(job: ImportJob, user_ids: list[int]) -> None:
    """Who this import put in its group, so an undo removes them and no one who was a member before."""
    if not user_ids:
        return
    if connection.vendor == "postgresql":
        # One statement for the batch: bulk_create's model objects cost 0.3 s per 5,000 rows (measured).
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {ImportGroupAddition._meta.db_table} (job_id, group_id, user_id) "
                "SELECT %s, %s, unnest(%s::bigint[]) ON CONFLICT DO NOTHING",
                [job.id, job.custom_group_id, user_ids],
            )
        return
    ImportGroupAddition.objects.bulk_create(
        [ImportGroupAddition(job=job, group_id=job.custom_group_id, user_id=uid) for uid in user_ids],
        ignore_conflicts=True, batch_size=2000,
    )


def import_job_apply(*, job: ImportJob, chunk_rows: int | None = None, hash_inline: bool = True) -> ImportJob:
    """Re-validate, then write in committed chunks. A re-run after a crash resumes: what is written stays written.

    The caller holds the claim on the job (status Running). Raises ImportAborted when the
    file no longer validates (nothing is written), ImportHeld when the safety hold stops it,
    and PasswordsPending when every row is written but passwords still need hashing.
    """
    chunk_rows = chunk_rows or settings.IMPORT_CHUNK_ROWS
    sources = sources_for_job(job)
    options = ImportOptions.from_job(job)
    spool = None
    if options.spec.password_field not in options.field_mapping:
        spool = RowSpool(keep_all=bool(job.custom_group_id or job.email_staff), columns=options.spec.record_columns)
    try:
        _validate_and_apply(job, sources, options, chunk_rows, spool, hash_inline)
        built_rows_delete(job=job)  # written: the next run of this job (a retry) reads the file
    finally:
        if spool is not None:
            spool.close()
    job.refresh_from_db()
    return job


def _validate_and_apply(
    job: ImportJob, sources, options: ImportOptions, chunk_rows: int, spool: RowSpool | None, hash_inline: bool
) -> None:
    # The wizard's pass, when nothing it depends on changed since: its rows are written without a second check.
    reused = built_pass_reusable(job=job, sources=sources, options=options) if spool is not None else None
    if reused is not None:
        result = reused.result
    else:
        result = import_job_validate(job=job, row_sink=spool.add if spool is not None else None, heartbeat=True)
    # A sync imports its valid rows and reports the rest (the error rows stored by the pass above).
    if result.has_errors and job.source != ImportSource.SYNC:
        raise ImportAborted(ERROR_REVALIDATION.format(errors=result.counts["errors"]))
    if job.created_users.count() == 0 and not job.changes.exists() and import_job_hold_if_needed(job=job):
        raise ImportHeld()
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
        raise PasswordsPending()
    import_job_complete(job=job)


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
