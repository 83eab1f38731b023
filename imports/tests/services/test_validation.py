"""The validation pass over stored files: every problem with its code and row, and the preview counts."""
import pytest

from imports.models import ImportIssue
from imports.services.apply import import_job_validate
from imports.targets import users as users_target
from imports.tests.factories import (
    FULL_HEADER, issue_codes, make_import_job, staff, student, write_csv,
)
from users.models import UserType
from users.tests.factories import make_district, make_user

pytestmark = pytest.mark.django_db


def _issues(job, severity=None):
    qs = ImportIssue.objects.filter(job=job)
    return qs.filter(severity=severity) if severity else qs


def test_each_error_is_stored_with_its_code_and_spreadsheet_row(district, school, tmp_path):
    path = write_csv(tmp_path / "roster.csv", [
        student("1"),                                        # row 2: fine
        student("2", **{"User Type": "Teacher"}),            # row 3
        student("3", Grade="13"),                            # row 4
        student("4", Grade="TK"),                            # row 5
        staff("T-5", **{"Email Address": ""}),               # row 6
        student("6", **{"School SIS ID": "999"}),            # row 7
        student("1.23457E+11"),                              # row 8
        student("8", **{"Email Address": "not-an-email"}),   # row 9
        student("9", **{"First Name": ""}),                  # row 10
        student("10", Grade=""),                             # row 11
    ])

    job = make_import_job(district, [path])

    assert issue_codes(_issues(job, "error")) == [
        ("district_id_scientific", 8), ("email_required_for_staff", 6), ("first_name_required", 10),
        ("grade_required", 11), ("invalid_email", 9), ("invalid_grade", 4), ("invalid_grade", 5),
        ("invalid_user_type", 3), ("school_unmapped", 7),
    ]
    counts = job.validation_summary["counts"]
    assert (counts["rows"], counts["errors"], counts["error_rows"], counts["new"]) == (10, 9, 9, 1)


def test_every_row_of_a_duplicate_district_id_is_stored(district, school, tmp_path):
    path = write_csv(tmp_path / "roster.csv", [student("7"), student("8"), student("7"), student("9"), student("7")])

    job = make_import_job(district, [path])

    assert issue_codes(_issues(job)) == [("duplicate_district_id", 2), ("duplicate_district_id", 4), ("duplicate_district_id", 6)]
    issue = _issues(job).get(row=2)
    assert (issue.column, issue.severity, issue.file.original_name) == ("District ID", "error", "roster.csv")


def test_an_id_that_matches_only_with_leading_zeros_is_a_warning(district, school, tmp_path):
    make_user(district, district_user_id="000123")
    path = write_csv(tmp_path / "roster.csv", [student("000123"), student("123"), student("77")])

    job = make_import_job(district, [path])

    assert issue_codes(_issues(job)) == [("district_id_leading_zeros", 3)]
    issue = _issues(job).get()
    assert (issue.severity, issue.column) == ("warning", "District ID")
    assert '"000123"' in issue.message
    counts = job.validation_summary["counts"]
    assert (counts["errors"], counts["warnings"], counts["new"]) == (0, 1, 2)


def test_the_widths_excel_may_have_stripped_are_read_once_and_only_when_a_key_finds_no_one(
        district, school, tmp_path, monkeypatch):
    reads = []
    real = users_target.zero_padded_id_lengths
    monkeypatch.setattr(users_target, "zero_padded_id_lengths", lambda **kw: reads.append(1) or real(**kw))
    monkeypatch.setattr("imports.services.validation.checking.BATCH_ROWS", 1)
    for n in (1, 2, 3):
        make_user(district, district_user_id=f"00012{n}", school=school)
    found = write_csv(tmp_path / "found.csv", [student(f"00012{n}") for n in (1, 2, 3)])

    make_import_job(district, [found])
    assert reads == []  # every key found its user: no stripped zeros to look for

    stripped = write_csv(tmp_path / "stripped.csv", [student("121"), student("77"), student("122")])
    job = make_import_job(district, [stripped])
    assert reads == [1]  # once for the pass, however many batches
    assert issue_codes(_issues(job)) == [("district_id_leading_zeros", 2), ("district_id_leading_zeros", 4)]


def test_a_user_whose_type_would_change_is_a_warning(district, school, tmp_path):
    make_user(district, district_user_id="1001", user_type=UserType.STUDENT)
    make_user(district, district_user_id="T-1", user_type=UserType.STAFF, email="t-1@springfield.example.org")
    path = write_csv(tmp_path / "roster.csv", [
        staff("T-1"), staff("1001", **{"Email Address": "ada@example.org"}),
    ])

    job = make_import_job(district, [path])

    assert issue_codes(_issues(job)) == [("user_type_change", 3)]
    assert _issues(job).get().severity == "warning"


def test_the_same_email_on_two_rows_is_a_warning_on_both(district, school, tmp_path):
    path = write_csv(tmp_path / "roster.csv", [
        student("1", **{"Email Address": "Twin@example.org"}), student("2"), student("3", **{"Email Address": "twin@EXAMPLE.org"}),
    ])

    job = make_import_job(district, [path])

    assert issue_codes(_issues(job)) == [("duplicate_email_in_file", 2), ("duplicate_email_in_file", 4)]
    assert set(_issues(job).values_list("severity", flat=True)) == {"warning"}
    assert job.validation_summary["counts"]["errors"] == 0


def test_an_email_of_another_existing_user_is_a_warning(district, school, tmp_path):
    make_user(district, district_user_id="5000", email="Taken@Example.org")
    make_user(district, district_user_id="1001", email="own@example.org")
    path = write_csv(tmp_path / "roster.csv", [
        student("1001", **{"Email Address": "own@example.org"}),   # the user's own address: fine
        student("1002", **{"Email Address": "taken@example.org"}),
    ])

    job = make_import_job(district, [path])

    assert issue_codes(_issues(job)) == [("email_taken", 3)]
    issue = _issues(job).get()
    assert (issue.severity, issue.column) == ("warning", "Email Address")
    assert "5000" in issue.message


def test_another_districts_users_are_invisible(district, school, tmp_path):
    other = make_district()
    make_user(other, district_user_id="1001", email="ada@example.org", user_type=UserType.STAFF)
    path = write_csv(tmp_path / "roster.csv", [student("1001", **{"Email Address": "ada@example.org"})])

    job = make_import_job(district, [path])

    assert list(_issues(job)) == []
    assert job.validation_summary["counts"]["new"] == 1


def _preview_district(district, school):
    make_user(district, district_user_id="1", first_name="Ada", last_name="Lovelace", grade="5", school=school, email="")
    make_user(district, district_user_id="2", first_name="Ada", last_name="Lovelace", grade="5", school=school, email="")
    make_user(district, district_user_id="3", first_name="Ada", last_name="Lovelace", grade="5", school=school, email="")


def _preview_file(tmp_path):
    return write_csv(tmp_path / "roster.csv", [
        student("1"),                                        # unchanged
        student("2", **{"Email Address": "two@example.org"}),  # update: fills a blank
        student("3", Grade="6"),                             # conflict: grade differs
        student("4"),                                        # new
    ])


@pytest.mark.parametrize(
    ("policy", "updated"), [("imported", 2), ("existing", 1)],
)
def test_preview_counts_depend_on_the_conflict_policy(district, school, tmp_path, policy, updated):
    _preview_district(district, school)

    job = make_import_job(district, [_preview_file(tmp_path)], conflict_policy=policy)

    counts = job.validation_summary["counts"]
    assert {k: counts[k] for k in ("new", "update", "unchanged", "conflict", "created", "updated")} == {
        "new": 1, "update": 1, "unchanged": 1, "conflict": 1, "created": 1, "updated": updated,
    }
    example = job.validation_summary["conflict_example"]
    assert example["district_id"] == "3" and example["fields"] == {"grade": ["5", "6"]}


def test_changing_the_options_changes_the_preview(district, school, tmp_path):
    _preview_district(district, school)
    job = make_import_job(district, [_preview_file(tmp_path)], conflict_policy="imported")

    job.conflict_policy = "existing"
    job.save()
    result = import_job_validate(job=job)

    assert result.result_counts() == {
        "rows": 4, "created": 1, "updated": 1, "unchanged": 2, "skipped": 0, "conflicts": 1, "errors": 0, "warnings": 0,
    }


def test_overwrite_password_previews_an_update_for_each_existing_user_with_a_file_password(district, school, tmp_path):
    make_user(district, district_user_id="1", first_name="Ada", last_name="Lovelace", grade="5", school=school, email="")
    path = write_csv(tmp_path / "roster.csv", [student("1", Password="Tr0ub4dor&3-horse")], header=FULL_HEADER)

    keep = make_import_job(district, [path], password_policy="keep")
    overwrite = make_import_job(district, [path], password_policy="overwrite")

    assert keep.validation_summary["counts"]["unchanged"] == 1
    assert overwrite.validation_summary["counts"]["update"] == 1


def test_a_weak_password_is_a_warning_that_never_repeats_the_password(district, school, tmp_path):
    path = write_csv(tmp_path / "roster.csv", [student("1", Password="password1")], header=FULL_HEADER)

    job = make_import_job(district, [path])

    issue = _issues(job).get()
    assert (issue.code, issue.row, issue.severity, issue.column) == ("weak_password", 2, "warning", "Password")
    assert "password1" not in issue.message + issue.suggestion


def test_a_second_file_without_a_mapped_column_is_an_error(district, school, tmp_path):
    first = write_csv(tmp_path / "students.csv", [student("1")])
    # Without School SIS ID, which every row needs (a column only some rows need is judged row by row).
    header = ("First Name", "Last Name", "District ID", "User Type", "Grade", "Email Address")
    second = write_csv(tmp_path / "more.csv", [student("2")], header=header)

    job = make_import_job(district, [first, second])

    issue = _issues(job).get(row=None)
    assert (issue.code, issue.row, issue.file.original_name) == ("missing_column", None, "more.csv")


def test_errors_in_two_files_name_each_file_and_its_own_rows(district, school, tmp_path):
    first = write_csv(tmp_path / "a.csv", [student("1"), student("2", Grade="13")])
    second = write_csv(tmp_path / "b.csv", [student("3", Grade="TK"), student("1")])

    job = make_import_job(district, [first, second])

    assert sorted((i.file.original_name, i.code, i.row) for i in _issues(job)) == [
        ("a.csv", "duplicate_district_id", 2), ("a.csv", "invalid_grade", 3),
        ("b.csv", "duplicate_district_id", 3), ("b.csv", "invalid_grade", 2),
    ]
