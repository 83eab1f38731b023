"""The one pass that validates every row and previews what the import will do under the chosen options."""
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import replace


from schools.models import District

from ...pipeline.classify import NEW, UNCHANGED, ExistingUser, Outcome, unmatched_key_issues
from ...targets import get_target
from ...pipeline.issues import ERROR, WARNING, Issue
from ...pipeline.masking import mask_issues, mask_text, mask_value
from ...pipeline.rows import UserRow
from ..collector import few_collections
from ..duplicates import StagedDuplicateCheck, duplicate_check
from ..passwords import password_issues
from ..sources import ImportOptions, Source, iter_user_rows, missing_column_issues
from .matched import MatchedUsers
from .result import BATCH_ROWS, LARGEST_CHANGES_KEPT, IssueSink, ValidationResult
from .screen import SETTLED_OUTCOME, Settled, screened_rows

def _batched(items: Iterable, size: int):
    """Batches of about `size` rows: a Settled run counts as its rows."""
    batch, n = [], 0
    for item in items:
        batch.append(item)
        n += len(item) if item.__class__ is Settled else 1
        if n >= size:
            yield batch
            batch, n = [], 0
    if batch:
        yield batch


def _given_keys(sources: list[Source], options: ImportOptions) -> set[str]:
    """The field keys a row of these files can give a value for (a column or a fixed value)."""
    keys: set[str] = set()
    for source in sources:
        plan = options.plan_for(source)
        keys.update(plan.indexes, plan.fixed)
    return keys


def given_record_columns(sources: list[Source], options: ImportOptions) -> tuple[str, ...]:
    """The stored columns a row of these files is compared on, with those the target's checks read."""
    return get_target(options.spec).compared_columns(_given_keys(sources, options))


def validate_import(**kwargs) -> ValidationResult:
    """_validate_import (its docstring), with the collector mostly out of the way."""
    with few_collections():
        return _validate_import(**kwargs)


def _validate_import(
    *, district: District, sources: list[Source], options: ImportOptions, issue_sink: IssueSink,
    row_sink: Callable | None = None, on_batch: Callable[[int], None] | None = None, rows: Iterable | None = None,
    check_duplicates: bool = True, outcome_sink: Callable[[int, Outcome, int], None] | None = None,
    record: Callable | None = None, screen: bool = True,
) -> ValidationResult:
    """Validate every row and classify it as new, update, unchanged or conflict, in one streaming pass.

    row_sink, if given, receives (row, outcome) for every row without an error, in file order
    (the run spools the rows it must write). rows, if given, are the (source, built row) pairs of
    an earlier pass (BuiltRows): the files are not read again. Without check_duplicates (those
    rows, which an earlier pass found free of duplicates), the file is not searched for them again.
    outcome_sink, if given, receives (position in the stream from 0, outcome, rows) for every row without an error:
    the outcome of that many rows from that position on.
    record, if given, wraps the stream read from the files (BuiltRows.record keeps it for the run).
    With screen (and a target that allows it), rows that match their stored record and change nothing
    are counted without being made (screen.py): only for a row_sink that does not want unchanged rows.
    """
    result = ValidationResult()
    counts = result.counts

    def emit(issues: list[Issue]) -> None:
        if issues:
            for issue in issues:
                counts["errors" if issue.severity == ERROR else "warnings"] += 1
            issue_sink(issues)

    emit(missing_column_issues(sources, options))
    # Two keys (a sourcedId and a District ID) can find one user: the staging keeps the row that first did.
    two_keys = len(options.spec.key_columns) > 1
    if check_duplicates:
        duplicates = duplicate_check()
    else:
        duplicates = StagedDuplicateCheck(search=False) if two_keys else _NoDuplicates()
    matched = MatchedUsers(duplicates) if two_keys else None
    target = get_target(options.spec)
    lookup = target.checks(district=district, columns=given_record_columns(sources, options))
    # Besides the key, the fields whose repeat within the file is a warning and an error (the target says which).
    key_field, (warned, refused) = options.spec.match_field, target.unique_in_file
    labels_cache: dict[str, dict] = {}
    blank_codes = _blank_codes(options.spec)
    password_users: set[int] = set()
    if rows is None:
        if screen and target.settles_unchanged:
            rows = screened_rows(sources, options, lookup)
        else:
            rows = iter_user_rows(sources, options, keep_skipped=True)
        if record is not None:
            rows = record(rows)
    for batch in _batched(rows, BATCH_ROWS):
        rows = [item[1] for item in batch if item.__class__ is not Settled and not item[1].skipped]
        for row in rows:
            if row.issues and row.district_id:
                _park_blanks(row, blank_codes)
        lookup.load([r for r in rows if not r.has_error])
        lookup.forget(item[1].district_id for item in batch if item.__class__ is not Settled)
        outside = _outside_match_only(target, lookup, rows)
        batch_issues: list[Issue] = []
        for item in batch:
            if item.__class__ is Settled:
                batch_issues += _count_settled(item, counts, duplicates, labels_cache, options, outcome_sink, key_field,
                                               warned, refused, matched)
                continue
            source, row = item
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
            outcome = existing = first_of_user = None
            if row.issues:
                _settle_blanks(row, None if row.has_error else lookup.users.get(row.district_id), blank_codes)
            if not row.has_error:
                # Every row runs every check once: there is no second, cheaper statement of them.
                existing = lookup.users.get(row.district_id)
                row.issues += unmatched_key_issues(row, existing, unmatched=options.spec.unmatched, labels=labels)
                row.issues += lookup.issues(row, existing, labels)
                row.issues += password_issues(row, labels, field=options.spec.password_field)
                if matched is not None and existing is not None:
                    if matched.first(existing.id):
                        first_of_user = existing.id
                    else:
                        row.issues += matched.again(row, existing, labels)
                if not row.has_error:
                    outcome = target.compare(row, existing, conflict_policy=options.conflicts, password_policy=options.password_policy)
                    if row.password and existing is not None and not existing.protected:
                        password_users.add(existing.id)
            found = duplicates.add(
                file=row.file, row=row.row, district_id=row.district_id, id_column=labels.get(key_field, ""),
                email=row.values.get(warned) if warned else None, email_column=labels.get(warned, ""),
                username=row.values.get(refused) if refused else None, username_column=labels.get(refused, ""),
                tally=_tally_key(outcome) if outcome is not None else None, user_id=first_of_user,
            )
            if found:
                result.duplicates += len(found)
                row.issues += found
            has_error = bool(row.issues) and row.has_error
            if outcome is not None and not has_error:
                _count_outcome(result, row, existing, outcome, hold=options.spec.hold_columns, target=target)
                if row_sink is not None:
                    row_sink(row, outcome)
                if outcome_sink is not None:
                    outcome_sink(counts["rows"] - 1, outcome, 1)
            if row.issues:
                if has_error:
                    counts["error_rows"] += 1
                batch_issues += mask_issues(row.issues, (row.password,))
        _uncount(counts, duplicates.drain_uncounted())
        emit(matched.complete(batch_issues) if matched is not None else batch_issues)
        if on_batch is not None:
            on_batch(counts["rows"])
    late = duplicates.finish()
    result.duplicates += len(late)
    _uncount(counts, duplicates.drain_uncounted())
    emit(late)
    result.claimed_passwords = target.signed_in_count(password_users)
    return result


def _count_settled(run: Settled, counts: Counter, duplicates, labels_cache: dict, options: ImportOptions, outcome_sink,
                   key_field: str, warned: str | None, refused: str | None, matched: MatchedUsers | None) -> list[Issue]:
    """A run of unchanged rows: counted, and seen by the duplicate check, as the loop above would; returns the
    issues of those whose user an earlier row already matched by another key (each such row is an error)."""
    labels = labels_cache.get(run.source.info.name)
    if labels is None:
        labels = labels_cache[run.source.info.name] = _labels(run.source, options)
    first = counts["rows"]
    n = len(run.rows)
    none = [None] * n
    emails = run.unique.get(warned, none) if warned else none
    usernames = run.unique.get(refused, none) if refused else none
    id_column, email_column, username_column = labels.get(key_field, ""), labels.get(warned, ""), labels.get(refused, "")
    issues, twice = [], set()
    if matched is not None:
        for j, (row, user) in enumerate(zip(run.rows, run.users)):
            if not matched.first(user.id):
                twice.add(j)
                issues += matched.again(UserRow(file=run.file, row=row), user, labels)
    counts["rows"] += n
    counts[UNCHANGED] += n - len(twice)
    counts["error_rows"] += len(twice)
    kept = [j for j in range(n) if j not in twice] if twice else range(n)
    pick = (lambda xs: [xs[j] for j in kept]) if twice else (lambda xs: xs)
    duplicates.add_many(file=run.file, rows=pick(run.rows), district_ids=pick(run.keys), id_column=id_column,
                        emails=pick(emails), email_column=email_column, usernames=pick(usernames),
                        username_column=username_column, tally=_tally_key(SETTLED_OUTCOME),
                        user_ids=pick([user.id for user in run.users]) if matched is not None else None)
    for j in sorted(twice):  # an error row: seen by the duplicate check, never counted as an outcome
        duplicates.add(file=run.file, row=run.rows[j], district_id=run.keys[j], id_column=id_column, email=emails[j],
                       email_column=email_column, username=usernames[j], username_column=username_column)
    if outcome_sink is not None and not twice:
        outcome_sink(first, SETTLED_OUTCOME, n)
    elif outcome_sink is not None:
        for j in kept:
            outcome_sink(first + j, SETTLED_OUTCOME, 1)
    return issues


def _outside_match_only(target, lookup, rows) -> dict[str, dict]:
    """For a type that skips the users its match_only leaves out, the keys of the batch that find one."""
    spec = target.spec
    if spec.outside_match_only is None or not spec.match_only:
        return {}
    keys = [r.district_id for r in rows if r.district_id and r.district_id not in lookup.users]
    return target.outside_match_only(district=lookup.district, keys=keys) if keys else {}


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


class _NoDuplicates:
    """For rows an earlier pass already searched for duplicates and found none."""

    def add(self, **row) -> list[Issue]:
        return []

    def add_many(self, **rows) -> None:
        pass

    def finish(self) -> list[Issue]:
        return []

    def drain_uncounted(self) -> list[str]:
        return []


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


def _count_outcome(result: ValidationResult, row, existing, outcome, *, hold: frozenset[str], target) -> None:
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
        group = target.hold_group(existing)
        if group:
            result.affected_by_school[group] += 1
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
            "existing_name": target.preview_name(existing),
        }
