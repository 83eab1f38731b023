"""The one pass that validates every row and previews what the import will do under the chosen options."""
import hashlib
import json
import logging
import os
import pickle
import secrets
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import timedelta

from django.core.files.storage import storages
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from schools.models import District
from users.models import User
from users.protection import PROTECTED_COLUMNS

from .. import selectors
from ..models import ImportCodedValue, ImportFile, ImportIssue, ImportJob, ImportSchoolValue, ImportStatus, ValidationPhase
from ..pipeline.classify import (
    NEW, UNCHANGED, ExistingUser, Outcome, classify, existing_user_warnings, protected_account_issues, same_as_stored,
    unmatched_key_issues,
)
from ..pipeline.normalize import Invalid
from ..targets import TARGETS
from ..types import get_spec
from ..pipeline.issues import ERROR, WARNING, Issue
from ..pipeline.masking import mask_issues, mask_text, mask_value, password_indexes, row_passwords
from . import writers
from .classes import job_classes_check, wizard_summary
from .duplicates import IN_MEMORY_MAX_ROWS, duplicate_check
from .passwords import password_issues
from ..pipeline.reading import FileReadError, count_data_rows, iter_rows
from .sources import ImportOptions, Source, iter_user_rows, missing_column_issues, sources_for_job

BATCH_ROWS = 5000
COUNT_KEYS = ("rows", "new", "update", "unchanged", "conflict", "created", "updated", "errors", "warnings", "error_rows", "skipped")

IssueSink = Callable[[list[Issue]], None]

USERNAME_TAKEN_HERE = 'Username "{username}" already belongs to District ID {owner} in Classworks; this row is District ID {district_id}.'
USERNAME_TAKEN_HERE_SUGGESTION = "Usernames are unique: correct one of the two, or leave the cell blank to have a username made."
USERNAME_TAKEN_BY_ACCOUNT = (
    'Username "{username}" already belongs to an account of this district without a District ID (such as an '
    "administrator's); this row is District ID {district_id}."
)
# Says nothing of where: a file must not be able to probe which usernames other districts hold.
USERNAME_TAKEN_ELSEWHERE = 'Username "{username}" is not available.'
USERNAME_TAKEN_ELSEWHERE_SUGGESTION = "Choose another, or leave the cell blank to have one made."


LARGEST_CHANGES_KEPT = 10
ERROR_SAME_USER = "This row finds the same user as {file} row {row} (District ID {district_id})."


@dataclass
class ValidationResult:
    counts: Counter = field(default_factory=Counter)
    conflict_example: dict | None = None
    # Safety hold: existing students affected per their current school, and a few examples.
    affected_by_school: Counter = field(default_factory=Counter)
    largest_changes: list = field(default_factory=list)
    duplicates: int = 0  # problems the within-file duplicate check found (a pure function of the rows)
    # Matched users with a file password who already sign in: "Also replace the passwords of N people".
    claimed_passwords: int = 0

    @property
    def has_errors(self) -> bool:
        return self.counts["errors"] > 0

    def result_counts(self) -> dict:
        """What a run under these options will report: the same keys a finished job records."""
        c = self.counts
        return {
            "rows": c["rows"], "created": c["created"], "updated": c["updated"],
            "unchanged": c["rows"] - c["error_rows"] - c["skipped"] - c["created"] - c["updated"],
            "skipped": c["skipped"], "conflicts": c["conflict"], "errors": c["errors"], "warnings": c["warnings"],
        }

    def summary(self) -> dict:
        return {
            "counts": {k: self.counts[k] for k in (*COUNT_KEYS, "mass_changed")},
            "conflict_example": self.conflict_example,
            "affected_by_school": {str(k): v for k, v in self.affected_by_school.items()},
            "largest_changes": self.largest_changes,
            "duplicates": self.duplicates,
            "claimed_passwords": self.claimed_passwords,
        }


def _batched(items: Iterable, size: int):
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


# Stored values the checks and the preview read whatever the file gives (warnings, the safety hold's counts, examples).
COLUMNS_READ_BY_CHECKS = frozenset({"user_type", "school_id", "first_name", "last_name", "email"})


def given_record_columns(sources: list[Source], options: ImportOptions) -> tuple[str, ...]:
    """The record columns a row of these files can give a value for (a column, a fixed value, or a part of a
    combined field), with those the checks read. Only these are compared, so only these are looked up:
    fetching every column cost a third of an unchanged run's look-up (measured)."""
    spec = options.spec
    keys: set[str] = set()
    for source in sources:
        plan = options.plan_for(source)
        keys.update(plan.indexes, plan.fixed)
    return tuple(
        f.stored_column for f in spec.record_fields
        if f.key in keys or f.stored_column in COLUMNS_READ_BY_CHECKS or any(p in keys for p in spec.parts_of(f.key))
        or f.required  # a required field blank in the file is no error when it is stored
    )


class _ExistingLookup:
    """Per batch: the users matched by District ID, owners of emails, and ids Excel stripped of zeros."""

    def __init__(self, district: District, spec, columns: tuple[str, ...] | None = None):
        self.district = district
        self.spec = spec
        self.columns = columns
        self.padded_lengths = selectors.zero_padded_id_lengths(district=district)

    def load(self, rows) -> None:
        ids = [r.district_id for r in rows if r.district_id]
        writers.refresh_statistics_if_stale()
        self.users = selectors.existing_users_by_district_id(
            district=self.district, district_ids=ids, spec=self.spec, columns=self.columns,
        )
        emails = [r.values["email"] for r in rows if r.values.get("email")]
        self.email_owners = selectors.existing_email_owners(district=self.district, emails=emails)
        names = [r.values["username"] for r in rows if r.values.get("username")]
        self.username_owners = selectors.username_owners(usernames=names) if names else {}
        self.padded_matches: dict[str, str] = {}
        if self.padded_lengths:
            candidates = {}
            for r in rows:
                if r.district_id and r.district_id not in self.users and not r.district_id.startswith("0"):
                    for length in self.padded_lengths:
                        if length > len(r.district_id):
                            candidates[r.district_id.zfill(length)] = r.district_id
            for padded in selectors.existing_district_ids(district=self.district, district_ids=list(candidates)):
                self.padded_matches[candidates[padded]] = padded


def _existing_warnings(row, existing: ExistingUser | None, lookup: _ExistingLookup, labels: dict) -> list[Issue]:
    refused = protected_account_issues(row, existing, labels=labels)
    if refused:
        return refused
    issues = existing_user_warnings(row, existing, labels=labels)
    email = row.values.get("email")
    if email:
        owner = lookup.email_owners.get(email.lower())
        if owner is not None and owner != row.district_id:
            issues.append(Issue(
                WARNING, "email_taken",
                "This email address already belongs to another user in Classworks"
                + (f" (District ID {owner})." if owner else "."),
                "Check that the District ID is right, or give this user their own address.",
                row=row.row, column=labels.get("email", ""), field="email", file=row.file,
            ))
    issues += _username_issues(row, lookup, labels)
    padded = lookup.padded_matches.get(row.district_id)
    if padded:
        issues.append(Issue(
            WARNING, "district_id_leading_zeros",
            f'District ID "{row.district_id}" matches existing user "{padded}" only once leading zeros are restored.',
            "Excel drops leading zeros: format the column as Text, or re-export from your SIS, so the user is updated rather than added.",
            row=row.row, column=labels.get("district_id", ""), field="district_id", file=row.file,
        ))
    return issues


def _username_issues(row, lookup: _ExistingLookup, labels: dict) -> list[Issue]:
    """A username another user holds: named when they are of this district, never when they are of another."""
    name = row.values.get("username")
    owner = lookup.username_owners.get(name.lower()) if name else None
    if owner is None:
        return []
    district_id, district_user_id = owner
    if district_id == lookup.district.id and district_user_id == row.district_id:
        return []  # the row's own user
    if district_id == lookup.district.id:
        template = USERNAME_TAKEN_HERE if district_user_id else USERNAME_TAKEN_BY_ACCOUNT
        message = template.format(username=name, owner=district_user_id, district_id=row.district_id)
        suggestion = USERNAME_TAKEN_HERE_SUGGESTION
    else:
        message, suggestion = USERNAME_TAKEN_ELSEWHERE.format(username=name), USERNAME_TAKEN_ELSEWHERE_SUGGESTION
    return [Issue(
        ERROR, "username_taken", message, suggestion,
        row=row.row, column=labels.get("username", ""), field="username", file=row.file,
    )]


def validate_import(
    *, district: District, sources: list[Source], options: ImportOptions, issue_sink: IssueSink,
    row_sink: Callable | None = None, on_batch: Callable[[int], None] | None = None, rows: Iterable | None = None,
    check_duplicates: bool = True, outcome_sink: Callable[[int, Outcome], None] | None = None,
) -> ValidationResult:
    """Validate every row and classify it as new, update, unchanged or conflict, in one streaming pass.

    row_sink, if given, receives (row, outcome) for every row without an error, in file order
    (the run spools the rows it must write). rows, if given, are the (source, built row) pairs of
    an earlier pass (BuiltRows): the files are not read again. Without check_duplicates (those
    rows, which an earlier pass found free of duplicates), the file is not searched for them again.
    outcome_sink, if given, receives (position in the stream from 0, outcome) for every row without an error.
    """
    result = ValidationResult()
    counts = result.counts

    def emit(issues: list[Issue]) -> None:
        if issues:
            for issue in issues:
                counts["errors" if issue.severity == ERROR else "warnings"] += 1
            issue_sink(issues)

    emit(missing_column_issues(sources, options))
    duplicates = duplicate_check(_expected_rows(sources)) if check_duplicates else _NoDuplicates()
    lookup = _ExistingLookup(district, options.spec, given_record_columns(sources, options))
    labels_cache: dict[str, dict] = {}
    # Two keys (a sourcedId and a District ID) can find one user: user id -> the first row that did.
    matched: dict[int, tuple[str, int]] | None = {} if len(options.spec.key_columns) > 1 else None
    blank_codes = _blank_codes(options.spec)
    password_users: set[int] = set()
    for batch in _batched(iter_user_rows(sources, options, keep_skipped=True) if rows is None else rows, BATCH_ROWS):
        rows = [row for _, row in batch if not row.skipped]
        for row in rows:
            if row.issues and row.district_id:
                _park_blanks(row, blank_codes)
        lookup.load([r for r in rows if not r.has_error])
        outside = _outside_match_only(lookup, rows)
        batch_issues: list[Issue] = []
        for source, row in batch:
            counts["rows"] += 1
            if row.skipped:  # the admin chose "skip these rows" for one of its values: counted, not an error
                counts["skipped"] += 1
                continue
            labels = labels_cache.get(source.info.name)
            if labels is None:
                labels = labels_cache[source.info.name] = _labels(source, options)
            if outside and row.district_id in outside and row.district_id not in lookup.users:
                counts["skipped"] += 1  # a user this type never touches (staff in Student Demographics): skipped
                emit([_outside_warning(row, outside[row.district_id], options.spec, labels)])
                continue
            outcome = existing = None
            plain = False
            if row.issues:
                _settle_blanks(row, None if row.has_error else lookup.users.get(row.district_id), blank_codes)
            if not row.has_error:
                existing = lookup.users.get(row.district_id)
                if not row.issues and matched is None:
                    outcome = _plain_outcome(row, existing, lookup)
                    plain = outcome is not None
                if not plain:
                    row.issues += unmatched_key_issues(row, existing, unmatched=options.spec.unmatched, labels=labels)
                    row.issues += _existing_warnings(row, existing, lookup, labels)
                    row.issues += password_issues(row, labels)
                    if matched is not None and existing is not None:
                        row.issues += _matched_twice(matched, row, existing, labels)
                    if not row.has_error:
                        outcome = classify(row, existing, conflict_policy=options.conflicts, password_policy=options.password_policy)
                        if row.password and existing is not None and not existing.protected:
                            password_users.add(existing.id)
            found = duplicates.add(
                file=row.file, row=row.row, district_id=row.district_id, id_column=labels.get("district_id", ""),
                email=row.values.get("email"), email_column=labels.get("email", ""),
                username=row.values.get("username"), username_column=labels.get("username", ""),
                tally=_tally_key(outcome) if outcome is not None else None,
            )
            if found:
                result.duplicates += len(found)
                row.issues += found
            has_error = bool(row.issues) and row.has_error
            if outcome is not None and not has_error:
                if plain:  # new, or unchanged: nothing a preview shows beyond its count
                    counts[outcome.kind] += 1
                    if outcome.kind == NEW:
                        counts["created"] += 1
                else:
                    _count_outcome(result, row, existing, outcome, hold=options.spec.hold_columns)
                if row_sink is not None:
                    row_sink(row, outcome)
                if outcome_sink is not None:
                    outcome_sink(counts["rows"] - 1, outcome)
            if row.issues:
                if has_error:
                    counts["error_rows"] += 1
                batch_issues += mask_issues(row.issues, (row.password,))
        _uncount(counts, duplicates.drain_uncounted())
        emit(batch_issues)
        if on_batch is not None:
            on_batch(counts["rows"])
    late = duplicates.finish()
    result.duplicates += len(late)
    _uncount(counts, duplicates.drain_uncounted())
    emit(late)
    result.claimed_passwords = _signed_in_count(password_users)
    return result


def _outside_match_only(lookup: _ExistingLookup, rows) -> dict[str, dict]:
    """For a type that skips the users its match_only leaves out, the keys of the batch that find one."""
    spec = lookup.spec
    if spec.outside_match_only is None or not spec.match_only:
        return {}
    keys = [r.district_id for r in rows if r.district_id and r.district_id not in lookup.users]
    return selectors.users_outside_match_only(district=lookup.district, district_ids=keys, spec=spec) if keys else {}


def _outside_warning(row, stored: dict, spec, labels: dict) -> Issue:
    """The type's warning for a row whose user it leaves alone (a staff member in Student Demographics)."""
    found = spec.outside_match_only(row.district_id, stored)
    return Issue(WARNING, found.code, found.message, found.suggestion,
                 row=row.row, column=labels.get(spec.match_field, ""), field=spec.match_field, file=row.file)


PARKED = "parked"  # a required field's blank, held back until the row's user is looked up


def _blank_codes(spec) -> dict[str, tuple[str, str]]:
    """The code of each required field's blank -> (field key, stored column): a blank a stored value may cover."""
    return {
        f.rule.blank.code: (f.key, f.stored_column) for f in spec.record_fields
        if f.required and f.rule.blank is not None
    }


def _park_blanks(row, blank_codes: dict) -> None:
    """Hold back the row's required blanks, so a row that has no other error is looked up."""
    if any(blank_codes.get(i.code, ("",))[0] == i.field for i in row.issues if i.is_error):
        row.issues = [
            replace(i, severity=PARKED) if i.is_error and blank_codes.get(i.code, ("",))[0] == i.field else i
            for i in row.issues
        ]


def _settle_blanks(row, existing: ExistingUser | None, blank_codes: dict) -> None:
    """A blank never erases: a required field blank in the file but stored for the matched user is no error.
    For a new user, one with nothing stored, or a row with other errors, the blank is an error again."""
    if any(i.severity == PARKED for i in row.issues):
        row.issues = [
            i if i.severity != PARKED else replace(i, severity=ERROR)
            for i in row.issues
            if i.severity != PARKED or existing is None or existing.values.get(blank_codes[i.code][1]) in (None, "")
        ]
def _signed_in_count(user_ids: set[int]) -> int:
    return sum(
        User.objects.filter(id__in=batch, last_login__isnull=False).count() for batch in _batched(sorted(user_ids), 5000)
    )


def _plain_outcome(row, existing: ExistingUser | None, lookup: _ExistingLookup) -> Outcome | None:
    """NEW or UNCHANGED for a row that the full checks would pass without a word, decided cheaply; None
    sends the row through them (a change, a warning, a password, an administrator, an unknown key...)."""
    if row.password:
        return None
    values = row.values
    email, name = values.get("email"), values.get("username")
    if email:
        owner = lookup.email_owners.get(email.lower())
        if owner is not None and owner != row.district_id:
            return None
    if name:
        owner = lookup.username_owners.get(name.lower())
        if owner is not None and owner != (lookup.district.id, row.district_id):
            return None
    if existing is None:
        if not lookup.spec.creates_users or row.district_id in lookup.padded_matches:
            return None
        return Outcome(NEW)
    if existing.protected or not same_as_stored(values, existing):
        return None
    return Outcome(UNCHANGED)


def _expected_rows(sources: list[Source]) -> int | None:
    """The rows the upload counted in these files, or counted now for a file given on the command line;
    None when an upload was not counted (0 is taken as not counted)."""
    counts = dict(ImportFile.objects.filter(id__in=[s.file_id for s in sources if s.file_id]).values_list("id", "row_count"))
    total = 0
    for source in sources:
        found = counts.get(source.file_id) if source.file_id else count_data_rows(
            source.path, source.info, up_to=IN_MEMORY_MAX_ROWS)  # beyond it, the exact count does not matter
        if not found:
            return None
        total += found
    return total


class _NoDuplicates:
    """For rows an earlier pass already searched for duplicates and found none."""

    def add(self, **row) -> list[Issue]:
        return []

    def finish(self) -> list[Issue]:
        return []

    def drain_uncounted(self) -> list[str]:
        return []


def _matched_twice(matched: dict[int, tuple[str, int]], row, existing: ExistingUser, labels: dict) -> list[Issue]:
    first = matched.setdefault(existing.id, (row.file, row.row))
    if first == (row.file, row.row):
        return []
    return [Issue(
        ERROR, "same_user_twice", ERROR_SAME_USER.format(file=first[0], row=first[1], district_id=existing.district_user_id),
        "Each user must appear once. Remove one of the two rows.",
        row=row.row, column=labels.get("district_id", ""), field="district_id", file=row.file,
    )]


def _tally_key(outcome) -> str:
    """How a row was counted, so the count can be taken back if it turns out to be a duplicate."""
    return f"{outcome.kind}:{int(outcome.writes)}"


def _uncount(counts: Counter, tallies: list[str]) -> None:
    """Rows counted as new/update/... that a later duplicate made errors: count them as error rows instead."""
    for tally in tallies:
        kind, writes = tally.split(":")
        counts[kind] -= 1
        if kind == NEW:
            counts["created"] -= 1
        elif writes == "1":
            counts["updated"] -= 1
        counts["error_rows"] += 1


def _labels(source: Source, options: ImportOptions) -> dict[str, str]:
    labels = {key: label for key, label in options.field_mapping.items() if label in source.info.column_labels}
    for key in options.fixed_for(source):
        labels.pop(key, None)
    return labels


def _count_outcome(result: ValidationResult, row, existing, outcome, *, hold: frozenset[str]) -> None:
    """Count the row; changes to the type's hold fields count towards the safety hold."""
    counts = result.counts
    passwords = (row.password,)  # the preview shows file values: never one that is the row's password
    counts[outcome.kind] += 1
    if outcome.kind == NEW:
        counts["created"] += 1
    elif outcome.writes:
        counts["updated"] += 1
    mass = hold.intersection(outcome.changes)
    if existing is not None and mass:
        counts["mass_changed"] += 1
        if existing.values.get("user_type") == "student" and existing.values.get("school_id"):
            result.affected_by_school[existing.values["school_id"]] += 1
        largest = result.largest_changes
        if len(largest) < LARGEST_CHANGES_KEPT or len(mass) > len(largest[-1]["fields"]):
            largest.append({
                "district_id": mask_value(row.district_id, passwords),
                "fields": {k: [outcome.changes[k][0], mask_value(outcome.changes[k][1], passwords)] for k in sorted(mass)},
            })
            # The rows that change the most fields first; ties keep file order.
            largest.sort(key=lambda c: -len(c["fields"]))
            del largest[LARGEST_CHANGES_KEPT:]
    if outcome.conflicts and result.conflict_example is None:
        result.conflict_example = {
            "district_id": mask_value(row.district_id, passwords),
            "fields": {k: [str(v[0] or ""), mask_value(str(v[1] or ""), passwords)] for k, v in outcome.conflicts.items()},
            "file_name": mask_text(row.display_name, passwords),
            "existing_name": " ".join(
                p for p in (existing.values.get("first_name"), existing.values.get("last_name")) if p
            ),
        }


# --- The built rows, kept for the run -------------------------------------------------------------
# Validation stores every row as the rules built it (values and the problems found in its cells),
# before anything is looked up. The run then classifies these rows against the users as they are
# by then, instead of reading and building the file again. Everything that looks at the database
# (users, usernames, emails, duplicates) runs again in the run; only reading and the rules do not.
# Never for a file with a Password column: a password does not rest on disk in clear text.

BUILT_ROWS_DIR = "built_rows"
BUILT_ROWS_BLOCK = 2000  # rows per pickle: one dump per row cost a tenth of an unchanged run
BUILT_ROWS_FORMAT = 2  # in the key: rows kept in another layout are never read, the file is


def built_rows_key(job: ImportJob, sources: list[Source], options: ImportOptions) -> str:
    """What the built rows depend on: the pass, the file versions, the mapping and the schools that still exist."""
    data = [
        BUILT_ROWS_FORMAT, job.validation_generation, job.import_type, [(s.file_id, s.path) for s in sources], options.field_mapping,
        options.fixed_values, options.file_fixed_values, sorted(options.school_mapping.items()), options.value_mapping,
    ]
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def _built_rows_name(job_id: int) -> str:
    return f"{BUILT_ROWS_DIR}/job-{job_id}.pickle"


class BuiltRows:
    """Records the (source, built row) pairs of a pass to a file of its own, as they stream past."""

    def __init__(self, job: ImportJob, sources: list[Source], options: ImportOptions):
        self.job, self.sources, self.options = job, sources, options
        self.enabled = not any(options.spec.password_field in _given(options, s) for s in sources)
        self._file = None
        if self.enabled:
            storage = storages["private"]
            self.path = storage.path(_built_rows_name(job.id))
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            self._temp = f"{self.path}.{secrets.token_hex(8)}"
            self._file = open(self._temp, "wb")
            self._pickler = pickle.Pickler(self._file, protocol=pickle.HIGHEST_PROTOCOL)
            self.key = built_rows_key(job, sources, options)
            self._pickler.dump(self.key)  # read back first: a file another pass replaced is never taken for this one
            self._pickler.clear_memo()  # each dump is read by an unpickler of its own, whose memo starts empty
            # Taken before the pass reads any user: a change made while it runs is seen by the run.
            self.users = users_fingerprint(job.district, fingerprint_columns(sources, options))
            self.marks = bytearray()

    def record(self, pairs: Iterable):
        """Pass the pairs through, writing each one down first (before validation adds its own problems)."""
        if self._file is None:
            yield from pairs
            return
        numbers = {id(s): n for n, s in enumerate(self.sources)}
        dump, clear = self._pickler.dump, self._pickler.clear_memo
        block = []
        for source, row in pairs:
            block.append((numbers[id(source)], row.file, row.row, row.district_id, row.values, list(row.issues), row.skipped))
            if len(block) >= BUILT_ROWS_BLOCK:
                dump(block)
                clear()  # the memo would otherwise keep every row in memory
                block = []
            yield source, row
        if block:
            dump(block)
            clear()

    def mark(self, position: int, outcome: Outcome) -> None:
        """The pass's verdict on the row at this position: valid, and whether the run writes it."""
        if self._file is None:
            return
        marks = self.marks
        if len(marks) <= position:
            marks.extend(bytes(position + 1 - len(marks)))
        marks[position] = MARK_WRITES if outcome.writes else MARK_VALID

    def keep(self) -> str:
        """Put the finished recording in place; returns its key for the job ("" when nothing was recorded)."""
        if self._file is None:
            return ""
        self._file.close()
        os.replace(self._temp, self.path)
        self._file = None
        if self.users is not None:
            temp = f"{self.path}.{secrets.token_hex(8)}"
            with open(temp, "wb") as fh:
                pickle.dump((self.key, _verdicts_made_under(self.options, self.users), bytes(self.marks)), fh,
                            protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(temp, _verdicts_path(self.path))
        return self.key

    def discard(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
            if os.path.exists(self._temp):
                os.remove(self._temp)


# --- The pass's verdicts, reused when nothing they depend on changed ---------------------------------
# With the rows, a pass keeps its verdict on each (valid, and whether the run writes it) and a
# fingerprint of the district's users (the columns its checks read) taken before it read them. A run that finds the same rows, the
# same options and the same fingerprint has nothing to check again: it writes the rows the pass said
# write, and every write is still decided against the stored user inside its chunk (apply.py).
# PostgreSQL only (its md5 and string_agg): on SQLite a run always checks again.

MARK_VALID, MARK_WRITES = 1, 2  # a byte per row; 0: an error or a skipped row


def fingerprint_columns(sources: list[Source], options: ImportOptions) -> tuple[str, ...]:
    """Every stored column a pass's verdicts depend on: the keys, who is protected, the users a type may
    match, and the record columns it compares (a sign-in's last_login or a new password changes none)."""
    spec = options.spec
    columns = ("id", *spec.key_columns, *PROTECTED_COLUMNS, *spec.match_only,
               *given_record_columns(sources, options))
    return tuple(dict.fromkeys(columns))


def users_fingerprint(district: District, columns: tuple[str, ...]) -> str | None:
    """The md5 of these columns of the district's users, in id order: any insert, delete or change of one
    of them changes it, even inside one transaction. None off PostgreSQL, where a run always checks again."""
    if connection.vendor != "postgresql":
        return None
    fields = ", ".join(User._meta.get_field(c).column if c != "id" else "id" for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*), md5(string_agg(ROW({fields})::text, ',' ORDER BY id)) "
            f"FROM {User._meta.db_table} WHERE district_id = %s",
            [district.id],
        )
        count, values = cursor.fetchone()
    return f"{count}:{values or ''}"


def _verdicts_path(path: str) -> str:
    return f"{path}.verdicts"


def _verdicts_made_under(options: ImportOptions, users: str | None) -> dict:
    """What the verdicts depend on beyond the rows: the users as they were, and the options that decide a write."""
    return {"users": users, "conflicts": options.conflicts, "passwords": options.password_policy}


@dataclass
class ReusedPass:
    """The wizard's pass, taken as the run's check: its counts, and the rows it said the run writes."""

    result: ValidationResult
    rows: Iterable  # (source, row) pairs, as kept
    marks: bytes

    def rows_to_write(self, *, every_valid_row: bool):
        """The rows the run writes (every valid row when group members or login emails need them all),
        numbered among the valid rows as a spool numbers them."""
        marks, index, wanted = self.marks, -1, MARK_VALID if every_valid_row else MARK_WRITES
        if not self.count(every_valid_row=every_valid_row):  # an unchanged file: not even read back
            self.rows.close()
            return
        for position, (_, row) in enumerate(self.rows):
            mark = marks[position] if position < len(marks) else 0
            if not mark:
                continue
            index += 1
            if mark >= wanted:
                row.index = index
                yield row

    def count(self, *, every_valid_row: bool) -> int:
        marks = self.marks
        return len(marks) - marks.count(0) if every_valid_row else marks.count(MARK_WRITES)


def built_pass_reusable(*, job: ImportJob, sources: list[Source], options: ImportOptions) -> ReusedPass | None:
    """The wizard's pass when the run can take it as is: same rows, options and users, no error, and no
    usernames in the files (those are unique across every district, which the fingerprint does not cover)."""
    summary = job.validation_summary or {}
    if not summary.get("counts") or summary["counts"].get("errors"):
        return None
    if any("username" in _given(options, s) for s in sources):
        return None
    rows = built_rows_current(job=job, sources=sources, options=options)
    if rows is None:
        return None
    path = _verdicts_path(storages["private"].path(_built_rows_name(job.id)))
    if not os.path.exists(path):
        rows.close()
        return None
    with open(path, "rb") as fh:
        key, made_under, marks = pickle.load(fh)
    users = users_fingerprint(job.district, fingerprint_columns(sources, options))
    if users is None or key != job.built_rows_key or made_under != _verdicts_made_under(options, users):
        rows.close()
        return None
    result = ValidationResult(counts=Counter(summary["counts"]), duplicates=summary.get("duplicates", 0))
    return ReusedPass(result=result, rows=rows, marks=marks)


def _given(options: ImportOptions, source: Source) -> set[str]:
    plan = options.plan_for(source)
    return {*plan.indexes, *plan.fixed}


def built_rows_current(*, job: ImportJob, sources: list[Source], options: ImportOptions):
    """The stored built rows as (source, row) pairs, or None when they were made from other choices or files."""
    if not job.built_rows_key or job.built_rows_key != built_rows_key(job, sources, options):
        return None
    path = storages["private"].path(_built_rows_name(job.id))
    if not os.path.exists(path):
        return None
    with open(path, "rb") as fh:
        if pickle.load(fh) != job.built_rows_key:
            return None
    return _read_built_rows(path, sources)


def _read_built_rows(path: str, sources: list[Source]):
    from ..pipeline.rows import UserRow

    with open(path, "rb") as fh:
        load = pickle.load
        load(fh)  # the key
        while True:
            try:
                # One load a block: one Unpickler for the stream would keep every row in its memo.
                block = load(fh)
            except EOFError:
                return
            for number, file, row, district_id, values, issues, skipped in block:
                yield sources[number], UserRow(file=file, row=row, district_id=district_id, values=values, issues=issues,
                                               skipped=skipped)


def built_verdicts_delete(*, job: ImportJob) -> None:
    """The pass's verdicts no longer go with the job's stored summary and problems (a run checked again)."""
    path = _verdicts_path(storages["private"].path(_built_rows_name(job.id)))
    if os.path.exists(path):
        os.remove(path)


def built_rows_delete(*, job: ImportJob) -> None:
    """The stored built rows go with the job's files (and once a run has used them)."""
    path = storages["private"].path(_built_rows_name(job.id))
    for kept in (path, _verdicts_path(path)):
        if os.path.exists(kept):
            os.remove(kept)
    ImportJob.objects.filter(id=job.id).exclude(built_rows_key="").update(built_rows_key="")


# --- The wizard's background pass -----------------------------------------------------------------
# Leaving Map Fields reads the School column's distinct values; leaving School Mapping validates.
# Both run as a task so that no request of the wizard does work that grows with the file. Each
# batch commits on its own (a short write: on SQLite other users can still sign in), and only
# while the job still asks for this pass: a newer mapping bumps the generation, a re-dispatch
# after a stall replaces the claim, and either way the older task stops at its next batch.

# No batch for this long: the task is presumed lost, and a reload or the sweeper dispatches it again.
VALIDATION_STALE_AFTER = timedelta(minutes=2)
MAX_SCHOOL_VALUES = 50_000
MAX_CODED_VALUES = 5_000  # per coded field
DELETE_BATCH = 5000
ERROR_TOO_MANY_SCHOOL_VALUES = (
    'The column "{column}" matched to School has more than {limit:,} different values. '
    "Check that School is matched to the right column."
)
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
    from ..tasks import validate_draft

    extra = {"validated_at": None, "validation_summary": {}} if phase == ValidationPhase.VALIDATE else {}
    ImportJob.objects.filter(id=job.id).update(**_restart_fields(phase), **extra)
    job.refresh_from_db(fields=REFRESHED)
    validate_draft.delay_on_commit(job.id)


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
    from ..tasks import validate_draft

    # Only one reload (or the sweeper) wins; clearing the claim makes a slow old task stop at its next batch.
    stale = Q(validation_heartbeat_at__isnull=True) | Q(validation_heartbeat_at__lt=now - VALIDATION_STALE_AFTER)
    taken = ImportJob.objects.filter(stale, id=job_id, validation_generation=generation, validation_error="").update(
        validation_claim="", validation_heartbeat_at=now,
    )
    if taken:
        validate_draft.delay_on_commit(job_id)
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
    except FileReadError as exc:
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


def _unrecognised_parts(rule, value: str) -> list[str]:
    if not value:
        return []
    parts = value.split(rule.coding.separator) if rule.coding.separator else [value]
    return [w for w in (" ".join(p.split()) for p in parts) if w and rule.parse(w).__class__ is Invalid]


def file_value_counts_bounded(
    job: ImportJob, on_rows: Callable[[int], None] | None = None,
) -> tuple[dict[str, int] | str, dict[str, dict[str, int]]]:
    """The job's files' school values (or a message when there are too many) and unrecognised coded values."""
    return file_value_counts(
        sources_for_job(job), ImportOptions.from_job(job), rows_of=source_rows, total_rows=job.rows_total, on_rows=on_rows,
    )


def file_value_counts(
    sources: list[Source], options: ImportOptions, *, rows_of: Callable[[Source], int] = lambda source: 0,
    total_rows: int = 0, on_rows: Callable[[int], None] | None = None, limit_schools: bool = True,
) -> tuple[dict[str, int] | str, dict[str, dict[str, int]]]:
    """One read of the files: the School column's distinct values (with limit_schools, a message when
    there are too many), and each coded field's distinct values that its rule does not recognise, with
    their row counts. A value given for every row of a file counts rows_of(file) rows; a cell equal to
    the row's password is never listed."""
    spec = options.spec
    school_key = spec.lookup_field("schools")
    fixed = options.fixed_values.get(school_key) if school_key else None
    schools: dict[str, int] | str = {}
    if fixed is not None and fixed.strip():
        schools = {fixed.strip(): total_rows}
    coded: dict[str, dict[str, int]] = {f.key: {} for f in spec.coded_fields}
    verdicts: dict[tuple[str, str], tuple[str, ...]] = {}  # (field, cell) -> its unrecognised parts
    rows = 0
    for source in sources:
        plan = options.plan_for(source)
        index = plan.indexes.get(school_key) if fixed is None and school_key else None
        columns = [(f, plan.indexes[f.key]) for f in spec.coded_fields if f.key in plan.indexes]
        file_school = (plan.fixed.get(school_key) or "").strip() if fixed is None and school_key else ""
        if file_school and not isinstance(schools, str):  # one school for this file's rows
            schools[file_school] = schools.get(file_school, 0) + rows_of(source)
        for f in spec.coded_fields:  # one value for this file's rows that the rule does not know
            text = (plan.fixed.get(f.key) or "").strip()
            if text:
                for part in _unrecognised_parts(f.rule, text):
                    coded[f.key][part] = coded[f.key].get(part, 0) + rows_of(source)
        if index is None and not columns:
            continue
        # Every password column (pipeline/masking.py): a value equal to one of the row's is never listed,
        # and a column with a password heading is never listed at all.
        secret_indexes = password_indexes(source.info.column_labels, spec=spec, field_mapping=options.field_mapping)
        if index in secret_indexes:
            index = None
        columns = [(f, i) for f, i in columns if i not in secret_indexes]
        for raw in iter_rows(source.path, source.info):
            rows += 1
            cells, n = raw.cells, len(raw.cells)
            secret = row_passwords(cells, secret_indexes)
            if index is not None and not isinstance(schools, str):
                value = cells[index].strip() if index < n else ""
                if value and value not in secret:  # a password is never listed on School Mapping
                    schools[value] = schools.get(value, 0) + 1
                    if limit_schools and len(schools) > MAX_SCHOOL_VALUES:
                        schools = ERROR_TOO_MANY_SCHOOL_VALUES.format(column=plan.labels[school_key], limit=MAX_SCHOOL_VALUES)
            for f, i in columns:
                value = cells[i].strip() if i < n else ""
                if not value or value in secret:  # a password is never listed
                    continue
                parts = verdicts.get((f.key, value))
                if parts is None:
                    parts = tuple(_unrecognised_parts(f.rule, value))
                    if len(verdicts) < MAX_CODED_VALUES * 4:
                        verdicts[(f.key, value)] = parts
                found = coded[f.key]
                for part in parts:
                    if part in found:
                        found[part] += 1
                    elif len(found) < MAX_CODED_VALUES:  # beyond this, a value is not listed and stays an error
                        found[part] = 1
            if on_rows is not None and rows % BATCH_ROWS == 0:
                on_rows(rows)
    return schools, {k: v for k, v in coded.items() if v}


def source_rows(source) -> int:
    found = ImportFile.objects.filter(id=source.file_id).values_list("row_count", flat=True).first()
    return found or 0


def school_values_store(*, job: ImportJob, counts: dict[str, int], coded: dict[str, dict[str, int]] | None = None) -> None:
    """Replace the job's stored school values (at most MAX_SCHOOL_VALUES rows) and unrecognised coded values."""
    ImportSchoolValue.objects.filter(job=job).delete()
    ImportSchoolValue.objects.bulk_create(
        [ImportSchoolValue(job=job, position=i, value=value, rows=n) for i, (value, n) in enumerate(counts.items())],
        batch_size=2000,
    )
    ImportCodedValue.objects.filter(job=job).delete()
    ImportCodedValue.objects.bulk_create(
        [
            ImportCodedValue(job=job, position=i, field_key=key, value=value, rows=n)
            for i, (key, value, n) in enumerate((k, v, n) for k, values in (coded or {}).items() for v, n in values.items())
        ],
        batch_size=2000,
    )


def _validate_target_draft(job: ImportJob, run: _Pass, store_issues) -> None:
    """Validate File for Classes: its checks, issues and counts, stored as the wizard shows them."""
    check = job_classes_check(job=job)
    sources = sources_for_job(job)
    run.commit(check.plan.rows, lambda: store_issues(job, sources, check.plan.issues))
    summary = {**wizard_summary(check), "groups": selectors.import_issue_groups(job=job)}
    run.finish(validation_summary=summary, validated_at=timezone.now(), rows_total=check.plan.rows)


def _read_school_values(job: ImportJob, run: _Pass) -> None:
    key = school_values_key(job)
    counts, coded = file_value_counts_bounded(job, on_rows=run.commit)
    if isinstance(counts, str):
        run.finish(validation_error=counts)
        return
    run.finish(lambda: school_values_store(job=job, counts=counts, coded=coded), school_values_key=key)


def _validate_draft(job: ImportJob, run: _Pass) -> None:
    from .apply import store_issues

    # The previous pass's problems go first, a batch at a time.
    while True:
        ids = list(ImportIssue.objects.filter(job_id=job.id).values_list("id", flat=True)[:DELETE_BATCH])
        if not ids:
            break
        run.commit(0, lambda ids=ids: ImportIssue.objects.filter(id__in=ids).delete())
    if job.import_type in TARGETS:  # a type with a target of its own checks its rows its own way
        _validate_target_draft(job, run, store_issues)
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
            issue_sink=pending.extend, on_batch=flush, rows=built.record(iter_user_rows(sources, options, keep_skipped=True)),
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
