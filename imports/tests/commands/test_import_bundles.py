"""`import_users roster.zip --district SLUG`: OneRoster and SDS uploads import with no extra flag."""
import io
import json
import shutil
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from imports.models import BundleRole, ImportJob, ImportStatus
from imports.formats import common as bundles
from imports.tests.fixtures import make_bundles
from users.models import User, UserType
from users.tests.factories import make_school

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_safety_hold")]
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def _run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("import_users", *[str(a) for a in args], stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def schools(district):
    """The district's two schools; their SIS IDs are the orgs.csv identifiers and School.csv SIS IDs."""
    return {"101": make_school(district, sis_id="101", name="Lincoln ES"), "102": make_school(district, sis_id="102", name="Washington MS")}


def _imported(district) -> dict[str, tuple[str, str, str]]:
    users = User.objects.filter(district=district, district_user_id__isnull=False).select_related("school")
    return {
        u.district_user_id: ("student" if u.user_type == UserType.STUDENT else "staff", u.grade or "", u.school.sis_id)
        for u in users
    }


def _expected(expected: dict) -> dict:
    return {k: (t, g, s) for k, (t, g, s) in expected.items()}


def test_a_oneroster_11_zip_imports_every_student_and_staff_member(district, schools, tmp_path):
    out, _ = _run(FIXTURES / "oneroster_11.zip", "--district", district.slug, "--now", "--report", tmp_path / "r.json")

    assert _imported(district) == _expected(make_bundles.EXPECTED_11)
    assert User.objects.get(district=district, district_user_id="S1001").oneroster_sourced_id == "u-1"
    assert "Not imported: 1 marked tobedeleted, 1 with enabledUser false, 1 guardians, parents or relatives." in out
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["bundle"]["skipped_total"] == 3
    assert report["bundle"]["ignored_files"] == []
    assert report["bundle"]["class_files"] == ["academicSessions.csv"]


def test_the_zip_is_kept_byte_for_byte_and_the_job_keeps_the_bundle_summary(district, schools):
    _run(FIXTURES / "oneroster_11.zip", "--district", district.slug, "--now")

    job = ImportJob.objects.get(district=district)
    assert job.status in (ImportStatus.COMPLETED, ImportStatus.COMPLETED_WITH_WARNINGS)
    member = job.files.get(bundle_role=BundleRole.MEMBER)
    with member.stored.open("rb") as fh:
        assert fh.read() == (FIXTURES / "oneroster_11.zip").read_bytes()
    assert job.bundle_summary["skipped"] == {"tobedeleted": 1, "disabled": 1, "guardian": 1}
    assert job.field_mapping["district_id"] == "identifier"


def test_a_oneroster_12_set_with_roles_csv_imports_by_sourced_id(district, schools):
    files = sorted((FIXTURES / "oneroster_12").iterdir())

    _run(*files, "--district", district.slug, "--now")

    assert _imported(district) == _expected(make_bundles.EXPECTED_12)


def test_demographics_are_stored(district, schools):
    _run(*sorted((FIXTURES / "oneroster_12").iterdir()), "--district", district.slug, "--now")

    user = User.objects.get(district=district, district_user_id="u-2")
    assert (str(user.birthdate), user.race, user.oneroster_sourced_id) == ("2012-11-02", "Asian;Black or African American", "u-2")


def test_an_sds_trio_imports_students_and_staff_by_file(district, schools):
    _run(*sorted((FIXTURES / "sds_v1").iterdir()), "--district", district.slug, "--now")

    assert _imported(district) == _expected(make_bundles.EXPECTED_SDS)
    assert User.objects.get(district=district, district_user_id="T2001").email == "dwells@riverside.example.org"


def test_orgs_are_matched_to_schools_by_name_when_the_sis_ids_differ(district, tmp_path):
    make_school(district, sis_id="LIN", name="Lincoln Elementary")
    make_school(district, sis_id="WAS", name="Washington Middle")

    _run(FIXTURES / "oneroster_11.zip", "--district", district.slug, "--now")

    assert User.objects.get(district=district, district_user_id="S1002").school.sis_id == "WAS"


def test_a_hostile_zip_is_refused_with_a_message_naming_it(district, schools, tmp_path):
    path = tmp_path / "roster.zip"
    path.write_bytes(make_bundles.zip_bytes({**make_bundles.oneroster_11(), "../../etc/users.csv": b"x"}))

    with pytest.raises(CommandError) as exc:
        _run(path, "--district", district.slug)

    assert str(exc.value) == "roster.zip: " + bundles.ERROR_UNSAFE_NAME.format(member="../../etc/users.csv")
    assert not ImportJob.objects.exists()


def test_a_zip_renamed_without_its_extension_is_still_not_read_as_csv(district, schools, tmp_path):
    path = tmp_path / "roster.csv"
    shutil.copy(FIXTURES / "oneroster_11.zip", path)

    with pytest.raises(CommandError) as exc:
        _run(path, "--district", district.slug)

    assert "is not a CSV file (it looks like a zip archive)" in str(exc.value)

