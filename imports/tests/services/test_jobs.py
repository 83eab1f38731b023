"""Submitting a job: off-peak scheduling in the district's zone, refusals, and mappings remembered for next time."""
import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone

from imports.models import DistrictImportMemory, ImportStatus
from imports.pipeline.mapping import propose_school_mapping
from imports.selectors import school_choices
from imports.services import jobs, runs
from imports.tests.factories import IN_WINDOW, make_import_job, set_window_around_now, student, write_csv
from users.models import User

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_safety_hold")]
UTC = datetime.timezone.utc


def _imported_ids():
    return sorted(User.objects.filter(district_user_id__isnull=False).values_list("district_user_id", flat=True))


def test_a_job_submitted_during_the_school_day_waits_for_the_window(district, school, tmp_path, django_capture_on_commit_callbacks):
    job = make_import_job(district, [write_csv(tmp_path / "roster.csv", [student("1")])])
    nine_am_in_chicago = datetime.datetime(2024, 1, 10, 15, 0, tzinfo=UTC)

    with django_capture_on_commit_callbacks() as callbacks:
        job = jobs.import_job_submit(job=job, now=nine_am_in_chicago)

    assert job.status == ImportStatus.SCHEDULED
    assert job.submitted_at == nine_am_in_chicago
    assert job.run_after == datetime.datetime(2024, 1, 11, 2, 0, tzinfo=UTC)  # 20:00 in Chicago
    assert job.run_after.astimezone(district.tzinfo).time() == datetime.time(20, 0)
    assert callbacks == []  # nothing handed to the workers ahead of time


def test_the_window_follows_the_districts_daylight_saving_time(district, school, tmp_path):
    district.timezone = "America/New_York"
    district.save()
    job = make_import_job(district, [write_csv(tmp_path / "roster.csv", [student("1")])])
    noon_on_the_day_clocks_go_forward = datetime.datetime(2024, 3, 10, 16, 0, tzinfo=UTC)

    job = jobs.import_job_submit(job=job, now=noon_on_the_day_clocks_go_forward, dispatch=False)

    assert job.run_after == datetime.datetime(2024, 3, 11, 0, 0, tzinfo=UTC)  # 20:00 EDT, not 20:00 EST


def test_an_early_morning_submit_is_inside_the_wrapping_window(district, school, tmp_path):
    job = make_import_job(district, [write_csv(tmp_path / "roster.csv", [student("1")])])
    five_am_in_chicago = datetime.datetime(2024, 1, 10, 11, 0, tzinfo=UTC)

    job = jobs.import_job_submit(job=job, now=five_am_in_chicago, dispatch=False)

    assert job.run_after == five_am_in_chicago


def test_dispatch_does_not_run_a_job_before_its_window(district, school, tmp_path):
    job = make_import_job(district, [write_csv(tmp_path / "roster.csv", [student("1")])])
    job = jobs.import_job_submit(job=job, now=datetime.datetime(2024, 1, 10, 15, 0, tzinfo=UTC))

    assert runs.import_jobs_dispatch_due(now=datetime.datetime(2024, 1, 11, 1, 59, tzinfo=UTC)) == []

    job.refresh_from_db()
    assert (job.status, job.attempts, job.dispatched_at) == (ImportStatus.SCHEDULED, 0, None)
    assert _imported_ids() == []
    assert runs.import_job_claim(job_id=job.id, now=datetime.datetime(2024, 1, 11, 1, 59, tzinfo=UTC)) is None


def test_dispatch_runs_the_job_once_its_window_opens(district, school, tmp_path):
    job = make_import_job(district, [write_csv(tmp_path / "roster.csv", [student("1")])])
    jobs.import_job_submit(job=job, now=datetime.datetime(2024, 1, 10, 15, 0, tzinfo=UTC))

    assert runs.import_jobs_dispatch_due(now=datetime.datetime(2024, 1, 11, 2, 0, tzinfo=UTC)) == [job.id]

    job.refresh_from_db()
    assert job.status == ImportStatus.COMPLETED
    assert _imported_ids() == ["1"]
    assert runs.import_jobs_dispatch_due() == []


def test_run_due_imports_leaves_a_job_whose_window_has_not_opened(district, school, tmp_path):
    set_window_around_now(district, open_now=False)
    job = make_import_job(district, [write_csv(tmp_path / "roster.csv", [student("1")])])
    job = jobs.import_job_submit(job=job)
    assert job.run_after > timezone.now()

    call_command("run_due_imports")

    job.refresh_from_db()
    assert job.status == ImportStatus.SCHEDULED
    assert _imported_ids() == []


def test_run_due_imports_runs_a_job_submitted_inside_the_window(district, school, tmp_path):
    set_window_around_now(district, open_now=True)
    job = make_import_job(district, [write_csv(tmp_path / "roster.csv", [student("1")])])
    job = jobs.import_job_submit(job=job, dispatch=False)
    assert job.run_after <= timezone.now()

    call_command("run_due_imports")

    job.refresh_from_db()
    assert job.status == ImportStatus.COMPLETED
    assert _imported_ids() == ["1"]


def test_a_submit_inside_the_window_is_handed_to_a_worker_on_commit(district, school, tmp_path, django_capture_on_commit_callbacks):
    set_window_around_now(district, open_now=True)
    job = make_import_job(district, [write_csv(tmp_path / "roster.csv", [student("1")])])

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        jobs.import_job_submit(job=job)

    job.refresh_from_db()
    assert len(callbacks) >= 1
    assert job.status == ImportStatus.COMPLETED
    assert _imported_ids() == ["1"]


def test_a_file_with_errors_cannot_be_submitted(district, school, tmp_path):
    job = make_import_job(district, [write_csv(tmp_path / "roster.csv", [student("1", Grade="13")])])

    with pytest.raises(jobs.ImportError_, match="The file has errors"):
        jobs.import_job_submit(job=job, now=IN_WINDOW)

    job.refresh_from_db()
    assert job.status == ImportStatus.DRAFT


def test_a_job_must_be_validated_before_submitting(district, school, tmp_path):
    job = make_import_job(district, [write_csv(tmp_path / "roster.csv", [student("1")])], validate=False)

    with pytest.raises(jobs.ImportError_, match="Validate the file"):
        jobs.import_job_submit(job=job, now=IN_WINDOW)


def test_a_second_submit_changes_nothing(district, school, tmp_path):
    job = make_import_job(district, [write_csv(tmp_path / "roster.csv", [student("1")])])
    first = jobs.import_job_submit(job=job, now=datetime.datetime(2024, 1, 10, 15, 0, tzinfo=UTC), dispatch=False)

    again = jobs.import_job_submit(job=job, now=datetime.datetime(2024, 1, 12, 15, 0, tzinfo=UTC), dispatch=False)

    assert (again.run_after, again.submitted_at) == (first.run_after, first.submitted_at)


def test_a_cancelled_job_is_never_run(district, school, tmp_path):
    job = make_import_job(district, [write_csv(tmp_path / "roster.csv", [student("1")])])
    jobs.import_job_submit(job=job, now=IN_WINDOW, dispatch=False)

    assert jobs.import_job_cancel(job=job)
    assert runs.import_jobs_dispatch_due() == []
    assert runs.import_job_run(job_id=job.id) is None

    job.refresh_from_db()
    assert job.status == ImportStatus.CANCELLED
    assert _imported_ids() == []


def test_mappings_are_remembered_after_a_submit_and_proposed_next_time(district, school, tmp_path):
    header = ("First Name", "Last Name", "Pupil Number", "User Type", "Grade", "Email Address", "Site")
    rows = [{"First Name": "Ada", "Last Name": "Lovelace", "Pupil Number": "1", "User Type": "0", "Grade": "5",
             "Site": "Lincoln Elem."}]
    path = write_csv(tmp_path / "roster.csv", rows, header=header)
    mapping = {
        "first_name": "First Name", "last_name": "Last Name", "district_id": "Pupil Number", "user_type": "User Type",
        "grade": "Grade", "email": "Email Address", "school_sis_id": "Site",
    }
    first = make_import_job(district, [path], field_mapping=mapping, school_mapping={"Lincoln Elem.": school.id})
    assert not DistrictImportMemory.objects.filter(district=district).exists()  # a draft teaches nothing

    jobs.import_job_submit(job=first, now=IN_WINDOW, dispatch=False)

    second = jobs.import_job_create(district=district)
    jobs.import_files_add(job=second, uploads=[SimpleUploadedFile("roster.csv", path.read_bytes())])
    second.refresh_from_db()
    assert second.field_mapping == mapping
    memory = DistrictImportMemory.objects.get(district=district)
    proposal = propose_school_mapping(["Lincoln Elem."], school_choices(district=district), remembered=memory.school_mapping)
    assert proposal == {"Lincoln Elem.": school.id}
