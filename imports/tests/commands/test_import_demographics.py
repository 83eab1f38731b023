"""`import_users --type demographics`: 100 existing students updated from the command line."""
import io
import json

import pytest
from django.core.management import call_command

from imports.models import ImportJob, ImportStatus
from imports.tests.factories import csv_text
from imports.types.demographics import ERROR_NO_STUDENT
from users.models import User
from users.tests.factories import make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_safety_hold")]
HEADER = (
    "DistrictUserID", "Grade", "Gender", "Race", "Hispanic or Latino", "English Language Learner",
    "Special Education", "Economically Disadvantaged", "Migrant",
)
FLAGS = ("hispanic_latino", "limited_english", "disabled", "economically_disadvantaged", "migrant")
STUDENTS = 100


def _run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("import_users", *[str(a) for a in args], stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def hundred(district, school):
    return [
        make_user(district, district_user_id=f"{n:06d}", grade="3", school=school, **{f: True for f in FLAGS})
        for n in range(1, STUDENTS + 1)
    ]


def _rows(extra=()):
    # Even rows: a new grade, gender and race, flags Y/N; odd rows: every flag cell blank (= No).
    rows = []
    for n in range(1, STUDENTS + 1):
        if n % 2 == 0:
            rows.append([f"{n:06d}", "4", "F", "Asian", "Y", "N", "Y", "N", "Y"])
        else:
            rows.append([f"{n:06d}", "", "", "", "", "", "", "", ""])
    return rows + list(extra)


def _signatures():
    return {u["id"]: u for u in User.objects.values("id", "username", "password", "district_user_id", "first_name", "last_name", "email")}


def test_now_updates_a_hundred_students_and_never_their_usernames_or_passwords(district, district_admin, hundred, tmp_path):
    path = tmp_path / "demographics.csv"
    path.write_text(csv_text(_rows(), HEADER), encoding="utf-8")
    before, users_before = _signatures(), User.objects.count()

    out, err = _run(path, "--district", district.slug, "--type", "demographics", "--now", "--as", district_admin.username,
                    "--report", tmp_path / "report.json")

    report = json.loads((tmp_path / "report.json").read_text())
    assert report["status"] == ImportStatus.COMPLETED, err
    assert (report["counts"]["created"], report["counts"]["updated"]) == (0, STUDENTS)
    assert "\ncompleted: rows 100, created 0, updated 100" in out
    job = ImportJob.objects.get(district=district, number=report["import_number"])
    assert job.get_import_type_display() == "Student Demographics"
    even, odd = User.objects.get(district_user_id="000002"), User.objects.get(district_user_id="000001")
    assert (even.grade, even.gender, even.race) == ("4", "F", "Asian")
    assert [getattr(even, f) for f in FLAGS] == [True, False, True, False, True]
    assert (odd.grade, odd.gender, odd.race) == ("3", "", "")  # blank grade keeps it
    assert not any(getattr(odd, f) for f in FLAGS)  # blank = No
    assert _signatures() == before and User.objects.count() == users_before


def test_an_unknown_district_id_is_an_error_row_and_nothing_is_written(district, hundred, tmp_path):
    path = tmp_path / "demographics.csv"
    path.write_text(csv_text(_rows(extra=[["999999", "4", "", "", "", "", "", "", ""]]), HEADER), encoding="utf-8")
    before = list(User.objects.order_by("id").values())

    with pytest.raises(SystemExit) as exit_:
        _run(path, "--district", district.slug, "--type", "demographics", "--now", "--report", tmp_path / "report.json")

    assert exit_.value.code == 1
    report = json.loads((tmp_path / "report.json").read_text())
    (error,) = report["errors"]
    assert (error["row"], error["column"], error["code"]) == (STUDENTS + 2, "DistrictUserID", "no_student")
    assert error["message"] == ERROR_NO_STUDENT.format(district_id="999999")
    assert list(User.objects.order_by("id").values()) == before
    assert not ImportJob.objects.filter(district=district).exists()


def test_dry_run_and_map_work_for_this_type(district, hundred, tmp_path):
    path = tmp_path / "pupils.csv"
    path.write_text("Pupil,Migrant\r\n000001,N\r\n000002,\r\n", encoding="utf-8")

    out, _ = _run(path, "--district", district.slug, "--type", "demographics", "--map", "Pupil=district_id", "--dry-run")

    assert "\ndry_run: nothing was written. The run would give: rows 2, created 0, updated 2," in out
    assert User.objects.filter(migrant=True).count() == STUDENTS  # a dry run writes nothing


@pytest.mark.parametrize("option", [["--group", "Grade 5"], ["--email-staff"], ["--password", "overwrite"], ["--school-map", "A=101"]])
def test_an_option_this_type_does_not_have_is_refused_by_name(district, hundred, tmp_path, option):
    from django.core.management import CommandError

    path = tmp_path / "demographics.csv"
    path.write_text("DistrictUserID,Grade\r\n000001,4\r\n", encoding="utf-8")

    with pytest.raises(CommandError, match=f"{option[0]} does not apply to Student Demographics imports."):
        _run(path, "--district", district.slug, "--type", "demographics", *option)
    assert not ImportJob.objects.filter(district=district).exists()


def test_value_map_and_suggestions_apply_to_demographics_codes(district, hundred, tmp_path):
    """A CEDS grade code is suggested by itself; a gender code with no suggestion is mapped with --value-map."""
    path = tmp_path / "demographics.csv"
    path.write_text(csv_text([["000002", "TK", "Mujer", "", "", "", "", "", ""]], HEADER), encoding="utf-8")

    with pytest.raises(SystemExit):  # no suggestion for "Mujer": an error until the admin says what it means
        _run(path, "--district", district.slug, "--type", "demographics", "--now")
    _run(path, "--district", district.slug, "--type", "demographics", "--now", "--value-map", "gender:Mujer=F")

    student = User.objects.get(district_user_id="000002")
    assert (student.grade, student.gender) == ("PK", "F")
