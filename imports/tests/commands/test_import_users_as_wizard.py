"""`import_users` does what the wizard does: its matches and suggestions, no more, and says what it used and did."""
import io
import json

import pytest
from django.core import mail
from django.core.management import call_command

from imports.models import ImportJob
from imports.tests.factories import HEADER, staff, student, write_csv
from users.models import User, UserType
from users.tests.factories import make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_safety_hold")]


def _run(*args) -> tuple[str, str, int]:
    """stdout, stderr and the exit status (a refused run exits 1 after printing)."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_users", *[str(a) for a in args], stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return out.getvalue(), err.getvalue(), code


def test_a_suggested_column_is_not_used_until_it_is_mapped(district, school, tmp_path):
    # "State ID" is only a suggestion for State User ID on Map Fields: the admin has to accept it.
    path = write_csv(tmp_path / "roster.csv", [student("1", **{"State ID": "S-77"})], header=(*HEADER, "State ID"))

    out, err, code = _run(path, "--district", district.slug, "--now")

    assert code == 0, err
    assert User.objects.get(district_user_id="1").state_user_id == ""
    assert 'Column "State ID" looks like State User ID' in out and '--map "State ID=state_user_id"' in out

    _run(path, "--district", district.slug, "--now", "--map", "State ID=state_user_id")

    assert User.objects.get(district_user_id="1").state_user_id == "S-77"


def test_the_field_school_and_value_mapping_used_are_printed_and_reported(district, school, tmp_path):
    path = write_csv(tmp_path / "roster.csv", [student("1", Grade="PR"), student("2")])

    out, err, code = _run(path, "--district", district.slug, "--now", "--report", tmp_path / "report.json")

    assert code == 0, err
    assert "Fields: First Name <- First Name; Last Name <- Last Name; District ID <- District ID;" in out
    assert "Schools: 101 -> Lincoln Elementary (101)." in out
    assert 'Values: Grade "PR" -> PK.' in out
    used = json.loads((tmp_path / "report.json").read_text())["mapping"]
    assert used["fields"]["School SIS ID"] == "School SIS ID"
    assert used["schools"] == {"101": "Lincoln Elementary (101)"}
    assert used["values"] == {"Grade": {"PR": "PK"}}


def test_one_column_can_feed_two_fields(district, school, tmp_path):
    header = ("First Name", "Last Name", "District ID", "User Type", "Grade", "Login", "School SIS ID")
    path = write_csv(tmp_path / "staff.csv", [
        {**staff("T-9"), "Login": "grace@springfield.example.org"},
    ], header=header)

    out, err, code = _run(path, "--district", district.slug, "--now", "--map", "Login=email", "--map", "Login=username")

    assert code == 0, err
    grace = User.objects.get(district_user_id="T-9")
    assert (grace.email, grace.username) == ("grace@springfield.example.org", "grace@springfield.example.org")


def test_set_file_field_skip_skips_that_files_rows_and_counts_them_as_skipped(district, school, district_admin, tmp_path):
    header = ("First Name", "Last Name", "District ID", "Grade", "Email Address", "School SIS ID")
    students = write_csv(tmp_path / "Student.csv", [student("1"), student("2")], header=header)
    teachers = write_csv(tmp_path / "Teacher.csv", [staff("T-1"), staff("T-2"), staff("T-3")], header=header)

    out, err, code = _run(students, teachers, "--district", district.slug, "--now", "--set", "Teacher.csv:user_type=skip",
                          "--report", tmp_path / "report.json", "--as", district_admin.username)

    assert code == 0, err
    assert sorted(User.objects.filter(district=district, district_user_id__isnull=False).values_list("district_user_id", flat=True)) == ["1", "2"]
    counts = json.loads((tmp_path / "report.json").read_text())["counts"]
    assert (counts["created"], counts["unchanged"], counts["skipped"]) == (2, 0, 3)
    assert "created 2, updated 0, unchanged 0, skipped 3," in out
    assert 'User Type "skip" -> Skip these rows' in out
    completion = next(m for m in mail.outbox if m.to == [district_admin.email])
    assert "Unchanged: 0\n" in completion.body and "Skipped: 3\n" in completion.body


def test_skip_for_a_field_that_cannot_skip_rows_is_refused_by_name(district, school, tmp_path):
    path = write_csv(tmp_path / "roster.csv", [student("1")])

    with pytest.raises(Exception) as error:
        _run(path, "--district", district.slug, "--dry-run", "--set", "first_name=skip")

    assert "--set first_name=skip" in str(error.value) and "user_type" in str(error.value)


def test_a_refused_run_says_what_it_would_have_done_and_that_nothing_was_written(district, school, tmp_path):
    rows = [student(str(n)) for n in range(1, 6)] + [student("6", Grade="13")]
    path = write_csv(tmp_path / "roster.csv", rows)

    out, err, code = _run(path, "--district", district.slug, "--now", "--report", tmp_path / "report.json")

    assert code == 1
    assert "refused: nothing was written, because of 1 errors." in out
    assert "would have given: rows 6, created 5," in out
    assert "\nrefused: rows" not in out
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["written"] is False and report["status"] == "refused"
    assert not User.objects.filter(district=district, district_user_id__isnull=False).exists()
    assert not ImportJob.objects.exists()


def test_an_unmatched_school_points_to_the_commands_options_not_the_schools_tab(district, school, tmp_path):
    path = write_csv(tmp_path / "roster.csv", [student("1", **{"School SIS ID": "999"})])

    out, err, code = _run(path, "--district", district.slug, "--dry-run")

    assert code == 1
    assert "No school for: 999." in err and "--school-map" in err and "--create-schools" in err
    assert "Schools tab" not in err and "Manage Classworks" not in err
    row_error = next(line for line in err.splitlines() if line.startswith("roster.csv row 2"))
    assert "--create-schools" in row_error


def test_a_run_that_writes_says_written(district, school, tmp_path):
    make_user(district, district_user_id="T-1", user_type=UserType.STAFF, school=school, email="t-1@springfield.example.org",
              first_name="Grace", last_name="Hopper")
    path = write_csv(tmp_path / "roster.csv", [staff("T-1"), student("1")])

    out, err, code = _run(path, "--district", district.slug, "--now", "--report", tmp_path / "report.json")

    report = json.loads((tmp_path / "report.json").read_text())
    assert code == 0 and report["written"] is True
    assert "created 1, updated 0, unchanged 1, skipped 0," in out


def test_staff_given_emails_since_reimport_a_teacher_file_without_emails(district, school, tmp_path):
    # SDS v1's Teacher.csv has no email column: the staff's addresses were given in the browser after the first import.
    header = ("District ID", "School SIS ID", "First Name", "Last Name")
    for district_id in ("T-1", "T-2"):
        make_user(district, district_user_id=district_id, user_type=UserType.STAFF, school=school, first_name="Grace",
                  last_name="Hopper", email=f"{district_id.lower()}@springfield.example.org")
    path = write_csv(tmp_path / "Teacher.csv", [staff("T-1"), staff("T-2")], header=header)

    out, err, code = _run(path, "--district", district.slug, "--now", "--set", "email=")

    assert code == 0, err
    assert "created 0, updated 0, unchanged 2, skipped 0, conflicts 0, errors 0" in out
    assert User.objects.get(district_user_id="T-1").email == "t-1@springfield.example.org"

    newcomer = write_csv(tmp_path / "Teacher.csv", [staff("T-1"), staff("T-3")], header=header)
    out, err, code = _run(newcomer, "--district", district.slug, "--dry-run", "--set", "email=")

    assert code == 1
    assert "Teacher.csv row 3: Email Address is blank for a staff member." in err
