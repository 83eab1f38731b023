"""An import type as one declaration: its fields, matching key, steps, options and sample file.

The reader, validation, preview, writer, reports and wizard read it; none of them names a type.
"""
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

from ..pipeline.fields import Field, heading_index, normalize_heading, register_headings
from ..pipeline.normalize import Invalid
from .steps import WizardStep

# Columns a change log may hold besides the fields (an undo's own entries).
OTHER_LABELS = {"is_active": "Active", "custom_group": "Custom group", "password": "Password"}


@dataclass(frozen=True)
class ImportSpec:
    import_type: str  # ImportJob.import_type
    label: str  # Import History's Type column, the wizard's type choice
    command_name: str  # import_users --type
    fields: tuple[Field, ...]
    match_field: str  # the field whose value finds the stored user (its column is the matching key)
    steps: tuple[WizardStep, ...]
    target: str = "users"  # the write target's name (imports/targets): what rows are looked up in and written to
    options: tuple[str, ...] = ()  # the ImportJob choices this type offers (Additional Actions)
    sample_rows: tuple[Mapping[str, str], ...] = ()  # field key -> text; a field not named is blank
    sample_file_name: str = "sample.csv"
    insert_defaults: Mapping[str, object] = field(default_factory=dict)  # other columns of a new user
    # field key -> (word, value) pairs: a file whose name or headings say the word is proposed that value for every row
    file_hints: Mapping[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    # Matching. The key is looked up in these stored columns in turn (the match field's own when
    # empty), among the users whose columns hold match_only's values; the others are not found.
    match_columns: tuple[str, ...] = ()
    match_only: Mapping[str, object] = field(default_factory=dict)
    # When set, a row whose key finds no user is this error (called with the key), and the type
    # never creates a user; when None, an unknown key is a new user.
    unmatched: Callable[[str], Invalid] | None = None
    # When set, a row whose key finds a user that match_only leaves out (staff, for a type of students) is
    # skipped with this warning, called with the key and that user's match_only values.
    outside_match_only: Callable[[str, dict], Invalid] | None = None

    # Derived once from the fields, so no list is written out twice.
    by_key: dict[str, Field] = field(init=False, repr=False, compare=False)
    heading_to_key: dict[str, str] = field(init=False, repr=False, compare=False)
    alias_to_key: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "by_key", {f.key: f for f in self.fields})
        headings, aliases = heading_index(self.fields)
        object.__setattr__(self, "heading_to_key", headings)
        object.__setattr__(self, "alias_to_key", aliases)
        self._check_reads()
        register_headings(self.header_words)

    def _check_reads(self) -> None:
        """A condition reads the row's values made so far: what it declares must be an earlier field's stored
        column (the row builder converts a column once per distinct text and values read, so it keys on them)."""
        earlier: set[str] = set()
        for f in self.fields:
            unknown = [name for name in f.rule.reads if name not in earlier]
            if unknown:
                raise ValueError(f"{self.import_type}: the rule of {f.key} reads {unknown}, not an earlier field's value")
            if f.rule.reads and not f.rule.conditional:
                raise ValueError(f"{self.import_type}: the rule of {f.key} declares reads but has no condition")
            if not f.part_of and f.key != self.match_field and not f.rule.secret:  # what a row's values hold
                earlier.add(f.stored_column)

    # --- Fields ---

    @cached_property
    def required_keys(self) -> tuple[str, ...]:
        return tuple(f.key for f in self.fields if f.required)

    @cached_property
    def coded_fields(self) -> tuple[Field, ...]:
        """The fields whose unrecognised file values the admin maps to Classworks values (value mapping)."""
        return tuple(f for f in self.fields if f.rule.coding is not None)

    @cached_property
    def match_column(self) -> str:
        return self.by_key[self.match_field].stored_column

    @cached_property
    def key_columns(self) -> tuple[str, ...]:
        """The stored columns a row's key is matched on, in order."""
        return self.match_columns or (self.match_column,)

    @property
    def creates_users(self) -> bool:
        return self.unmatched is None

    @cached_property
    def stored_fields(self) -> tuple[Field, ...]:
        """The fields that are columns of the file's layout: every field but the parts of a combined one."""
        return tuple(f for f in self.fields if not f.part_of)

    @cached_property
    def header_words(self) -> frozenset[str]:
        """Normalised headings and aliases that tell a header row from data. Not the parts' names: a
        OneRoster race column is called "white" or "asian", which a first row of data may hold too."""
        return frozenset(
            normalize_heading(h) for f in self.stored_fields for h in (f.heading, *f.also_matches, *f.aliases)
        )

    def parts_of(self, key: str) -> tuple[str, ...]:
        """The keys of the fields combined into this one (empty for an ordinary field)."""
        return tuple(f.key for f in self.fields if f.part_of == key)

    @cached_property
    def password_field(self) -> str | None:
        return next((f.key for f in self.fields if f.rule.secret), None)

    @cached_property
    def record_fields(self) -> tuple[Field, ...]:
        """The fields compared with, and written to, the stored user (not the key, not a password)."""
        return tuple(f for f in self.stored_fields if f.key != self.match_field and not f.rule.secret)

    @cached_property
    def record_columns(self) -> tuple[str, ...]:
        return tuple(f.stored_column for f in self.record_fields)

    @cached_property
    def hold_columns(self) -> frozenset[str]:
        return frozenset(f.stored_column for f in self.record_fields if f.hold)

    @cached_property
    def hold_headings(self) -> str:
        """The held fields in words: "First Name, Last Name or School"."""
        names = [("School" if f.rule.lookup == "schools" else f.heading) for f in self.record_fields if f.hold]
        return " or ".join(filter(None, (", ".join(names[:-1]), names[-1]))) if names else ""

    @cached_property
    def max_lengths(self) -> dict[str, int]:
        """Field key -> the stored column's size."""
        return {f.key: f.rule.max_length for f in self.fields if f.rule.max_length}

    @cached_property
    def secret_headings(self) -> frozenset[str]:
        """Normalised headings that name a password column, matched or not (their samples are masked)."""
        return frozenset(normalize_heading(h) for f in self.fields if f.rule.secret for h in (f.heading, *f.aliases))

    @cached_property
    def export_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.stored_fields if not f.rule.secret)

    def lookup_field(self, lookup: str) -> str | None:
        """The field whose values are matched through this admin-chosen mapping (e.g. "schools")."""
        return next((f.key for f in self.fields if f.rule.lookup == lookup), None)

    def field_of_column(self, column: str) -> Field:
        return next(f for f in self.fields if f.stored_column == column)

    def heading(self, key: str) -> str:
        return self.by_key[key].heading

    # --- Words for people: change lists, reports, history and emails ---

    @cached_property
    def by_column(self) -> dict[str, Field]:
        return {f.stored_column: f for f in self.fields if not f.part_of}

    def field_label(self, key: str) -> str:
        """A field's name for people, from its key or its stored column ("school_id" is "School")."""
        field = self.by_key.get(key) or self.by_column.get(key)
        if field is None:
            return OTHER_LABELS.get(key, key.replace("_", " ").capitalize())
        return "School" if field.rule.lookup == "schools" else field.heading

    def display(self, key: str, value, *, schools: Mapping | None = None) -> str:
        """A stored value as people read it: Yes/No, "Kindergarten", the school's name with its SIS ID; "" for none."""
        if value is None or value == "":
            return ""
        if isinstance(value, bool):
            return "Yes" if value else "No"
        field = self.by_key.get(key) or self.by_column.get(key)
        if field is not None and field.rule.lookup == "schools":
            return (schools or {}).get(value) or (schools or {}).get(str(value)) or str(value)
        if field is not None and field.rule.coding is not None:
            labels, separator = dict(field.rule.coding.choices), field.rule.coding.separator
            parts = str(value).split(separator) if separator else [str(value)]
            return ", ".join(labels.get(p, p) for p in parts)
        return str(value)

    def headings_of(self, mapping: Mapping[str, str]) -> list[tuple[str, str]]:
        """(heading, value) for each known field of a stored mapping, in the mapping's order."""
        return [(self.by_key[k].heading, v) for k, v in mapping.items() if k in self.by_key]

    def headings_of_files(self, file_fixed_values: Mapping[str, Mapping[str, str]]) -> list[tuple[str, str, str]]:
        """(heading, value, file name) for each known field given one value for one file."""
        return [
            (self.by_key[k].heading, v, name) for name, values in file_fixed_values.items() for k, v in values.items()
            if k in self.by_key
        ]

    # --- The sample file ---

    @cached_property
    def sample_headings(self) -> tuple[str, ...]:
        return tuple(f.heading for f in self.stored_fields)

    def sample_table(self) -> list[list[str]]:
        return [list(self.sample_headings), *([row.get(f.key, "") for f in self.stored_fields] for row in self.sample_rows)]

    # --- The wizard: each step knows its neighbours ---

    def has_step(self, step: str) -> bool:
        return step in self.steps

    def step_index(self, step: str) -> int:
        return self.steps.index(step)

    def next_step(self, step: str) -> WizardStep | None:
        i = self.step_index(step) + 1
        return self.steps[i] if i < len(self.steps) else None

    def previous_step(self, step: str) -> WizardStep | None:
        i = self.step_index(step)
        return self.steps[i - 1] if i > 0 else None

    def later_step(self, current: str, step: str) -> str:
        """The further of two steps: reaching a step again never moves a job back."""
        return current if self.step_index(current) >= self.step_index(step) else step
