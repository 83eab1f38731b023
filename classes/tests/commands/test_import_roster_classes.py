"""A roster upload's classes: `import_users --type classes` reads them, and a user import of the upload writes them after its users."""
import io
from pathlib import Path

import pytest
from django.core.management import call_command

from classes.models import SchoolClass
from classes.tests.commands.test_import_classes import exported
from imports.models import ImportJob, ImportStatus
from imports.tests.fixtures.make_bundles import EXPECTED_12_CLASSES, EXPECTED_SDS_CLASSES
from users.models import User
from users.tests.factories import make_school

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_safety_hold")]
ONEROSTER_12 = sorted((Path(__file__).resolve().parents[3] / "imports" / "tests" / "fixtures" / "oneroster_12").iterdir())


@pytest.fixture
def no_safety_hold(district):
    district.change_threshold_percent = 100
    district.save()


@pytest.fixture
def schools(district):
    return {"101": make_school(district, sis_id="101", name="Lincoln ES"), "102": make_school(district, sis_id="102", name="Washington MS")}


def _run(district, *args):
    out, err = io.StringIO(), io.StringIO()
    call_command("import_users", *map(str, args), "--district", district.slug, "--now", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_a_oneroster_12_upload_imports_its_users_and_then_its_classes_in_the_same_run(district, schools):
    out, _ = _run(district, *ONEROSTER_12)

    assert "Also importing classes (2 classes, 6 enrollments) after the users." in out
    job = ImportJob.objects.get(district=district)
    assert job.status == ImportStatus.COMPLETED and job.also_classes
    assert (job.counts["classes_created"], job.counts["enrollments_added"]) == (2, 6)
    assert exported(district) == EXPECTED_12_CLASSES
    the_class = SchoolClass.objects.get(sis_id="c-1")
    assert (the_class.course_name, the_class.course_number, the_class.term_name, str(the_class.term_start)) == (
        "Reading K", "RDG-K", "2024-25", "2024-08-01")


def test_no_classes_imports_the_users_only(district, schools):
    out, _ = _run(district, *ONEROSTER_12, "--no-classes")

    assert "Also importing classes" not in out
    assert User.objects.filter(district=district, district_user_id="u-5").exists()
    assert not SchoolClass.objects.exists()


def test_type_classes_reads_the_class_files_of_an_upload_and_a_second_run_is_unchanged(district, schools):
    _run(district, *ONEROSTER_12, "--no-classes")

    out, _ = _run(district, "--type", "classes", *ONEROSTER_12)
    assert "2 classes, 6 enrollments" in out
    assert exported(district) == EXPECTED_12_CLASSES

    out, _ = _run(district, "--type", "classes", *ONEROSTER_12)
    second = ImportJob.objects.filter(district=district, import_type="classes").order_by("-number").first()
    assert (second.counts["classes_unchanged"], second.counts["enrollments_added"], second.counts["classes_created"]) == (2, 0, 0)
    assert exported(district) == EXPECTED_12_CLASSES


SDS_V1 = sorted((ONEROSTER_12[0].parents[1] / "sds_v1").iterdir())


def test_an_sds_v1_upload_imports_its_sections_with_teachers_and_students(district, schools):
    out, _ = _run(district, *SDS_V1)

    assert "Also importing classes (2 classes, 6 enrollments) after the users." in out
    assert exported(district) == EXPECTED_SDS_CLASSES
    assert str(SchoolClass.objects.get(sis_id="SEC-2").term_end) == "2025-06-30"


def test_a_oneroster_11_zip_with_classes_names_members_by_sourced_id_and_exports_their_district_ids(district, schools, tmp_path):
    from imports.tests.fixtures import make_bundles

    # OneRoster 1.1's class files have the same published columns as 1.2's; its users' District ID is their identifier.
    roster = tmp_path / "roster.zip"
    roster.write_bytes(make_bundles.zip_bytes({**make_bundles.oneroster_11(), **make_bundles.oneroster_12_classes()}))

    out, _ = _run(district, roster)

    assert "Also importing classes (2 classes, 6 enrollments) after the users." in out
    assert exported(district) == [["c-1", "Reading K", "101", "T2001;T2002", "S1001;S1003"], ["c-2", "Math 7", "102", "T2002", "S1002"]]


def test_an_upload_whose_enrollments_name_someone_not_imported_writes_its_users_and_says_why_no_class_was(district, schools, tmp_path):
    from imports.models import ImportIssue
    from imports.tests.fixtures import make_bundles

    classes = make_bundles.oneroster_12_classes()
    # u-10 is not imported (enabledUser false), yet enrolled here.
    classes["enrollments.csv"] += b"e-8,active,2024-08-01T00:00:00.000Z,c-1,org-101,u-10,student,false,,\r\n"
    folder = tmp_path / "roster"
    folder.mkdir()
    for name, data in {**make_bundles.oneroster_12(), **classes}.items():
        (folder / name).write_bytes(data)

    _run(district, *sorted(folder.iterdir()))

    job = ImportJob.objects.get(district=district)
    assert job.status == ImportStatus.COMPLETED_WITH_WARNINGS
    assert User.objects.filter(district=district, district_user_id="u-5").exists()
    assert not SchoolClass.objects.exists()
    issue = ImportIssue.objects.get(job=job, code="unknown_person")
    assert issue.row == 9 and "u-10" in issue.message and "the upload's classes were not" in issue.message
