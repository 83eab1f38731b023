"""Build one user row from the file's cells: apply the column plan, normalise, and report problems."""
from dataclasses import dataclass, field

from ..types import USER_DATA, ImportSpec
from . import normalize
from .issues import ERROR, WARNING, Issue

# The names this module had when User Data was the only type, read from its spec.
RECORD_FIELDS = USER_DATA.record_columns
MAX_LENGTHS = USER_DATA.max_lengths


@dataclass(slots=True)
class UserRow:
    file: str
    row: int
    district_id: str = ""
    values: dict = field(default_factory=dict)  # the spec's record columns -> value, or None when not given
    password: str = ""
    issues: list[Issue] = field(default_factory=list)
    password_deferred: bool = False  # hashed later by a PasswordBatch task
    index: int = -1  # position among the job's valid rows, from 0 (password batches refer to it)
    skipped: bool = False  # a coded value the admin mapped to "skip these rows" (e.g. guardians): not imported

    @property
    def has_error(self) -> bool:
        return any(i.is_error for i in self.issues)

    @property
    def is_student(self) -> bool:
        return self.values.get("user_type") == normalize.STUDENT

    @property
    def display_name(self) -> str:
        return " ".join(p for p in (self.values.get("first_name"), self.values.get("last_name")) if p)


class RowBuilder:
    """Applies one file's column plan, the admin's mappings (schools) and the type's rules to its raw rows."""

    def __init__(self, *, file_name: str, plan, school_mapping: dict[str, int], spec: ImportSpec = USER_DATA,
                 value_mapping: dict[str, dict[str, str]] | None = None):
        self.file_name = file_name
        self.plan = plan
        self.spec = spec
        lookups = {"schools": school_mapping}
        # Where each field's text comes from: a column index, the one fixed text, or None (not mapped).
        sources: dict[str, int | str] = {**plan.indexes, **{k: v.strip() for k, v in plan.fixed.items()}}
        # Each field compiled once: its source, converter, size, heading, and where its value goes.
        # A field combined from several columns is made after the others, from its parts' values;
        # its own column, when it has one, wins and its parts are not read.
        value_mapping = value_mapping or {}
        self._fields, self._combined, self._not_given = [], [], {}
        for f in spec.fields:
            source = sources.get(f.key)
            parts = spec.parts_of(f.key) if f.combine is not None else ()
            if source is None and any(sources.get(p) is not None for p in parts):
                self._combined.append((f.stored_column, parts, f.combine))
                continue
            if f.part_of and (source is None or sources.get(f.part_of) is not None):
                continue
            slot = _slot(spec, f)
            if source is None and _silent_when_blank(f.rule):
                # No column and a rule that never complains: "not given" on every row, set once, not per row.
                if slot is None:
                    self._not_given[f.stored_column] = None
                continue
            self._fields.append((f.key, source, _converter(f.rule, lookups), f.rule.max_length, f.heading,
                                 f.stored_column, slot, value_mapper(f.rule, value_mapping.get(f.key, {}))))

    def _issue(self, row: int, key: str, invalid, severity: str = ERROR) -> Issue:
        return Issue(
            severity, invalid.code, invalid.message, invalid.suggestion, row=row, column=self.plan.labels.get(key, ""),
            field=key, file=self.file_name,
        )

    def build(self, row: int, cells: list[str]) -> UserRow:
        """One row's values under the type's rules, with an Issue for each cell that breaks one (the hot path)."""
        out = UserRow(file=self.file_name, row=row, values=self._not_given.copy())
        values, issues = out.values, out.issues
        n, invalid, doubtful = len(cells), normalize.Invalid, normalize.Doubtful
        parts = {}
        for key, source, convert, limit, heading, column, slot, remap in self._fields:
            if source is None or source.__class__ is str:
                text = source
            else:
                text = cells[source].strip() if source < n else ""
            if remap is not None and text:  # the admin's value mapping, before the field's rule
                text = remap(text)
                if text is normalize.SKIP:
                    out.skipped = True
                    return out
            value = convert(text, values)
            if value.__class__ is invalid:
                issues.append(self._issue(row, key, value))
                value = None
            elif value.__class__ is doubtful:
                issues.append(self._issue(row, key, value, WARNING))
                value = value.value
            elif limit and value and len(value) > limit:
                issues.append(self._issue(row, key, _too_long(heading, len(value), limit)))
            if slot is None:
                values[column] = value
            elif slot is _PART:
                parts[key] = value
            else:
                setattr(out, slot, value or "")
        for column, keys, combine in self._combined:
            values[column] = combine({k: parts.get(k) for k in keys})
        return out


def value_mapper(rule: normalize.Rule, chosen: dict[str, str]):
    """A coded field's file value -> the Classworks text the admin chose for it (or SKIP); None when nothing applies."""
    coding = rule.coding
    if coding is None or not chosen:
        return None
    skip = normalize.SKIP
    seen: dict[str, str] = {}

    def one(part: str) -> str:
        target = chosen.get(part)
        return skip if target == skip else (part if target is None else target)

    def remap(text: str) -> str:
        found = seen.get(text)
        if found is None:
            if coding.separator:
                parts = [one(" ".join(p.split())) for p in text.split(coding.separator) if p.strip()]
                found = skip if skip in parts else coding.separator.join(parts)
            else:
                found = one(text)
            if len(seen) < 10_000:
                seen[text] = found
        return skip if found == skip else found

    return remap


def _converter(rule: normalize.Rule, lookups: dict):
    """One field's rule as a function of (text or None, the row's values so far): a value, None, or an Invalid."""
    parse, blank, required_if, only_if = rule.parse, rule.blank, rule.required_if, rule.only_if
    table = lookups[rule.lookup] if rule.lookup else None
    unmatched, blank_value = rule.unmatched, rule.blank_value

    def convert(text, values):
        if only_if is not None and not only_if(values):
            return None
        if not text:
            if text is not None and blank_value is not None:  # a blank cell, not a field without a column
                return blank_value
            return blank if blank is not None and (required_if is None or required_if(values)) else None
        if table is not None:
            found = table.get(text)
            return unmatched(text) if found is None else found
        return parse(text) if parse is not None else text

    if only_if is None and required_if is None and table is None and blank_value is None:  # the common case
        if parse is None:
            return lambda text, values: text if text else blank
        return lambda text, values: parse(text) if text else blank
    return convert


def _silent_when_blank(rule: normalize.Rule) -> bool:
    return rule.blank is None and rule.only_if is None and rule.required_if is None and not rule.lookup


_PART = "part"  # a part of a combined field: kept for the combination, never stored itself


def _slot(spec: ImportSpec, f) -> str | None:
    """The UserRow attribute a field fills instead of a record column."""
    if f.part_of:
        return _PART
    if f.key == spec.match_field:
        return "district_id"
    return "password" if f.rule.secret else None


def _too_long(heading: str, length: int, limit: int) -> normalize.Invalid:
    return normalize.Invalid(
        "value_too_long", f"{heading} is {length} characters long; the limit is {limit}.",
        f"Shorten the {heading}, or check that the column holds the right data.",
    )
