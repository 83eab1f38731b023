"""File passwords are hashed by batch tasks that any worker can take; only row ranges travel."""
import pytest
from django.contrib.auth.hashers import check_password
from django.core import mail

from imports.models import ImportStatus, PasswordBatch, PasswordBatchStatus
from imports.services import jobs, passwords, runs
from imports.tests.factories import FULL_HEADER, IN_WINDOW, make_import_job, student, write_csv
from users.models import User
from users.tests.factories import make_admin, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_safety_hold")]
SECRET = "Str0ng-batch-Passw0rd!"


@pytest.fixture
def batch_size(monkeypatch):
    monkeypatch.setattr(passwords, "HASH_BATCH_ROWS", 2)
    return 2


def _job(district, tmp_path, rows, **kw):
    admin = make_admin(district, email="admin@example.org")
    job = make_import_job(district, [write_csv(tmp_path / "pw.csv", rows, header=FULL_HEADER)], created_by=admin, **kw)
    return jobs.import_job_submit(job=job, now=IN_WINDOW, dispatch=False)


def test_a_worker_fans_hashing_out_and_the_last_batch_completes_the_job(
    district, school, tmp_path, batch_size, django_capture_on_commit_callbacks
):
    rows = [student(str(n), Password=f"{SECRET}{n}") for n in range(1, 6)] + [student("6")]
    job = _job(district, tmp_path, rows)

    with django_capture_on_commit_callbacks(execute=True):
        runs.import_job_run(job_id=job.id)  # what the run_import task does

    job.refresh_from_db()
    batches = PasswordBatch.objects.filter(job=job)
    # Rows 0-4 carry passwords, in batches of two: [0,2) [2,4) [4,6).
    assert sorted(b.start_index for b in batches) == [0, 2, 4]
    assert all(b.status == PasswordBatchStatus.DONE for b in batches)
    assert sum(b.hashed for b in batches) == 5
    assert job.status == ImportStatus.COMPLETED and job.status_note == ""
    for n in range(1, 6):
        assert check_password(f"{SECRET}{n}", User.objects.get(district_user_id=str(n)).password)
    assert not User.objects.get(district_user_id="6").has_usable_password()
    assert len([m for m in mail.outbox if m.to == ["admin@example.org"]]) == 1


def test_while_batches_wait_the_job_is_running_with_a_note_and_users_have_no_usable_password(
    district, school, tmp_path, batch_size, django_capture_on_commit_callbacks
):
    job = _job(district, tmp_path, [student("1", Password=SECRET), student("2", Password=SECRET)])

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        runs.import_job_run(job_id=job.id)

    job.refresh_from_db()
    assert job.status == ImportStatus.RUNNING and job.status_note.startswith("Setting passwords")
    assert not User.objects.get(district_user_id="1").has_usable_password()
    assert len(callbacks) == 1  # one batch task, sent on commit; it carries only the batch id


def test_a_redelivered_batch_hashes_nothing_twice(district, school, tmp_path, batch_size, django_capture_on_commit_callbacks):
    job = _job(district, tmp_path, [student("1", Password=SECRET)])
    with django_capture_on_commit_callbacks(execute=True):
        runs.import_job_run(job_id=job.id)
    batch = PasswordBatch.objects.get(job=job)
    stored = User.objects.get(district_user_id="1").password

    runs.password_batch_run(batch_id=batch.id)

    assert User.objects.get(district_user_id="1").password == stored


def test_maintain_password_never_hashes_over_an_existing_users_password(
    district, school, tmp_path, batch_size, django_capture_on_commit_callbacks
):
    existing = make_user(district, district_user_id="1", first_name="Ada", last_name="Lovelace", school=school)
    before = existing.password
    job = _job(district, tmp_path, [student("1", Password=SECRET), student("2", Password=SECRET)])

    with django_capture_on_commit_callbacks(execute=True):
        runs.import_job_run(job_id=job.id)

    assert User.objects.get(id=existing.id).password == before
    assert check_password(SECRET, User.objects.get(district_user_id="2").password)


def test_the_note_counts_the_files_rows_not_the_batch_size(district, school, tmp_path, django_capture_on_commit_callbacks):
    # One batch of up to 200 rows, for a 3-row file: "0 of 3", never "0 of 200".
    job = _job(district, tmp_path, [student(str(n), Password=f"{SECRET}{n}") for n in range(1, 4)])

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        runs.import_job_run(job_id=job.id)

    job.refresh_from_db()
    assert job.status_note == "Setting passwords: 0 of 3 rows (0.0 per second)."
    with django_capture_on_commit_callbacks(execute=True):
        for callback in callbacks:
            callback()
    job.refresh_from_db()
    assert job.status == ImportStatus.COMPLETED
