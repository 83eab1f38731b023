"""Match the file's columns to our fields, and the file's school values to the district's schools."""
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rapidfuzz import fuzz, process

from .fields import normalize_heading
from .normalize import SKIP

if TYPE_CHECKING:  # the declarations build on this package; it never needs them to run
    from ..types.spec import ImportSpec

FUZZY_SUGGESTION_CUTOFF = 80


@dataclass
class MappingProposal:
    matched: dict[str, str] = field(default_factory=dict)  # field key -> column label, already matched
    suggestions: dict[str, str] = field(default_factory=dict)  # field key -> column label, shown as a suggestion


def propose_field_mapping(
    column_labels: list[str], *, has_header: bool, remembered: dict | None = None, spec: "ImportSpec"
) -> MappingProposal:
    """Exact headings (and remembered mappings) match; aliases and near-misses are suggestions."""
    proposal = MappingProposal()
    taken: set[str] = set()
    if has_header:
        for label in column_labels:
            key = spec.heading_to_key.get(normalize_heading(label))
            if key and key not in proposal.matched:
                proposal.matched[key] = label
                taken.add(label)
    for key, label in (remembered or {}).items():
        if key in spec.by_key and key not in proposal.matched and label in column_labels and label not in taken:
            proposal.matched[key] = label
            taken.add(label)
    if not has_header:
        return proposal
    free = [label for label in column_labels if label not in taken]
    # A field's earlier alias wins over a later one: OneRoster's identifier over its sourcedId.
    for label in sorted(free, key=lambda label: _alias_rank(spec, label)):
        key = spec.alias_to_key.get(normalize_heading(label))
        if key and key not in proposal.matched and key not in proposal.suggestions:
            proposal.suggestions[key] = label
    for f in spec.fields:
        if f.key in proposal.matched or f.key in proposal.suggestions:
            continue
        candidates = [label for label in free if label not in proposal.suggestions.values()]
        if not candidates:
            break
        best = process.extractOne(
            normalize_heading(f.heading), {c: normalize_heading(c) for c in candidates}, scorer=fuzz.ratio
        )
        if best and best[1] >= FUZZY_SUGGESTION_CUTOFF:
            proposal.suggestions[f.key] = best[2]
    return proposal


def _alias_rank(spec: "ImportSpec", label: str) -> int:
    norm = normalize_heading(label)
    key = spec.alias_to_key.get(norm)
    if key is None:
        return 0
    return next((i for i, alias in enumerate(spec.by_key[key].aliases) if normalize_heading(alias) == norm), 0)


def missing_required(
    field_mapping: dict[str, str], fixed_values: dict[str, str], spec: "ImportSpec", *,
    file_fixed_values: dict[str, dict[str, str]] | None = None, file_names: list[str] | tuple[str, ...] = (),
) -> list[str]:
    """Required field keys with neither a column, nor one value for every file, nor one value for each file."""
    per_file = file_fixed_values or {}

    def each_file_has(key: str) -> bool:
        return bool(file_names) and all(key in per_file.get(name, {}) for name in file_names)

    def no_row_reads(key: str) -> bool:
        # Grade is read for students only: files whose rows are all staff need no Grade column.
        only_if = spec.by_key[key].rule.only_if
        return only_if is not None and bool(file_names) and not any(
            only_if(_parsed(spec, fixed_for_file(fixed_values, per_file, name))) for name in file_names
        )

    return [
        key for key in spec.required_keys
        if key not in field_mapping and key not in fixed_values and not each_file_has(key) and not no_row_reads(key)
    ]


def _parsed(spec: "ImportSpec", fixed: dict[str, str]) -> dict:
    """One-value texts as the row builder's values (stored column -> value), for a rule's condition."""
    values = {}
    for key, text in fixed.items():
        f = spec.by_key.get(key)
        if f is not None:
            values[f.stored_column] = f.rule.parse(text.strip()) if f.rule.parse and text.strip() else text
    return values


def fixed_for_file(fixed_values: dict[str, str], file_fixed_values: dict[str, dict[str, str]] | None, name: str) -> dict[str, str]:
    """The one-value fields of one file: its own values win over those for every file."""
    return {**fixed_values, **(file_fixed_values or {}).get(name, {})}


def propose_file_fixed_values(
    files: list[tuple[str, list[str]]], field_mapping: dict[str, str], fixed_values: dict[str, str],
    spec: "ImportSpec",
) -> dict[str, dict[str, str]]:
    """For each file, the value its name (or else its headings) says for a field it has no column for.

    Student.csv without a User Type column is a file of students; a name or headings that say
    two things (a student file with a "Teacher" column) say nothing.
    """
    proposal: dict[str, dict[str, str]] = {}
    for name, labels in files:
        for key, hints in spec.file_hints.items():
            if key in fixed_values or field_mapping.get(key) in labels:
                continue
            value = _hinted([name], hints) or _hinted(labels, hints)
            if value:
                proposal.setdefault(name, {})[key] = value
    return proposal


def _hinted(texts: list[str], hints: tuple[tuple[str, str], ...]) -> str | None:
    said = {value for text in texts for word, value in hints if word in text.casefold()}
    return said.pop() if len(said) == 1 else None


@dataclass(frozen=True)
class ColumnPlan:
    """Where each field comes from in one file: a column index, or one value for every row."""

    indexes: dict[str, int]
    labels: dict[str, str]
    fixed: dict[str, str]
    missing: tuple[str, ...]  # mapped columns that this file does not have


def plan_columns(
    column_labels: list[str], field_mapping: dict[str, str], fixed_values: dict[str, str], spec: "ImportSpec"
) -> ColumnPlan:
    """Fixed values override a match; a mapped label this file lacks is reported as missing."""
    position = {label: i for i, label in enumerate(column_labels)}
    indexes, labels, missing = {}, {}, []
    for key, label in field_mapping.items():
        if key in fixed_values:
            continue
        if label in position:
            indexes[key] = position[label]
            labels[key] = label
        elif key in spec.required_keys and not spec.by_key[key].rule.conditional:
            missing.append(key)  # a field needed by some rows only (Grade, staff emails) is judged row by row
    return ColumnPlan(indexes=indexes, labels=labels, fixed=dict(fixed_values), missing=tuple(missing))


@dataclass(frozen=True)
class SchoolChoice:
    id: int
    sis_id: str
    name: str


def propose_school_mapping(
    values: list[str], schools: list[SchoolChoice], *, remembered: dict | None = None, names: dict | None = None,
    not_k12: list[str] | tuple[str, ...] = (),
) -> dict[str, int | str]:
    """A file value maps by SIS ID/code, then by exact name (ignoring case), then by memory.

    `names` gives a value's school name from the upload itself (OneRoster orgs.csv, SDS School.csv).
    `not_k12` values (a college or university of the upload) that match no school are proposed as skipped.
    """
    by_code = {s.sis_id.strip().casefold(): s.id for s in schools}
    by_name = {s.name.strip().casefold(): s.id for s in schools}
    valid_ids = {s.id for s in schools}
    proposal: dict[str, int] = {}
    for value in values:
        key = value.strip().casefold()
        school_id = by_code.get(key) or by_name.get(key) or by_name.get((names or {}).get(value, "").strip().casefold())
        if school_id is None and remembered:
            remembered_id = remembered.get(value)
            school_id = remembered_id if remembered_id in valid_ids else None
        if school_id is not None:
            proposal[value] = school_id
        elif value in not_k12:
            proposal[value] = SKIP
    return proposal
