"""Student Demographics through the services: validation, the run, the change log, the hold and the reports."""
import datetime
import io
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse

from imports.models import DistrictImportMemory, ImportChange, ImportIssue, ImportStatus
from imports.services import emails, jobs
from imports.tests.factories import csv_text, make_import_job, run_job, student, write_csv
from imports.types.demographics import ERROR_NO_STUDENT, NO_STUDENT_SUGGESTION, WARNING_NOT_A_STUDENT
from users.models import User, UserType
from users.tests.factories import make_user

pytestmark = pytest.mark.django_db
DEMOGRAPHICS = "student_demographics"
HEADER = (
    "DistrictUserID", "Grade", "Gender", "Race", "Hispanic or Latino", "English Language Learner",
    "Special Education", "Economically Disadvantaged", "Migrant",
)
FLAGS = ("hispanic_latino", "limited_english", "disabled", "economically_disadvantaged", "migrant")


def _write(tmp_path: Path, rows, header=HEADER, name="demographics.csv") -> Path:
    path = tmp_path / name
    path.write_text(csv_text(rows, header), encoding="utf-8")
    return path


def _signature(user: User) -> tuple:
    """What this import must never touch."""
    return (user.username, user.password, user.district_user_id, user.first_name, user.last_name, user.email,
            user.school_id, user.user_type, user.state_user_id)


def _run(district, admin, path: Path):
    job = make_import_job(district, [path], created_by=admin, import_type=DEMOGRAPHICS)
    assert not job.validation_summary["counts"]["errors"], list(ImportIssue.objects.filter(job=job).values_list("message", flat=True))
    return run_job(job)


@pytest.fixture
def students(district, school, no_safety_hold):
    return [
        make_user(district, district_user_id=f"100{i}", grade="5", school=school, gender="", race="",
                  **{flag: True for flag in FLAGS})
        for i in range(1, 4)
    ]


def test_the_file_changes_the_demographic_fields_and_nothing_else(district, district_admin, students, tmp_path):
    before = {u.id: _signature(u) for u in User.objects.all()}
    path = _write(tmp_path, [
        ["1001", "K", "F", "Asian;White", "N", "N", "Y", "Y", "N"],
        ["1002", "Pre-K", "Male", "Black or African American", "1", "0", "0", "1", "1"],
        ["1003", "", "", "", "Y", "Y", "Y", "Y", "Y"],  # blank grade/gender/race keep theirs; flags as they are
    ])

    job = _run(district, district_admin, path)

    assert job.status == ImportStatus.COMPLETED
    assert (job.counts["created"], job.counts["updated"], job.counts["unchanged"]) == (0, 2, 1)
    # No conflict choice for this type: a changed stored value is an update the file wins, not a conflict.
    assert job.counts["conflicts"] == 0 and job.validation_summary["counts"]["update"] == 2
    one, two, three = (User.objects.get(district_user_id=f"100{i}") for i in range(1, 4))
    assert (one.grade, one.gender, one.race) == ("K", "F", "Asian;White")
    assert [getattr(one, f) for f in FLAGS] == [False, False, True, True, False]
    assert (two.grade, two.gender, two.race) == ("PK", "M", "Black or African American")
    assert [getattr(two, f) for f in FLAGS] == [True, False, False, True, True]
    assert (three.grade, three.gender, three.race) == ("5", "", "")
    # Usernames, ids, passwords, names, schools: as they were, for everyone.
    assert {u.id: _signature(u) for u in User.objects.all()} == before
    assert not User.objects.filter(created_by_import=job).exists()
    # The change log names each field with its before and after.
    change = ImportChange.objects.get(job=job, user=one)
    assert change.district_user_id == "1001"
    assert change.changes["grade"] == ["5", "K"] and change.changes["hispanic_latino"] == [True, False]
    assert "race" in change.changes and "username" not in change.changes and "password" not in change.changes


def test_blank_is_no_only_in_mapped_columns_and_a_field_without_a_column_never_changes(district, district_admin, students, tmp_path):
    path = _write(tmp_path, [["1001", "", ""]], header=("DistrictUserID", "Hispanic or Latino", "Special Education"))

    _run(district, district_admin, path)

    user = User.objects.get(district_user_id="1001")
    assert (user.hispanic_latino, user.disabled) == (False, False)  # blank = No, as the article says
    assert (user.limited_english, user.economically_disadvantaged, user.migrant) == (True, True, True)  # not in the file
    assert user.grade == "5"
    untouched = User.objects.get(district_user_id="1002")  # not in the file at all
    assert all(getattr(untouched, f) for f in FLAGS)


def test_an_unknown_id_is_an_error_row_and_nothing_is_created(district, district_admin, students, school, tmp_path):
    path = _write(tmp_path, [["1001", "6"], ["9999", "6"]], header=("DistrictUserID", "Grade"))

    job = make_import_job(district, [path], created_by=district_admin, import_type=DEMOGRAPHICS)

    errors = ImportIssue.objects.filter(job=job, code="no_student").order_by("row")
    assert [(e.row, e.column, e.message) for e in errors] == [
        (3, "DistrictUserID", ERROR_NO_STUDENT.format(district_id="9999")),
    ]
    assert errors[0].suggestion == NO_STUDENT_SUGGESTION
    assert job.validation_summary["counts"]["error_rows"] == 1
    with pytest.raises(jobs.ImportError_, match="The file has errors"):
        jobs.import_job_submit(job=job)
    assert not User.objects.filter(district_user_id="9999").exists()


def test_a_staff_members_row_is_skipped_with_a_warning_and_left_alone(district, district_admin, students, school, tmp_path):
    make_user(district, district_user_id="T-1", user_type=UserType.STAFF, school=school)
    make_user(district, district_user_id="T-2", user_type=UserType.STAFF, school=school)
    # T-2's grade would be an error for a student: a staff member's row is skipped whatever its cells say.
    path = _write(tmp_path, [["1001", "6"], ["T-1", "6"], ["T-2", "Grade Thirteen"]], header=("DistrictUserID", "Grade"))

    job = make_import_job(district, [path], created_by=district_admin, import_type=DEMOGRAPHICS)

    counts = job.validation_summary["counts"]
    assert (counts["errors"], counts["skipped"], counts["warnings"]) == (0, 2, 2)
    warnings = ImportIssue.objects.filter(job=job, severity="warning").order_by("row")
    assert [(w.row, w.column, w.code) for w in warnings] == [
        (3, "DistrictUserID", "not_a_student"), (4, "DistrictUserID", "not_a_student"),
    ]
    assert warnings[0].message == WARNING_NOT_A_STUDENT.format(district_id="T-1")
    assert "District ID T-1 is a staff member in Classworks, not a student" in warnings[0].message
    job = run_job(job)
    assert (job.counts["updated"], job.counts["skipped"], job.counts["unchanged"]) == (1, 2, 0)
    assert User.objects.get(district_user_id="1001").grade == "6"
    assert User.objects.get(district_user_id="T-1").grade == ""


ONEROSTER_HEADER = (
    "sourcedId", "status", "dateLastModified", "birthDate", "sex", "americanIndianOrAlaskaNative", "asian",
    "blackOrAfricanAmerican", "nativeHawaiianOrOtherPacificIslander", "white", "demographicRaceTwoOrMoreRaces",
    "hispanicOrLatinoEthnicity", "countryOfBirthCode", "stateOfBirthAbbreviation", "cityOfBirth",
    "publicSchoolResidenceStatus",
)


@pytest.mark.parametrize("key_heading", ["sourcedId", "userSourcedId"])  # OneRoster 1.1, SDS v2.1
def test_a_oneroster_demographics_file_matches_on_the_stored_sourced_id_or_the_district_id(
    district, district_admin, students, tmp_path, key_heading
):
    User.objects.filter(district_user_id="1001").update(oneroster_sourced_id="f81d4fae-7dec")
    header = (key_heading, *ONEROSTER_HEADER[1:])
    path = _write(tmp_path, [
        ["f81d4fae-7dec", "active", "2024-05-01", "2011-04-02", "female", "true", "false", "false", "false", "true",
         "false", "false", "", "", "", ""],
        ["1002", "active", "2024-05-01", "2012-05-06", "male", "false", "false", "false", "false", "false", "true",
         "true", "", "", "", ""],
    ], header=header)

    job = _run(district, district_admin, path)

    one, two = User.objects.get(district_user_id="1001"), User.objects.get(district_user_id="1002")
    assert (one.birthdate, one.gender, one.race, one.hispanic_latino) == (
        datetime.date(2011, 4, 2), "F", "American Indian or Alaska Native;White", False)
    assert (two.birthdate, two.gender, two.race, two.hispanic_latino) == (
        datetime.date(2012, 5, 6), "M", "Two or more races", True)
    # Flags without a column stay; the change log names the District ID, not the sourcedId.
    assert one.migrant is True and one.disabled is True
    assert set(ImportChange.objects.filter(job=job).values_list("district_user_id", flat=True)) == {"1001", "1002"}


def test_the_safety_hold_counts_grade_changes_only(district, district_admin, school, tmp_path):
    district.change_threshold_percent = 10
    district.save()
    for i in range(20):
        make_user(district, district_user_id=f"S{i}", grade="5", school=school)
    everyone_new_gender = _write(tmp_path, [[f"S{i}", "", "F"] for i in range(20)], header=("DistrictUserID", "Grade", "Gender"))
    everyone_new_grade = _write(tmp_path, [[f"S{i}", "6", ""] for i in range(20)], header=("DistrictUserID", "Grade", "Gender"), name="g.csv")

    demographics = run_job(make_import_job(district, [everyone_new_gender], created_by=district_admin, import_type=DEMOGRAPHICS))
    grades = run_job(make_import_job(district, [everyone_new_grade], created_by=district_admin, import_type=DEMOGRAPHICS))

    assert demographics.status == ImportStatus.COMPLETED
    assert User.objects.filter(gender="F").count() == 20
    assert grades.status == ImportStatus.ON_HOLD
    assert grades.hold_summary["changed"] == 20
    assert grades.hold_summary["largest_changes"][0]["fields"] == {"Grade": ["5", "6"]}
    assert grades.hold_summary["held_fields"] == "Grade"  # the page says "would get a new Grade"
    assert not User.objects.filter(grade="6").exists()


def test_the_preview_the_reports_history_and_the_completion_email(district_admin_client, district, district_admin, students, tmp_path):
    path = _write(tmp_path, [["1001", "7"], ["1002", ""]], header=("DistrictUserID", "Grade"))
    job = make_import_job(district, [path], created_by=district_admin, import_type=DEMOGRAPHICS)
    assert {k: job.validation_summary["counts"][k] for k in ("rows", "created", "updated", "unchanged")} == {
        "rows": 2, "created": 0, "updated": 1, "unchanged": 1}

    job = run_job(job)
    sent = emails.import_emails_send(job_id=job.id)

    assert sent == 1 and "Updated: 1" in mail.outbox[0].body
    history = district_admin_client.get(reverse("imports:history")).content.decode()
    assert "<td>Student Demographics</td>" in history
    detail = district_admin_client.get(reverse("imports:detail", args=[job.number])).content.decode()
    assert "Student Demographics" in detail and "DistrictUserID ← DistrictUserID" in detail.replace("&larr;", "←")
    results = b"".join(district_admin_client.get(reverse("imports:results_report", args=[job.number])).streaming_content).decode("utf-8-sig")
    assert "Updated,1001," in results and ",Grade,5,7" in results
    original = district_admin_client.get(reverse("imports:original_file", args=[job.number, job.files.get().id]))
    assert b"".join(original.streaming_content) == path.read_bytes()


def test_the_error_report_names_the_unknown_id(district_admin_client, district, district_admin, students, tmp_path):
    path = _write(tmp_path, [["1001", "7"], ["404", "7"]], header=("DistrictUserID", "Grade"))
    job = make_import_job(district, [path], created_by=district_admin, import_type=DEMOGRAPHICS)

    report = b"".join(district_admin_client.get(reverse("imports:error_report", args=[job.number])).streaming_content).decode("utf-8-sig")

    assert f"demographics.csv,404,7,3,Error,district_id,{ERROR_NO_STUDENT.format(district_id='404')}" in report


def test_the_sample_file_of_the_type_has_the_articles_headings(district_admin_client):
    response = district_admin_client.get(reverse("imports:sample_csv") + "?type=demographics")

    text = b"".join(response.streaming_content).decode("utf-8-sig")
    assert text.splitlines()[0] == ",".join((*HEADER, "Birthdate"))
    assert response["Content-Disposition"] == 'attachment; filename="classworks_student_demographics_sample.csv"'
    assert district_admin_client.get(reverse("imports:sample_csv") + "?type=nope").status_code == 404


def test_list_imports_prints_each_imports_type(district, district_admin, students, school, tmp_path):
    run_job(make_import_job(district, [write_csv(tmp_path / "users.csv", [student("2001")])], created_by=district_admin))
    run_job(make_import_job(district, [_write(tmp_path, [["1001", "7"]], header=("DistrictUserID", "Grade"))],
                            created_by=district_admin, import_type=DEMOGRAPHICS))
    out = io.StringIO()

    call_command("list_imports", "--district", district.slug, stdout=out)

    lines = out.getvalue().splitlines()
    assert "Type" in lines[0]
    assert "Student Demographics" in lines[1] and "User Data" in lines[2]


def test_a_demographics_import_keeps_what_the_district_remembers_for_user_data(district, district_admin, students, tmp_path):
    user_file = write_csv(tmp_path / "users.csv", [student("1001")])
    run_job(make_import_job(district, [user_file], created_by=district_admin))
    remembered = dict(DistrictImportMemory.objects.get(district=district).field_mapping)

    run_job(make_import_job(district, [_write(tmp_path, [["1001", "7"]], header=("DistrictUserID", "Grade"))],
                            created_by=district_admin, import_type=DEMOGRAPHICS))

    memory = DistrictImportMemory.objects.get(district=district)
    assert memory.field_mapping["first_name"] == remembered["first_name"] == "First Name"
    assert memory.field_mapping["district_id"] == "DistrictUserID"


def test_a_sourced_id_and_a_district_id_of_the_same_student_are_an_error_not_two_writes(district, district_admin, students, tmp_path):
    from imports.services.validation import ERROR_SAME_USER

    User.objects.filter(district_user_id="1001").update(oneroster_sourced_id="f81d4fae-7dec")
    path = _write(tmp_path, [["f81d4fae-7dec", "male"], ["1001", "female"]], header=("sourcedId", "sex"))

    job = make_import_job(district, [path], created_by=district_admin, import_type=DEMOGRAPHICS)

    (error,) = ImportIssue.objects.filter(job=job, severity="error")
    assert (error.row, error.code, error.message) == (3, "same_user_twice", ERROR_SAME_USER.format(file="demographics.csv", row=2, district_id="1001"))


def test_undo_puts_back_what_a_demographics_import_changed(district, district_admin, school, no_safety_hold, tmp_path):
    from imports.services import runs, undo

    student = make_user(district, district_user_id="2001", grade="5", school=school, gender="F", race="Asian",
                        birthdate=datetime.date(2011, 4, 2), disabled=False, migrant=True)
    path = _write(tmp_path, [["2001", "6", "M", "White", "", "", "Y", "", "N", "2012-05-03"]],
                  header=("DistrictUserID", "Grade", "Gender", "Race", "Hispanic or Latino", "English Language Learner",
                          "Special Education", "Economically Disadvantaged", "Migrant", "Birthdate"))
    job = _run(district, district_admin, path)
    student.refresh_from_db()
    assert (student.grade, student.gender, student.race, student.disabled, student.migrant) == ("6", "M", "White", True, False)
    assert student.birthdate == datetime.date(2012, 5, 3)

    started = undo.import_undo_request(job=job, requested_by=district_admin, dispatch=False)
    runs.import_job_run(job_id=started.id, queue_emails=False)
    started.refresh_from_db()

    student.refresh_from_db()
    assert started.status == ImportStatus.COMPLETED, started.failure_reason
    assert (student.grade, student.gender, student.race, student.disabled, student.migrant) == ("5", "F", "Asian", False, True)
    assert student.birthdate == datetime.date(2011, 4, 2)
