"""Values typed in the fix-rows editor go through value mapping, like values in the file."""
import pytest

from imports.models import DistrictImportMemory, ImportIssue
from imports.services import corrections
from imports.services.apply import import_job_validate
from imports.services.sources import sources_for_job
from imports.tests.factories import make_import_job, run_job, student, write_csv
from users.models import User

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_safety_hold")]


def _fix(job, rows: dict):
    file_id = sources_for_job(job)[0].file_id
    corrections.import_rows_correct(job=job, corrections={(file_id, row): values for row, values in rows.items()})
    job.refresh_from_db()  # as the page does before it validates again
    import_job_validate(job=job)
    job.refresh_from_db()
    return job


@pytest.fixture
def bad_type(district, school, tmp_path):
    path = write_csv(tmp_path / "roster.csv", [student("1"), student("2", **{"User Type": "Wizard"}), student("3", Grade="13")])
    return make_import_job(district, [path])


def test_a_typed_guardian_is_skipped_as_the_suggestion_says(bad_type):
    job = _fix(bad_type, {3: {"user_type": "guardian"}, 4: {"grade": "12"}})

    assert list(ImportIssue.objects.filter(job=job, severity="error").values_list("code", flat=True)) == []
    assert job.validation_summary["counts"]["skipped"] == 1
    assert job.value_mapping == {"user_type": {"guardian": "skip"}}
    assert job.coded_values.filter(field_key="user_type", value="guardian").exists()  # listed on value mapping
    job = run_job(job)
    assert sorted(User.objects.filter(district_user_id__isnull=False).values_list("district_user_id", flat=True)) == ["1", "3"]


def test_a_typed_code_takes_the_districts_last_choice(bad_type, district):
    DistrictImportMemory.objects.create(district=district, value_mapping={"grade": {"Grade Six": "6"}})

    job = _fix(bad_type, {3: {"user_type": "Student"}, 4: {"grade": "Grade Six"}})

    assert job.validation_summary["counts"]["errors"] == 0
    run_job(job)
    assert User.objects.get(district_user_id="3").grade == "6"


def test_a_typed_value_with_no_suggestion_stays_not_recognised(bad_type):
    job = _fix(bad_type, {3: {"user_type": "skip"}})

    assert list(ImportIssue.objects.filter(job=job, row=3).values_list("code", flat=True)) == ["invalid_user_type"]
    assert job.validation_summary["counts"]["skipped"] == 0


def test_a_cell_that_says_skip_is_no_choice_to_skip_its_row(district, school, tmp_path):
    # Guardians are mapped to "skip these rows"; the word "skip" in a cell is only a value nobody mapped.
    path = write_csv(tmp_path / "roster.csv", [student("1", **{"User Type": "guardian"}), student("2", **{"User Type": "skip"})])
    job = make_import_job(district, [path], validate=False)
    job.value_mapping = {"user_type": {"guardian": "skip"}}
    job.save()

    import_job_validate(job=job)
    job.refresh_from_db()

    assert job.validation_summary["counts"]["skipped"] == 1
    assert list(ImportIssue.objects.filter(job=job, row=3).values_list("code", flat=True)) == ["invalid_user_type"]
