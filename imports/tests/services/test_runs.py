"""Claiming and running jobs: one claim per job, resume after a crash, and a bounded number of attempts."""
import datetime
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from imports.models import ImportJob, ImportStatus
from imports.services import apply, jobs, runs
from imports.tests.factories import IN_WINDOW, make_import_job, student, write_csv
from users.models import User

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_safety_hold")]


def _imported_ids():
    return sorted(User.objects.filter(district_user_id__isnull=False).values_list("district_user_id", flat=True))


@pytest.fixture
def scheduled_job(district, school, tmp_path):
    """A due job of five students."""
    job = make_import_job(district, [write_csv(tmp_path / "roster.csv", [student(str(n)) for n in range(1, 6)])])
    return jobs.import_job_submit(job=job, now=IN_WINDOW, dispatch=False)


def test_a_claim_cannot_be_taken_twice(scheduled_job):
    first = runs.import_job_claim(job_id=scheduled_job.id)
    second = runs.import_job_claim(job_id=scheduled_job.id)

    assert first is not None and second is None
    assert (first.status, first.attempts) == (ImportStatus.RUNNING, 1)


def test_a_running_job_is_claimed_again_only_once_its_heartbeat_is_stale(scheduled_job):
    claimed = runs.import_job_claim(job_id=scheduled_job.id)
    soon = claimed.heartbeat_at + runs.STALE_HEARTBEAT - datetime.timedelta(seconds=1)
    later = claimed.heartbeat_at + runs.STALE_HEARTBEAT + datetime.timedelta(seconds=1)

    assert runs.import_job_claim(job_id=scheduled_job.id, now=soon) is None
    reclaimed = runs.import_job_claim(job_id=scheduled_job.id, now=later)

    assert reclaimed is not None and reclaimed.attempts == 2


class WorkerKilled(BaseException):
    """What a worker sees of an OOM kill or a deploy: nothing is caught, the job stays Running."""


def _heartbeat_goes_stale(job):
    ImportJob.objects.filter(id=job.id).update(heartbeat_at=timezone.now() - runs.STALE_HEARTBEAT * 2)


def test_a_job_whose_worker_dies_every_run_ends_failed_after_max_attempts(scheduled_job, monkeypatch):
    calls = []

    def worker_dies(*, job, **kwargs):
        calls.append(job.id)
        raise WorkerKilled()

    monkeypatch.setattr(runs, "import_job_apply", worker_dies)
    for _ in range(runs.MAX_ATTEMPTS * 3):  # the periodic dispatcher keeps ticking
        try:
            runs.import_jobs_dispatch_due()
        except WorkerKilled:
            _heartbeat_goes_stale(scheduled_job)

    scheduled_job.refresh_from_db()
    assert len(calls) == runs.MAX_ATTEMPTS
    assert scheduled_job.status == ImportStatus.FAILED
    assert f"stopped {runs.MAX_ATTEMPTS} times" in scheduled_job.failure_reason
    assert runs.import_jobs_dispatch_due() == []


def test_a_worker_that_died_on_every_attempt_is_not_tried_again(scheduled_job, monkeypatch):
    monkeypatch.setattr(runs, "import_job_apply", lambda **kw: pytest.fail("must not run again"))
    long_ago = timezone.now() - datetime.timedelta(hours=1)
    ImportJob.objects.filter(id=scheduled_job.id).update(
        status=ImportStatus.RUNNING, heartbeat_at=long_ago, attempts=runs.MAX_ATTEMPTS, rows_committed=2
    )

    assert runs.import_jobs_dispatch_due() == [scheduled_job.id]

    scheduled_job.refresh_from_db()
    assert (scheduled_job.status, scheduled_job.failed_row) == (ImportStatus.FAILED, 3)
    assert runs.import_jobs_dispatch_due() == []


def test_a_dead_worker_is_replaced_and_the_new_run_resumes_after_the_committed_chunk(scheduled_job, settings, monkeypatch):
    settings.IMPORT_CHUNK_ROWS = 2
    real_chunk, chunks = apply._apply_chunk, []

    def killed_during_second_chunk(job, rows, *args, **kwargs):
        chunks.append([r.district_id for r in rows])
        if len(chunks) == 2:
            raise WorkerKilled()
        return real_chunk(job, rows, *args, **kwargs)

    monkeypatch.setattr(apply, "_apply_chunk", killed_during_second_chunk)
    with pytest.raises(WorkerKilled):
        runs.import_job_run(job_id=scheduled_job.id)
    _heartbeat_goes_stale(scheduled_job)
    scheduled_job.refresh_from_db()
    assert (scheduled_job.status, scheduled_job.rows_committed) == (ImportStatus.RUNNING, 2)
    assert _imported_ids() == ["1", "2"]

    assert runs.import_jobs_dispatch_due() == [scheduled_job.id]

    scheduled_job.refresh_from_db()
    assert scheduled_job.status == ImportStatus.COMPLETED
    assert chunks == [["1", "2"], ["3", "4"], ["3", "4"], ["5"]]  # rows 1-2 were not applied twice
    assert _imported_ids() == ["1", "2", "3", "4", "5"]
    assert (scheduled_job.counts["created"], scheduled_job.attempts) == (5, 2)


def test_an_error_inside_a_run_fails_the_job_keeping_its_committed_chunks(scheduled_job, settings, monkeypatch):
    settings.IMPORT_CHUNK_ROWS = 2
    real_chunk, chunks = apply._apply_chunk, []

    def fails_on_second_chunk(job, rows, *args, **kwargs):
        chunks.append([r.district_id for r in rows])
        if len(chunks) == 2:
            raise ConnectionError("server closed the connection: row 3 Ada Lovelace")
        return real_chunk(job, rows, *args, **kwargs)

    monkeypatch.setattr(apply, "_apply_chunk", fails_on_second_chunk)
    runs.import_job_run(job_id=scheduled_job.id)

    scheduled_job.refresh_from_db()
    # The second chunk starts at spreadsheet row 4 (row 1 is the header).
    assert (scheduled_job.status, scheduled_job.rows_committed, scheduled_job.failed_row) == (ImportStatus.FAILED, 2, 4)
    assert "ConnectionError" in scheduled_job.failure_reason
    assert "Ada" not in scheduled_job.failure_reason  # an error's text may quote student data
    assert _imported_ids() == ["1", "2"]
    assert runs.import_jobs_dispatch_due() == []  # a failed job is not retried on its own

    call_command("run_import", scheduled_job.number, district=scheduled_job.district.slug, stdout=io.StringIO())

    scheduled_job.refresh_from_db()
    assert scheduled_job.status == ImportStatus.COMPLETED
    assert chunks == [["1", "2"], ["3", "4"], ["3", "4"], ["5"]]
    assert _imported_ids() == ["1", "2", "3", "4", "5"]
    assert scheduled_job.counts["created"] == 5


def test_a_file_that_no_longer_validates_fails_at_once_without_retrying(scheduled_job, school):
    school.delete()

    runs.import_job_run(job_id=scheduled_job.id)

    scheduled_job.refresh_from_db()
    assert (scheduled_job.status, scheduled_job.attempts) == (ImportStatus.FAILED, 1)
    assert "no longer validates" in scheduled_job.failure_reason
    assert _imported_ids() == []


def test_a_second_import_of_the_district_waits_for_the_running_one(scheduled_job, district, school, tmp_path):
    other = make_import_job(district, [write_csv(tmp_path / "other.csv", [student("9")])])
    jobs.import_job_submit(job=other, now=IN_WINDOW, dispatch=False)
    runs.import_job_claim(job_id=scheduled_job.id)  # still running, heartbeat fresh

    runs.import_job_run(job_id=other.id)

    other.refresh_from_db()
    assert (other.status, other.attempts, other.status_note) == (ImportStatus.SCHEDULED, 0, runs.WAITING_NOTE)
    assert other.run_after > timezone.now()
    assert _imported_ids() == []
