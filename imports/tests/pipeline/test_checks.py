"""Checks over the whole file: every row of a duplicate is reported, not only the second one."""
from imports.pipeline.checks import DuplicateCheck


def _run(rows, *, file="roster.csv"):
    check = DuplicateCheck()
    issues = []
    for row, district_id, email in rows:
        issues += check.add(
            file=file, row=row, district_id=district_id, id_column="District ID", email=email, email_column="Email Address"
        )
    return issues


def test_every_row_of_a_duplicate_district_id_is_an_error():
    issues = _run([(2, "1001", None), (3, "1002", None), (4, "1001", None)])

    assert sorted((i.code, i.row, i.severity, i.column) for i in issues) == [
        ("duplicate_district_id", 2, "error", "District ID"),
        ("duplicate_district_id", 4, "error", "District ID"),
    ]
    assert "also row 4" in next(i for i in issues if i.row == 2).message
    assert "also row 2" in next(i for i in issues if i.row == 4).message


def test_a_district_id_on_three_rows_reports_each_row_once():
    issues = _run([(2, "1001", None), (3, "1001", None), (4, "1001", None), (5, "1002", None)])

    assert sorted(i.row for i in issues if i.code == "duplicate_district_id") == [2, 3, 4]


def test_leading_zeros_make_a_different_district_id():
    assert _run([(2, "000123", None), (3, "123", None)]) == []


def test_every_row_sharing_an_email_gets_a_warning_ignoring_case():
    issues = _run([(2, "1", "Ada@Example.org"), (3, "2", "grace@example.org"), (4, "3", "ada@example.ORG")])

    assert sorted((i.code, i.row, i.severity, i.column) for i in issues) == [
        ("duplicate_email_in_file", 2, "warning", "Email Address"),
        ("duplicate_email_in_file", 4, "warning", "Email Address"),
    ]


def test_blank_values_are_never_duplicates():
    assert _run([(2, "", None), (3, "", ""), (4, "", None)]) == []


def test_duplicates_across_files_name_each_file():
    check = DuplicateCheck()
    first = check.add(file="a.csv", row=2, district_id="9", id_column="ID", email=None, email_column="")
    second = check.add(file="b.csv", row=5, district_id="9", id_column="Student ID", email=None, email_column="")

    assert first == []
    assert sorted((i.file, i.row, i.column) for i in second) == [("a.csv", 2, "ID"), ("b.csv", 5, "Student ID")]
