"""A blank never erases: a required field blank in the file but stored for the matched user is not an error."""
import pytest

from imports.models import ImportIssue
from imports.tests.factories import SCHOOL_SIS_ID, issue_codes, make_import_job, run_job, staff, student, write_csv
from users.models import User, UserType
from users.tests.factories import make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_safety_hold")]

# SDS v1's Teacher.csv: no email column at all.
TEACHER_HEADER = ("First Name", "Last Name", "District ID", "User Type", "School SIS ID")


def test_staff_given_emails_in_the_browser_reimport_the_same_file_without_errors(district, school, tmp_path):
    for district_id in ("T-1", "T-2"):
        make_user(district, district_user_id=district_id, user_type=UserType.STAFF, school=school,
                  first_name="Grace", last_name="Hopper", email=f"{district_id.lower()}@springfield.example.org")
    path = write_csv(tmp_path / "Teacher.csv", [staff("T-1"), staff("T-2")], header=TEACHER_HEADER)

    job = make_import_job(district, [path], fixed_values={"email": ""})

    assert job.validation_summary["counts"]["errors"] == 0, list(ImportIssue.objects.values_list("message", flat=True))
    job = run_job(job)
    assert (job.counts["unchanged"], job.counts["errors"]) == (2, 0)
    assert set(User.objects.filter(district_user_id__startswith="T-").values_list("email", flat=True)) == {
        "t-1@springfield.example.org", "t-2@springfield.example.org"}


def test_a_new_staff_member_still_needs_the_field(district, school, tmp_path):
    make_user(district, district_user_id="T-1", user_type=UserType.STAFF, school=school, email="t-1@springfield.example.org")
    path = write_csv(tmp_path / "Teacher.csv", [staff("T-1"), staff("T-2")], header=TEACHER_HEADER)

    job = make_import_job(district, [path], fixed_values={"email": ""})

    assert issue_codes(ImportIssue.objects.filter(job=job, severity="error")) == [("email_required_for_staff", 3)]


def test_a_blank_cell_of_a_stored_required_field_keeps_the_stored_value(district, school, tmp_path):
    make_user(district, district_user_id="1", first_name="Ada", last_name="Lovelace", grade="5", school=school)
    make_user(district, district_user_id="2", first_name="", last_name="Byron", grade="5", school=school)
    path = write_csv(tmp_path / "roster.csv", [
        student("1", **{"First Name": "", "Grade": "", "School SIS ID": ""}),  # stored: no error, nothing erased
        student("2", **{"First Name": ""}),  # nothing stored: still an error
        student("3", **{"Last Name": ""}),  # a new user: still an error
    ])

    job = make_import_job(district, [path])

    assert issue_codes(ImportIssue.objects.filter(job=job, severity="error")) == [
        ("first_name_required", 3), ("last_name_required", 4),
    ]
    alone = write_csv(tmp_path / "ada.csv", [student("1", **{"First Name": "", "Grade": "", "School SIS ID": ""})])
    job = run_job(make_import_job(district, [alone]))
    assert (job.counts["unchanged"], job.counts["errors"]) == (1, 0)
    ada = User.objects.get(district_user_id="1")
    assert (ada.first_name, ada.grade, ada.school.sis_id) == ("Ada", "5", SCHOOL_SIS_ID)


def test_a_row_with_another_error_keeps_its_blank_error_too(district, school, tmp_path):
    make_user(district, district_user_id="1", first_name="Ada", last_name="Lovelace", grade="5", school=school)
    path = write_csv(tmp_path / "roster.csv", [student("1", **{"First Name": "", "Grade": "13"})])

    job = make_import_job(district, [path])

    assert issue_codes(ImportIssue.objects.filter(job=job, severity="error")) == [("first_name_required", 2), ("invalid_grade", 2)]
