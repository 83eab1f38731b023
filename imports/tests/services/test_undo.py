"""Undo of a finished import: fields put back, created users disabled, group additions taken back,
and what may not be undone (passwords, fields changed since, a second undo, an undo while a job runs)."""
import pytest
from django.core import mail

from imports.models import ImportChange, ImportGroupAddition, ImportJob, ImportStatus
from imports.services import runs, undo
from imports.targets import users_undo
from imports.tests.factories import FULL_HEADER, make_import_job, run_job, student, write_csv
from users.models import AuditAction, AuditEvent, User
from users.tests.factories import make_admin, make_custom_group, make_school, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_safety_hold")]

NEW_PASSWORD = "Tricky-Horse-Staple-42"


def _user(district_user_id: str) -> User:
    return User.objects.get(district_user_id=district_user_id)


@pytest.fixture
def admin(district):
    return make_admin(district, username="dana", email="dana@springfield.example.org")


@pytest.fixture
def group(district):
    return make_custom_group(district, name="Robotics")


@pytest.fixture
def imported(district, school, admin, group, tmp_path):
    """Import 1: creates N1 and N2, changes E1 (last name, grade), E2 (grade) and E3 (last name, password),
    leaves U1 unchanged, and puts everyone in Robotics, where E1 already was."""
    e1 = make_user(district, district_user_id="E1", first_name="Ann", last_name="Old", grade="3", school=school, email="")
    make_user(district, district_user_id="E2", first_name="Bea", last_name="Same", grade="3", school=school, email="")
    make_user(district, district_user_id="E3", first_name="Cy", last_name="Before", grade="5", school=school, email="")
    make_user(district, district_user_id="U1", first_name="Ada", last_name="Lovelace", grade="5", school=school, email="")
    group.members.add(e1)
    rows = [
        student("E1", **{"First Name": "Ann", "Last Name": "New", "Grade": "4"}),
        student("E2", **{"First Name": "Bea", "Last Name": "Same", "Grade": "4"}),
        student("E3", **{"First Name": "Cy", "Last Name": "After", "Password": NEW_PASSWORD}),
        student("U1"),
        student("N1", **{"First Name": "Nia"}),
        student("N2", **{"First Name": "Ned"}),
    ]
    path = write_csv(tmp_path / "roster.csv", rows, header=FULL_HEADER)
    job = make_import_job(district, [path], created_by=admin, custom_group=group, group_members="all", password_policy="overwrite")
    job = run_job(job)
    assert job.status == ImportStatus.COMPLETED, job.failure_reason
    assert job.counts["created"] == 2 and job.counts["updated"] == 3
    return job


def _run_undo(job, admin=None):
    started = undo.import_undo_request(job=job, requested_by=admin, dispatch=False)
    runs.import_job_run(job_id=started.id, queue_emails=False)
    started.refresh_from_db()
    return started


def test_the_import_records_only_the_group_members_it_added(imported, group):
    added = set(ImportGroupAddition.objects.filter(job=imported).values_list("user__district_user_id", flat=True))
    assert added == {"E2", "E3", "U1", "N1", "N2"}  # E1 was a member before the import


def test_undo_puts_back_fields_disables_created_users_and_removes_group_additions(imported, group, admin):
    done = _run_undo(imported, admin)

    assert done.status == ImportStatus.COMPLETED, done.failure_reason
    e1, e2, e3 = _user("E1"), _user("E2"), _user("E3")
    assert (e1.last_name, e1.grade) == ("Old", "3")
    assert e2.grade == "3"
    assert e3.last_name == "Before"
    for district_user_id in ("N1", "N2"):
        created = _user(district_user_id)  # disabled, never deleted
        assert not created.is_active
    assert all(_user(d).is_active for d in ("E1", "E2", "E3", "U1"))
    assert set(group.members.values_list("district_user_id", flat=True)) == {"E1"}
    assert done.counts["disabled"] == 2
    assert done.counts["reverted"] == 4
    assert done.counts["group_removals"] == 5
    assert done.counts["skipped"] == 0


def test_passwords_are_never_reverted(imported):
    assert _user("E3").check_password(NEW_PASSWORD)
    done = _run_undo(imported)
    assert _user("E3").check_password(NEW_PASSWORD)
    assert done.counts["passwords_kept"] == 1
    log = ImportChange.objects.get(job=done, district_user_id="E3")
    assert "password" not in log.changes


def test_a_field_changed_since_the_import_is_skipped_with_its_current_value(imported):
    User.objects.filter(district_user_id="E2").update(grade="6")  # a hand edit after the import
    User.objects.filter(district_user_id="E1").update(last_name="Later")

    preview = undo.import_undo_preview(job=imported)
    assert preview.counts["skipped"] == 2
    assert {(s["district_user_id"], s["field"], s["after"], s["current"]) for s in preview.skipped} == {
        ("E2", "Grade", "4", "6"), ("E1", "Last Name", "New", "Later"),
    }
    done = _run_undo(imported)

    assert _user("E2").grade == "6"
    e1 = _user("E1")
    assert (e1.last_name, e1.grade) == ("Later", "3")  # grade still the import's value, so it goes back
    assert done.status == ImportStatus.COMPLETED_WITH_WARNINGS
    assert ImportChange.objects.get(job=done, district_user_id="E2").skipped == {"grade": ["4", "6"]}


def test_the_preview_changes_nothing(imported):
    before = list(User.objects.order_by("id").values_list("id", "last_name", "grade", "is_active"))
    preview = undo.import_undo_preview(job=imported)
    assert preview.counts["disabled"] == 2 and preview.counts["reverted"] == 4 and preview.counts["group_removals"] == 5
    assert [u["district_user_id"] for u in preview.disable] == ["N1", "N2"]
    assert list(User.objects.order_by("id").values_list("id", "last_name", "grade", "is_active")) == before
    assert not ImportJob.objects.filter(undo_of=imported).exists()


def test_an_import_is_undone_once_only(imported):
    first = _run_undo(imported)
    with pytest.raises(undo.UndoRefused) as refused:
        undo.import_undo_request(job=imported, dispatch=False)
    assert refused.value.code == "already_undone"
    assert str(refused.value) == undo.ERROR_ALREADY_UNDONE.format(number=imported.number, undo_number=first.number, status="Completed")
    assert ImportJob.objects.filter(undo_of=imported).count() == 1


def test_an_undo_cannot_be_undone(imported):
    first = _run_undo(imported)
    with pytest.raises(undo.UndoRefused, match="itself an undo"):
        undo.import_undo_request(job=first, dispatch=False)


def test_undo_is_refused_while_another_job_of_the_district_runs(imported, district, tmp_path):
    other = make_import_job(district, [write_csv(tmp_path / "more.csv", [student("M1")])])
    ImportJob.objects.filter(id=other.id).update(status=ImportStatus.RUNNING)

    with pytest.raises(undo.UndoRefused) as refused:
        undo.import_undo_request(job=imported, dispatch=False)

    assert refused.value.code == "another_running"
    assert str(refused.value) == undo.ERROR_ANOTHER_RUNNING.format(running=other.number)
    assert _user("N1").is_active


def test_a_second_delivery_of_the_undo_task_does_nothing(imported):
    done = _run_undo(imported)
    User.objects.filter(district_user_id="N1").update(is_active=True)  # re-enabled by hand afterwards
    logged = ImportChange.objects.filter(job=done).count()

    assert runs.import_job_run(job_id=done.id, queue_emails=False) is None
    assert _user("N1").is_active
    assert ImportChange.objects.filter(job=done).count() == logged


def test_the_undo_sends_a_completion_email_and_is_audited(imported, admin):
    mail.outbox.clear()
    done = _run_undo(imported, admin)
    from imports.services import emails

    emails.import_emails_send(job_id=done.id)
    [message] = mail.outbox
    assert message.to == ["dana@springfield.example.org"]
    assert f"undo of import {imported.number}" in message.subject
    assert "Users disabled (created by the import): 2" in message.body
    event = AuditEvent.objects.get(action=AuditAction.UNDO)
    assert (event.job_id, event.actor_id, event.detail["undo_job"]) == (imported.id, admin.id, done.number)


def test_a_scheduled_import_cannot_be_undone(district, school, tmp_path):
    job = make_import_job(district, [write_csv(tmp_path / "r.csv", [student("S1")])])
    with pytest.raises(undo.UndoRefused) as refused:
        undo.import_undo_request(job=job, dispatch=False)
    assert refused.value.code == "not_finished"


def test_a_failed_undo_keeps_what_it_did_and_a_retry_finishes_it_without_doing_anything_twice(imported, group, monkeypatch):
    real = users_undo._undo_other_group_additions

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")
        yield  # a generator, like the step it replaces

    monkeypatch.setattr(users_undo, "_undo_other_group_additions", broken)
    done = _run_undo(imported)
    assert done.status == ImportStatus.FAILED
    assert _user("E1").last_name == "Old" and not _user("N1").is_active  # the committed batches stay
    assert "U1" in group.members.values_list("district_user_id", flat=True)

    monkeypatch.setattr(users_undo, "_undo_other_group_additions", real)
    runs.import_job_run(job_id=done.id, queue_emails=False, retry_failed=True)  # what run_import and the ops admin do
    done.refresh_from_db()

    assert done.status == ImportStatus.COMPLETED, done.failure_reason
    assert set(group.members.values_list("district_user_id", flat=True)) == {"E1"}
    logged = list(ImportChange.objects.filter(job=done).values_list("district_user_id", flat=True))
    assert sorted(logged) == ["E1", "E2", "E3", "N1", "N2", "U1"]  # each user once
    assert (done.counts["reverted"], done.counts["disabled"], done.counts["group_removals"]) == (4, 2, 5)
    assert done.counts["skipped"] == 0 and done.counts["passwords_kept"] == 1


def test_the_undo_commits_a_batch_at_a_time_with_a_heartbeat(imported, monkeypatch):
    monkeypatch.setattr(users_undo, "UNDO_BATCH", 1)
    beats = []
    real = undo._checkpoint

    def checkpoint(job, counts):
        real(job, counts)
        beats.append(ImportJob.objects.get(id=job.id).rows_done)

    monkeypatch.setattr(undo, "_checkpoint", checkpoint)
    done = _run_undo(imported)

    assert done.status == ImportStatus.COMPLETED
    # One checkpoint per user (3 changed, 2 created, 1 only grouped), then the final one; progress grows.
    assert beats == [1, 2, 3, 4, 5, 6, 6]
    assert done.rows_done == done.rows_total == 6


def test_a_moved_student_goes_back_to_their_school(district, school, tmp_path):
    other = make_school(district, sis_id="202", name="Washington")
    make_user(district, district_user_id="M1", first_name="Mo", last_name="Ved", grade="5", school=school, email="")
    rows = [student("M1", **{"First Name": "Mo", "Last Name": "Ved", "School SIS ID": "202"})]
    job = run_job(make_import_job(district, [write_csv(tmp_path / "moved.csv", rows)]))
    assert _user("M1").school == other

    preview = undo.import_undo_preview(job=job)
    assert [(r["field"], r["current"], r["before"]) for r in preview.reverts] == [("School", "Washington (202)", "Lincoln Elementary (101)")]
    _run_undo(job)

    assert _user("M1").school == school
