"""import_users: OneRoster roles, CEDS grades and Y/N spellings map by themselves; --value-map says otherwise."""
import io
import json

import pytest
from django.core.management import CommandError, call_command

from imports.models import DistrictImportMemory, ImportJob
from imports.tests.factories import staff, student, write_csv
from users.models import User

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_safety_hold")]


def _run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("import_users", *[str(a) for a in args], stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def _types(district):
    return dict(User.objects.filter(district=district, district_user_id__isnull=False).values_list("district_user_id", "user_type"))


def _roster(tmp_path):
    return write_csv(tmp_path / "users.csv", [
        student("S1", **{"User Type": "student", "Grade": "KG"}),
        student("S2", **{"User Type": "student", "Grade": "01"}),
        student("S3", **{"User Type": "student", "Grade": "PR"}),
        staff("T1", **{"User Type": "teacher"}),
        staff("A1", **{"User Type": "aide"}),
        staff("G1", **{"User Type": "guardian"}),
    ])


def test_suggestions_apply_by_themselves_and_guardians_are_skipped(district, school, tmp_path):
    out, _ = _run(_roster(tmp_path), "--district", district.slug, "--now", "--report", tmp_path / "r.json")

    assert "\ncompleted: " in out
    assert _types(district) == {"S1": "student", "S2": "student", "S3": "student", "T1": "staff", "A1": "staff"}
    grades = dict(User.objects.filter(district=district, district_user_id__startswith="S").values_list("district_user_id", "grade"))
    assert grades == {"S1": "K", "S2": "1", "S3": "PK"}
    job = ImportJob.objects.get()
    assert job.value_mapping["user_type"] == {"teacher": "staff", "aide": "staff", "guardian": "skip"}
    assert job.validation_summary["counts"]["skipped"] == 1


def test_value_map_overrides_a_suggestion_and_can_skip_rows(district, school, tmp_path):
    _run(
        _roster(tmp_path), "--district", district.slug, "--now",
        "--value-map", "user_type:guardian=staff", "--value-map", "user_type:aide=skip",
    )
    assert _types(district) == {"S1": "student", "S2": "student", "S3": "student", "T1": "staff", "G1": "staff"}


def test_a_value_with_no_suggestion_stays_an_error_unless_mapped(district, school, tmp_path):
    path = write_csv(tmp_path / "users.csv", [student("S1", Grade="13"), student("S2", Grade="Other")])
    with pytest.raises(SystemExit):
        _run(path, "--district", district.slug, "--now", "--report", tmp_path / "r.json")
    report = json.loads((tmp_path / "r.json").read_text())
    assert sorted((e["code"], e["row"]) for e in report["errors"]) == [("invalid_grade", 2), ("invalid_grade", 3)]

    _run(path, "--district", district.slug, "--now", "--value-map", "grade:13=12", "--value-map", "grade:Other=K")
    grades = dict(User.objects.filter(district=district).exclude(grade="").values_list("district_user_id", "grade"))
    assert grades == {"S1": "12", "S2": "K"}
    assert DistrictImportMemory.objects.get(district=district).value_mapping["grade"] == {"13": "12", "Other": "K"}


@pytest.mark.parametrize(("given", "message"), [
    ("grade=13", "field_key:FILE_VALUE=VALUE"), ("first_name:x=y", "with a coded field"),
    ("grade:13=14", 'is not a Grade Classworks knows'),
])
def test_a_bad_value_map_is_a_command_error(district, school, tmp_path, given, message):
    with pytest.raises(CommandError, match=message):
        _run(_roster(tmp_path), "--district", district.slug, "--dry-run", "--value-map", given)
