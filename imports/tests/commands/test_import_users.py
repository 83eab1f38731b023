"""`manage.py import_users`: the dry run predicts the real run, exit status, and usage errors."""
import io
import json
import shutil
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import CommandError, call_command

from imports.models import DistrictImportMemory, ImportJob, ImportStatus
from imports.pipeline.reading import count_data_rows, inspect_file
from imports.services import jobs
from imports.tests.factories import set_window_around_now, staff, stored_text, student, write_csv
from users.models import User, UserType
from users.tests.factories import make_custom_group, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_safety_hold")]
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def _run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("import_users", *[str(a) for a in args], stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def _imported_ids(district):
    return sorted(User.objects.filter(district=district, district_user_id__isnull=False).values_list("district_user_id", flat=True))


def _mixed_district(district, school):
    """Existing users that the file leaves unchanged, fills, and contradicts."""
    for district_id in ("1", "2", "3"):
        make_user(district, district_user_id=district_id, first_name="Ada", last_name="Lovelace", grade="5",
                  school=school, email="")
    make_user(district, district_user_id="T-1", user_type=UserType.STAFF, first_name="Grace", last_name="Hopper",
              school=school, email="t-1@springfield.example.org")


def _mixed_file(tmp_path):
    return write_csv(tmp_path / "roster.csv", [
        student("1"),                                                # unchanged
        student("2", **{"Email Address": "two@example.org"}),        # fills a blank
        student("3", Grade="6"),                                     # conflict
        student("4", **{"Email Address": "twin@example.org"}),       # new, shared email: warning
        student("5", **{"Email Address": "twin@example.org"}),       # new, shared email: warning
        staff("T-1"),                                                # unchanged staff
    ])


@pytest.mark.parametrize("conflict", ["imported", "existing"])
def test_the_dry_run_report_gives_the_counts_the_real_run_produces(district, school, tmp_path, conflict):
    _mixed_district(district, school)
    path = _mixed_file(tmp_path)
    before = list(User.objects.order_by("id").values())

    _run(path, "--district", district.slug, "--conflict", conflict, "--dry-run", "--report", tmp_path / "dry.json")

    dry = json.loads((tmp_path / "dry.json").read_text())
    assert dry["status"] == "dry_run"
    assert list(User.objects.order_by("id").values()) == before  # a dry run writes nothing
    assert not ImportJob.objects.exists()

    _run(path, "--district", district.slug, "--conflict", conflict, "--now", "--report", tmp_path / "real.json")

    real = json.loads((tmp_path / "real.json").read_text())
    assert real["status"] == ImportStatus.COMPLETED_WITH_WARNINGS
    assert real["counts"] == dry["counts"]
    assert dry["counts"] == {
        "rows": 6, "created": 2, "updated": 2 if conflict == "imported" else 1,
        "unchanged": 2 if conflict == "imported" else 3, "skipped": 0, "conflicts": 1, "errors": 0, "warnings": 2,
    }
    assert sorted((w["code"], w["row"]) for w in real["warnings"]) == [("duplicate_email_in_file", 5), ("duplicate_email_in_file", 6)]
    assert _imported_ids(district) == ["1", "2", "3", "4", "5", "T-1"]


def test_a_file_with_errors_exits_1_and_writes_nothing(district, school, tmp_path):
    path = write_csv(tmp_path / "roster.csv", [student("1"), student("2", Grade="13"), student("1")])

    with pytest.raises(SystemExit) as exit_info:
        _run(path, "--district", district.slug, "--now", "--report", tmp_path / "report.json")

    assert exit_info.value.code == 1
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["status"] == "refused"
    assert sorted((e["code"], e["row"]) for e in report["errors"]) == [
        ("duplicate_district_id", 2), ("duplicate_district_id", 4), ("invalid_grade", 3),
    ]
    assert _imported_ids(district) == []
    assert not ImportJob.objects.exists()


def test_a_dry_run_of_a_file_with_errors_also_exits_1(district, school, tmp_path, capsys):
    path = write_csv(tmp_path / "roster.csv", [student("1", **{"User Type": "Teacher"})])

    with pytest.raises(SystemExit) as exit_info:
        _run(path, "--district", district.slug, "--dry-run")

    assert exit_info.value.code == 1


def test_a_clean_file_exits_0(district, school, tmp_path):
    path = write_csv(tmp_path / "roster.csv", [student("1")])

    out, err = _run(path, "--district", district.slug, "--now")  # no SystemExit: status 0

    assert "\ncompleted: rows 1, created 1," in out
    assert _imported_ids(district) == ["1"]


@pytest.mark.parametrize(
    ("fixture", "reason"),
    [("roster.pdf", "PDF"), ("empty.csv", "empty"), ("header_only.csv", "no data rows")],
)
def test_an_unreadable_file_is_a_command_error_that_names_it(district, school, tmp_path, fixture, reason):
    path = shutil.copy(FIXTURES / fixture, tmp_path / fixture)

    with pytest.raises(CommandError) as error:
        _run(path, "--district", district.slug, "--dry-run")

    assert fixture in str(error.value) and reason in str(error.value)


def test_a_missing_file_is_a_command_error_that_names_it(district, tmp_path):
    with pytest.raises(CommandError, match="nowhere.csv: no such file"):
        _run(tmp_path / "nowhere.csv", "--district", district.slug)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--map", "First Name=nickname"], 'unknown field "nickname"'),
        (["--map", "Shoe Size=grade"], 'no column "Shoe Size"'),
        (["--map", "First Name"], '--map takes "LEFT=RIGHT"'),
        (["--set", "favourite_colour=blue"], 'unknown field "favourite_colour"'),
        (["--school-map", "101=999"], 'no school with SIS ID "999"'),
        (["--group", "No Such Group"], 'No custom group "No Such Group"'),
        (["--as", "nobody"], 'No district administrator "nobody"'),
        (["--conflict", "newest"], "invalid choice"),
    ],
)
def test_usage_errors_are_command_errors(district, school, tmp_path, extra, message):
    path = write_csv(tmp_path / "roster.csv", [student("1")])

    with pytest.raises(CommandError, match=message):
        _run(path, "--district", district.slug, "--dry-run", *extra)


def test_an_unknown_district_is_a_command_error(tmp_path):
    path = write_csv(tmp_path / "roster.csv", [student("1")])

    with pytest.raises(CommandError, match='No district with slug "atlantis"'):
        _run(path, "--district", "atlantis")


STUDENTS_ONLY_HEADER = ("First Name", "Last Name", "District ID", "Grade", "School SIS ID")


def test_a_students_only_export_needs_fixed_values_for_user_type_and_email(district, school, tmp_path):
    # A name that says nothing: "students.csv" would have User Type = student proposed by its name.
    path = write_csv(tmp_path / "export.csv", [student("1"), student("2")], header=STUDENTS_ONLY_HEADER)

    with pytest.raises(CommandError, match="Required fields have no column: User Type, Email Address"):
        _run(path, "--district", district.slug, "--dry-run")

    _run(path, "--district", district.slug, "--now", "--set", "user_type=student", "--set", "email=")

    assert set(User.objects.filter(district_user_id__in=["1", "2"]).values_list("user_type", "email")) == {("student", "")}


def test_aliases_and_column_numbers_can_be_mapped(district, school, tmp_path):
    header = ("givenName", "familyName", "identifier", "role", "grades", "email", "orgSourcedIds")
    rows = [["Ada", "Lovelace", "000123", "student", "05", "", "101"]]
    path = write_csv(tmp_path / "oneroster.csv", rows, header=header)
    # Aliases are the wizard's suggestions: used once mapped, as the admin accepts them there.
    aliases = ["familyName=last_name", "identifier=district_id", "role=user_type", "grades=grade", "email=email",
               "orgSourcedIds=school_sis_id"]

    _run(path, "--district", district.slug, "--now", "--map", "1=first_name", *(a for m in aliases for a in ("--map", m)))

    ada = User.objects.get(district_user_id="000123")
    assert (ada.first_name, ada.last_name, ada.grade, ada.school) == ("Ada", "Lovelace", "5", school)


def test_mappings_from_a_submitted_import_are_used_next_time(district, school, tmp_path):
    header = ("First Name", "Last Name", "Pupil Number", "User Type", "Grade", "Email Address", "Site")
    rows = [["Ada", "Lovelace", "1", "0", "5", "", "Lincoln Elem."]]
    first = write_csv(tmp_path / "first.csv", rows, header=header)
    second = write_csv(tmp_path / "second.csv", [["Alan", "Turing", "2", "0", "6", "", "Lincoln Elem."]], header=header)
    choices = ["--map", "Pupil Number=district_id", "--map", "Site=school_sis_id", "--school-map", "Lincoln Elem.=101"]

    _run(first, "--district", district.slug, "--dry-run", *choices)
    assert not DistrictImportMemory.objects.filter(district=district).exists()  # a dry run submits nothing

    _run(first, "--district", district.slug, "--now", *choices)
    _run(second, "--district", district.slug, "--now")

    assert _imported_ids(district) == ["1", "2"]
    assert User.objects.get(district_user_id="2").school == school


def test_without_now_the_import_waits_for_the_off_peak_window(district, school, tmp_path):
    set_window_around_now(district, open_now=False)
    path = write_csv(tmp_path / "roster.csv", [student("1")])

    out, _ = _run(path, "--district", district.slug)
    call_command("run_due_imports", stdout=io.StringIO())

    job = ImportJob.objects.get()
    assert job.status == ImportStatus.SCHEDULED
    assert f"Import {job.number} scheduled for" in out
    assert _imported_ids(district) == []


def test_now_sends_staff_logins_and_one_completion_email(district, district_admin, school, tmp_path):
    group = make_custom_group(district, name="Robotics")
    path = write_csv(tmp_path / "roster.csv", [student("1"), staff("T-1")])

    _run(path, "--district", district.slug, "--now", "--as", district_admin.username, "--email-staff",
         "--group", "Robotics", "--group-members", "all")

    assert sorted(m.to[0] for m in mail.outbox) == sorted([district_admin.email, "t-1@springfield.example.org"])
    assert sorted(group.members.values_list("district_user_id", flat=True)) == ["1", "T-1"]
    assert ImportJob.objects.get().created_by == district_admin


def test_one_password_for_every_row_is_refused_and_never_stored(district, school, tmp_path):
    path = write_csv(tmp_path / "roster.csv", [student("1")])

    with pytest.raises(CommandError, match="One password for every user is not allowed"):
        _run(path, "--district", district.slug, "--now", "--set", "password=Same-For-All-9931")

    assert "Same-For-All-9931" not in stored_text()
    assert _imported_ids(district) == []


def test_the_stored_upload_keeps_the_row_count_its_pass_read_without_counting_the_file_again(district, school, tmp_path, monkeypatch):
    text = write_csv(tmp_path / "x.csv", [student(str(n)) for n in range(1, 6)]).read_text()
    lines = text.splitlines()
    path = tmp_path / "roster.csv"  # Excel's leftovers: blank and whitespace-only lines between and after the rows
    path.write_text("\r\n".join([*lines[:3], "", " , ,", *lines[3:], "", ",,,,,,", ""]), encoding="utf-8")
    counted = []
    monkeypatch.setattr(jobs, "count_data_rows", lambda *a, **k: counted.append(a) or count_data_rows(*a, **k))

    _run(path, "--district", district.slug, "--now")

    stored = ImportJob.objects.get(district=district).files.get()
    assert counted == []
    assert stored.row_count == count_data_rows(path, inspect_file(path, "roster.csv")) == 5
    assert _imported_ids(district) == ["1", "2", "3", "4", "5"]
