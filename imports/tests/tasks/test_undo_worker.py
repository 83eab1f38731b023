"""An undo runs through a real Celery worker against Redis and PostgreSQL, once, even when its
task is delivered twice, and its completion email arrives once."""
import pytest

from imports.models import ImportChange, ImportStatus
from imports.services import undo
from imports.tasks import run_import
from imports.tests.factories import make_import_job, run_job, student, write_csv
from users.models import User

from .worker import job_settled, needs_services, sent_emails, wait_for

pytestmark = [pytest.mark.services, needs_services]


def test_an_undo_delivered_twice_runs_once_in_the_worker(workers, broker, open_district, email_dir, tmp_path):
    rows = [student("1001"), student("1002"), student("1003")]
    imported = run_job(make_import_job(open_district, [write_csv(tmp_path / "wrong.csv", rows)], created_by=open_district.admin))
    assert imported.status == ImportStatus.COMPLETED, imported.failure_reason
    workers(concurrency=2)

    started = undo.import_undo_request(job=imported, requested_by=open_district.admin)
    run_import.delay(started.id)  # a second delivery, as after a broker restart

    done = wait_for(lambda: job_settled(started.id, broker), message="the worker to run the undo and send its email")
    assert done.status == ImportStatus.COMPLETED, done.failure_reason
    assert done.attempts == 1
    assert not User.objects.filter(created_by_import=imported, is_active=True).exists()
    assert ImportChange.objects.filter(job=done).count() == 3
    [email] = [m for m in sent_emails(email_dir) if m["Subject"].startswith(f"Classworks import {done.number} ")]
    assert email["Subject"] == f"Classworks import {done.number} (undo of import {imported.number}): Completed"
    assert email["To"] == open_district.admin.email
