"""Import jobs in the ops admin: a read-only list with filters, search, counts and file links, the
original file byte for byte, and actions that call the same services as the pages and commands."""
import html

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from imports.admin import ERROR_RETRY_NOT_FAILED
from imports.models import ImportJob, ImportStatus
from imports.services import jobs, undo
from imports.targets import users_undo
from imports.tests.factories import IN_WINDOW, csv_text, make_import_job, run_job, student
from users.models import AuditAction, AuditEvent, User
from users.tests.factories import make_district, make_school, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_safety_hold")]

CHANGELIST = "admin:imports_importjob_changelist"
# Bytes a re-encoding would not keep: a BOM, CRLF line ends, an accent.
RAW = b"\xef\xbb\xbf" + csv_text([student("1001", **{"First Name": "Jos\u00e9"}), student("1002")]).encode("utf-8")


@pytest.fixture
def ops():
    return make_user(None, username="ops", is_staff=True, is_superuser=True, district_user_id=None)


@pytest.fixture
def ops_client(ops):
    client = Client()
    client.force_login(ops)
    return client


@pytest.fixture
def finished(district, school, tmp_path):
    """Springfield's import 1: two students created, its file exactly RAW."""
    path = tmp_path / "springfield roster.csv"
    path.write_bytes(RAW)
    job = run_job(make_import_job(district, [path]))
    assert job.status == ImportStatus.COMPLETED, job.failure_reason
    ImportJob.objects.filter(id=job.id).update(description="Fall roster")
    job.refresh_from_db()
    return job


@pytest.fixture
def shelbyville_job(tmp_path):
    other = make_district(name="Shelbyville Unified", slug="shelbyville")
    make_school(other, sis_id="101")
    path = tmp_path / "shelby.csv"
    path.write_text(csv_text([student("S-1")]))
    job = make_import_job(other, [path])
    jobs.import_job_submit(job=job, now=IN_WINDOW, dispatch=False)
    ImportJob.objects.filter(id=job.id).update(description="Spring roster", status=ImportStatus.ON_HOLD)
    job.refresh_from_db()
    return job


def _text(response) -> str:
    return html.unescape(response.content.decode())


def _rows(response) -> list[str]:
    return [str(job) + " / " + job.district.slug for job in response.context["cl"].result_list]


def test_the_list_shows_every_districts_jobs_with_type_status_counts_and_file_links(ops_client, finished, shelbyville_job):
    response = ops_client.get(reverse(CHANGELIST))
    page = _text(response)
    assert response.status_code == 200
    assert sorted(_rows(response)) == ["Import 1 / shelbyville", "Import 1 / springfield"]
    assert "created 2" in page and "rows 2" in page
    file = finished.files.get()
    assert f'<a href="{reverse("admin:imports_importjob_file", args=[finished.pk, file.pk])}">springfield roster.csv</a>' in page
    assert "On hold" in page and "Completed" in page


def test_filters_by_district_status_and_type(ops_client, finished, shelbyville_job, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        undo_job = undo.import_undo_request(job=finished)
    url = reverse(CHANGELIST)

    assert _rows(ops_client.get(url, {"district__id__exact": shelbyville_job.district_id})) == ["Import 1 / shelbyville"]
    assert _rows(ops_client.get(url, {"status__exact": "on_hold"})) == ["Import 1 / shelbyville"]
    undos = ops_client.get(url, {"type": "undo"})
    assert _rows(undos) == [f"Import {undo_job.number} / springfield"]
    assert f"Undo of import {finished.number}" in _text(undos)
    assert sorted(_rows(ops_client.get(url, {"type": "user_data"}))) == ["Import 1 / shelbyville", "Import 1 / springfield"]


def test_search_by_number_description_and_district(ops_client, finished, shelbyville_job, tmp_path, district):
    path = tmp_path / "second.csv"
    path.write_text(csv_text([student("1003")]))
    make_import_job(district, [path])  # Springfield's import 2
    url = reverse(CHANGELIST)

    assert sorted(_rows(ops_client.get(url, {"q": "2"}))) == ["Import 2 / springfield"]
    assert _rows(ops_client.get(url, {"q": "\"spring roster\""})) == ["Import 1 / shelbyville"]
    assert _rows(ops_client.get(url, {"q": "Shelbyville"})) == ["Import 1 / shelbyville"]
    assert sorted(_rows(ops_client.get(url, {"q": "springfield"}))) == ["Import 1 / springfield", "Import 2 / springfield"]


def test_the_admin_is_read_only(ops_client, finished):
    change_url = reverse("admin:imports_importjob_change", args=[finished.pk])
    page = _text(ops_client.get(change_url))
    assert 'name="_save"' not in page
    assert "Fall roster" in page
    assert ops_client.get(reverse("admin:imports_importjob_add")).status_code == 403
    assert ops_client.post(change_url, {"description": "Changed", "status": "failed"}).status_code == 403
    assert ops_client.post(reverse("admin:imports_importjob_delete", args=[finished.pk])).status_code == 403
    finished.refresh_from_db()
    assert (finished.description, finished.status) == ("Fall roster", ImportStatus.COMPLETED)


def test_the_original_file_downloads_byte_for_byte_as_an_attachment(ops_client, ops, finished):
    file = finished.files.get()
    response = ops_client.get(reverse("admin:imports_importjob_file", args=[finished.pk, file.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert "springfield" in response["Content-Disposition"]
    assert b"".join(response.streaming_content) == RAW
    assert AuditEvent.objects.filter(action=AuditAction.DOWNLOAD_ORIGINAL, actor=ops, job=finished).exists()
    # Only a file of that job.
    assert ops_client.get(reverse("admin:imports_importjob_file", args=[finished.pk + 1, file.pk])).status_code == 404


def test_people_without_admin_rights_cannot_download(finished, district):
    file = finished.files.get()
    url = reverse("admin:imports_importjob_file", args=[finished.pk, file.pk])
    district_admin = Client()
    district_admin.force_login(make_user(district, is_district_admin=True))
    assert district_admin.get(url).status_code == 302  # to the ops-admin sign-in
    staff_without_permission = Client()
    staff_without_permission.force_login(make_user(None, is_staff=True, district_user_id=None))
    assert staff_without_permission.get(url).status_code == 403


def _act(client, action: str, *jobs_, **extra):
    return client.post(reverse(CHANGELIST), {"action": action, "_selected_action": [j.pk for j in jobs_], **extra}, follow=True)


def test_approve_and_discard_call_the_safety_services(ops_client, ops, shelbyville_job, finished):
    response = _act(ops_client, "approve_jobs", shelbyville_job, finished)
    shelbyville_job.refresh_from_db()
    assert shelbyville_job.status == ImportStatus.SCHEDULED
    assert shelbyville_job.approved_by == ops
    page = _text(response)
    assert "Import 1 of Shelbyville Unified was approved and is scheduled." in page
    assert "Import 1 of Springfield Public Schools: Only an import on hold can be approved or discarded." in page

    ImportJob.objects.filter(id=shelbyville_job.id).update(status=ImportStatus.ON_HOLD)
    _act(ops_client, "discard_jobs", shelbyville_job)
    shelbyville_job.refresh_from_db()
    assert shelbyville_job.status == ImportStatus.DISCARDED
    assert not User.objects.filter(district_user_id="S-1").exists()
    assert set(AuditEvent.objects.values_list("action", flat=True)) == {AuditAction.APPROVE, AuditAction.DISCARD}


def test_retry_resumes_a_failed_import(ops_client, district, school, tmp_path, finished):
    path = tmp_path / "retry.csv"
    path.write_text(csv_text([student("R-1"), student("R-2")]))
    job = make_import_job(district, [path])
    jobs.import_job_submit(job=job, now=IN_WINDOW, dispatch=False)
    ImportJob.objects.filter(id=job.id).update(status=ImportStatus.FAILED, rows_total=2, failure_reason="worker stopped")

    response = _act(ops_client, "retry_jobs", job, finished)

    job.refresh_from_db()
    assert job.status == ImportStatus.COMPLETED
    assert set(User.objects.filter(district_user_id__startswith="R-").values_list("district_user_id", flat=True)) == {"R-1", "R-2"}
    page = _text(response)
    assert f"Import {job.number} of Springfield Public Schools ran again: Completed." in page
    assert ERROR_RETRY_NOT_FAILED.format(number=1, district="Springfield Public Schools", status="Completed") in page


def test_undo_asks_first_then_calls_the_undo_service(ops_client, finished, django_capture_on_commit_callbacks):
    preview = _act(ops_client, "undo_jobs", finished)
    page = _text(preview)
    assert "Yes, undo them" in page
    assert "<td>2</td>" in page  # users to disable
    assert not ImportJob.objects.filter(undo_of=finished).exists()

    with django_capture_on_commit_callbacks(execute=True):
        done = _act(ops_client, "undo_jobs", finished, confirm="yes")
    undo_job = ImportJob.objects.get(undo_of=finished)
    assert undo_job.status == ImportStatus.COMPLETED
    assert not User.objects.filter(created_by_import=finished, is_active=True).exists()
    assert f"Import {undo_job.number} of Springfield Public Schools is undoing import 1." in _text(done)

    again = _act(ops_client, "undo_jobs", finished, confirm="yes")
    assert "was already undone" in _text(again)
    assert ImportJob.objects.filter(undo_of=finished).count() == 1


def test_view_only_staff_see_the_list_but_no_actions(finished):
    viewer = make_user(None, is_staff=True, district_user_id=None)
    viewer.user_permissions.add(Permission.objects.get(codename="view_importjob"))
    client = Client()
    client.force_login(viewer)
    response = client.get(reverse(CHANGELIST))
    assert response.status_code == 200
    assert 'name="action"' not in response.content.decode()
    _act(client, "discard_jobs", finished)
    finished.refresh_from_db()
    assert finished.status == ImportStatus.COMPLETED


def test_retry_runs_a_failed_undo_again(ops_client, finished, monkeypatch):
    real = users_undo._undo_created_users

    def disk_full(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(users_undo, "_undo_created_users", disk_full)
    undo_job = undo.import_undo_request(job=finished, dispatch=False)
    from imports.services import runs

    runs.import_job_run(job_id=undo_job.id, queue_emails=False)
    undo_job.refresh_from_db()
    assert undo_job.status == ImportStatus.FAILED
    assert User.objects.filter(created_by_import=finished, is_active=True).count() == 2  # nothing half undone

    monkeypatch.setattr(users_undo, "_undo_created_users", real)
    _act(ops_client, "retry_jobs", undo_job)

    undo_job.refresh_from_db()
    assert undo_job.status == ImportStatus.COMPLETED
    assert not User.objects.filter(created_by_import=finished, is_active=True).exists()
