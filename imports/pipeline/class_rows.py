"""Classes rows checked and gathered into classes and rosters, without the database.

The user engine's rows are users; a Classes row is one enrollment (a teacher or a student in a
class), so its checks are the class's own: the District ID must find a person of the right kind,
a class's school must be mapped, and the file's classes are gathered with their teachers and
students. It takes plain look-up dicts and returns issues with file, row and column.
"""
import datetime
import operator
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import compress, groupby, repeat
from operator import itemgetter
from typing import NamedTuple

from .issues import ERROR, WARNING, Issue
from .normalize import STAFF, STUDENT, Invalid, date

# A row's role, as the Classes declaration (imports/types/classes.py) reads it; defined here, the pipeline depending on no declaration.
ROLE_TEACHER = "teacher"
ROLE_STUDENT = "student"
ERROR_UNKNOWN_PERSON = "There is no teacher or student with District ID {district_id} (row {row})."
UNKNOWN_PERSON_SUGGESTION = "Import the user first (a User Data import), or check the ID."
ERROR_STAFF_AS_STUDENT = "District ID {district_id} is a staff member, listed here as a student."
ERROR_STUDENT_AS_TEACHER = "District ID {district_id} is a student, listed here as a teacher."
ROLE_SUGGESTION = "Check the Role column: teachers are staff members, students are students."
ERROR_TOO_LONG = "{heading} is longer than {limit} characters."
WARNING_OTHER_SCHOOL = "District ID {district_id} is a student of another school than the class's."
WARNING_DUPLICATE = "District ID {district_id} is listed in class {class_sis_id} more than once."
WARNING_NO_TEACHER = "Class {class_sis_id} has no teacher in the file."
NO_TEACHER_SUGGESTION = "Add a row with Role teacher for the class, or add its teacher on the class's page later."


class Person(NamedTuple):
    """What the checks need to know about a stored user. The checks read it by position: any (user id, user type,
    school id) tuple will do, so a district's users are taken as the database gives them."""

    user_id: int
    user_type: str
    school_id: int | None


@dataclass(frozen=True, slots=True)
class ClassRow:
    """One row of a Classes file: field key -> text (keys a bundle adds: course_number, term_start, term_end, primary)."""

    file: str
    row: int
    values: Mapping[str, str]
    problem: Issue | None = None  # a row the reader could not split (ragged, a stray quote): its issue


# The class's own columns, in the order ClassValues.stored() gives them.
CLASS_COLUMNS = ("name", "school_id", "course_name", "course_number", "subject", "term_name", "term_start", "term_end")


@dataclass(slots=True)
class ClassValues:
    name: str
    school_id: int
    course_name: str = ""
    course_number: str = ""
    subject: str = ""
    term_name: str = ""
    term_start: datetime.date | None = None
    term_end: datetime.date | None = None
    file: str = ""
    row: int = 0

    def stored(self) -> tuple:
        return tuple(getattr(self, c) for c in CLASS_COLUMNS)


@dataclass
class ClassPlan:
    """The file's classes and rosters, ready to compare with what is stored."""

    classes: dict[str, ClassValues] = field(default_factory=dict)
    teachers: dict[str, dict[int, bool]] = field(default_factory=dict)  # class SIS ID -> {user id: is primary}
    students: dict[str, set[int]] = field(default_factory=dict)  # class SIS ID -> user ids
    issues: list[Issue] = field(default_factory=list)
    rows: int = 0
    counts: Counter = field(default_factory=Counter)  # errors, warnings
    rows_by_file: Counter = field(default_factory=Counter)  # file name -> its rows

    @property
    def has_errors(self) -> bool:
        return self.counts["errors"] > 0

    @property
    def enrollments(self) -> int:
        return sum(map(len, self.teachers.values())) + sum(map(len, self.students.values()))

    def add_issue(self, issue: Issue) -> None:
        self.counts["errors" if issue.is_error else "warnings"] += 1
        self.issues.append(issue)


_TEXT_LIMITS = {"course_name": 255, "course_number": 64, "subject": 128, "term_name": 128}
_TRUE = {"true", "1", "yes", "y"}


def _convert(spec, key: str, text: str):
    """A cell's text -> its value by the declaration's rule, or Invalid. Pure: the check memoises it per distinct text."""
    spec_field = spec.by_key.get(key)
    if spec_field is None:
        limit = _TEXT_LIMITS.get(key)
        if limit and len(text) > limit:
            return Invalid("too_long", ERROR_TOO_LONG.format(heading=key.replace("_", " ").title(), limit=limit), "")
        return text
    rule = spec_field.rule
    if not text:
        if rule.blank is not None:
            return rule.blank
        return rule.parse("") if rule.parse is not None and key == "role" else ""
    value = rule.parse(text) if rule.parse is not None else text
    if isinstance(value, Invalid):
        return value
    if rule.max_length and len(value) > rule.max_length:
        return Invalid("too_long", ERROR_TOO_LONG.format(heading=spec_field.heading, limit=rule.max_length), "Shorten the value in the file.")
    return value


_MISSING = object()
_NOBODY = (None, None, None)  # the person a District ID no user has names
_NO_ONE: frozenset = frozenset()
# The three cells every row has, converted by their rule on every row (once per distinct text).
_ROW_KEYS = ("class_sis_id", "district_id", "role")
# The cells read from a class's first row while its block is read (and Primary, kept for a teacher's row).
_CLASS_KEYS = ("class_name", "school_sis_id", "course_name", "course_number", "subject", "term_name", "term_start", "term_end",
               "primary")
BLOCK_ROWS = 1000


@dataclass(slots=True)
class ClassBlock:
    """Consecutive rows of one file, a column at a time: field key -> one text per row (a key not given is blank)."""

    file: str
    rows: Sequence[int]
    values: Mapping[str, Sequence[str]]
    problems: Mapping[int, Issue] = field(default_factory=dict)  # position -> the row's problem (ragged, a stray quote)


def class_blocks(rows: Iterable[ClassRow], size: int = BLOCK_ROWS) -> Iterator[ClassBlock]:
    """ClassRows as blocks of consecutive rows of one file."""
    batch: list[ClassRow] = []
    for row in rows:
        if batch and (row.file != batch[0].file or len(batch) >= size):
            yield _block(batch)
            batch = []
        batch.append(row)
    if batch:
        yield _block(batch)


def _block(batch: list[ClassRow]) -> ClassBlock:
    keys = set().union(*(row.values for row in batch))
    return ClassBlock(batch[0].file, [row.row for row in batch], {k: [row.values.get(k) or "" for row in batch] for k in keys},
                      {i: row.problem for i, row in enumerate(batch) if row.problem is not None})


class _Table:
    """Every row of the file, a column at a time, checked as its blocks arrive.

    The three cells every row has are converted by their rule once per distinct text (a file names the same
    class and people many times); a class takes its values from its first row without an error, read in its
    block, so the class's other cells are not kept.
    """

    def __init__(self, spec, columns: Mapping[str, str], school_ids: Mapping[str, int], people: Mapping[str, Person],
                 deferred: bool = False):
        self.spec, self.columns, self.school_ids, self.people = spec, columns, school_ids, people
        self._invalid = dict.fromkeys(_ROW_KEYS, False)  # whether a text of the column was invalid: its rows are then looked for
        self.files: list[str] = []
        self.rows = array("q")
        self.problems: dict[int, Issue] = {}
        self.start = 0  # the position of the block being read: values holds its rows only
        self.texts: Sequence[str] = ()  # the block's District ID cells
        self.values: dict[str, list] = {key: [] for key in _ROW_KEYS}
        self.memo: dict[str, dict[str, object]] = {key: {} for key in (*_ROW_KEYS, *_CLASS_KEYS)}
        # A rule is pure: the texts a file names its people by are most likely their own ids, converted at once
        # (the rows' look-ups then find them, and no block looks for its new texts a second time).
        for text in people:
            self.memo["district_id"][text] = self._value("district_id", text)
        self.primary: dict[int, str] = {}  # row -> its Primary text, when the rows have one
        self.found: list[tuple[int, Issue]] = []  # (row position, issue)
        self.stopped: set[int] = set()  # rows with a problem or an error: their checks stop there
        self.classes: dict[str, tuple[int, ClassValues]] = {}  # SIS ID -> (the row that gave its values, them)
        self.school_of: dict[str, int] = {}  # SIS ID -> its school's id, once the class has its values
        self.teachers: dict[str, dict[int, bool]] = {}  # the rosters so far, as ClassPlan keeps them
        self.students: dict[str, set[int]] = {}
        self.size = 0
        self.rows_by_file: Counter = Counter()
        # deferred: the rows' people are looked up after the last block, the whole file at once; the three cells kept.
        self.deferred = deferred
        self.all_sis: list = []
        self.all_roles: list = []
        self.all_texts: list[str] = []

    def add(self, block: ClassBlock) -> None:
        start, n = self.size, len(block.rows)
        self.rows_by_file[block.file] += n
        self.files.extend(repeat(block.file, n))
        self.rows.extend(block.rows)
        for k, problem in block.problems.items():
            self.problems[start + k] = problem
            self.found.append((start + k, problem))
            self.stopped.add(start + k)
        self.size, self.start = self.size + n, start
        self.texts = block.values.get("district_id", ("",) * n)
        blank = ("",) * n
        for key in _ROW_KEYS:
            texts, memo = block.values.get(key, blank), self.memo[key]
            if self.deferred and key == "district_id":
                self.all_texts.extend(texts)
                continue
            got = list(map(memo.get, texts))
            if None in got:  # texts not met before: their rule runs once each
                for text in set(texts).difference(memo):
                    memo[text] = self._value(key, text)
                got = list(map(memo.__getitem__, texts))
            self.values[key] = got
            if self.deferred:
                (self.all_sis if key == "class_sis_id" else self.all_roles).extend(got)
            if self._invalid[key]:
                for k, value in enumerate(got):
                    if value.__class__ is Invalid and start + k not in self.problems:
                        self.found.append((start + k, self.issue(start + k, key, value)))
                        self.stopped.add(start + k)
        primary = block.values.get("primary")
        if primary is not None:
            self.primary.update((start + k, text) for k, text in enumerate(primary) if text)
        self._take_classes(block, start)
        if not self.deferred:
            _enroll(self, start, n)

    def district_id(self, i: int) -> str:
        """Row i's District ID, as its rule reads it (row i of the block being read)."""
        return _convert(self.spec, "district_id", self.texts[i - self.start].strip())

    def _value(self, key: str, text: str):
        """A cell's value by its rule; a valid District ID's is the person it names, or _NOBODY."""
        value = _convert(self.spec, key, text.strip())
        if value.__class__ is Invalid:
            self._invalid[key] = True
        if key == "district_id" and value.__class__ is not Invalid:
            return self.people.get(value) or _NOBODY
        return value

    def _take_classes(self, block: ClassBlock, start: int) -> None:
        """The values of the block's classes not yet taken: from each one's first row, or its next while they have errors."""
        sis_ids = self.values["class_sis_id"]
        for sis_id in dict.fromkeys(sis_ids):
            if sis_id.__class__ is Invalid or sis_id in self.classes:
                continue
            k = sis_ids.index(sis_id)
            if not self._try_class(block, start, k, sis_id):
                for later in range(k + 1, len(sis_ids)):
                    if sis_ids[later] == sis_id and self._try_class(block, start, later, sis_id):
                        break

    def _try_class(self, block: ClassBlock, start: int, k: int, sis_id: str) -> bool:
        """Whether the block's row k gives the class its values (a row with an error gives none)."""
        i = start + k
        if i in self.problems:
            return False
        values = _class_values(self, i, {key: texts[k] for key, texts in block.values.items()})
        if values is None:
            self.stopped.add(i)
            return False
        if i in self.stopped:
            return False
        self.classes[sis_id] = (i, values)
        self.school_of[sis_id] = values.school_id
        return True

    def cell(self, i: int, texts: Mapping[str, str], key: str):
        """A class cell's value by its rule; None (with an error of row i) when it cannot be used."""
        text = (texts.get(key) or "").strip()
        memo = self.memo[key]
        value = memo.get(text, _MISSING)
        if value is _MISSING:
            value = memo[text] = _convert(self.spec, key, text)
        if value.__class__ is Invalid:
            self.found.append((i, self.issue(i, key, value)))
            return None
        return value

    def issue(self, i: int, key: str, invalid: Invalid, severity: str = ERROR) -> Issue:
        return Issue(severity, invalid.code, invalid.message, invalid.suggestion, row=self.rows[i],
                     column=self.columns.get(key, ""), field=key, file=self.files[i])


def _date(text: str) -> datetime.date | None:
    value = date(text) if text else None
    return None if isinstance(value, Invalid) else value


def class_rows_check(rows: Iterable[ClassRow], **kwargs) -> ClassPlan:
    """class_blocks_check of rows given one by one."""
    return class_blocks_check(class_blocks(rows), **kwargs)


def class_blocks_check(
    blocks: Iterable[ClassBlock], *, people: Mapping[str, Person], school_ids: Mapping[str, int],
    columns: Mapping[str, str] | None = None, spec,
) -> ClassPlan:
    """Check every row and gather the file's classes with their teachers and students.

    people: District ID -> Person; school_ids: the file's school value -> school id (School Mapping);
    columns: field key -> the file's column label, for the issues; spec: the Classes declaration, whose rules read the cells.
    Every row runs every check, a column at a time; a row stops at its first error, and the issues come in row order.
    """
    table = _Table(spec, columns or {}, school_ids, people)
    for block in blocks:
        table.add(block)
    return _plan(table)


def class_blocks_check_at_once(
    read: Callable[[], Iterable[ClassBlock]], *, people: Mapping[str, Person], school_ids: Mapping[str, int],
    columns: Mapping[str, str] | None = None, spec,
) -> ClassPlan:
    """class_blocks_check of the blocks read() gives, its people looked up and enrolled with one join over the whole
    file when no row needs a look of its own (class_frames); otherwise the file is read again and checked row by row."""
    # Here, not at the top: polars (about 50 MB) is loaded only by a process that checks a Classes file.
    from .class_frames import people_at_once

    table = _Table(spec, columns or {}, school_ids, people, deferred=True)
    for block in read():
        table.add(block)
    found = None
    if not table.found and not table.stopped:
        memo = table.memo["district_id"]
        known = {text: person for text, person in memo.items() if isinstance(person, tuple) and person is not _NOBODY}
        rows, table.all_texts, table.all_sis, table.all_roles = [table.all_texts, table.all_sis, table.all_roles], [], [], []
        found = people_at_once(rows=rows, people=known, school_of=table.school_of, teacher=ROLE_TEACHER, student=ROLE_STUDENT)
    if found is None:
        del table  # what it kept of the rows: the check row by row reads them again
        return class_blocks_check(read(), people=people, school_ids=school_ids, columns=columns, spec=spec)
    teacher_rows, table.students = found
    for i, sis_id, user_id in teacher_rows:
        roster = table.teachers.setdefault(sis_id, {})
        roster[user_id] = _primary(table, i, roster)
    return _plan(table)


def _plan(table: _Table) -> ClassPlan:
    plan = ClassPlan(rows=table.size, rows_by_file=table.rows_by_file)
    # In the order of the rows that gave the classes their values.
    plan.classes.update((sis_id, values) for sis_id, (_, values) in sorted(table.classes.items(), key=lambda item: item[1][0]))
    plan.teachers, plan.students, found = table.teachers, table.students, table.found
    found.sort(key=itemgetter(0))
    for _, issue in found:
        plan.add_issue(issue)
    for sis_id, values in plan.classes.items():
        if not plan.teachers.get(sis_id):
            plan.add_issue(Issue(WARNING, "no_teacher", WARNING_NO_TEACHER.format(class_sis_id=sis_id), NO_TEACHER_SUGGESTION,
                                 row=values.row, column=table.columns.get("class_sis_id", ""), field="class_sis_id", file=values.file))
        elif not any(plan.teachers[sis_id].values()):  # a file that names no primary: its first teacher is
            plan.teachers[sis_id][next(iter(plan.teachers[sis_id]))] = True
    return plan


def _person_check(person: Person | None, role: str, school_id: int) -> str | None:
    """What a row's District ID and Role say against the person found and the class's school: an issue's code, or None."""
    if person is None:
        return "unknown_person"
    user_type, person_school_id = person[1], person[2]
    if role == ROLE_STUDENT and user_type == STAFF:
        return "staff_as_student"
    if role == ROLE_TEACHER and user_type == STUDENT:
        return "student_as_teacher"
    if role != ROLE_TEACHER and person_school_id is not None and person_school_id != school_id:
        return "other_school"
    return None


def _person_issue(table: _Table, i: int, code: str) -> Issue:
    district_id = table.district_id(i)
    if code == "unknown_person":
        invalid = Invalid(code, ERROR_UNKNOWN_PERSON.format(district_id=district_id, row=table.rows[i]), UNKNOWN_PERSON_SUGGESTION)
        return table.issue(i, "district_id", invalid)
    if code == "other_school":
        invalid = Invalid(code, WARNING_OTHER_SCHOOL.format(district_id=district_id), "The student is enrolled all the same.")
        return table.issue(i, "district_id", invalid, WARNING)
    message = ERROR_STAFF_AS_STUDENT if code == "staff_as_student" else ERROR_STUDENT_AS_TEACHER
    return table.issue(i, "role", Invalid(code, message.format(district_id=district_id), ROLE_SUGGESTION))


def _enroll(table: _Table, start: int, n: int) -> None:
    """The checks of the block's rows' people, then their classes' teachers and students, in the rows' order (a person
    listed twice in a class, once: the first listing counts)."""
    values = table.values
    sis_ids, district_ids, roles = values["class_sis_id"], values["district_id"], values["role"]
    live: Sequence[int] = range(start, start + n)
    if not table.stopped.isdisjoint(live):
        keep = [k for k in range(n) if start + k not in table.stopped]
        live = [start + k for k in keep]
        sis_ids, district_ids, roles = ([column[k] for k in keep] for column in (sis_ids, district_ids, roles))
    persons = district_ids  # each row's District ID, as the person it names (or _NOBODY)
    codes = _person_codes(persons, roles, list(map(table.school_of.__getitem__, sis_ids)))
    warned: dict[int, str] = {}  # position in live -> other_school
    if codes:
        dropped = set()
        for k, code in codes.items():
            if code == "other_school":
                warned[k] = code
            else:
                table.found.append((live[k], _person_issue(table, live[k], code)))
                dropped.add(k)
        if dropped:
            keep = [k for k in range(len(persons)) if k not in dropped]
            renumber = {k: m for m, k in enumerate(keep)}
            warned = {renumber[k]: c for k, c in warned.items()}
            live, sis_ids, persons, roles = ([xs[k] for k in keep] for xs in (live, sis_ids, persons, roles))
    user_ids = list(map(itemgetter(0), persons))
    at = 0
    for sis_id, run in groupby(sis_ids):  # a class's rows are most often together
        end = at + len(list(run))
        if _enroll_at_once(table, sis_id, live[at:end], user_ids[at:end], roles[at:end]):
            table.found.extend((live[k], _person_issue(table, live[k], warned[k])) for k in range(at, end) if k in warned)
        else:
            _enroll_in_order(table, live, sis_ids, user_ids, roles, warned, range(at, end))
        at = end


def _person_codes(persons: list, roles: list, schools: list) -> dict[int, str]:
    """_person_check of every row, by position, for the rows it says something of (in row order).

    Each column is compared at once; only the rows a comparison singles out are checked one by one."""
    types = list(map(itemgetter(1), persons))
    suspects = list(compress(range(len(persons)), map(operator.ne, map(itemgetter(2), persons), schools)))
    wrong = {pair for pair in set(zip(roles, types)) if pair[1] is None or _person_check((0, pair[1], None), pair[0], 0)}
    if wrong:
        suspects = sorted({*suspects, *(k for k, pair in enumerate(zip(roles, types)) if pair in wrong)})
    codes = {}
    for k in suspects:
        code = _person_check(None if persons[k] is _NOBODY else persons[k], roles[k], schools[k])
        if code is not None:
            codes[k] = code
    return codes


def _primary(table: _Table, i: int, teachers: dict) -> bool:
    primary = table.primary.get(i, "").strip().casefold()
    return primary in _TRUE if primary else not teachers


def _enroll_at_once(table: _Table, sis_id: str, live: Sequence[int], user_ids: list, roles: list) -> bool:
    """Consecutive rows of one class added to its roster at once, when none lists a person the class already has
    or another of them lists (True); otherwise nothing is added (False), and the rows are taken one by one."""
    teachers, students = table.teachers.get(sis_id, {}), table.students.get(sis_id, _NO_ONE)
    is_teacher = list(map(operator.eq, roles, repeat(ROLE_TEACHER)))
    their_ids = list(compress(user_ids, map(operator.not_, is_teacher))) if True in is_teacher else user_ids
    pupils = set(their_ids)
    if len(pupils) != len(their_ids) or not pupils.isdisjoint(teachers) or not pupils.isdisjoint(students):
        return False
    if True in is_teacher:
        staff = list(compress(user_ids, is_teacher))
        if len(set(staff)) != len(staff) or not pupils.isdisjoint(staff) or not teachers.keys().isdisjoint(staff) \
                or not students.isdisjoint(staff):
            return False
        roster = table.teachers.setdefault(sis_id, teachers)
        for k in compress(range(len(roles)), is_teacher):
            roster[user_ids[k]] = _primary(table, live[k], roster)
    if pupils:
        if students:
            students.update(pupils)
        else:
            table.students[sis_id] = pupils
    return True


def _enroll_in_order(table: _Table, live, sis_ids, user_ids, roles, warned: dict, positions: range) -> None:
    """The rows one by one: a person listed again in a class is a warning, and the first listing counts."""
    for k in positions:
        sis_id, user_id, role = sis_ids[k], user_ids[k], roles[k]
        teachers = table.teachers.get(sis_id) or {}
        if user_id in teachers or user_id in table.students.get(sis_id, ()):
            invalid = Invalid("duplicate_enrollment", WARNING_DUPLICATE.format(
                district_id=table.district_id(live[k]), class_sis_id=sis_id), "The row is imported once.")
            table.found.append((live[k], table.issue(live[k], "district_id", invalid, WARNING)))
            continue
        if role == ROLE_TEACHER:
            teachers = table.teachers.setdefault(sis_id, {})
            teachers[user_id] = _primary(table, live[k], teachers)
        else:
            if k in warned:
                table.found.append((live[k], _person_issue(table, live[k], warned[k])))
            table.students.setdefault(sis_id, set()).add(user_id)


def _class_values(table: _Table, i: int, texts: Mapping[str, str]) -> ClassValues | None:
    """The class's own values, from row i's texts; None (with the row's errors) when they cannot be used."""
    name = table.cell(i, texts, "class_name")
    school = table.cell(i, texts, "school_sis_id")
    extra = {key: table.cell(i, texts, key) for key in ("course_name", "course_number", "subject", "term_name")}
    if name is None or school is None or None in extra.values():
        return None
    school_id = table.school_ids.get(school)
    if school_id is None:
        table.found.append((i, table.issue(i, "school_sis_id", table.spec.by_key["school_sis_id"].rule.unmatched(school))))
        return None
    return ClassValues(
        name=name, school_id=school_id, **extra,
        term_start=_date((texts.get("term_start") or "").strip()), term_end=_date((texts.get("term_end") or "").strip()),
        file=table.files[i], row=table.rows[i],
    )
