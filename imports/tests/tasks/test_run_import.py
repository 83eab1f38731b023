"""A job runs through a real Celery worker against Redis and PostgreSQL.

A job submitted outside the district's off-peak window waits; inside the window it runs, and the
completion email arrives once.
"""
import datetime

import pytest
from django.db.models import Count
from django.utils import timezone

from imports.models import ImportJob, ImportStatus
from imports.services import jobs, runs
from imports.tasks import run_import
from imports.tests.factories import make_import_job, staff, student, write_csv
from users.models import User

from .worker import job_settled, needs_services, queue_length, sent_emails, wait_for

pytestmark = [pytest.mark.services, needs_services]

ROWS = [student("1001"), student("1002", **{"First Name": "Zoë"}), student("1003"), staff("T-1")]


def completion_emails(email_dir, job):
    return [m for m in sent_emails(email_dir) if m["Subject"].startswith(f"Classworks import {job.number}:")]


def assert_users_written_once(job):
    users = User.objects.filter(district=job.district, created_by_import=job)
    assert sorted(users.values_list("district_user_id", flat=True)) == ["1001", "1002", "1003", "T-1"]
    assert not users.values("district_user_id").annotate(c=Count("id")).filter(c__gt=1).exists()


def test_job_submitted_in_the_window_runs_in_the_worker_and_emails_once(workers, broker, open_district, email_dir, tmp_path):
    job = make_import_job(open_district, [write_csv(tmp_path / "roster.csv", ROWS)], created_by=open_district.admin)
    workers()

    job = jobs.import_job_submit(job=job)

    job = wait_for(lambda: job_settled(job.id, broker), message="the worker to run the job and send its email")
    assert job.status == ImportStatus.COMPLETED, job.failure_reason
    assert job.counts["created"] == 4 and job.attempts == 1
    assert_users_written_once(job)
    [email] = completion_emails(email_dir, job)
    assert email["To"] == open_district.admin.email
    assert email["Subject"] == f"Classworks import {job.number}: Completed"


def _closed_window_around(now_local: datetime.datetime) -> tuple[datetime.time, datetime.time]:
    """A one-hour window opening two hours from now: closed now, whatever the time of day."""
    start = (now_local + datetime.timedelta(hours=2)).time().replace(second=0, microsecond=0)
    end = (now_local + datetime.timedelta(hours=3)).time().replace(second=0, microsecond=0)
    return start, end


def test_job_submitted_outside_the_window_waits_then_runs_once_due(workers, broker, open_district, email_dir, tmp_path):
    district = open_district
    district.timezone = "UTC"  # no daylight-saving shift between "now" and the window opening
    district.offpeak_start, district.offpeak_end = _closed_window_around(timezone.now().astimezone(district.tzinfo))
    district.save()
    job = make_import_job(district, [write_csv(tmp_path / "roster.csv", ROWS)], created_by=district.admin)
    worker = workers()

    job = jobs.import_job_submit(job=job)

    assert job.status == ImportStatus.SCHEDULED
    assert job.run_after > timezone.now() + datetime.timedelta(minutes=100)
    # Nothing is parked on the broker with an ETA: run_after lives in the database.
    assert queue_length(broker) == 0
    # The periodic sweep leaves a job that is not due alone.
    assert runs.import_jobs_dispatch_due() == []
    assert queue_length(broker) == 0
    # Even a message that reaches the worker early (a stray or duplicate dispatch) does not run it.
    early = run_import.delay(job.id)
    worker.wait_task_succeeded(early.id)
    job.refresh_from_db()
    assert (job.status, job.attempts, job.started_at) == (ImportStatus.SCHEDULED, 0, None)
    assert not User.objects.filter(created_by_import=job).exists()
    assert sent_emails(email_dir) == []

    # The window opens.
    ImportJob.objects.filter(id=job.id).update(run_after=timezone.now() - datetime.timedelta(seconds=1))
    assert runs.import_jobs_dispatch_due() == [job.id]

    job = wait_for(lambda: job_settled(job.id, broker), message="the worker to run the due job")
    assert job.status == ImportStatus.COMPLETED, job.failure_reason
    assert job.attempts == 1
    assert_users_written_once(job)
    assert len(completion_emails(email_dir, job)) == 1
