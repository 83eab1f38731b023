"""The Classes check a column at a time gives exactly what the row-at-a-time check it replaced gave.

reference_check is that earlier check, kept here verbatim as the statement of the behaviour.
"""
import datetime
from collections.abc import Iterable, Mapping

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imports.pipeline.class_rows import (
    ERROR_STAFF_AS_STUDENT, ERROR_STUDENT_AS_TEACHER, ERROR_UNKNOWN_PERSON, NO_TEACHER_SUGGESTION, ROLE_STUDENT, ROLE_SUGGESTION,
    ROLE_TEACHER, UNKNOWN_PERSON_SUGGESTION, WARNING_DUPLICATE, WARNING_NO_TEACHER, WARNING_OTHER_SCHOOL, _TRUE, ClassPlan, ClassRow,
    ClassValues, Person, _convert, class_blocks, class_blocks_check, class_blocks_check_at_once,
)
from imports.pipeline.issues import ERROR, WARNING, Issue
from imports.pipeline.normalize import STAFF, STUDENT, Invalid, date
from imports.types.classes import CLASSES

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


def reference_check(
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


PEOPLE = {"T1": Person(1, "staff", 10), "T2": Person(2, "staff", None), "S1": Person(3, "student", 10),
          "S2": Person(4, "student", 20), "S3": Person(5, "student", None), "X": Person(6, "student", 10),
          "1.2E+5": Person(7, "student", 10)}  # an id Excel spoiled: the rule refuses it whoever has it
SCHOOLS = {"101": 10, "102": 20}
COLUMNS = {"class_sis_id": "Class SIS ID", "district_id": "District ID", "role": "Role", "school_sis_id": "School SIS ID",
           "class_name": "Class Name"}
TEXT = {
    "class_sis_id": ["C1", "C2", " C1 ", "", "c" * 70], "class_name": ["Math", "", "n" * 300],
    "school_sis_id": ["101", "102", "999", ""], "district_id": ["T1", "T2", "S1", "S2", "S3", "NOPE", "", " S1", "1.2E+5"],
    "role": ["", "teacher", "student", "Teacher", "aide", "parent"], "primary": ["", "true", "no"],
    "course_name": ["", "Algebra", "a" * 300], "term_start": ["", "2026-09-01", "soon"],
}
ROW = st.fixed_dictionaries({k: st.sampled_from(v) for k, v in TEXT.items()})
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _rows(values: list[dict], files: list[int], problems: list[bool]) -> list[ClassRow]:
    out = []
    for n, (v, f, p) in enumerate(zip(values, files, problems), 2):
        problem = Issue(ERROR, "ragged_row", f"Row {n} is ragged.", row=n, file=f"f{f}.csv") if p else None
        out.append(ClassRow(f"f{f}.csv", n, {} if p else v, problem))
    return out


def _same(new: ClassPlan, old: ClassPlan) -> None:
    assert new.issues == old.issues
    assert new.counts == old.counts and new.rows == old.rows
    assert new.classes == old.classes and list(new.classes) == list(old.classes)
    assert new.teachers == old.teachers and [list(t) for t in new.teachers.values()] == [list(t) for t in old.teachers.values()]
    assert new.students == old.students


@FUZZ
@given(data=st.data(), size=st.integers(1, 4))
def test_any_rows_give_the_issues_classes_and_rosters_the_row_at_a_time_check_gave(data, size):
    values = data.draw(st.lists(ROW, max_size=25))
    files = data.draw(st.lists(st.integers(0, 1), min_size=len(values), max_size=len(values)))
    problems = data.draw(st.lists(st.booleans().map(lambda b: b and data.draw(st.integers(0, 9)) == 0),
                                  min_size=len(values), max_size=len(values)))
    rows = _rows(values, files, problems)
    kwargs = {"people": PEOPLE, "school_ids": SCHOOLS, "columns": COLUMNS, "spec": CLASSES}
    _same(class_blocks_check(class_blocks(rows, size=size), **kwargs), reference_check(rows, **kwargs))


# Rows that pass every check but the roster's: many classes, people listed more than once.
CLEAN = st.fixed_dictionaries({
    "class_sis_id": st.sampled_from(["C1", "C2", "C3"]), "class_name": st.just("Math"), "school_sis_id": st.sampled_from(["101", "102"]),
    "district_id": st.sampled_from(["T1", "T2", "S1", "S2", "S3"]), "primary": st.sampled_from(["", "true", "no"]),
}).map(lambda v: {**v, "role": "teacher" if v["district_id"].startswith("T") else ""})


@FUZZ
@given(values=st.lists(CLEAN, max_size=25), size=st.integers(1, 30))
def test_rows_without_errors_give_the_rosters_the_row_at_a_time_check_gave(values, size):
    rows = [ClassRow("f.csv", n, v) for n, v in enumerate(values, 2)]
    kwargs = {"people": PEOPLE, "school_ids": SCHOOLS, "columns": COLUMNS, "spec": CLASSES}
    _same(class_blocks_check(class_blocks(rows, size=size), **kwargs), reference_check(rows, **kwargs))


def test_a_clean_roster_with_a_student_listed_twice_warns_once_and_keeps_the_first_listing():
    base = {"class_sis_id": "C1", "class_name": "Math", "school_sis_id": "101"}
    rows = [ClassRow("f.csv", n, {**base, "district_id": d, "role": r})
            for n, (d, r) in enumerate([("T1", "teacher"), ("S1", ""), ("S2", ""), ("S1", ""), ("T1", "teacher")], 2)]
    kwargs = {"people": PEOPLE, "school_ids": SCHOOLS, "columns": COLUMNS, "spec": CLASSES}
    new = class_blocks_check(class_blocks(rows), **kwargs)
    _same(new, reference_check(rows, **kwargs))
    assert [(i.code, i.row) for i in new.issues] == [("other_school", 4), ("duplicate_enrollment", 5), ("duplicate_enrollment", 6)]


def test_a_file_read_by_blocks_checks_as_its_rows_read_one_by_one_padded_cells_and_blank_lines_included(tmp_path):
    from imports.pipeline.reading import inspect_file, iter_rows
    from imports.services.classes import file_class_blocks
    from imports.services.sources import ImportOptions, Source

    lines = ["Class SIS ID,Class Name,School SIS ID,District ID,Role", " C1 ,Math,101, T1 , teacher", "C1, Math ,101,S1,",
             " , , , , ", "C1,Math,101,S2 ,student", "C2,Art, 102 ,T2,Teacher", "", "C2,Art,102,NOPE,", ' C2 ,"Art",102,S1,x']
    path = tmp_path / "classes.csv"
    path.write_text("\r\n".join(lines * 40) + "\r\n", encoding="utf-8")
    info = inspect_file(path, "classes.csv", has_header=True)
    mapping = dict(zip(("class_sis_id", "class_name", "school_sis_id", "district_id", "role"), info.column_labels))
    kwargs = {"people": PEOPLE, "school_ids": SCHOOLS, "columns": mapping, "spec": CLASSES}
    index = {key: info.column_labels.index(label) for key, label in mapping.items()}
    one_by_one = [ClassRow("classes.csv", r.row, {} if r.problem else {k: r.cells[i] for k, i in index.items()}, r.problem)
                  for r in iter_rows(path, info)]

    by_blocks = class_blocks_check(file_class_blocks([Source(str(path), info)], ImportOptions(field_mapping=mapping, spec=CLASSES)),
                                   **kwargs)

    _same(by_blocks, reference_check(one_by_one, **kwargs))
    assert by_blocks.classes["C1"].name == "Math" and by_blocks.teachers["C1"] == {1: True}
    assert {i.code for i in by_blocks.issues} >= {"unknown_person", "invalid_role", "duplicate_enrollment"}


def _at_once(rows: list[ClassRow], size: int, reads: list | None = None, **kwargs) -> ClassPlan:
    def read():
        if reads is not None:
            reads.append(1)
        return class_blocks(rows, size=size)

    return class_blocks_check_at_once(read, **kwargs)


@FUZZ
@given(data=st.data(), size=st.integers(1, 4))
def test_the_check_at_once_gives_any_rows_what_the_row_at_a_time_check_gave(data, size):
    values = data.draw(st.lists(ROW, max_size=25))
    rows = _rows(values, [0] * len(values), [False] * len(values))
    kwargs = {"people": PEOPLE, "school_ids": SCHOOLS, "columns": COLUMNS, "spec": CLASSES}
    _same(_at_once(rows, size, **kwargs), reference_check(rows, **kwargs))


# Rows no person of which needs a look of their own (each listed once in a class, in their own school), so the
# check at once enrolls them all with one join; Primary and blank roles as a file gives them.
ONCE = st.lists(st.tuples(st.sampled_from(["C1", "C2", "C3"]), st.sampled_from(["T1", "S1", "S3", "X"]),
                          st.sampled_from(["", "true", "no"])), max_size=25, unique_by=lambda t: t[:2])


@FUZZ
@given(listed=ONCE, size=st.integers(1, 30))
def test_the_check_at_once_enrolls_a_clean_file_in_one_reading_as_the_row_at_a_time_check_did(listed, size):
    school = {"C1": "101", "C2": "101", "C3": "101"}
    rows = [ClassRow("f.csv", n, {"class_sis_id": c, "class_name": "Math", "school_sis_id": school[c], "district_id": d,
                                  "role": "teacher" if d.startswith("T") else "", "primary": p})
            for n, (c, d, p) in enumerate(listed, 2)]
    kwargs = {"people": PEOPLE, "school_ids": SCHOOLS, "columns": COLUMNS, "spec": CLASSES}
    reads = []
    _same(_at_once(rows, size, reads, **kwargs), reference_check(rows, **kwargs))
    assert reads == [1]  # the file was read once: no row needed a look of its own


def test_a_file_with_an_unknown_person_is_read_again_and_checked_row_by_row():
    base = {"class_sis_id": "C1", "class_name": "Math", "school_sis_id": "101"}
    rows = [ClassRow("f.csv", n, {**base, "district_id": d, "role": r})
            for n, (d, r) in enumerate([("T1", "teacher"), ("S1", ""), ("NOPE", ""), ("S1", "")], 2)]
    kwargs = {"people": PEOPLE, "school_ids": SCHOOLS, "columns": COLUMNS, "spec": CLASSES}
    reads = []
    plan = _at_once(rows, 2, reads, **kwargs)
    assert reads == [1, 1]
    _same(plan, reference_check(rows, **kwargs))
    assert [(i.code, i.row) for i in plan.issues] == [("unknown_person", 4), ("duplicate_enrollment", 5)]
