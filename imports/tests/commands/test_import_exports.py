"""Each format's export folder imports through `import_users --district SLUG --create-schools` alone, with no edits.

The folders (fixtures/exports/, made by make_exports.py from each specification's column list) hold the
same people: the K-12 ones are created with grades, schools, demographics, flags, usernames and passwords;
guardians, tobedeleted and post-secondary rows are skipped and counted; a second run changes nothing.
"""
import datetime
import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command

from imports.models import ImportJob
from imports.tests.factories import student, write_csv
from imports.tests.fixtures import make_exports
from schools.models import School
from users.models import User, UserType
from users.tests.factories import PASSWORD, make_admin

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_safety_hold")]
EXPORTS = Path(__file__).resolve().parent.parent / "fixtures" / "exports"
# Who each format skips itself (by name in the report), and how many rows value mapping skips (not K-12).
SKIPPED_BY_FORMAT = {
    "oneroster_11": {"Gail Lee", "Jay Fox"}, "oneroster_12": {"Gail Lee", "Jay Fox"}, "sds_v1": set(),
    "sds_v2": {"Gail Lee"}, "sds_v21": {"Gail Lee"}, "clever": set(),
}
NOT_K12_ROWS = {"oneroster_11": 1, "oneroster_12": 1, "sds_v1": 1, "sds_v2": 1, "sds_v21": 2, "clever": 1}
# SDS v2's orgs.csv has no parentSourcedId: Ben's department is itself his school's value, and is created.
EXPECTED = {folder: dict(make_exports.K12) for folder in make_exports.EXPORTS}
EXPECTED["sds_v2"]["ben"] = ("student", "K", "202-SCI")
SCHOOLS = {folder: {"201": "Maple Elementary", "202": "Valley High"} for folder in make_exports.EXPORTS}
SCHOOLS["sds_v2"]["202-SCI"] = "Valley High Science"


def _run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("import_users", *[str(a) for a in args], stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def _import(folder: str, district, tmp_path, *extra):
    report = tmp_path / f"{folder}-{len(list(tmp_path.iterdir()))}.json"
    out, _ = _run(*sorted((EXPORTS / folder).iterdir()), "--district", district.slug, "--now", "--report", report, *extra)
    return out, json.loads(report.read_text())


def _imported(district) -> dict[str, tuple[str, str, str]]:
    users = User.objects.filter(district=district, district_user_id__isnull=False).select_related("school")
    return {
        u.district_user_id: ("student" if u.user_type == UserType.STUDENT else "staff", u.grade or "", u.school.sis_id)
        for u in users
    }


def _user(district, district_id: str) -> User:
    return User.objects.get(district=district, district_user_id=district_id)


@pytest.mark.parametrize("folder", sorted(make_exports.EXPORTS))
def test_each_export_folder_imports_alone_and_a_second_run_changes_nothing(district, tmp_path, folder):
    out, report = _import(folder, district, tmp_path, "--create-schools")

    assert report["status"] == "completed", report["warnings"]
    assert _imported(district) == EXPECTED[folder]
    assert dict(School.objects.filter(district=district).values_list("sis_id", "name")) == SCHOOLS[folder]
    # Passwords travel into the Password field; the staff member without an email gets her username.
    assert _user(district, "ana").check_password(make_exports.PASSWORDS["ana"])
    assert _user(district, "cara").check_password(make_exports.PASSWORDS["cara"])
    assert _user(district, "cara").email == make_exports.CARA_USERNAME
    assert "Email Address taken from the username for" in out
    assert any(n.startswith("Email Address taken from the username for") for n in report["bundle"]["notes"])
    # Guardians and tobedeleted people are skipped by name; post-secondary rows by value mapping; all counted.
    assert {p["name"] for p in report["bundle"]["skipped_people"]} == SKIPPED_BY_FORMAT[folder]
    assert report["bundle"]["skipped_total"] == len(SKIPPED_BY_FORMAT[folder])
    job = ImportJob.objects.get(district=district, number=report["import_number"])
    assert job.validation_summary["counts"]["skipped"] == NOT_K12_ROWS[folder]
    assert not User.objects.filter(district=district, district_user_id__in=["gail", "hugo", "ivy", "jay"]).exists()

    before = {u.id: (u.updated_at if hasattr(u, "updated_at") else None, u.password) for u in User.objects.filter(district=district)}
    out, again = _import(folder, district, tmp_path)  # the schools exist now: no --create-schools
    assert (again["counts"]["created"], again["counts"]["updated"], again["counts"]["errors"]) == (0, 0, 0)
    assert {u.id: (u.updated_at if hasattr(u, "updated_at") else None, u.password) for u in User.objects.filter(district=district)} == before


@pytest.mark.parametrize("folder", ["oneroster_12", "sds_v21", "clever"])
def test_demographics_arrive_as_birthdate_gender_ethnicity_and_race(district, tmp_path, folder):
    _import(folder, district, tmp_path, "--create-schools")

    ana = _user(district, "ana")
    assert (ana.birthdate, ana.gender, ana.hispanic_latino, ana.race) == (datetime.date(2016, 5, 1), "F", True, "White")
    ben = _user(district, "ben")
    assert ben.hispanic_latino is False and ben.gender == "M"
    if folder != "clever":
        assert ben.race == "Asian;Black or African American"


@pytest.mark.parametrize("folder", ["sds_v21", "clever"])
def test_program_flags_arrive_as_disabled_economically_disadvantaged_limited_english_and_migrant(district, tmp_path, folder):
    _import(folder, district, tmp_path, "--create-schools")

    ana, ben = _user(district, "ana"), _user(district, "ben")
    assert (ana.disabled, ana.economically_disadvantaged, ana.limited_english) == (True, True, False)
    assert (ben.disabled, ben.economically_disadvantaged, ben.limited_english) == (False, False, True)
    if folder == "sds_v21":
        assert (ana.migrant, ben.migrant) == (False, True)


def test_a_header_only_demographics_member_is_an_empty_set_not_an_error(district, tmp_path):
    header = (EXPORTS / "oneroster_11" / "demographics.csv").read_text().strip()
    assert "\n" not in header  # the fixture's demographics.csv has its header only

    _, report = _import("oneroster_11", district, tmp_path, "--create-schools")

    assert report["status"] == "completed"
    assert _user(district, "ana").birthdate is None


def test_without_create_schools_a_district_without_schools_is_told_what_to_do(district, tmp_path):
    with pytest.raises(SystemExit):
        _import("sds_v21", district, tmp_path)
    assert not User.objects.filter(district=district).exclude(district_user_id=None).exists()
    assert not School.objects.filter(district=district).exists()


def test_the_history_page_lists_the_people_skipped_and_why(district, tmp_path, client):
    _, report = _import("oneroster_12", district, tmp_path, "--create-schools")
    make_admin(district, username="dadmin")
    client.login(username="dadmin", password=PASSWORD)

    page = client.get(f"/imports/{report['import_number']}/").content.decode()
    assert "users.csv row 6: Gail Lee (guardians, parents or relatives)" in page
    assert "users.csv row 7: Jay Fox (marked tobedeleted)" in page
    assert "Email Address taken from the username for 1 staff." in page


def test_create_schools_works_for_a_plain_file_too_and_a_refused_run_creates_none(district, tmp_path):
    bad = write_csv(tmp_path / "bad.csv", [student("S1", **{"School SIS ID": "301"}), student("S2", Grade="14", **{"School SIS ID": "302"})])
    with pytest.raises(SystemExit):
        _run(bad, "--district", district.slug, "--create-schools", "--now")
    assert not School.objects.filter(district=district).exists()

    good = write_csv(tmp_path / "good.csv", [student("S1", **{"School SIS ID": "301"}), student("S2", **{"School SIS ID": "302"})])
    out, _ = _run(good, "--district", district.slug, "--create-schools", "--now")
    assert 'School "301" (SIS ID 301) will be created.' in out
    assert dict(School.objects.filter(district=district).values_list("sis_id", "name")) == {"301": "301", "302": "302"}
    assert _imported(district) == {"S1": ("student", "5", "301"), "S2": ("student", "5", "302")}
