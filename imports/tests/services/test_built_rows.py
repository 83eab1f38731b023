"""The run reuses the rows the wizard's validation built, and reads the file again only when they are outdated."""
import os

import pytest
from django.core.files.storage import storages

from imports.models import ImportJob, ImportStatus, ValidationPhase
from imports.services import jobs, runs, validation
from imports.tests.factories import FULL_HEADER, IN_WINDOW, make_import_job, student, write_csv
from users.models import User

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_safety_hold")]



def _submitted(district, tmp_path, rows, header=None):
    path = write_csv(tmp_path / "roster.csv", rows, **({"header": header} if header else {}))
    job = make_import_job(district, [path])
    return jobs.import_job_submit(job=job, now=IN_WINDOW, dispatch=False)


def _run(job):
    runs.import_job_run(job_id=job.id, queue_emails=False)
    job.refresh_from_db()
    return job


def test_the_run_does_not_read_the_file_again_when_the_wizards_result_is_current(district, school, tmp_path, reads):
    job = _submitted(district, tmp_path, [student(str(n), **{"Last Name": f"L{n}"}) for n in range(1, 6)])
    reads.clear()

    job = _run(job)

    assert reads == []
    assert job.status == ImportStatus.COMPLETED and job.counts["created"] == 5
    assert sorted(User.objects.filter(district=district).values_list("last_name", flat=True)) == [f"L{n}" for n in range(1, 6)]
    assert ImportJob.objects.get(id=job.id).built_rows_key == ""  # used up: the stored rows are deleted


def test_the_run_reads_the_file_again_when_the_mapping_changed_since_validation(district, school, tmp_path, reads):
    job = _submitted(district, tmp_path, [student(str(n)) for n in range(1, 4)])
    # A later change of choices bumps the pass's generation, as every mapping change does.
    ImportJob.objects.filter(id=job.id).update(validation_generation=job.validation_generation + 1)
    reads.clear()

    job = _run(job)

    assert reads == ["roster.csv"]
    assert job.status == ImportStatus.COMPLETED and job.counts["created"] == 3


def test_a_school_deleted_since_validation_is_found_by_the_run(district, school, tmp_path, reads):
    job = _submitted(district, tmp_path, [student("1")])
    school.delete()
    reads.clear()

    job = _run(job)

    assert reads == ["roster.csv"]
    assert job.status == ImportStatus.FAILED and "no longer validates" in job.failure_reason
    assert not User.objects.filter(district_user_id="1").exists()


def test_a_user_added_since_validation_is_updated_not_created_twice(district, school, tmp_path, reads):
    job = _submitted(district, tmp_path, [student("1", **{"Last Name": "New"})])
    User.objects.create(username="ada1", district=district, district_user_id="1", first_name="Ada", last_name="Old",
                        user_type="student", grade="5", school=school)
    reads.clear()

    job = _run(job)

    assert reads == []
    assert job.counts["created"] == 0 and job.counts["updated"] == 1
    assert User.objects.get(district_user_id="1").last_name == "New"


def test_rows_with_passwords_are_never_stored(district, school, tmp_path):
    row = {**student("1"), "Password": "Secret-123!"}
    job = make_import_job(district, [write_csv(tmp_path / "roster.csv", [row], header=FULL_HEADER)])

    assert job.built_rows_key == ""
    stored = storages["private"].path(validation.BUILT_ROWS_DIR)
    assert not any(f.startswith(f"job-{job.id}.") for f in (os.listdir(stored) if os.path.isdir(stored) else []))


def test_the_wizards_background_pass_keeps_its_rows_for_the_run(
    district, school, tmp_path, reads, django_capture_on_commit_callbacks
):
    job = make_import_job(district, [write_csv(tmp_path / "roster.csv", [student("1"), student("2")])], validate=False)
    with django_capture_on_commit_callbacks(execute=True):
        validation.import_job_validation_start(job=job, phase=ValidationPhase.VALIDATE)
    job.refresh_from_db()
    assert job.validated_at is not None and job.built_rows_key
    job = jobs.import_job_submit(job=job, now=IN_WINDOW, dispatch=False)
    reads.clear()

    job = _run(job)

    assert reads == []
    assert job.status == ImportStatus.COMPLETED and job.counts["created"] == 2


@pytest.fixture
def duplicate_searches(monkeypatch):
    """How many times a pass searches its rows for duplicates."""
    searches = []
    real = validation.checking.duplicate_check

    def counting(*args):
        searches.append(1)
        return real(*args)

    monkeypatch.setattr(validation.checking, "duplicate_check", counting)
    return searches


def test_rows_kept_in_several_blocks_come_back_in_order_with_their_values(district, school, tmp_path, monkeypatch, reads):
    monkeypatch.setattr(validation.reuse, "BUILT_ROWS_BLOCK", 2)
    job = _submitted(district, tmp_path, [student(str(n), **{"Last Name": f"L{n}", "Grade": str(n)}) for n in range(1, 8)])
    reads.clear()

    job = _run(job)

    assert reads == []
    assert job.counts["created"] == 7
    stored = dict(User.objects.filter(district=district).values_list("district_user_id", "last_name"))
    assert stored == {str(n): f"L{n}" for n in range(1, 8)}
    assert set(User.objects.filter(district=district).values_list("grade", flat=True)) == {str(n) for n in range(1, 8)}


def test_the_run_does_not_search_for_duplicates_again_when_the_wizard_found_none(
    district, school, tmp_path, reads, duplicate_searches
):
    job = _submitted(district, tmp_path, [student("1"), student("2")])
    reads.clear()
    duplicate_searches.clear()

    job = _run(job)

    assert reads == [] and duplicate_searches == []
    assert job.status == ImportStatus.COMPLETED and job.counts["created"] == 2


def test_a_duplicate_email_the_wizard_found_is_reported_by_the_run_too(district, school, tmp_path, reads):
    shared = "twin@springfield.example.org"
    job = _submitted(district, tmp_path, [student("1", **{"Email Address": shared}), student("2", **{"Email Address": shared})])
    assert job.validation_summary["counts"]["warnings"] == 2
    reads.clear()

    job = _run(job)

    assert reads == []
    assert job.status == ImportStatus.COMPLETED_WITH_WARNINGS and job.counts["warnings"] == 2
    assert sorted(job.issues.filter(code="duplicate_email_in_file").values_list("row", flat=True)) == [2, 3]
