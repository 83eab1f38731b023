"""Each format's export folder (fixtures/exports/, from the published column lists) brings its class with its users.

`import_users --district SLUG FOLDER --create-schools` writes the users, then the classes, in one run; export_classes
gives the class back with its teacher and student; a second run of the same files changes no class or roster.
"""
import csv
import io
from pathlib import Path

import pytest
from django.core.management import call_command

from classes.models import ClassStudent, ClassTeacher, SchoolClass
from imports.tests.fixtures import make_exports

pytestmark = pytest.mark.django_db
EXPORTS = Path(__file__).resolve().parents[3] / "imports" / "tests" / "fixtures" / "exports"


@pytest.fixture(autouse=True)
def _no_safety_hold(district):
    district.change_threshold_percent = 100  # a first import changes the whole district
    district.save(update_fields=["change_threshold_percent"])


def _import(folder: str, district, *extra) -> str:
    out = io.StringIO()
    call_command("import_users", *sorted((EXPORTS / folder).iterdir()), "--district", district.slug, "--now", *extra, stdout=out)
    return out.getvalue()


def _exported(district) -> list[dict]:
    out = io.StringIO()
    call_command("export_classes", "--district", district.slug, stdout=out)
    return list(csv.DictReader(io.StringIO(out.getvalue())))


def _rosters(district) -> tuple:
    return (
        sorted(SchoolClass.objects.filter(district=district).values_list("id", "sis_id", "name", "updated_at")),
        sorted(ClassTeacher.objects.filter(school_class__district=district).values_list("id", "user_id", "is_primary")),
        sorted(ClassStudent.objects.filter(school_class__district=district).values_list("id", "user_id")),
    )


@pytest.mark.parametrize("folder", sorted(make_exports.EXPORTS))
def test_each_export_folder_brings_its_class_with_teacher_and_student_and_a_second_run_changes_nothing(district, folder):
    _import(folder, district, "--create-schools")

    [row] = _exported(district)
    assert (row["Class Name"], row["School SIS ID"]) == ("Grade 3 Reading", "201")
    assert (row["Teacher District IDs"], row["Student District IDs"]) == ("cara", "ana")

    before = _rosters(district)
    _import(folder, district)
    assert _rosters(district) == before


def test_no_classes_imports_the_users_only(district):
    _import("clever", district, "--create-schools", "--no-classes")

    assert not SchoolClass.objects.filter(district=district).exists()
    assert _exported(district) == []
