"""One value per file in the pure pipeline: what a file's name or headings propose, and what stays required."""
from imports.pipeline.mapping import missing_required, plan_columns, propose_file_fixed_values
from imports.types import USER_DATA

NO_TYPE = ["First Name", "Last Name", "District ID", "Grade", "School SIS ID"]


def test_names_propose_student_or_staff_and_a_name_that_says_both_proposes_nothing():
    files = [("Student.csv", NO_TYPE), ("Teachers 2024.xlsx", NO_TYPE), ("staff_roster.csv", NO_TYPE),
             ("student_teacher_links.csv", NO_TYPE), ("roster.csv", NO_TYPE)]

    proposal = propose_file_fixed_values(files, {}, {}, spec=USER_DATA)

    assert proposal == {
        "Student.csv": {"user_type": "student"}, "Teachers 2024.xlsx": {"user_type": "staff"},
        "staff_roster.csv": {"user_type": "staff"},
    }


def test_headings_propose_when_the_name_says_nothing_and_only_one_thing():
    files = [("export1.csv", ["Student Number", "First Name"]), ("export2.csv", ["Student ID", "Homeroom Teacher"])]

    assert propose_file_fixed_values(files, {}, {}, spec=USER_DATA) == {"export1.csv": {"user_type": "student"}}


def test_a_file_with_the_user_type_column_or_a_value_for_every_file_gets_no_proposal():
    files = [("Student.csv", NO_TYPE + ["Role"])]

    assert propose_file_fixed_values(files, {"user_type": "Role"}, {}, spec=USER_DATA) == {}
    assert propose_file_fixed_values([("Student.csv", NO_TYPE)], {}, {"user_type": "1"}, spec=USER_DATA) == {}


def test_user_type_is_covered_only_when_every_file_has_a_value():
    mapping = {"first_name": "First Name", "last_name": "Last Name", "district_id": "District ID", "grade": "Grade",
               "email": "Email", "school_sis_id": "School SIS ID"}
    names = ["Student.csv", "Teacher.csv"]

    assert missing_required(mapping, {}, file_fixed_values={"Student.csv": {"user_type": "student"}}, file_names=names, spec=USER_DATA) == ["user_type"]
    both = {"Student.csv": {"user_type": "student"}, "Teacher.csv": {"user_type": "staff"}}
    assert missing_required(mapping, {}, file_fixed_values=both, file_names=names, spec=USER_DATA) == []


def test_grade_is_not_required_when_every_file_is_staff():
    mapping = {"first_name": "a", "last_name": "b", "district_id": "c", "email": "d", "school_sis_id": "e"}

    assert missing_required(mapping, {}, file_fixed_values={"T.csv": {"user_type": "1"}}, file_names=["T.csv"], spec=USER_DATA) == []
    assert missing_required(mapping, {}, file_fixed_values={"S.csv": {"user_type": "0"}}, file_names=["S.csv"], spec=USER_DATA) == ["grade"]


def test_a_file_without_a_column_only_some_rows_need_is_not_missing_it():
    mapping = {"grade": "Grade", "email": "Email", "school_sis_id": "School"}

    plan = plan_columns(["First Name"], mapping, {}, USER_DATA)

    assert plan.missing == ("school_sis_id",)
