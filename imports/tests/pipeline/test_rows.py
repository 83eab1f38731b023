"""Each row of a real file, built the way validation builds it: values, codes and spreadsheet row numbers."""
import pytest

from imports.tests.factories import FULL_HEADER, SCHOOL_SIS_ID, build_user_rows, staff, student, write_csv
from imports.types import USER_DATA


def _only_issue(row):
    assert len(row.issues) == 1, row.issues
    return row.issues[0]


def test_with_a_header_the_first_data_row_is_row_2(tmp_path):
    path = write_csv(tmp_path / "roster.csv", [student("1"), student("2"), student("3")])

    rows = build_user_rows(path)

    assert [r.row for r in rows] == [2, 3, 4]
    assert not any(r.issues for r in rows)


def test_without_a_header_the_first_data_row_is_row_1(tmp_path):
    path = write_csv(tmp_path / "roster.csv", [list(student("1").values()), list(student("2").values())], header=None)
    mapping = dict(zip(
        ("first_name", "last_name", "district_id", "user_type", "grade", "email", "school_sis_id"),
        (f"Column {i}" for i in range(1, 8)),
    ))

    rows = build_user_rows(path, field_mapping=mapping)

    assert [r.row for r in rows] == [1, 2]
    assert [r.district_id for r in rows] == ["1", "2"]


def test_a_valid_student_row_carries_every_value(tmp_path):
    path = write_csv(tmp_path / "roster.csv", [student("000123", **{
        "Middle Name": "Byron", "State User ID": "IL-9", "Alternate User ID": "A-9",
        "Limited English": "Y", "Economically Disadvantaged": "No", "Grade": "Kindergarten",
        "Email Address": "ada@example.org",
    })], header=FULL_HEADER)

    [row] = build_user_rows(path)

    assert row.issues == []
    assert row.district_id == "000123"
    # Fields the file has no column for are not given (None), so a stored value is never erased.
    assert {k: v for k, v in row.values.items() if v is not None} == {
        "first_name": "Ada", "middle_name": "Byron", "last_name": "Lovelace", "state_user_id": "IL-9",
        "alternate_user_id": "A-9", "user_type": "student", "grade": "K", "email": "ada@example.org",
        "limited_english": True, "economically_disadvantaged": False, "school_id": 1,
    }


@pytest.mark.parametrize(
    ("heading", "code"),
    [("First Name", "first_name_required"), ("Last Name", "last_name_required"), ("District ID", "district_id_required")],
)
def test_required_text_fields_report_code_row_and_column(tmp_path, heading, code):
    path = write_csv(tmp_path / "roster.csv", [student("1"), student("2", **{heading: "  "})])

    ok, blank = build_user_rows(path)

    assert ok.issues == []
    issue = _only_issue(blank)
    assert (issue.code, issue.row, issue.column, issue.severity) == (code, 3, heading, "error")


def test_district_id_keeps_leading_zeros(tmp_path):
    path = write_csv(tmp_path / "roster.csv", [student("000123"), student("0042")])

    assert [r.district_id for r in build_user_rows(path)] == ["000123", "0042"]


def test_district_id_in_scientific_notation_is_an_error_on_its_row(tmp_path):
    path = write_csv(tmp_path / "roster.csv", [student("123456789012"), student("1.23457E+11")])

    ok, excel = build_user_rows(path)

    assert ok.district_id == "123456789012" and ok.issues == []
    issue = _only_issue(excel)
    assert (issue.code, issue.row, issue.column) == ("district_id_scientific", 3, "District ID")
    assert excel.district_id == ""


@pytest.mark.parametrize(("text", "expected"), [("0", "student"), ("1", "staff"), ("STUDENT", "student"), ("staff", "staff")])
def test_user_type_codes_and_words(tmp_path, text, expected):
    path = write_csv(tmp_path / "roster.csv", [student("1", **{"User Type": text, "Email Address": "a@example.org"})])

    [row] = build_user_rows(path)

    assert row.issues == []
    assert row.values["user_type"] == expected


def test_invalid_user_type_is_reported_on_its_row(tmp_path):
    path = write_csv(tmp_path / "roster.csv", [student("1"), student("2"), student("3", **{"User Type": "Teacher"})])

    issue = _only_issue(build_user_rows(path)[2])

    assert (issue.code, issue.row, issue.column) == ("invalid_user_type", 4, "User Type")


def test_blank_user_type_is_an_error(tmp_path):
    path = write_csv(tmp_path / "roster.csv", [student("1", **{"User Type": ""})])

    assert _only_issue(build_user_rows(path)[0]).code == "user_type_required"


def test_grade_is_required_for_students(tmp_path):
    path = write_csv(tmp_path / "roster.csv", [student("1", Grade="")])

    issue = _only_issue(build_user_rows(path)[0])

    assert (issue.code, issue.row, issue.column) == ("grade_required", 2, "Grade")


@pytest.mark.parametrize("grade", ["", "13", "TK", "nonsense"])
def test_grade_is_ignored_for_staff(tmp_path, grade):
    path = write_csv(tmp_path / "roster.csv", [staff("T-1", Grade=grade)])

    [row] = build_user_rows(path)

    assert row.issues == []
    assert row.values["grade"] is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Pre-K", "PK"), ("PK", "PK"), ("PreK", "PK"), ("Pre-Kindergarten", "PK"), ("K", "K"), ("KG", "K"),
     ("Kindergarten", "K"), ("1", "1"), ("01", "1"), ("12", "12")],
)
def test_student_grade_spellings(tmp_path, text, expected):
    path = write_csv(tmp_path / "roster.csv", [student("1", Grade=text)])

    [row] = build_user_rows(path)

    assert row.issues == []
    assert row.values["grade"] == expected


@pytest.mark.parametrize(("text", "hint"), [("13", "up to 12"), ("TK", "Transitional kindergarten")])
def test_invalid_grade_has_row_and_suggestion(tmp_path, text, hint):
    path = write_csv(tmp_path / "roster.csv", [student("1"), student("2", Grade=text)])

    issue = _only_issue(build_user_rows(path)[1])

    assert (issue.code, issue.row, issue.column) == ("invalid_grade", 3, "Grade")
    assert hint in issue.suggestion


def test_email_is_required_for_staff(tmp_path):
    path = write_csv(tmp_path / "roster.csv", [staff("T-1"), staff("T-2", **{"Email Address": ""})])

    ok, missing = build_user_rows(path)

    assert ok.issues == []
    issue = _only_issue(missing)
    assert (issue.code, issue.row, issue.column) == ("email_required_for_staff", 3, "Email Address")


def test_email_is_optional_for_students(tmp_path):
    path = write_csv(tmp_path / "roster.csv", [student("1", **{"Email Address": ""})])

    [row] = build_user_rows(path)

    assert row.issues == []
    assert row.values["email"] is None


@pytest.mark.parametrize("make", [student, staff])
def test_malformed_email_is_an_error(tmp_path, make):
    path = write_csv(tmp_path / "roster.csv", [make("X1", **{"Email Address": "ada.example.org"})])

    issue = _only_issue(build_user_rows(path)[0])

    assert (issue.code, issue.row, issue.column) == ("invalid_email", 2, "Email Address")


def test_school_must_resolve_through_the_school_mapping(tmp_path):
    path = write_csv(tmp_path / "roster.csv", [student("1"), student("2", **{"School SIS ID": "999"})])

    mapped, unmapped = build_user_rows(path, school_mapping={SCHOOL_SIS_ID: 7})

    assert mapped.values["school_id"] == 7 and mapped.issues == []
    issue = _only_issue(unmapped)
    assert (issue.code, issue.row, issue.column) == ("school_unmapped", 3, "School SIS ID")
    assert unmapped.values["school_id"] is None


def test_blank_school_is_an_error(tmp_path):
    path = write_csv(tmp_path / "roster.csv", [student("1", **{"School SIS ID": ""})])

    assert _only_issue(build_user_rows(path)[0]).code == "school_required"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Y", True), ("N", False), ("Yes", True), ("no", False), ("1", True), ("0", False), ("True", True),
     ("FALSE", False), ("", None)],
)
@pytest.mark.parametrize("heading", ["Limited English", "Economically Disadvantaged"])
def test_flags_accept_yes_no_spellings_and_blank(tmp_path, heading, text, expected):
    # A blank flag is "not given": a new user gets No, a stored value is never erased.
    key = heading.lower().replace(" ", "_")
    path = write_csv(tmp_path / "roster.csv", [student("1", **{heading: text})], header=FULL_HEADER)

    [row] = build_user_rows(path)

    assert row.issues == []
    assert row.values[key] is expected


@pytest.mark.parametrize("heading", ["Limited English", "Economically Disadvantaged"])
def test_other_flag_values_are_invalid(tmp_path, heading):
    path = write_csv(tmp_path / "roster.csv", [student("1"), student("2", **{heading: "maybe"})], header=FULL_HEADER)

    issue = _only_issue(build_user_rows(path)[1])

    assert (issue.code, issue.row, issue.column) == ("invalid_flag", 3, heading)


def test_password_is_optional(tmp_path):
    path = write_csv(
        tmp_path / "roster.csv", [student("1"), student("2", Password="Tr0ub4dor&3-horse")], header=FULL_HEADER
    )

    without, with_password = build_user_rows(path)

    assert (without.issues, without.password) == ([], "")
    assert (with_password.issues, with_password.password) == ([], "Tr0ub4dor&3-horse")


def test_fixed_values_make_a_students_only_export_work(tmp_path):
    # The SIS export has no User Type and no Email column: --set user_type=student --set email=
    header = ("First Name", "Last Name", "District ID", "Grade", "School SIS ID")
    path = write_csv(tmp_path / "students.csv", [student("1"), student("2", Grade="PK")], header=header)

    rows = build_user_rows(path, fixed_values={"user_type": "student", "email": ""})

    assert [r.issues for r in rows] == [[], []]
    assert [r.values["user_type"] for r in rows] == ["student", "student"]
    assert [r.values["email"] for r in rows] == [None, None]


def test_a_fixed_value_overrides_a_matched_column(tmp_path):
    path = write_csv(tmp_path / "roster.csv", [student("1", **{"User Type": "Teacher"})])

    [row] = build_user_rows(path, fixed_values={"user_type": "0"})

    assert row.issues == []
    assert row.values["user_type"] == "student"


@pytest.mark.parametrize(
    ("heading", "value"),
    [("First Name", "x" * 151), ("Last Name", "x" * 151), ("Middle Name", "x" * 151), ("District ID", "9" * 65),
     ("State User ID", "s" * 65), ("Alternate User ID", "a" * 65), ("Email Address", "a" * 250 + "@example.org")],
)
def test_a_value_longer_than_the_users_column_is_an_error(tmp_path, heading, value):
    # PostgreSQL refuses it; without this check the run failed halfway, after validation had passed.
    path = write_csv(tmp_path / "roster.csv", [student("1"), student("2", **{heading: value})], header=FULL_HEADER)

    ok, long = build_user_rows(path)

    assert ok.issues == []
    issue = _only_issue(long)
    assert (issue.code, issue.row, issue.column) == ("value_too_long", 3, heading)


def test_the_length_limits_follow_the_users_table():
    MAX_LENGTHS = USER_DATA.max_lengths
    from users.models import User

    columns = {"district_id": "district_user_id"}
    assert {k: User._meta.get_field(columns.get(k, k)).max_length for k in MAX_LENGTHS} == MAX_LENGTHS
