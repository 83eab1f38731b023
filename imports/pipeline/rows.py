"""Build one user row from the file's cells: apply the column plan, normalise, and report problems."""
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import repeat

from typing import TYPE_CHECKING

from . import normalize
from .issues import ERROR, WARNING, Issue

if TYPE_CHECKING:  # the declarations build on this package; it never needs them to run
    from ..types.spec import ImportSpec


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

    def __init__(self, *, file_name: str, plan, school_mapping: dict[str, int], spec: "ImportSpec",
                 value_mapping: dict[str, dict[str, str]] | None = None):
        self.file_name = file_name
        self.plan = plan
        self.spec = spec
        lookups = {"schools": school_mapping}
        # Where each field's text comes from: a column index, the one fixed text, or None (not mapped).
        sources: dict[str, int | str] = {**plan.indexes, **{k: v.strip() for k, v in plan.fixed.items()}}
        # Each field compiled once, for build and build_block alike: its source, its judge (value mapping,
        # rule and size check in one function), where its value goes, its column label and what its
        # condition reads. A field combined from several columns is made after the others, from its
        # parts' values; its own column, when it has one, wins and its parts are not read.
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
            remap = value_mapper(f.rule, value_mapping.get(f.key, {}))
            judge = _judge(_converter(f.rule, lookups), remap, f.rule.max_length, f.heading)
            # None: a condition that does not say what it reads is judged row by row in build_block.
            reads = (f.rule.reads or None) if f.rule.conditional else ()
            self._fields.append((f.key, source, judge, f.stored_column, slot, plan.labels.get(f.key, ""), reads,
                                 _plain(f.rule, source, remap)))

    def build(self, row: int, cells: list[str]) -> UserRow:
        """One row's values under the type's rules, with an Issue for each cell that breaks one."""
        out = UserRow(file=self.file_name, row=row, values=self._not_given.copy())
        values, issues = out.values, out.issues
        n = len(cells)
        parts = {}
        for key, source, judge, column, slot, label, _, _ in self._fields:
            if source is None or source.__class__ is str:
                text = source
            else:
                text = cells[source].strip() if source < n else ""
            value = judge(text, values)
            if value.__class__ is _Flagged:
                if value is _SKIPPED:  # "skip these rows" (value mapping): the row stops here
                    out.skipped = True
                    return out
                found = value.found
                issues.append(Issue(value.severity, found.code, found.message, found.suggestion, row=row, column=label,
                                    field=key, file=self.file_name))
                value = value.value
            if slot is None:
                values[column] = value
            elif slot is _PART:
                parts[key] = value
            else:
                setattr(out, slot, value or "")
        for column, keys, combine in self._combined:
            values[column] = combine({k: parts.get(k) for k in keys})
        return out

    def build_block(self, raws: list[tuple[int, list[str]]]) -> list[UserRow]:
        """The rows build gives, one per (row number, cells) and in the same order, made a column at a time."""
        return list(self.iter_block(raws))

    def iter_block(self, raws: list[tuple[int, list[str]]]) -> Iterator[UserRow]:
        """build_block's rows one by one: every column is converted first, each row is made as it is taken.

        Each field's judge runs once per distinct text in the block (with, for a condition, the values
        it declares it reads), not once per cell: most columns hold a few values (user type, grade,
        school, flags). The memo lives for one block, so the block's size bounds it. Rows are made
        when taken, so a block's rows do not all live at once (the GC would scan them again and again).
        """
        return self._iter([r for r, _ in raws], _Cells([c for _, c in raws]))

    def iter_columns(self, numbers: list[int], columns: list) -> Iterator[UserRow]:
        """iter_block's rows from a block read a column at a time (iter_row_blocks: every column full)."""
        return self._iter(list(numbers), _Columns(columns, len(numbers)))

    def _iter(self, numbers: list[int], cells) -> Iterator[UserRow]:
        file_name, not_given = self.file_name, self._not_given
        place = list(range(len(numbers)))  # each live row's position in the block
        issues: dict[int, list[Issue]] = {}  # live row -> its issues so far (most rows have none)
        stopped: dict[int, UserRow] = {}  # position -> a row the value mapping skipped
        made: list[list] = []  # each field's values so far (self._fields' order), one per live row
        for key, source, judge, column, slot, label, reads, plain in self._fields:
            vector, problems = self._judged(cells.of(source), judge, reads, plain, made)
            made.append(vector)
            skipped = []
            for i, flagged in problems:
                if flagged is _SKIPPED:
                    skipped.append(i)
                    continue
                found = flagged.found
                issues.setdefault(i, []).append(Issue(
                    flagged.severity, found.code, found.message, found.suggestion, numbers[i], label, key, file_name))
            if skipped:  # build stops these rows at this field: they keep what the fields before it gave
                for i in skipped:
                    stopped[place[i]] = self._stopped_row(numbers[i], issues.get(i, []), made, i)
                gone = set(skipped)
                keep = [i for i in range(len(place)) if i not in gone]
                numbers, place = [numbers[i] for i in keep], [place[i] for i in keep]
                cells = cells.keep(keep)
                issues = {new: issues[old] for new, old in enumerate(keep) if old in issues}
                made = [[v[i] for i in keep] for v in made]
        live = range(len(place))
        # Values in build's order: the "not given" ones, each stored field's, then the combined ones.
        names, columns = list(not_given), [repeat(None)] * len(not_given)
        slots = {}
        for f, vector in zip(self._fields, made):
            if f[4] is None:
                names.append(f[3])
                columns.append(vector)
            elif f[4] is not _PART:
                slots[f[4]] = vector
        if self._combined:
            parts = {f[0]: vector for f, vector in zip(self._fields, made) if f[4] is _PART}
            for column, keys, combine in self._combined:
                names.append(column)
                columns.append([combine({k: (parts[k][i] if k in parts else None) for k in keys}) for i in live])
        ids = [v or "" for v in slots.pop("district_id")] if "district_id" in slots else repeat("")
        passwords = [v or "" for v in slots.pop("password")] if "password" in slots else repeat("")
        values = map(dict, map(zip, repeat(names), zip(*columns) if columns else repeat(())))
        # Each row its own list: a row's issues, or a new empty one.
        issue_lists = map(list, map(issues.get, live, repeat(())))
        rows = map(UserRow, repeat(file_name), numbers, ids, values, passwords, issue_lists)
        if not stopped and not slots:  # the usual block: the rows as they are taken
            yield from rows
            return
        at = 0  # the next position in the block
        for i, out in zip(live, rows):
            while at in stopped:
                yield stopped.pop(at)
                at += 1
            for slot, vector in slots.items():  # none today: _slot fills district_id and password only
                setattr(out, slot, vector[i] or "")
            yield out
            at += 1
        while at in stopped:  # the skipped rows after the last live one
            yield stopped.pop(at)
            at += 1

    @property
    def judges_columns(self) -> bool:
        """Whether judge_columns can stand for build: no combined field and no slot but the key."""
        return not self._combined and all(f[4] in (None, "district_id") for f in self._fields)

    def judge_columns(self, columns: list, n: int) -> tuple[list[str], list, list[str], set[int]]:
        """A block's values a column at a time, without making a row: (stored columns, their value
        vectors, the keys, the positions of rows with any problem or skipped). columns are the block's
        as iter_row_blocks reads them (n rows, every column full). A flagged row's values are not to be
        trusted: build makes it. Only when judges_columns."""
        texts = _Columns(columns, n)
        made: list[list] = []
        flagged: set[int] = set()
        for key, source, judge, column, slot, label, reads, plain in self._fields:
            vector, problems = self._judged(texts.of(source), judge, reads, plain, made)
            made.append(vector)
            flagged.update(i for i, _ in problems)
        names, columns, ids = list(self._not_given), [None] * len(self._not_given), []
        for f, vector in zip(self._fields, made):
            if f[4] is None:
                names.append(f[3])
                columns.append(vector)
            else:
                ids = [v or "" for v in vector]
        return names, columns, ids, flagged

    def _judged(self, texts: list, judge, reads: tuple[str, ...] | None, plain: int | None, made: list[list]):
        """One field's value on each row, and (row, _Flagged) for the rows with a problem or skipped.

        The judge runs once per distinct text (and values its condition reads); a condition that does
        not declare what it reads (reads None) is judged row by row with the row's values.
        """
        if plain is not None:
            # Plain text: a non-blank text within the size is its own value, so only the others are judged.
            vector = list(map(str.strip, texts))
            odd = {""} if "" in vector else set()
            if plain and max(map(len, vector), default=0) > plain:
                odd.update(t for t in vector if len(t) > plain)
            if not odd:
                return vector, ()
            memo = {t: judge(t, None) for t in odd}
            outcomes = list(map(memo.get, vector, vector))  # the texts not judged are their own value
            judged = memo.values()
        elif reads is None:
            outcomes = [judge(_strip(t), self._values_so_far(made, i)) for i, t in enumerate(texts)]
            return _split(outcomes)
        elif not reads:
            memo = {t: judge(_strip(t), None) for t in dict.fromkeys(texts)}
            outcomes = list(map(memo.__getitem__, texts))
            judged = memo.values()
        else:
            n = len(texts)
            read = []
            for name in reads:
                at = self._stored_position(name, len(made))
                if at is not None:
                    read.append(made[at])
                else:  # no earlier field stores it: "not given" (None), or not in the row's values at all
                    read.append([None if name in self._not_given else _ABSENT] * n)
            # The class is part of the key: 1 and True are equal keys but a condition may tell them apart.
            columns = [x for v in read for x in (v, list(map(type, v)))]
            kinds = list(dict.fromkeys(zip(*columns)))  # the distinct values read (few: user types)
            # The condition sees the values it declares it reads (a test holds the declarations to that).
            seen = [{name: v for name, v in zip(reads, kind[::2]) if v is not _ABSENT} for kind in kinds]
            if len(kinds) == 1:
                memo = {t: judge(_strip(t), seen[0]) for t in dict.fromkeys(texts)}
                outcomes = list(map(memo.__getitem__, texts))
                judged = memo.values()
            else:
                # A memo per kind, keyed on the text: no (text, values) tuple is kept per distinct pair.
                number = {kind: n for n, kind in enumerate(kinds)}
                memos = [{} for _ in kinds]
                outcomes = []
                for t, n in zip(texts, map(number.__getitem__, zip(*columns))):
                    found = memos[n].get(t, _ABSENT)
                    if found is _ABSENT:
                        found = memos[n][t] = judge(_strip(t), seen[n])
                    outcomes.append(found)
                judged = [o for m in memos for o in m.values()]
        if not any(o.__class__ is _Flagged for o in judged):
            return outcomes, ()
        return _split(outcomes)

    def _values_so_far(self, made: list[list], i: int) -> dict:
        """Row i's values as build has them when it reaches the next field."""
        values = self._not_given.copy()
        for f, vector in zip(self._fields, made):
            if f[4] is None:
                values[f[3]] = vector[i]
        return values

    def _stopped_row(self, row: int, issues: list, made: list[list], i: int) -> UserRow:
        """A row the value mapping skips at the last field made: what the fields before it gave, as build leaves it."""
        out = UserRow(file=self.file_name, row=row, values=self._not_given.copy(), issues=issues, skipped=True)
        for f, vector in zip(self._fields[:len(made) - 1], made):
            if f[4] is None:
                out.values[f[3]] = vector[i]
            elif f[4] is not _PART:
                setattr(out, f[4], vector[i] or "")
        return out

    def _stored_position(self, column: str, before: int) -> int | None:
        """The last of the first `before` fields storing this column (the value build's values hold)."""
        found = None
        for n, f in enumerate(self._fields[:before]):
            if f[4] is None and f[3] == column:
                found = n
        return found


_ABSENT = object()  # a column a row's values do not hold at all


def _plain(rule: normalize.Rule, source, remap) -> int | None:
    """For a column whose judge keeps any non-blank text within the size as it is, that size (0: any
    length); None for the others (parsed, looked up, mapped, conditional, a meaning for blank, no column)."""
    if source is None or source.__class__ is str or remap is not None:
        return None
    if rule.parse is not None or rule.lookup or rule.conditional or rule.blank_value is not None:
        return None
    return rule.max_length or 0


def _strip(text):
    return text.strip() if text else text


class _Cells:
    """A block given a row at a time: one list of cells per row (a short row's missing cells read as blank)."""

    __slots__ = ("rows",)

    def __init__(self, rows: list[list[str]]):
        self.rows = rows

    def of(self, source) -> list:
        """One field's text on each row: its cell (unstripped: the memo's key), the fixed text, or None."""
        rows = self.rows
        if source is None or source.__class__ is str:
            return [source] * len(rows)
        try:
            return [c[source] for c in rows]
        except IndexError:
            return [c[source] if source < len(c) else "" for c in rows]

    def keep(self, positions: list[int]) -> "_Cells":
        return _Cells([self.rows[i] for i in positions])


class _Columns:
    """A block given a column at a time, as iter_row_blocks reads it: a column's texts are taken as they are."""

    __slots__ = ("columns", "n")

    def __init__(self, columns: list, n: int):
        self.columns, self.n = columns, n

    def of(self, source):
        if source is None or source.__class__ is str:
            return [source] * self.n
        return self.columns[source]

    def keep(self, positions: list[int]) -> "_Columns":
        return _Columns([[column[i] for i in positions] for column in self.columns], len(positions))


@dataclass(frozen=True, slots=True)
class _Flagged:
    """A judged text that is not simply a value: the value kept with its Invalid/Doubtful, or a skipped row."""

    value: object
    severity: str = ""
    found: object = None  # the Invalid or Doubtful, or the too-long Invalid


_SKIPPED = _Flagged(None)  # the value mapping leaves the row out
_SKIP_CHOSEN = object()  # a value or school mapped to "skip these rows"; never a text of the file


def _split(outcomes: list) -> tuple[list, list]:
    """Judged outcomes -> (the values, (row, _Flagged) for the flagged rows)."""
    problems = [(i, o) for i, o in enumerate(outcomes) if o.__class__ is _Flagged]
    for i, o in problems:
        outcomes[i] = o.value
    return outcomes, problems


def _judge(convert, remap, limit: int | None, heading: str):
    """One field's whole treatment of its text: its value, or a _Flagged with the value and the Invalid or
    Doubtful to report, or _SKIPPED when the value mapping leaves the row out. Pure: build_block calls it
    once per distinct text."""
    invalid, doubtful = normalize.Invalid, normalize.Doubtful

    def judge(text, values):
        if remap is not None and text:  # the admin's value mapping, before the field's rule
            text = remap(text)
            if text is _SKIP_CHOSEN:
                return _SKIPPED
        value = convert(text, values)
        if value is _SKIP_CHOSEN:
            return _SKIPPED
        if value.__class__ is invalid:
            return _Flagged(None, ERROR, value)
        if value.__class__ is doubtful:
            return _Flagged(value.value, WARNING, value)
        if limit and value and len(value) > limit:
            return _Flagged(value, ERROR, _too_long(heading, len(value), limit))
        return value

    return judge


def value_mapper(rule: normalize.Rule, chosen: dict[str, str]):
    """A coded field's file value -> the Classworks text the admin chose for it, or _SKIP_CHOSEN; None when nothing applies.

    Only a value mapped to SKIP skips its row: a cell that says "skip" is a value like any other.
    """
    coding = rule.coding
    if coding is None or not chosen:
        return None
    skip = normalize.SKIP
    seen: dict[str, object] = {}

    skipped = _SKIP_CHOSEN  # a sentinel, never equal to text: a cell that says "skip" is just text

    def one(part: str):
        target = chosen.get(part)
        return skipped if target == skip else (part if target is None else target)

    def remap(text: str):
        found = seen.get(text)
        if found is None:
            if coding.separator:
                parts = [one(" ".join(p.split())) for p in text.split(coding.separator) if p.strip()]
                found = skipped if skipped in parts else coding.separator.join(parts)
            else:
                found = one(text)
            if len(seen) < 10_000:
                seen[text] = found
        return found  # the sentinel for a skipped row

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
            if found is None:
                return unmatched(text)
            return _SKIP_CHOSEN if found == normalize.SKIP else found  # School Mapping's "skip these rows"
        return parse(text) if parse is not None else text

    if only_if is None and required_if is None and table is None and blank_value is None:  # the common case
        if parse is None:
            return lambda text, values: text if text else blank
        return lambda text, values: parse(text) if text else blank
    return convert


def _silent_when_blank(rule: normalize.Rule) -> bool:
    return rule.blank is None and rule.only_if is None and rule.required_if is None and not rule.lookup


_PART = "part"  # a part of a combined field: kept for the combination, never stored itself


def _slot(spec: "ImportSpec", f) -> str | None:
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
