"""Build one user row from the file's cells: apply the column plan, normalise, and report problems."""
from dataclasses import dataclass, field

from ..types import USER_DATA, ImportSpec
from . import normalize
from .issues import ERROR, Issue

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

    def __init__(self, *, file_name: str, plan, school_mapping: dict[str, int], spec: ImportSpec = USER_DATA):
        self.file_name = file_name
        self.plan = plan
        self.spec = spec
        self.lookups = {"schools": school_mapping}
        # key -> column index, or the fixed text; looked up once per cell on the hot path.
        self._sources: dict[str, int | str] = {**plan.indexes, **{k: v.strip() for k, v in plan.fixed.items()}}
        # Where each field's value goes: the row's key, its password, or a record column.
        self._fields = [(f, f.rule, _slot(spec, f)) for f in spec.fields]

    def _issue(self, row: int, key: str, invalid: normalize.Invalid) -> Issue:
        return Issue(
            ERROR, invalid.code, invalid.message, invalid.suggestion, row=row, column=self.plan.labels.get(key, ""),
            field=key, file=self.file_name,
        )

    def _texts(self, cells: list[str]) -> dict[str, str]:
        """Every mapped field's text for one row, in one pass (the hot path of validation)."""
        n = len(cells)
        return {
            key: source if source.__class__ is str else (cells[source].strip() if source < n else "")
            for key, source in self._sources.items()
        }

    def _value(self, rule: normalize.Rule, text: str | None, values: dict):
        """The stored value of one cell, None when not given, or the Invalid that says why not."""
        if rule.only_if is not None and not rule.only_if(values):
            return None
        if not text:
            if rule.blank is not None and (rule.required_if is None or rule.required_if(values)):
                return rule.blank
            return None
        if rule.lookup:
            found = self.lookups[rule.lookup].get(text)
            return rule.unmatched(text) if found is None else found
        return rule.parse(text) if rule.parse is not None else text

    def build(self, row: int, cells: list[str]) -> UserRow:
        out = UserRow(file=self.file_name, row=row)
        values, issues = out.values, out.issues
        text = self._texts(cells).get
        for f, rule, slot in self._fields:
            value = self._value(rule, text(f.key), values)
            if value.__class__ is normalize.Invalid:
                issues.append(self._issue(row, f.key, value))
                value = None
            elif rule.max_length and value and len(value) > rule.max_length:
                issues.append(self._issue(row, f.key, _too_long(f.heading, len(value), rule.max_length)))
            if slot is None:
                values[f.stored_column] = value
            else:
                setattr(out, slot, value or "")
        return out


def _slot(spec: ImportSpec, f) -> str | None:
    """The UserRow attribute a field fills instead of a record column."""
    if f.key == spec.match_field:
        return "district_id"
    return "password" if f.rule.secret else None


def _too_long(heading: str, length: int, limit: int) -> normalize.Invalid:
    return normalize.Invalid(
        "value_too_long", f"{heading} is {length} characters long; the limit is {limit}.",
        f"Shorten the {heading}, or check that the column holds the right data.",
    )
