"""The one pass that validates every row and previews what the import will do under the chosen options."""
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from schools.models import District

from .. import selectors
from ..pipeline.classify import (
    NEW, ExistingUser, classify, existing_user_warnings, protected_account_issues, unmatched_key_issues,
)
from ..pipeline.issues import ERROR, WARNING, Issue
from ..pipeline.masking import mask_issues, mask_text, mask_value
from .duplicates import duplicate_check
from .passwords import password_issues
from .sources import ImportOptions, Source, iter_user_rows, missing_column_issues

BATCH_ROWS = 5000
COUNT_KEYS = ("rows", "new", "update", "unchanged", "conflict", "created", "updated", "errors", "warnings", "error_rows")

IssueSink = Callable[[list[Issue]], None]


LARGEST_CHANGES_KEPT = 10
ERROR_SAME_USER = "This row finds the same user as {file} row {row} (District ID {district_id})."


@dataclass
class ValidationResult:
    counts: Counter = field(default_factory=Counter)
    conflict_example: dict | None = None
    # Safety hold: existing students affected per their current school, and a few examples.
    affected_by_school: Counter = field(default_factory=Counter)
    largest_changes: list = field(default_factory=list)

    @property
    def has_errors(self) -> bool:
        return self.counts["errors"] > 0

    def result_counts(self) -> dict:
        """What a run under these options will report: the same keys a finished job records."""
        c = self.counts
        return {
            "rows": c["rows"], "created": c["created"], "updated": c["updated"],
            "unchanged": c["rows"] - c["error_rows"] - c["created"] - c["updated"],
            "conflicts": c["conflict"], "errors": c["errors"], "warnings": c["warnings"],
        }

    def summary(self) -> dict:
        return {
            "counts": {k: self.counts[k] for k in (*COUNT_KEYS, "mass_changed")},
            "conflict_example": self.conflict_example,
            "affected_by_school": {str(k): v for k, v in self.affected_by_school.items()},
            "largest_changes": self.largest_changes,
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


class _ExistingLookup:
    """Per batch: the users matched by District ID, owners of emails, and ids Excel stripped of zeros."""

    def __init__(self, district: District, spec):
        self.district = district
        self.spec = spec
        self.padded_lengths = selectors.zero_padded_id_lengths(district=district)

    def load(self, rows) -> None:
        ids = [r.district_id for r in rows if r.district_id]
        self.users = selectors.existing_users_by_district_id(district=self.district, district_ids=ids, spec=self.spec)
        emails = [r.values["email"] for r in rows if r.values.get("email")]
        self.email_owners = selectors.existing_email_owners(district=self.district, emails=emails)
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
    padded = lookup.padded_matches.get(row.district_id)
    if padded:
        issues.append(Issue(
            WARNING, "district_id_leading_zeros",
            f'District ID "{row.district_id}" matches existing user "{padded}" only once leading zeros are restored.',
            "Excel drops leading zeros: format the column as Text, or re-export from your SIS, so the user is updated rather than added.",
            row=row.row, column=labels.get("district_id", ""), field="district_id", file=row.file,
        ))
    return issues


def validate_import(
    *, district: District, sources: list[Source], options: ImportOptions, issue_sink: IssueSink,
    row_sink: Callable | None = None, on_batch: Callable[[int], None] | None = None,
) -> ValidationResult:
    """Validate every row and classify it as new, update, unchanged or conflict, in one streaming pass.

    row_sink, if given, receives (row, outcome) for every row without an error, in file order
    (the run spools the rows it must write).
    """
    result = ValidationResult()
    counts = result.counts

    def emit(issues: list[Issue]) -> None:
        if issues:
            for issue in issues:
                counts["errors" if issue.severity == ERROR else "warnings"] += 1
            issue_sink(issues)

    emit(missing_column_issues(sources, options))
    duplicates = duplicate_check()
    lookup = _ExistingLookup(district, options.spec)
    labels_cache: dict[str, dict] = {}
    # Two keys (a sourcedId and a District ID) can find one user: user id -> the first row that did.
    matched: dict[int, tuple[str, int]] | None = {} if len(options.spec.key_columns) > 1 else None
    for batch in _batched(iter_user_rows(sources, options), BATCH_ROWS):
        rows = [row for _, row in batch]
        lookup.load([r for r in rows if not r.has_error])
        batch_issues: list[Issue] = []
        for source, row in batch:
            counts["rows"] += 1
            labels = labels_cache.get(source.info.name)
            if labels is None:
                labels = labels_cache[source.info.name] = _labels(source, options)
            outcome = existing = None
            if not row.has_error:
                existing = lookup.users.get(row.district_id)
                row.issues += unmatched_key_issues(row, existing, unmatched=options.spec.unmatched, labels=labels)
                row.issues += _existing_warnings(row, existing, lookup, labels)
                row.issues += password_issues(row, labels)
                if matched is not None and existing is not None:
                    row.issues += _matched_twice(matched, row, existing, labels)
                if not row.has_error:
                    outcome = classify(row, existing, conflict_policy=options.conflicts, password_policy=options.password_policy)
            row.issues += duplicates.add(
                file=row.file, row=row.row, district_id=row.district_id, id_column=labels.get("district_id", ""),
                email=row.values.get("email"), email_column=labels.get("email", ""),
                tally=_tally_key(outcome) if outcome is not None else None,
            )
            if outcome is not None and not row.has_error:
                _count_outcome(result, row, existing, outcome, hold=options.spec.hold_columns)
                if row_sink is not None:
                    row_sink(row, outcome)
            if row.has_error:
                counts["error_rows"] += 1
            batch_issues += mask_issues(row.issues, (row.password,))
        _uncount(counts, duplicates.drain_uncounted())
        emit(batch_issues)
        if on_batch is not None:
            on_batch(counts["rows"])
    late = duplicates.finish()
    _uncount(counts, duplicates.drain_uncounted())
    emit(late)
    return result


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
    for key in options.fixed_values:
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
