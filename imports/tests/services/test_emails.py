"""Who gets which email: staff their login link, the submitting admin one completion notice, nobody anything twice."""
import datetime
import re

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.utils import timezone

from imports.models import EmailKind, EmailStatus, ImportEmail, ImportStatus
from imports.services import emails, jobs, runs
from imports.services.maintenance import INTERRUPTED_SEND, emails_mark_interrupted
from imports.tasks import send_import_emails
from imports.tests.factories import FULL_HEADER, IN_WINDOW, make_import_job, run_job, staff, student, write_csv
from users.models import User, UserType
from users.tests.factories import make_admin, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_safety_hold")]

STAFF_PASSWORD = "Staff-Secret-4410"
LINK = re.compile(r"http://testserver/accounts/reset/(?P<uid>[^/\s]+)/(?P<token>[^/\s]+)/")


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.SITE_URL = "http://testserver"


def _staff_import(district, tmp_path, *, email_staff=True, created_by=None):
    # An account made before this import that nobody has set up yet: it may still get a link.
    make_user(district, district_user_id="T-2", user_type=UserType.STAFF, email="t-2@springfield.example.org",
              first_name="Grace", last_name="Hopper", password=None)
    make_user(district, district_user_id="T-9", user_type=UserType.STAFF, email="not-on-file@springfield.example.org")
    rows = [
        staff("T-1", Password=STAFF_PASSWORD),                        # new staff
        staff("T-2"),                                                 # existing staff never set up, unchanged
        student("1001", **{"Email Address": "ada@example.org"}),      # a student: no login email
    ]
    path = write_csv(tmp_path / "roster.csv", rows, header=FULL_HEADER)
    return run_job(make_import_job(district, [path], email_staff=email_staff, created_by=created_by))


def _login_emails(outbox):
    return [m for m in outbox if m.subject == "Your Classworks login"]


def test_every_staff_user_on_the_file_gets_username_and_a_set_password_link(district, school, tmp_path, mailoutbox):
    job = _staff_import(district, tmp_path)

    sent = emails.import_emails_send(job_id=job.id)

    assert sent == 2
    by_recipient = {m.to[0]: m for m in _login_emails(mailoutbox)}
    assert sorted(by_recipient) == ["t-1@springfield.example.org", "t-2@springfield.example.org"]
    for district_id in ("T-1", "T-2"):
        user = User.objects.get(district=district, district_user_id=district_id)
        body = by_recipient[user.email].body
        assert f"Your username: {user.username}" in body
        link = LINK.search(body)
        assert link and default_token_generator.check_token(user, link["token"])
        assert STAFF_PASSWORD not in body
    assert set(ImportEmail.objects.filter(job=job).values_list("status", flat=True)) == {EmailStatus.SENT}


def test_no_login_emails_unless_the_admin_asks(district, school, tmp_path, mailoutbox):
    job = _staff_import(district, tmp_path, email_staff=False)

    emails.import_emails_send(job_id=job.id)

    assert _login_emails(mailoutbox) == []


def test_the_set_password_link_works_once(district, school, tmp_path, mailoutbox, client):
    job = _staff_import(district, tmp_path)
    emails.import_emails_send(job_id=job.id)
    message = next(m for m in mailoutbox if m.to == ["t-1@springfield.example.org"])
    path = LINK.search(message.body)[0].removeprefix("http://testserver")

    form = client.get(path, follow=True)
    assert form.context["validlink"]
    done = client.post(form.redirect_chain[-1][0], {"new_password1": "A-new-pass-2291", "new_password2": "A-new-pass-2291"})
    assert done.status_code == 302

    assert User.objects.get(district_user_id="T-1").check_password("A-new-pass-2291")
    again = client.get(path, follow=True)
    assert not again.context["validlink"]


def test_sending_twice_sends_nothing_twice(district, school, tmp_path, mailoutbox):
    job = _staff_import(district, tmp_path)

    assert emails.import_emails_send(job_id=job.id) == 2
    assert emails.import_emails_send(job_id=job.id) == 0
    send_import_emails.delay(job.id)
    send_import_emails.delay(job.id)

    assert len(mailoutbox) == 2


def test_a_rerun_of_the_job_owes_no_new_login_emails(district, school, tmp_path, mailoutbox):
    job = _staff_import(district, tmp_path)
    emails.import_emails_send(job_id=job.id)

    assert runs.import_job_run(job_id=job.id) is None  # finished: nothing to claim
    emails.import_emails_send(job_id=job.id)

    assert ImportEmail.objects.filter(job=job).count() == 2
    assert len(mailoutbox) == 2


def test_a_failed_send_is_retried_and_then_sent_once(district, school, tmp_path, mailoutbox, monkeypatch):
    job = _staff_import(district, tmp_path)
    real_send, calls = emails.send_mail, []

    def flaky_send(*args, **kwargs):
        calls.append(args[3])
        if len(calls) == 1:
            raise ConnectionRefusedError("smtp down")
        return real_send(*args, **kwargs)

    monkeypatch.setattr(emails, "send_mail", flaky_send)
    with pytest.raises(emails.EmailsPending):
        emails.import_emails_send(job_id=job.id)
    assert len(mailoutbox) == 1

    emails.import_emails_send(job_id=job.id)

    assert sorted(m.to[0] for m in mailoutbox) == ["t-1@springfield.example.org", "t-2@springfield.example.org"]


def test_the_completion_email_goes_to_the_submitting_admin_once(
    district, district_admin, school, tmp_path, mailoutbox, django_capture_on_commit_callbacks
):
    path = write_csv(tmp_path / "roster.csv", [student("1"), staff("T-1")])
    job = make_import_job(district, [path], created_by=district_admin, email_staff=True)
    jobs.import_job_submit(job=job, now=IN_WINDOW, dispatch=False)
    with django_capture_on_commit_callbacks(execute=True):
        runs.import_job_run(job_id=job.id)  # queues the emails task on commit, as the worker does
    send_import_emails.delay(job.id)
    emails.import_emails_send(job_id=job.id)

    job.refresh_from_db()
    assert job.status == ImportStatus.COMPLETED
    completion = [m for m in mailoutbox if m.subject.startswith("Classworks import")]
    assert len(completion) == 1
    assert completion[0].to == [district_admin.email]
    assert completion[0].subject == f"Classworks import {job.number}: Completed"
    assert "New: 2" in completion[0].body
    assert f"/imports/{job.number}/" in completion[0].body
    assert [m.to for m in _login_emails(mailoutbox)] == [["t-1@springfield.example.org"]]
    assert job.completion_email_error == ""


def test_a_failed_import_also_tells_the_admin(district, district_admin, school, tmp_path, mailoutbox):
    path = write_csv(tmp_path / "roster.csv", [student("1")])
    job = make_import_job(district, [path], created_by=district_admin)
    school.delete()  # the file no longer validates when the job runs

    job = run_job(job)
    emails.import_emails_send(job_id=job.id)

    assert job.status == ImportStatus.FAILED
    [message] = mailoutbox
    assert (message.to, message.subject) == ([district_admin.email], f"Classworks import {job.number}: Failed")
    assert "no longer validates" in message.body


def test_an_email_whose_worker_died_mid_send_is_shown_as_failed_and_never_sent_again(district, school, tmp_path, mailoutbox):
    admin = make_admin(district, email="admin@example.org")
    job = run_job(make_import_job(district, [write_csv(tmp_path / "r.csv", [student("1")])], created_by=admin))
    email = ImportEmail.objects.get(job=job, kind=EmailKind.COMPLETION)
    ImportEmail.objects.filter(id=email.id).update(status=EmailStatus.SENDING)  # claimed, then the worker died
    later = timezone.now() + datetime.timedelta(hours=2)

    assert emails_mark_interrupted(now=later) == 1
    emails.import_emails_send(job_id=job.id)

    email.refresh_from_db()
    job.refresh_from_db()
    assert email.status == EmailStatus.FAILED and job.completion_email_error == INTERRUPTED_SEND
    assert mailoutbox == []
