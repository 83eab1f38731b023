"""Who saw student data, and who set an import going or stopped it: recorded with user, time and address,
shown on the import's details page to the district's admins, and kept past the file retention period."""
import datetime
import io

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from imports.models import ImportJob, ImportStatus, WizardStep
from imports.services import maintenance
from imports.tests.factories import make_import_job, run_job, student, write_csv
from users.models import AuditAction, AuditEvent
from users.tests.factories import make_admin, make_district

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_safety_hold")]

ADDRESS = "203.0.113.7"


@pytest.fixture
def admin_client(client, district_admin):
    client.force_login(district_admin)
    client.defaults["REMOTE_ADDR"] = ADDRESS
    return client


@pytest.fixture
def finished_job(district, district_admin, school, tmp_path):
    path = write_csv(tmp_path / "roster.csv", [student("1001"), student("1002")])
    job = run_job(make_import_job(district, [path], created_by=district_admin))
    assert job.is_finished
    return job


def _events(**kw):
    return list(AuditEvent.objects.filter(**kw).order_by("id"))


def _held(job: ImportJob) -> ImportJob:
    ImportJob.objects.filter(id=job.id).update(status=ImportStatus.ON_HOLD, submitted_at=timezone.now())
    job.refresh_from_db()
    return job


def test_each_download_is_recorded_with_who_when_and_where(admin_client, district_admin, finished_job):
    file_id = finished_job.files.get().id
    urls = {
        AuditAction.DOWNLOAD_ORIGINAL: reverse("imports:original_file", args=[finished_job.number, file_id]),
        AuditAction.DOWNLOAD_ERRORS: reverse("imports:error_report", args=[finished_job.number]),
        AuditAction.DOWNLOAD_RESULTS: reverse("imports:results_report", args=[finished_job.number]),
    }
    before = timezone.now()
    for url in urls.values():
        response = admin_client.get(url)
        assert response.status_code == 200
        b"".join(response.streaming_content if response.streaming else [response.content])

    events = _events(job=finished_job)
    assert [e.action for e in events] == list(urls)
    for event in events:
        assert (event.actor, event.actor_label, event.ip_address) == (district_admin, district_admin.username, ADDRESS)
        assert event.district == finished_job.district and event.created_at >= before
    assert events[0].detail == {"file_id": file_id}


def test_another_districts_admin_gets_a_404_and_leaves_no_record(client, finished_job):
    other = make_admin(make_district())
    client.force_login(other)

    response = client.get(reverse("imports:results_report", args=[finished_job.number]))

    assert response.status_code == 404
    assert not AuditEvent.objects.exists()


def test_submitting_in_the_wizard_is_recorded(admin_client, district, district_admin, school, tmp_path):
    job = make_import_job(district, [write_csv(tmp_path / "r.csv", [student("1")])], created_by=district_admin)
    assert job.step == WizardStep.REVIEW

    response = admin_client.post(reverse("imports:review", args=[job.number]))

    assert response.status_code == 302
    [event] = _events(job=job)
    assert (event.action, event.actor, event.ip_address) == (AuditAction.SUBMIT, district_admin, ADDRESS)


@pytest.mark.parametrize("view, action", [
    ("imports:approve", AuditAction.APPROVE),
    ("imports:discard", AuditAction.DISCARD),
    ("imports:cancel", AuditAction.CANCEL),
])
def test_approve_discard_and_cancel_are_recorded(admin_client, district, district_admin, school, tmp_path, view, action):
    job = _held(make_import_job(district, [write_csv(tmp_path / "r.csv", [student("1")])], created_by=district_admin))

    admin_client.post(reverse(view, args=[job.number]))

    [event] = _events(job=job)
    assert (event.action, event.actor, event.ip_address) == (action, district_admin, ADDRESS)


def test_a_refused_action_is_not_recorded(admin_client, finished_job):
    admin_client.post(reverse("imports:cancel", args=[finished_job.number]))  # finished: nothing to cancel
    admin_client.post(reverse("imports:approve", args=[finished_job.number]))

    assert not AuditEvent.objects.exists()


def test_the_commands_record_approve_and_discard_with_the_as_admin_or_none(district, district_admin, school, tmp_path):
    first = _held(make_import_job(district, [write_csv(tmp_path / "a.csv", [student("1")])], created_by=district_admin))
    second = _held(make_import_job(district, [write_csv(tmp_path / "b.csv", [student("2")])], created_by=district_admin))

    call_command("approve_import", first.number, district=district.slug, as_user=district_admin.username, stdout=io.StringIO())
    call_command("discard_import", second.number, district=district.slug, stdout=io.StringIO())

    [approved] = _events(job=first)
    [discarded] = _events(job=second)
    assert (approved.action, approved.actor, approved.ip_address) == (AuditAction.APPROVE, district_admin, None)
    assert (discarded.action, discarded.actor, discarded.actor_label) == (AuditAction.DISCARD, None, "")
    first.refresh_from_db()
    assert first.approved_by == district_admin


def test_import_users_records_the_submit(district, district_admin, school, tmp_path):
    path = write_csv(tmp_path / "r.csv", [student("1")])

    call_command("import_users", str(path), district=district.slug, as_user=district_admin.username, stdout=io.StringIO())

    [event] = _events(action=AuditAction.SUBMIT)
    assert (event.actor, event.job.district) == (district_admin, district)


def test_the_details_page_shows_the_jobs_events_to_the_districts_admins(admin_client, district, district_admin, finished_job, tmp_path, school):
    admin_client.get(reverse("imports:results_report", args=[finished_job.number]))
    other_job = run_job(make_import_job(district, [write_csv(tmp_path / "o.csv", [student("9")])], created_by=district_admin))
    admin_client.get(reverse("imports:error_report", args=[other_job.number]))

    page = admin_client.get(reverse("imports:detail", args=[finished_job.number])).content.decode()

    activity = page[page.index('id="activity"'):]
    assert "Downloaded a results report" in activity and ADDRESS in activity and district_admin.username in activity
    assert "Downloaded an error report" not in activity  # another job's event


def test_the_records_outlive_the_file_retention_purge(admin_client, district, finished_job):
    admin_client.get(reverse("imports:results_report", args=[finished_job.number]))
    district.file_retention_days = 30
    district.save()
    ImportJob.objects.filter(id=finished_job.id).update(completed_at=timezone.now() - datetime.timedelta(days=31))

    assert maintenance.files_purge_expired() == 1

    assert finished_job.files.get().deleted_at is not None
    [event] = _events(job=finished_job)
    assert event.action == AuditAction.DOWNLOAD_RESULTS
    page = admin_client.get(reverse("imports:detail", args=[finished_job.number])).content.decode()
    assert "Downloaded a results report" in page
