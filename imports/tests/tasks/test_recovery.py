"""Imports survive a killed worker and a restarted Redis without an operator, and never apply twice."""
import datetime

import pytest
from django.db import connection
from django.db.models import Count, F
from django.utils import timezone

from classworks_import.celery import app
from imports.models import EmailKind, ImportEmail, ImportJob, ImportStatus
from imports.services import jobs, runs
from imports.tasks import dispatch_due_imports, run_import
from imports.tests.factories import make_import_job, staff, student, write_csv
from users.models import User

from .worker import (
    job_settled, needs_services, queue_length, sent_emails, unacked_count, unacked_redeliver, unacked_tags, wait_for,
)

pytestmark = [pytest.mark.services, needs_services]

BIG_ROWS = 60_000
CHUNK_ROWS = 5_000
# Staff rows land both in chunks committed before the kill and in chunks written after it.
STAFF_AT = (10, 20_000, 40_000, 59_990, 60_000)


def big_roster(path):
    staff_ids = {position: f"T-{position}" for position in STAFF_AT}
    rows = [
        staff(staff_ids[n]) if n in staff_ids else student(f"S{n:06d}")
        for n in range(1, BIG_ROWS + 1)
    ]
    return write_csv(path, rows), [staff(i)["Email Address"] for i in staff_ids.values()]


def other_database_sessions() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def duplicate_district_ids(job):
    return list(
        User.objects.filter(district=job.district).exclude(district_user_id=None)
        .values("district_user_id").annotate(c=Count("id")).filter(c__gt=1)
    )


def test_killed_worker_is_resumed_by_the_sweeper_without_duplicates(workers, broker, open_district, email_dir, tmp_path):
    path, staff_emails = big_roster(tmp_path / "district.csv")
    job = make_import_job(open_district, [path], created_by=open_district.admin, email_staff=True)
    assert job.validation_summary["counts"]["errors"] == 0
    chunked = {"IMPORT_CHUNK_ROWS": str(CHUNK_ROWS)}
    first = workers(env=chunked)

    jobs.import_job_submit(job=job)
    wait_for(
        lambda: ImportJob.objects.filter(id=job.id, rows_committed__gt=0).exists(), timeout=90, interval=0.02,
        message="the first chunk to be committed",
    )
    first.kill()

    job.refresh_from_db()
    assert job.status == ImportStatus.RUNNING and job.attempts == 1
    assert 0 < job.rows_committed < BIG_ROWS, "the worker must die part-way through"
    # The chunk in flight was rolled back with the dead connection: only whole chunks are written.
    wait_for(lambda: other_database_sessions() == 0, timeout=30, message="PostgreSQL to end the dead worker's session")
    assert User.objects.filter(created_by_import=job).count() == job.rows_committed
    # Redis still holds the dead worker's message unacknowledged (acks_late).
    dead_tags = unacked_tags(broker)
    assert len(dead_tags) == 1 and queue_length(broker) == 0
    [dead_task_id] = first.task_ids("imports.tasks.run_import")

    # Nobody touches the job. Its heartbeat goes stale after runs.STALE_HEARTBEAT (5 minutes); the
    # test backdates it instead of waiting that long.
    ImportJob.objects.filter(id=job.id).update(heartbeat_at=F("heartbeat_at") - runs.STALE_HEARTBEAT - datetime.timedelta(minutes=1))
    second = workers(env=chunked, concurrency=2)
    # The periodic sweep, as beat sends it every minute, runs in the worker and re-dispatches the job.
    dispatch_due_imports.delay()
    wait_for(lambda: ImportJob.objects.get(id=job.id).attempts == 2, timeout=30, message="the sweeper to resume the job")
    # Redis re-delivers the dead worker's message too (after its visibility timeout): its claim finds
    # the job taken and does nothing.
    unacked_redeliver(app, broker, dead_tags)
    second.wait_task_succeeded(dead_task_id, timeout=90)

    job = wait_for(lambda: job_settled(job.id, broker), timeout=90, message="the resumed job to finish")
    assert job.status == ImportStatus.COMPLETED, job.failure_reason
    assert job.attempts == 2
    assert duplicate_district_ids(job) == []
    assert User.objects.filter(created_by_import=job).count() == BIG_ROWS
    assert job.counts["created"] == job.counts["rows"] == BIG_ROWS
    assert job.rows_committed == BIG_ROWS
    emails = sent_emails(email_dir)
    completion = [m["To"] for m in emails if m["Subject"].startswith(f"Classworks import {job.number}:")]
    logins = [m["To"] for m in emails if m["Subject"] == "Your Classworks login"]
    assert completion == [open_district.admin.email]
    assert sorted(logins) == sorted(staff_emails)
    assert len(emails) == 1 + len(staff_emails)


def test_job_lost_with_a_restarted_redis_is_dispatched_again_and_runs_once(workers, broker, open_district, email_dir, tmp_path):
    rows = [student("1001"), student("1002"), staff("T-1")]
    job = make_import_job(open_district, [write_csv(tmp_path / "roster.csv", rows)], created_by=open_district.admin)

    # No worker is running: the job is submitted and the minute's sweep runs, recording dispatched_at.
    job = jobs.import_job_submit(job=job)
    runs.import_jobs_dispatch_due()
    assert queue_length(broker) >= 1
    # Redis restarts without persistence: every queued message is gone.
    broker.flushdb()
    assert queue_length(broker) == 0
    worker = workers(concurrency=2)

    # Within runs.REDISPATCH_AFTER the message may still be on its way, so the sweep waits...
    assert runs.import_jobs_dispatch_due() == []
    job.refresh_from_db()
    assert job.status == ImportStatus.SCHEDULED and job.attempts == 0
    # ...and once that has passed (backdated here rather than waited for), it dispatches again.
    ImportJob.objects.filter(id=job.id).update(dispatched_at=F("dispatched_at") - runs.REDISPATCH_AFTER - datetime.timedelta(minutes=1))
    assert runs.import_jobs_dispatch_due() == [job.id]
    # A second sweeper racing the first sends the same job again: the claim lets only one run it.
    duplicate = run_import.delay(job.id)
    worker.wait_task_succeeded(duplicate.id)

    job = wait_for(lambda: job_settled(job.id, broker), message="the re-dispatched job to finish")
    assert job.status == ImportStatus.COMPLETED, job.failure_reason
    assert job.attempts == 1
    assert User.objects.filter(created_by_import=job).count() == 3
    assert duplicate_district_ids(job) == []
    assert ImportEmail.objects.filter(job=job, kind=EmailKind.COMPLETION).count() == 1
    completion = [m for m in sent_emails(email_dir) if m["Subject"].startswith(f"Classworks import {job.number}:")]
    assert [m["To"] for m in completion] == [open_district.admin.email]
    assert unacked_count(broker) == 0


def test_worker_presumed_dead_while_alive_hands_over_without_a_premature_email(workers, broker, open_district, email_dir, tmp_path):
    """A worker that stalls past the heartbeat limit (a long re-validation, a paused VM) is presumed dead.

    The run that takes over finds the district lock still held, puts the job back to wait, and the
    stalled worker stops at its next chunk. The admin must get one completion email, when it completes.
    """
    path, staff_emails = big_roster(tmp_path / "district.csv")
    job = make_import_job(open_district, [path], created_by=open_district.admin, email_staff=True)
    worker = workers(env={"IMPORT_CHUNK_ROWS": str(CHUNK_ROWS)})
    jobs.import_job_submit(job=job)
    wait_for(
        lambda: ImportJob.objects.filter(id=job.id, rows_committed__gt=0).exists(), timeout=90, interval=0.02,
        message="the first chunk to be committed",
    )
    ImportJob.objects.filter(id=job.id).update(heartbeat_at=F("heartbeat_at") - runs.STALE_HEARTBEAT - datetime.timedelta(minutes=1))

    # Another worker takes the job over, here in the test process: the stalled worker holds the lock.
    runs.import_job_run(job_id=job.id)
    [stalled_task_id] = worker.task_ids("imports.tasks.run_import")
    worker.wait_task_succeeded(stalled_task_id, timeout=90)
    wait_for(lambda: queue_length(broker) == 0 and unacked_count(broker) == 0, message="the worker to go idle")

    job.refresh_from_db()
    assert job.status == ImportStatus.SCHEDULED and job.status_note == runs.WAITING_NOTE
    assert 0 < job.rows_committed < BIG_ROWS
    assert User.objects.filter(created_by_import=job).count() == job.rows_committed
    assert not ImportEmail.objects.filter(job=job, kind=EmailKind.COMPLETION).exists()
    assert sent_emails(email_dir) == []

    # runs.LOCK_RETRY_DELAY later (backdated here) the sweep dispatches it and it resumes.
    ImportJob.objects.filter(id=job.id).update(run_after=timezone.now() - datetime.timedelta(seconds=1))
    assert runs.import_jobs_dispatch_due() == [job.id]
    job = wait_for(lambda: job_settled(job.id, broker), timeout=90, message="the resumed job to finish")
    assert job.status == ImportStatus.COMPLETED, job.failure_reason
    assert duplicate_district_ids(job) == []
    assert User.objects.filter(created_by_import=job).count() == job.counts["created"] == BIG_ROWS
    emails = sent_emails(email_dir)
    assert [m["Subject"] for m in emails if m["To"] == open_district.admin.email] == [
        f"Classworks import {job.number}: Completed"
    ]
    assert sorted(m["To"] for m in emails if m["Subject"] == "Your Classworks login") == sorted(staff_emails)
