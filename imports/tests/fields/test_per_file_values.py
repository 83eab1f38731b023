"""One value per file: Student.csv rows are students and Teacher.csv rows staff, in one import."""
import html
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from imports.models import ImportJob
from imports.services import jobs
from imports.tests.factories import csv_text, make_import_job, run_job, staff, student, write_csv
from users.models import User

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_safety_hold")]

# SDS-like files: no User Type column, and the teacher file has no Grade.
STUDENT_HEADER = ("First Name", "Last Name", "District ID", "Grade", "Email Address", "School SIS ID")
TEACHER_HEADER = ("First Name", "Last Name", "District ID", "Email Address", "School SIS ID")


def _files(tmp_path, student_name="Student.csv", teacher_name="Teacher.csv"):
    (tmp_path / "in").mkdir(exist_ok=True)
    students = write_csv(tmp_path / "in" / student_name, [student("S1"), student("S2", Grade="K")], header=STUDENT_HEADER)
    teachers = write_csv(tmp_path / "in" / teacher_name, [staff("T1")], header=TEACHER_HEADER)
    return students, teachers


def _types(district):
    return dict(User.objects.filter(district=district).values_list("district_user_id", "user_type"))


def _run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("import_users", *[str(a) for a in args], stdout=out, stderr=err)
    return out.getvalue()


# --- the command line ---

def test_set_file_name_colon_field_gives_each_files_rows_their_value(district, school, tmp_path):
    students, teachers = _files(tmp_path, "kids.csv", "adults.csv")  # names that say nothing

    _run(students, teachers, "--district", district.slug, "--now",
         "--set", f"{students}:user_type=student",  # a path: its base name is the file's name
         "--set", "adults.csv:user_type=staff")

    assert _types(district) == {"S1": "student", "S2": "student", "T1": "staff"}
    assert ImportJob.objects.get().file_fixed_values == {"kids.csv": {"user_type": "student"}, "adults.csv": {"user_type": "staff"}}


def test_the_command_line_takes_what_the_file_names_say_and_says_so(district, school, tmp_path):
    out = _run(*_files(tmp_path), "--district", district.slug, "--now")

    assert "Teacher.csv: User Type = staff for every row" in out
    assert _types(district) == {"S1": "student", "S2": "student", "T1": "staff"}


def test_a_set_for_a_file_overrides_what_its_name_says(district, school, tmp_path):
    students, teachers = _files(tmp_path)

    _run(students, teachers, "--district", district.slug, "--now", "--set", "Teacher.csv:user_type=student",
         "--set", "Teacher.csv:grade=5")

    assert _types(district)["T1"] == "student"


def test_a_set_for_a_file_that_is_not_given_is_refused(district, school, tmp_path):
    with pytest.raises(CommandError, match='--set: no file named "Staff.csv"'):
        _run(*_files(tmp_path), "--district", district.slug, "--dry-run", "--set", "Staff.csv:user_type=staff")


def test_without_a_value_for_each_file_user_type_is_still_required(district, school, tmp_path):
    students, teachers = _files(tmp_path, "kids.csv", "adults.csv")

    with pytest.raises(CommandError, match="Required fields have no column: User Type"):
        _run(students, teachers, "--district", district.slug, "--dry-run", "--set", "kids.csv:user_type=student")


# --- the service and the job ---

def test_upload_proposes_each_files_user_type_from_its_name_or_headings(district, school, tmp_path):
    students, teachers = _files(tmp_path)
    staffed = write_csv(tmp_path / "export3.csv", [["Ann", "Lee", "T9"]], header=("First Name", "Last Name", "Staff ID"))
    job = jobs.import_job_create(district=district)

    jobs.import_files_add(job=job, uploads=[SimpleUploadedFile(p.name, p.read_bytes()) for p in (students, teachers, staffed)])

    job.refresh_from_db()
    assert job.file_fixed_values == {
        "Student.csv": {"user_type": "student"}, "Teacher.csv": {"user_type": "staff"}, "export3.csv": {"user_type": "staff"},
    }


def test_a_file_with_a_user_type_column_gets_no_proposal(district, school, tmp_path):
    path = write_csv(tmp_path / "Teacher.csv", [staff("T1")])
    job = jobs.import_job_create(district=district)

    jobs.import_files_add(job=job, uploads=[SimpleUploadedFile(path.name, path.read_bytes())])

    job.refresh_from_db()
    assert job.file_fixed_values == {}


def test_each_files_value_reaches_its_rows_and_a_teacher_file_needs_no_grade(district, school, tmp_path):
    job = make_import_job(district, list(_files(tmp_path)))

    assert job.validation_summary["counts"]["errors"] == 0
    run_job(job)

    assert _types(district) == {"S1": "student", "S2": "student", "T1": "staff"}


# --- Map Fields ---

def _upload(client, *named_texts):
    client.post(reverse("imports:start"), {
        "import_type": "user_data",
        "files": [SimpleUploadedFile(name, text.encode(), content_type="text/csv") for name, text in named_texts],
    })
    return ImportJob.objects.get()


def _sds_upload(client):
    return _upload(
        client, ("Student.csv", csv_text([student("S1")], STUDENT_HEADER)), ("Teacher.csv", csv_text([staff("T1")], TEACHER_HEADER)),
    )


def test_map_fields_names_the_file_each_value_is_for(district_admin_client, school):
    job = _sds_upload(district_admin_client)

    page = district_admin_client.get(reverse("imports:fields", args=[job.number])).content.decode()

    assert "Student.csv: Student for every row" in page and "Teacher.csv: Staff for every row" in page
    assert 'value="clear_file_fixed:user_type:Teacher.csv"' in page
    assert "Still to match" not in page


def test_map_fields_sets_and_clears_a_value_for_one_file(district_admin_client, school):
    job = _sds_upload(district_admin_client)
    url = reverse("imports:fields", args=[job.number])

    district_admin_client.post(url, {"action": "clear_file_fixed:user_type:Teacher.csv"})
    job.refresh_from_db()
    assert job.file_fixed_values == {"Student.csv": {"user_type": "student"}}
    assert "Still to match: User Type" in district_admin_client.get(url).content.decode()

    district_admin_client.post(url, {"action": "set_fixed:user_type", "fixed_user_type": "staff", "fixed_file_user_type": "Teacher.csv"})
    job.refresh_from_db()
    assert job.file_fixed_values == {"Student.csv": {"user_type": "student"}, "Teacher.csv": {"user_type": "staff"}}
    assert job.fixed_values == {}


def test_a_value_for_a_file_that_is_not_in_the_import_is_refused(district_admin_client, school):
    job = _sds_upload(district_admin_client)
    url = reverse("imports:fields", args=[job.number])

    response = district_admin_client.post(
        url, {"action": "set_fixed:user_type", "fixed_user_type": "staff", "fixed_file_user_type": "Other.csv"}, follow=True,
    )

    assert html.escape(jobs.ERROR_UNKNOWN_FILE.format(name="Other.csv")) in response.content.decode()
    job.refresh_from_db()
    assert "Other.csv" not in job.file_fixed_values


def test_next_confirms_and_review_shows_each_files_value(district_admin_client, school):
    job = _sds_upload(district_admin_client)

    response = district_admin_client.post(reverse("imports:fields", args=[job.number]), {"action": "next"})

    assert response.status_code == 302 and response["Location"] == reverse("imports:schools", args=[job.number])
    job.refresh_from_db()
    job.step = "review"
    job.save()
    page = district_admin_client.get(reverse("imports:review", args=[job.number])).content.decode()
    assert "User Type = staff for every row of Teacher.csv" in page


def test_matching_a_column_a_file_has_drops_that_files_value(district_admin_client, school):
    header = ("First Name", "Last Name", "District ID", "Grade", "Email Address", "School SIS ID", "Role")
    job = _upload(district_admin_client, ("Student.csv", csv_text([student("S1", Role="0")], header)))
    assert job.file_fixed_values == {"Student.csv": {"user_type": "student"}}

    district_admin_client.post(reverse("imports:fields", args=[job.number]), {"action": "match", "field": "user_type", "column": "Role"})

    job.refresh_from_db()
    assert job.file_fixed_values == {} and job.field_mapping["user_type"] == "Role"


def test_a_value_for_every_file_says_so_when_there_are_several(district_admin_client, school):
    job = _sds_upload(district_admin_client)
    url = reverse("imports:fields", args=[job.number])

    district_admin_client.post(url, {"action": "set_fixed:email", "fixed_email": "__blank__", "fixed_file_email": ""})

    assert "every row of every file: blank" in district_admin_client.get(url).content.decode()
