"""Trust, faults: a crashing worker, a database error, a rolled-back submit and a dead SMTP server
each leave the district with a job in a clear state, consistent users and a reason it can read."""
import io
import smtplib
from collections import Counter

import pytest
from django.core.management import call_command
from django.db import transaction
from django.db.utils import OperationalError
from django.urls import reverse
from django.utils import timezone

from imports import tasks
from imports.models import EmailKind, EmailStatus, ImportEmail, ImportJob, ImportStatus
from imports.services import emails, jobs, runs
from imports.targets.users import UsersTarget
from imports.tests.factories import IN_WINDOW, make_import_job, run_job, staff, student, write_csv
from users.models import User

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_safety_hold")]

ROWS = 5


class WorkerKilled(BaseException):
    """An OOM kill or a deploy as the worker sees it: nothing is caught and the job stays Running."""


def _district_ids(district) -> Counter:
    return Counter(User.objects.filter(district=district, district_user_id__isnull=False).values_list("district_user_id", flat=True))


def _heartbeat_goes_stale(job):
    ImportJob.objects.filter(id=job.id).update(heartbeat_at=timezone.now() - runs.STALE_HEARTBEAT * 2)


@pytest.fixture
def due_job(district, district_admin, school, tmp_path):
    """Five new students, submitted by the admin inside the off-peak window: due at once."""
    path = write_csv(tmp_path / "roster.csv", [student(str(n)) for n in range(1, ROWS + 1)])
    job = make_import_job(district, [path], created_by=district_admin)
    return jobs.import_job_submit(job=job, now=IN_WINDOW, dispatch=False)


# --- 2. A job that fails on every run ends up Failed, with the reason, after a bounded number of tries ---


def test_a_job_whose_worker_dies_on_every_run_is_failed_with_a_reason_and_never_loops(
    due_job, district_admin_client, monkeypatch
):
    runs_started = []

    def worker_dies(*, job, **kwargs):
        runs_started.append(job.attempts)
        raise WorkerKilled()

    monkeypatch.setattr(runs, "import_job_apply", worker_dies)
    attempts_seen = []
    for _ in range(10):
        # The periodic dispatcher and a re-delivered task message both try to take the job again.
        for deliver in (runs.import_jobs_dispatch_due, lambda: runs.import_job_run(job_id=due_job.id)):
            try:
                deliver()
            except WorkerKilled:
                pass
            _heartbeat_goes_stale(due_job)
            due_job.refresh_from_db()
            attempts_seen.append(due_job.attempts)

    assert runs_started == list(range(1, runs.MAX_ATTEMPTS + 1))  # each re-claim counted one more attempt
    assert attempts_seen == sorted(attempts_seen)
    assert due_job.attempts <= runs.MAX_ATTEMPTS + 1
    assert due_job.status == ImportStatus.FAILED
    assert f"stopped {runs.MAX_ATTEMPTS} times" in due_job.failure_reason
    assert due_job.completed_at is not None
    assert runs.import_jobs_dispatch_due() == []
    assert ImportEmail.objects.filter(job=due_job, kind=EmailKind.COMPLETION).exists()  # the admin is told
    page = district_admin_client.get(reverse("imports:detail", args=[due_job.number])).content.decode()
    assert "Failed" in page and f"stopped {runs.MAX_ATTEMPTS} times" in page


def _insert_fails_on_call(monkeypatch, failing_call: int, error: BaseException, *, every_later_call: bool = False):
    """Make the users' insert raise on its n-th call (one call per chunk of new users); returns the District IDs asked for."""
    real_insert, inserts = UsersTarget.insert, []

    def insert(self, new_users):
        inserts.append([u["district_user_id"] for u in new_users])
        if len(inserts) == failing_call or (every_later_call and len(inserts) > failing_call):
            real_insert(self, new_users[:1])  # part of the chunk reached the table before the error
            raise error
        return real_insert(self, new_users)

    monkeypatch.setattr(UsersTarget, "insert", insert)
    return inserts


def test_an_error_inside_the_run_fails_the_job_at_once_with_the_row_reached(due_job, settings, monkeypatch, district_admin_client):
    settings.IMPORT_CHUNK_ROWS = 2
    inserts = _insert_fails_on_call(monkeypatch, 2, ValueError("unexpected value for Ada Lovelace"))

    runs.import_job_run(job_id=due_job.id)

    due_job.refresh_from_db()
    assert (due_job.status, due_job.attempts, due_job.rows_committed) == (ImportStatus.FAILED, 1, 2)
    assert due_job.failed_row == 4  # District ID 3: spreadsheet row 4, the first of the chunk that failed
    assert due_job.failure_reason == runs.FAILED_UNEXPECTED.format(row=4, error="ValueError")
    # Running the same data again would fail again: nothing retries it on its own.
    assert runs.import_jobs_dispatch_due() == []
    assert runs.import_job_run(job_id=due_job.id) is None
    due_job.refresh_from_db()
    assert (due_job.status, due_job.attempts, len(inserts)) == (ImportStatus.FAILED, 1, 2)
    page = district_admin_client.get(reverse("imports:detail", args=[due_job.number])).content.decode()
    assert "stopped at row 4" in page and "unexpected value" not in page  # an error's text may quote student data


def test_a_job_failed_for_too_many_attempts_names_the_spreadsheet_row_it_reached(due_job, settings, monkeypatch):
    settings.IMPORT_CHUNK_ROWS = 2
    _insert_fails_on_call(monkeypatch, 2, WorkerKilled(), every_later_call=True)  # dies after the first chunk, every time
    for _ in range(runs.MAX_ATTEMPTS + 2):
        try:
            runs.import_job_run(job_id=due_job.id)
        except WorkerKilled:
            pass
        _heartbeat_goes_stale(due_job)

    due_job.refresh_from_db()
    assert (due_job.status, due_job.rows_committed) == (ImportStatus.FAILED, 2)
    assert due_job.failed_row == 4  # District ID 3 is on spreadsheet row 4


# --- 3. A database error in the middle of the apply step ---


def test_a_database_error_mid_apply_keeps_whole_chunks_and_run_import_finishes_without_duplicates(
    due_job, district, settings, monkeypatch
):
    settings.IMPORT_CHUNK_ROWS = 2
    inserts = _insert_fails_on_call(monkeypatch, 2, OperationalError("server closed the connection unexpectedly"))

    runs.import_job_run(job_id=due_job.id)

    due_job.refresh_from_db()
    assert due_job.status == ImportStatus.FAILED
    assert due_job.failed_row == 4  # the first row of the chunk that failed (District ID 3; row 1 is the header)
    assert due_job.rows_committed == 2
    assert "OperationalError" in due_job.failure_reason
    assert _district_ids(district) == {"1": 1, "2": 1}  # the first chunk exactly; nothing of the failed one
    assert due_job.counts["created"] == 2

    call_command("run_import", due_job.number, district=district.slug, stdout=io.StringIO(), stderr=io.StringIO())

    due_job.refresh_from_db()
    assert due_job.status == ImportStatus.COMPLETED, due_job.failure_reason
    assert inserts == [["1", "2"], ["3", "4"], ["3", "4"], ["5"]]  # the committed chunk was not written again
    assert _district_ids(district) == {str(n): 1 for n in range(1, ROWS + 1)}
    assert (due_job.counts["rows"], due_job.counts["created"], due_job.counts["updated"]) == (ROWS, ROWS, 0)
    assert (due_job.failure_reason, due_job.failed_row) == ("", None)
    assert User.objects.filter(created_by_import=due_job).count() == ROWS


# --- 4. Submit, then an exception before commit ---


@pytest.mark.django_db(transaction=True)
def test_a_submit_rolled_back_by_a_later_error_never_reaches_a_worker(district, school, tmp_path, monkeypatch):
    job = make_import_job(district, [write_csv(tmp_path / "roster.csv", [student("1")])])
    handed_to_worker = []
    monkeypatch.setattr(tasks.run_import, "delay", lambda *args, **kwargs: handed_to_worker.append(args))

    with pytest.raises(RuntimeError):
        with transaction.atomic():
            submitted = jobs.import_job_submit(job=job, now=IN_WINDOW)
            assert submitted.status == ImportStatus.SCHEDULED  # due at once: it would run if enqueued now
            raise RuntimeError("the request failed after the submit")

    assert handed_to_worker == []
    job.refresh_from_db()
    assert (job.status, job.submitted_at, job.run_after) == (ImportStatus.DRAFT, None, None)
    assert User.objects.filter(district=district, district_user_id="1").count() == 0

    jobs.import_job_submit(job=job, now=IN_WINDOW)  # the same submit, committed

    assert handed_to_worker == [(job.id,)]


# --- 5. SMTP down ---

SMTP_DOWN = smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


def test_the_email_task_retries_with_backoff_on_pending_emails():
    assert emails.EmailsPending in tasks.send_import_emails.autoretry_for
    assert tasks.send_import_emails.retry_backoff
    assert tasks.send_import_emails.max_retries == emails.MAX_SEND_ATTEMPTS


def test_smtp_down_leaves_the_job_completed_shows_the_error_and_sends_each_email_once_when_back(
    district, district_admin, district_admin_client, school, tmp_path, monkeypatch, mailoutbox
):
    path = write_csv(tmp_path / "roster.csv", [student("1"), staff("T-1"), staff("T-2")])
    job = make_import_job(district, [path], created_by=district_admin, email_staff=True)
    real_send_mail = emails.send_mail

    def smtp_down(*args, **kwargs):
        raise SMTP_DOWN

    monkeypatch.setattr(emails, "send_mail", smtp_down)
    job = run_job(job)
    assert job.status == ImportStatus.COMPLETED

    with pytest.raises(emails.EmailsPending):
        emails.import_emails_send(job_id=job.id)

    job.refresh_from_db()
    assert job.status == ImportStatus.COMPLETED
    assert "SMTPServerDisconnected" in job.completion_email_error
    assert set(ImportEmail.objects.filter(job=job).values_list("status", flat=True)) == {EmailStatus.PENDING}
    page = district_admin_client.get(reverse("imports:detail", args=[job.number])).content.decode()
    assert "Completion email" in page and "SMTPServerDisconnected" in page
    assert mailoutbox == []

    monkeypatch.setattr(emails, "send_mail", real_send_mail)  # the server is back
    assert emails.import_emails_send(job_id=job.id) == 3
    assert emails.import_emails_send(job_id=job.id) == 0

    recipients = sorted(m.to[0] for m in mailoutbox)
    assert recipients == sorted([district_admin.email, "t-1@springfield.example.org", "t-2@springfield.example.org"])
    job.refresh_from_db()
    assert (job.status, job.completion_email_error) == (ImportStatus.COMPLETED, "")
    page = district_admin_client.get(reverse("imports:detail", args=[job.number])).content.decode()
    assert "Completion email" not in page and "SMTPServerDisconnected" not in page


def test_a_long_smtp_outage_gives_up_after_the_retries_and_says_so(
    district, district_admin, district_admin_client, school, tmp_path, monkeypatch, mailoutbox
):
    job = run_job(make_import_job(district, [write_csv(tmp_path / "roster.csv", [student("1")])], created_by=district_admin))
    tries = []

    def smtp_down(*args, **kwargs):
        tries.append(args[3])
        raise SMTP_DOWN

    monkeypatch.setattr(emails, "send_mail", smtp_down)

    # Eager in tests: Celery runs the retries one after another instead of waiting for the backoff,
    # and hands each Retry back to apply() only when eager errors do not propagate.
    monkeypatch.setitem(tasks.send_import_emails.app.conf, "task_eager_propagates", False)
    tasks.send_import_emails.apply(args=[job.id])

    assert len(tries) == emails.MAX_SEND_ATTEMPTS  # bounded: the email is tried a known number of times
    email = ImportEmail.objects.get(job=job)
    assert (email.status, email.attempts) == (EmailStatus.FAILED, emails.MAX_SEND_ATTEMPTS)
    job.refresh_from_db()
    assert job.status == ImportStatus.COMPLETED
    assert job.completion_email_error.startswith("Not sent: SMTPServerDisconnected")
    page = district_admin_client.get(reverse("imports:detail", args=[job.number])).content.decode()
    assert "Not sent: SMTPServerDisconnected" in page
