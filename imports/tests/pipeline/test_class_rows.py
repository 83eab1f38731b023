"""The Classes checks, without a database: each rule gives the admin a message naming the file, row and column."""
from imports.pipeline.class_rows import ClassRow, Person, class_rows_check
from imports.types.classes import CLASSES

TEACHER, STUDENT, OTHER_SCHOOL_STUDENT = Person(1, "staff", 10), Person(2, "student", 10), Person(3, "student", 20)
PEOPLE = {"T-1": TEACHER, "S-1": STUDENT, "S-9": OTHER_SCHOOL_STUDENT}
SCHOOLS = {"101": 10, "102": 20}
COLUMNS = {"class_sis_id": "Class SIS ID", "district_id": "District ID", "role": "Role", "school_sis_id": "School SIS ID"}


def _row(n, district_id, role="", class_sis_id="C1", school="101", name="Class 1"):
    return ClassRow("classes.csv", n, {"class_sis_id": class_sis_id, "class_name": name, "school_sis_id": school,
                                       "district_id": district_id, "role": role})


def _check(*rows):
    return class_rows_check(rows, people=PEOPLE, school_ids=SCHOOLS, columns=COLUMNS, spec=CLASSES)


def _found(plan):
    return [(i.severity, i.code, i.file, i.row, i.column) for i in plan.issues]


def test_a_clean_file_gathers_its_classes_with_the_first_teacher_primary():
    plan = _check(_row(2, "T-1", "teacher"), _row(3, "S-1"))

    assert not plan.issues
    assert plan.teachers == {"C1": {1: True}} and plan.students == {"C1": {2}}
    assert plan.enrollments == 2


def test_an_unknown_district_id_is_an_error_naming_the_row():
    plan = _check(_row(2, "T-1", "teacher"), _row(3, "NOPE"))

    assert _found(plan) == [("error", "unknown_person", "classes.csv", 3, "District ID")]
    assert "NOPE" in plan.issues[0].message and "row 3" in plan.issues[0].message
    assert plan.has_errors


def test_a_staff_member_as_student_or_a_student_as_teacher_is_an_error():
    plan = _check(_row(2, "T-1", "student"), _row(3, "S-1", "teacher"))

    assert _found(plan) == [("error", "staff_as_student", "classes.csv", 2, "Role"),
                            ("error", "student_as_teacher", "classes.csv", 3, "Role"),
                            ("warning", "no_teacher", "classes.csv", 2, "Class SIS ID")]


def test_a_class_in_a_school_not_matched_goes_to_school_mapping():
    plan = _check(_row(2, "T-1", "teacher", school="999"))

    assert _found(plan) == [("error", "school_unmapped", "classes.csv", 2, "School SIS ID")]
    assert "School Mapping" in plan.issues[0].suggestion


def test_a_student_of_another_school_is_a_warning_and_still_enrolled():
    plan = _check(_row(2, "T-1", "teacher"), _row(3, "S-9"))

    assert _found(plan) == [("warning", "other_school", "classes.csv", 3, "District ID")]
    assert plan.students == {"C1": {3}}


def test_a_duplicate_enrollment_is_a_warning_imported_once():
    plan = _check(_row(2, "T-1", "teacher"), _row(3, "S-1"), _row(4, "S-1", "student"))

    assert _found(plan) == [("warning", "duplicate_enrollment", "classes.csv", 4, "District ID")]
    assert "listed in class C1 more than once" in plan.issues[0].message
    assert plan.enrollments == 2


def test_a_class_with_no_teacher_is_a_warning():
    plan = _check(_row(2, "S-1"), _row(3, "T-1", "teacher", class_sis_id="C2"))

    assert _found(plan) == [("warning", "no_teacher", "classes.csv", 2, "Class SIS ID")]
    assert not plan.has_errors


def test_blank_required_cells_and_an_unknown_role_are_errors():
    plan = _check(_row(2, "", "teacher"), _row(3, "T-1", "principal?"), _row(4, "T-1", "teacher", class_sis_id=""))

    assert [i.code for i in plan.issues] == ["district_id_required", "invalid_role", "class_required"]
