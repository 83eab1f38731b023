"""The wizard's bounded requests: school values and validation run as a background task, the pages
show their progress and reach the result by reload alone, and a changed mapping restarts them."""
import datetime
import html
import threading

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from imports.models import ImportIssue, ImportJob
from imports.services import jobs, sources, validation
from imports.tests.factories import wizard_upload, wizard_url
from users.tests.factories import PASSWORD, make_admin, make_district, make_school

HEADER = "First Name,Last Name,District ID,User Type,Grade,Email Address,School SIS ID\r\n"
FILE = (
    HEADER
    + "José,Núñez,1001,Student,5,jn@example.org,101\r\n"
    + "Zoë,Smith,1002,Student,K,zs@example.org,101\r\n"
    + "Ann,Teacher,T1,Staff,,ann@example.org,101\r\n"
).encode()


@pytest.fixture
def district():
    return make_district()


@pytest.fixture
def admin_client(client, district):
    make_admin(district, username="dadmin")
    client.login(username="dadmin", password=PASSWORD)
    return client


_url = wizard_url


def _upload(client, district, content: bytes = FILE, name: str = "s.csv") -> ImportJob:
    return wizard_upload(client, district, content, name)


def _run_captured(callbacks) -> None:
    """What the worker does with the tasks the request enqueued on commit (eager in tests)."""
    for callback in callbacks:
        callback()
    callbacks.clear()


@pytest.mark.django_db
def test_validate_file_shows_progress_while_validating_then_the_result_on_reload(
    admin_client, district, django_capture_on_commit_callbacks
):
    client = admin_client
    school = make_school(district, sis_id="101")
    job = _upload(client, district)
    with django_capture_on_commit_callbacks() as enqueued:
        client.post(_url(job, "fields"), {"action": "next"})
    # The School column's values are read in the background: the page says so until they are in.
    page = client.get(_url(job, "schools")).content.decode()
    assert "Reading school values…" in page and "School for 101" not in page
    _run_captured(enqueued)
    page = client.get(_url(job, "schools")).content.decode()
    assert 'aria-label="School for 101"' in page

    with django_capture_on_commit_callbacks() as enqueued:
        response = client.post(_url(job, "schools"), {"school_0": str(school.id), "action": "next"})
    assert response["Location"] == _url(job, "validate")
    assert len(enqueued) == 1  # leaving School Mapping started validation; the request did not validate
    page = client.get(_url(job, "validate")).content.decode()
    assert "Validating…" in page and "0 of 3 rows" in page and "<progress" in page
    assert 'value="next"' not in page  # no Next before the result
    assert client.post(_url(job, "validate"), {"action": "next"})["Location"] == _url(job, "validate")
    progress = client.get(reverse("imports:validation_progress", args=[job.number])).json()
    assert progress == {"running": True, "rows_done": 0, "rows_total": 3, "error": False}

    _run_captured(enqueued)
    page = client.get(_url(job, "validate")).content.decode()
    assert "Validating…" not in page and 'id="validation-result"' in page and 'value="next"' in page
    assert client.get(reverse("imports:validation_progress", args=[job.number])).json()["running"] is False
    job.refresh_from_db()
    assert job.validation_summary["counts"]["new"] == 3


@pytest.mark.django_db(transaction=True)
def test_a_changed_mapping_restarts_validation_and_the_old_task_writes_nothing(admin_client, district, monkeypatch):
    client = admin_client
    school = make_school(district, sis_id="101")
    job = _upload(client, district)
    client.post(_url(job, "fields"), {"action": "next"})
    monkeypatch.setattr(validation.checking, "BATCH_ROWS", 1)
    real = validation.background.validate_import
    changed = []

    def admin_changes_grade_mid_way(**kwargs):
        on_batch = kwargs["on_batch"]

        def batch(rows):
            on_batch(rows)
            if not changed:
                # Another request, while the task is at row 1: every row's grade becomes 13.
                fresh = ImportJob.objects.get(id=job.id)
                mapping = {k: v for k, v in fresh.field_mapping.items() if k != "grade"}
                jobs.import_job_set_field_mapping(
                    job=fresh, field_mapping=mapping, fixed_values={"grade": "13"},
                    column_labels=sources.column_labels(sources.sources_for_job(fresh)),
                )
                changed.append(fresh.validation_generation)
        return real(**{**kwargs, "on_batch": batch})

    monkeypatch.setattr(validation.background, "validate_import", admin_changes_grade_mid_way)
    client.post(_url(job, "schools"), {"school_0": str(school.id), "action": "next"})
    job.refresh_from_db()
    # The task for the old mapping stopped at its next batch: no result, and the wizard is back on Map Fields.
    assert changed and job.validation_generation == changed[0]
    assert job.validated_at is None and job.validation_summary == {} and job.step == "fields"
    assert client.get(_url(job, "validate"))["Location"] == _url(job, "fields")

    monkeypatch.setattr(validation.background, "validate_import", real)
    client.post(_url(job, "fields"), {"action": "next"})
    client.post(_url(job, "schools"), {"school_0": str(school.id), "action": "next"})
    page = client.get(_url(job, "validate")).content.decode()
    assert "is not a grade" in page
    job.refresh_from_db()
    # The two students' grade 13 (staff have no grade); nothing of the stopped task's problems is left.
    assert job.validation_summary["counts"]["errors"] == 2
    assert ImportIssue.objects.filter(job=job).count() == ImportIssue.objects.filter(job=job, field="grade").count() == 2


@pytest.mark.django_db(transaction=True)
def test_another_user_signs_in_on_sqlite_while_validation_is_mid_way(admin_client, district, monkeypatch):
    """Validation commits batch by batch: it never holds the write lock that a sign-in needs."""
    if connection.vendor != "sqlite":
        pytest.skip("the lock this guards against is SQLite's")
    client = admin_client
    school = make_school(district, sis_id="101")
    teacher = make_admin(district, username="other")
    job = _upload(client, district)
    client.post(_url(job, "fields"), {"action": "next"})
    monkeypatch.setattr(validation.checking, "BATCH_ROWS", 1)
    real = validation.background.validate_import
    outcomes = []

    def sign_in_elsewhere():
        try:
            outcomes.append(Client().login(username="other", password=PASSWORD))
        except Exception as exc:  # "database is locked" is what a held transaction would give
            outcomes.append(repr(exc))
        finally:
            connection.close()

    def with_a_sign_in_mid_way(**kwargs):
        on_batch = kwargs["on_batch"]

        def batch(rows):
            on_batch(rows)
            if rows == 2:
                other = threading.Thread(target=sign_in_elsewhere)
                other.start()
                other.join(30)
        return real(**{**kwargs, "on_batch": batch})

    monkeypatch.setattr(validation.background, "validate_import", with_a_sign_in_mid_way)
    client.post(_url(job, "schools"), {"school_0": str(school.id), "action": "next"})
    assert outcomes == [True]
    teacher.refresh_from_db()
    assert teacher.last_login is not None
    job.refresh_from_db()
    assert job.validated_at is not None


@pytest.mark.django_db
def test_a_stalled_validation_is_dispatched_again_by_a_reload_and_by_the_sweeper(
    admin_client, district, django_capture_on_commit_callbacks
):
    client = admin_client
    school = make_school(district, sis_id="101")
    job = _upload(client, district)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(_url(job, "fields"), {"action": "next"})
    with django_capture_on_commit_callbacks() as lost:
        client.post(_url(job, "schools"), {"school_0": str(school.id), "action": "next"})
    lost.clear()  # the broker lost the message; a worker had claimed it and died
    long_ago = timezone.now() - validation.VALIDATION_STALE_AFTER - datetime.timedelta(seconds=1)
    ImportJob.objects.filter(id=job.id).update(validation_claim="dead-worker", validation_heartbeat_at=long_ago)
    with django_capture_on_commit_callbacks() as enqueued:
        assert "Validating…" in client.get(_url(job, "validate")).content.decode()
    assert len(enqueued) == 1
    _run_captured(enqueued)
    assert 'id="validation-result"' in client.get(_url(job, "validate")).content.decode()

    # The same from the periodic sweeper, with nobody on the page.
    client.post(_url(job, "validate"), {"action": "next"})
    with django_capture_on_commit_callbacks() as lost:
        client.post(_url(job, "actions"), {"conflict_policy": "existing", "password_policy": "keep", "group_members": "students"})
    assert len(lost) == 1  # new options: the preview is computed again
    lost.clear()
    ImportJob.objects.filter(id=job.id).update(validation_heartbeat_at=long_ago)
    with django_capture_on_commit_callbacks() as enqueued:
        assert validation.import_job_validations_redispatch_stale() == [job.id]
    _run_captured(enqueued)
    job.refresh_from_db()
    assert job.validated_at is not None and job.conflict_policy == "existing"


@pytest.mark.django_db
def test_review_waits_for_the_preview_after_new_additional_actions(admin_client, district, django_capture_on_commit_callbacks):
    client = admin_client
    school = make_school(district, sis_id="101")
    job = _upload(client, district)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(_url(job, "fields"), {"action": "next"})
    with django_capture_on_commit_callbacks(execute=True):
        client.post(_url(job, "schools"), {"school_0": str(school.id), "action": "next"})
    client.post(_url(job, "validate"), {"action": "next"})
    with django_capture_on_commit_callbacks() as enqueued:
        client.post(_url(job, "actions"), {"conflict_policy": "existing", "password_policy": "keep", "group_members": "students"})
    page = client.get(_url(job, "review")).content.decode()
    assert "Validating…" in page and "Submit" not in page
    _run_captured(enqueued)
    page = client.get(_url(job, "review")).content.decode()
    assert "Submit" in page and 'id="count-new">3<' in page


def _many_schools_file(n: int) -> bytes:
    lines = [HEADER] + [f"First,Last,{i},Student,5,,S-{i:04d}\r\n" for i in range(n)]
    return "".join(lines).encode()


@pytest.mark.django_db
def test_more_than_200_school_values_are_paged_and_searchable_from_the_stored_values(
    admin_client, district, django_capture_on_commit_callbacks
):
    client = admin_client
    school = make_school(district, sis_id="999", name="Only School")
    job = _upload(client, district, _many_schools_file(450))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(_url(job, "fields"), {"action": "next"})
    # Pages never read the file again: it could be gone.
    stored = job.files.get().stored
    with open(stored.path, "wb") as fh:
        fh.write(b"")

    page = client.get(_url(job, "schools")).content.decode()
    assert page.count("<select name=\"school_") == 200
    assert "S-0000" in page and "S-0199" in page and "S-0200" not in page and "Page 1 of 3" in page
    page = client.get(_url(job, "schools", "?page=3")).content.decode()
    assert page.count("<select name=\"school_") == 50 and "S-0449" in page and "S-0399" not in page

    page = client.get(_url(job, "schools", "?q=s-031")).content.decode()
    assert page.count("<select name=\"school_") == 10 and "S-0310" in page and "S-0319" in page and "S-0320" not in page
    assert "10 values contain" in page

    # Save keeps a page's choices and goes to the page asked for; Next lists what is still unmapped.
    response = client.post(_url(job, "schools"), {"q": "s-031", "page": "1", "action": "save:1", "school_310": str(school.id)})
    assert response["Location"] == _url(job, "schools", "?q=s-031&page=1")
    job.refresh_from_db()
    assert job.school_mapping == {"S-0310": school.id}
    page = client.post(_url(job, "schools"), {"page": "1", "action": "next"}, follow=True).content.decode()
    assert "Choose a school for every value in the file: S-0000" in page
    job.refresh_from_db()
    assert job.step == "schools" and job.school_mapping == {"S-0310": school.id}


@pytest.mark.django_db
def test_a_school_column_with_too_many_values_is_refused_with_a_message(
    admin_client, district, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(validation.values, "MAX_SCHOOL_VALUES", 100)
    client = admin_client
    job = _upload(client, district, _many_schools_file(101))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(_url(job, "fields"), {"action": "next"})
    page = client.get(_url(job, "schools")).content.decode()
    assert "The column &quot;School SIS ID&quot; matched to School has more than 100 different values" in page
    job.refresh_from_db()
    assert job.validation_phase == "" and not validation.school_values_ready(job)


@pytest.mark.django_db
def test_map_fields_samples_come_from_the_first_20_rows_and_500_columns(admin_client, district, monkeypatch):
    client = admin_client
    rows = [HEADER] + [f"First{i},Last,{i},Student,5,,\r\n" for i in range(20)] + ["Late,Last,99,Student,5,,ROW-21-SCHOOL\r\n"]
    job = _upload(client, district, "".join(rows).encode())
    page = client.get(_url(job, "fields")).content.decode()
    assert "First0" in page and "ROW-21-SCHOOL" not in page

    monkeypatch.setattr(sources, "SAMPLE_COLUMNS", 2)
    page = client.get(_url(job, "fields")).content.decode()
    assert "First0" in page and "Last" in page and "Student" not in page.split('id="column-list"')[1]


@pytest.mark.django_db
def test_the_header_toggle_counts_rows_without_reading_the_file(admin_client, district):
    client = admin_client
    job = _upload(client, district)
    import_file = job.files.get()
    assert import_file.row_count == 3
    client.post(_url(job, "fields"), {"action": "header", "file": import_file.id, "has_header": "0"})
    import_file.refresh_from_db()
    job.refresh_from_db()
    assert import_file.row_count == 4 and job.rows_total == 4
    client.post(_url(job, "fields"), {"action": "header", "file": import_file.id, "has_header": "1"})
    import_file.refresh_from_db()
    assert import_file.row_count == 3


@pytest.mark.django_db
def test_the_stored_school_values_go_with_the_file_at_the_end_of_retention(district, tmp_path):
    from imports.services import maintenance
    from imports.tests.factories import SCHOOL_SIS_ID, make_import_job, run_job, student, write_csv

    make_school(district, sis_id=SCHOOL_SIS_ID)
    district.file_retention_days = 30
    district.change_threshold_percent = 100
    district.save()
    job = run_job(make_import_job(district, [write_csv(tmp_path / "roster.csv", [student("1"), student("2")])]))
    assert list(job.school_values.values_list("value", flat=True)) == [SCHOOL_SIS_ID]
    ImportJob.objects.filter(id=job.id).update(completed_at=timezone.now() - datetime.timedelta(days=31))
    assert maintenance.files_purge_expired() == 1
    assert not job.school_values.exists()


@pytest.mark.django_db
def test_a_refused_school_mapping_keeps_what_was_chosen_and_survives_a_tampered_value(
    admin_client, district, django_capture_on_commit_callbacks
):
    client = admin_client
    make_school(district, sis_id="101")
    job = _upload(client, district, FILE.replace(b",101\r\nAnn", b",202\r\nAnn"))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(_url(job, "fields"), {"action": "next"})
    # 101 is proposed by its SIS ID; the admin clears it on purpose and gets the refusal with the choice kept.
    page = client.post(_url(job, "schools"), {"school_0": "", "school_1": "", "action": "next"}).content.decode()
    assert "Choose a school for every value in the file: 101, 202" in page
    assert " selected>" not in page
    page = client.post(_url(job, "schools"), {"school_0": "not-a-number", "action": "next"})
    assert page.status_code == 200 and jobs.ERROR_NOT_YOUR_SCHOOL in html.unescape(page.content.decode())


@pytest.mark.django_db
def test_a_second_delivery_of_the_validation_task_changes_nothing(admin_client, district, django_capture_on_commit_callbacks):
    from imports.tasks import validate_draft

    client = admin_client
    school = make_school(district, sis_id="101")
    job = _upload(client, district, FILE.replace(b"zs@example.org", b"jn@example.org"))  # one shared email: warnings
    with django_capture_on_commit_callbacks(execute=True):
        client.post(_url(job, "fields"), {"action": "next"})
    with django_capture_on_commit_callbacks() as enqueued:
        client.post(_url(job, "schools"), {"school_0": str(school.id), "action": "next"})
    # While one worker holds the claim, a redelivered message finds it taken.
    ImportJob.objects.filter(id=job.id).update(validation_claim="busy-worker", validation_heartbeat_at=timezone.now())
    validate_draft.apply(args=[job.id])
    job.refresh_from_db()
    assert job.validated_at is None and job.validation_claim == "busy-worker"
    ImportJob.objects.filter(id=job.id).update(validation_claim="")
    _run_captured(enqueued)
    job.refresh_from_db()
    done_at, problems = job.validated_at, list(ImportIssue.objects.filter(job=job).values_list("id", flat=True))
    assert done_at is not None and len(problems) == 2
    validate_draft.apply(args=[job.id])  # delivered again after it finished
    job.refresh_from_db()
    assert job.validated_at == done_at
    assert list(ImportIssue.objects.filter(job=job).values_list("id", flat=True)) == problems


@pytest.mark.django_db
def test_close_x_on_a_draft_with_many_problems_hides_it_at_once_and_a_task_deletes_it(
    admin_client, district, django_capture_on_commit_callbacks, monkeypatch
):
    client = admin_client
    make_school(district, sis_id="101")
    job = _upload(client, district, FILE.replace(b",5,", b",13,").replace(b",K,", b",13,"))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(_url(job, "fields"), {"action": "next"})
    with django_capture_on_commit_callbacks(execute=True):
        client.post(_url(job, "schools"), {"action": "next"})
    assert ImportIssue.objects.filter(job=job).count() == 2
    monkeypatch.setattr(validation.background, "DELETE_BATCH", 1)  # "many" problems: more than one batch
    stored = job.files.get().stored
    with django_capture_on_commit_callbacks() as enqueued:
        response = client.post(reverse("imports:close", args=[job.number]), follow=True)
    assert "was closed and its file deleted." in response.content.decode()
    assert not stored.storage.exists(stored.name)
    # Gone for every page at once, although its rows are still being deleted.
    assert client.get(_url(job, "validate")).status_code == 404
    assert f"/imports/{job.number}/" not in client.get(reverse("imports:history")).content.decode()
    assert ImportJob.objects.filter(id=job.id).exists()
    _run_captured(enqueued)
    assert not ImportJob.objects.filter(id=job.id).exists() and not ImportIssue.objects.filter(job_id=job.id).exists()
