"""Classes rows checked and gathered into classes and rosters, without the database.

The user engine's rows are users; a Classes row is one enrollment (a teacher or a student in a
class), so its checks are the class's own: the District ID must find a person of the right kind,
a class's school must be mapped, and the file's classes are gathered with their teachers and
students. It takes plain look-up dicts and returns issues with file, row and column.
"""
import datetime
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

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


@dataclass(frozen=True, slots=True)
class Person:
    """What the checks need to know about a stored user."""

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


class _Cells:
    """Each rule runs once per distinct text of its column (a file names the same class and people many times)."""

    def __init__(self, plan: ClassPlan, columns: Mapping[str, str], spec):
        self.plan, self.columns, self.spec = plan, columns, spec
        self.memo: dict[str, dict[str, object]] = {}

    def __call__(self, row: ClassRow, key: str) -> str | None:
        """The cell's value; None (with an error issued) when it cannot be used."""
        text = (row.values.get(key) or "").strip()
        memo = self.memo.setdefault(key, {})
        value = memo.get(text, _MISSING)
        if value is _MISSING:
            value = memo[text] = _convert(self.spec, key, text)
        if isinstance(value, Invalid):
            _error(self.plan, row, key, self.columns, value)
            return None
        return value


_MISSING = object()


def _error(plan: ClassPlan, row: ClassRow, key: str, columns: Mapping[str, str], invalid: Invalid, severity: str = ERROR) -> None:
    plan.add_issue(Issue(severity, invalid.code, invalid.message, invalid.suggestion, row=row.row,
                         column=columns.get(key, ""), field=key, file=row.file))


def _date(text: str) -> datetime.date | None:
    value = date(text) if text else None
    return None if isinstance(value, Invalid) else value


def class_rows_check(
    rows: Iterable[ClassRow], *, people: Mapping[str, Person], school_ids: Mapping[str, int],
    columns: Mapping[str, str] | None = None, spec,
) -> ClassPlan:
    """Check every row and gather the file's classes with their teachers and students.

    people: District ID -> Person; school_ids: the file's school value -> school id (School Mapping);
    columns: field key -> the file's column label, for the issues; spec: the Classes declaration, whose rules read the cells.
    """
    columns = columns or {}
    plan = ClassPlan()
    cell = _Cells(plan, columns, spec)
    # The three cells every row has, looked up in the rules' memo first (a text seen before, valid, is its value).
    seen_sis, seen_id, seen_role = (cell.memo.setdefault(key, {}) for key in ("class_sis_id", "district_id", "role"))
    for row in rows:
        plan.rows += 1
        if row.problem is not None:
            plan.add_issue(row.problem)
            continue
        errors_before = plan.counts["errors"]
        v = row.values
        sis_id = seen_sis.get(v.get("class_sis_id"))
        if sis_id.__class__ is not str:
            sis_id = cell(row, "class_sis_id")
        district_id = seen_id.get(v.get("district_id"))
        if district_id.__class__ is not str:
            district_id = cell(row, "district_id")
        role = seen_role.get(v.get("role", ""))
        if role.__class__ is not str:
            role = cell(row, "role")
        if sis_id and sis_id not in plan.classes:
            values = _class_values(row, cell, school_ids)
            if values is not None and plan.counts["errors"] == errors_before:
                plan.classes[sis_id] = values
        if plan.counts["errors"] > errors_before:
            continue
        person = people.get(district_id)
        if person is None:
            _error(plan, row, "district_id", columns, Invalid(
                "unknown_person", ERROR_UNKNOWN_PERSON.format(district_id=district_id, row=row.row), UNKNOWN_PERSON_SUGGESTION))
            continue
        if role == ROLE_STUDENT and person.user_type == STAFF:
            _error(plan, row, "role", columns, Invalid("staff_as_student", ERROR_STAFF_AS_STUDENT.format(district_id=district_id), ROLE_SUGGESTION))
            continue
        if role == ROLE_TEACHER and person.user_type == STUDENT:
            _error(plan, row, "role", columns, Invalid("student_as_teacher", ERROR_STUDENT_AS_TEACHER.format(district_id=district_id), ROLE_SUGGESTION))
            continue
        the_class = plan.classes.get(sis_id)
        if the_class is None:  # its first row had an error: that row's error says so
            continue
        teachers = plan.teachers.get(sis_id) or {}
        if person.user_id in teachers or person.user_id in plan.students.get(sis_id, ()):
            _error(plan, row, "district_id", columns, Invalid("duplicate_enrollment", WARNING_DUPLICATE.format(
                district_id=district_id, class_sis_id=sis_id), "The row is imported once."), WARNING)
            continue
        if role == ROLE_TEACHER:
            teachers = plan.teachers.setdefault(sis_id, {})
            primary = (row.values.get("primary") or "").strip().casefold()
            teachers[person.user_id] = primary in _TRUE if primary else not teachers
        else:
            if person.school_id is not None and person.school_id != the_class.school_id:
                _error(plan, row, "district_id", columns, Invalid("other_school", WARNING_OTHER_SCHOOL.format(district_id=district_id),
                                                                  "The student is enrolled all the same."), WARNING)
            plan.students.setdefault(sis_id, set()).add(person.user_id)
    for sis_id, values in plan.classes.items():
        if not plan.teachers.get(sis_id):
            plan.add_issue(Issue(WARNING, "no_teacher", WARNING_NO_TEACHER.format(class_sis_id=sis_id), NO_TEACHER_SUGGESTION,
                                 row=values.row, column=columns.get("class_sis_id", ""), field="class_sis_id", file=values.file))
        elif not any(plan.teachers[sis_id].values()):  # a file that names no primary: its first teacher is
            plan.teachers[sis_id][next(iter(plan.teachers[sis_id]))] = True
    return plan


def _class_values(row: ClassRow, cell: _Cells, school_ids: Mapping[str, int]) -> ClassValues | None:
    """The class's own values, from its first row."""
    name = cell(row, "class_name")
    school = cell(row, "school_sis_id")
    extra = {key: cell(row, key) for key in ("course_name", "course_number", "subject", "term_name")}
    if name is None or school is None or None in extra.values():
        return None
    school_id = school_ids.get(school)
    if school_id is None:
        _error(cell.plan, row, "school_sis_id", cell.columns, cell.spec.by_key["school_sis_id"].rule.unmatched(school))
        return None
    return ClassValues(
        name=name, school_id=school_id, **extra,
        term_start=_date(row.values.get("term_start", "")), term_end=_date(row.values.get("term_end", "")),
        file=row.file, row=row.row,
    )
