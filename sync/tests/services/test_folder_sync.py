"""Done means, drop folder: a first sync imports the district; a night later a changed roster
(10 changed, 5 gone: 5 disabled), an unchanged one (0 rows written) and one that would disable 40% (held)."""
import pytest

from imports.models import ImportChange, ImportJob, ImportStatus
from imports.services import safety
from imports.services.runs import import_job_run
from sync import dropfolder, services
from sync.models import SyncRunStatus
from sync.tests.conftest import drop
from sync.tests.roster import roster
from users.models import User

pytestmark = pytest.mark.django_db


def _sync(district):
    return services.sync_run(district=district, trigger="command")


def test_first_sync_imports_the_district_as_an_import_in_history(district, folder_sync):
    drop(district, roster(100))
    run = _sync(district)
    assert run.status == SyncRunStatus.COMPLETED, run.message
    job = run.jobs.get()
    assert job.status == ImportStatus.COMPLETED
    assert job.type_label == "Sync · User Data"
    assert run.delta["user_data"]["added"] == 100
    assert User.objects.filter(district=district, is_active=True, user_type="student").count() == 100
    # What was received is kept with the import, and the upload moved out of incoming/.
    assert "roster.zip" in job.files.values_list("original_name", flat=True)
    root = dropfolder.district_folder(district.slug)
    assert not list((root / "incoming").iterdir())
    assert [p.name.endswith("roster.zip") for p in (root / "processed").iterdir()] == [True]


def test_a_night_later_ten_changed_and_five_gone_disables_five(district, folder_sync):
    drop(district, roster(100))
    _sync(district)
    drop(district, roster(100, changed=range(10), gone=range(90, 95)), name="night2.zip")
    run = _sync(district)
    delta = run.delta["user_data"]
    assert run.status == SyncRunStatus.COMPLETED, run.message
    assert (delta["added"], delta["updated"], delta["disabled"], delta["enabled"]) == (0, 10, 5, 0)
    assert delta["updated_fields"] == {"First Name": 10}
    assert delta["unchanged"] == 85
    gone = User.objects.filter(district=district, district_user_id__in=[f"S{i:05d}" for i in range(90, 95)])
    assert gone.count() == 5 and not gone.filter(is_active=True).exists()  # disabled, never deleted
    assert User.objects.filter(district=district, first_name="Renamed").count() == 10


def test_a_protected_account_left_out_of_the_roster_is_never_disabled(district, folder_sync):
    drop(district, roster(100))
    _sync(district)
    # A student account since given ops access (is_staff): the one protected-account rule covers it.
    User.objects.filter(district=district, district_user_id="S00003").update(is_staff=True)
    drop(district, roster(100, gone=[3, 4]), name="night2.zip")
    run = _sync(district)
    assert run.delta["user_data"]["disabled"] == 1
    assert User.objects.get(district=district, district_user_id="S00003").is_active
    assert not User.objects.get(district=district, district_user_id="S00004").is_active


def test_a_user_who_comes_back_is_enabled_again(district, folder_sync):
    drop(district, roster(100))
    _sync(district)
    drop(district, roster(100, gone=[7]), name="night2.zip")
    _sync(district)
    drop(district, roster(100), name="night3.zip")
    run = _sync(district)
    assert run.delta["user_data"]["enabled"] == 1
    assert User.objects.get(district=district, district_user_id="S00007").is_active


def test_an_unchanged_roster_writes_nothing(district, folder_sync):
    drop(district, roster(100))
    _sync(district)
    before = list(User.objects.filter(district=district).order_by("id").values())
    drop(district, roster(100), name="night2.zip")
    run = _sync(district)
    job = run.jobs.get()
    assert run.status == SyncRunStatus.COMPLETED
    assert job.counts["created"] == 0 and job.counts["updated"] == 0 and job.counts.get("disabled", 0) == 0
    assert run.delta["user_data"]["unchanged"] == 100
    assert not ImportChange.objects.filter(job=job).exists()
    assert list(User.objects.filter(district=district).order_by("id").values()) == before


def test_a_roster_that_would_disable_40_percent_is_held_until_approved(district, folder_sync, district_admin, mailoutbox):
    drop(district, roster(100))
    _sync(district)
    drop(district, roster(100, gone=range(60, 100)), name="night2.zip")
    run = _sync(district)
    assert run.status == SyncRunStatus.HELD
    assert "disable 40 of 100 users (40.0%)" in run.message
    job = run.jobs.get()
    assert job.status == ImportStatus.ON_HOLD
    assert User.objects.filter(district=district, is_active=True).exclude(is_district_admin=True).count() == 100
    assert len(mailoutbox) == 1 and "on hold" in mailoutbox[0].subject
    # The next run waits for the held one rather than piling up.
    drop(district, roster(100), name="night3.zip")
    assert _sync(district).status == SyncRunStatus.BUSY
    safety.import_job_approve(job=job, approved_by=district_admin)
    ImportJob.objects.filter(id=job.id).update(run_after=job.created_at)
    import_job_run(job_id=job.id, queue_emails=False)
    job.refresh_from_db()
    assert job.status == ImportStatus.COMPLETED and job.counts["disabled"] == 40
    assert User.objects.filter(district=district, is_active=False).count() == 40


def test_a_held_sync_discarded_changes_nothing(district, folder_sync):
    drop(district, roster(100))
    _sync(district)
    drop(district, roster(100, gone=range(60, 100)), name="night2.zip")
    job = _sync(district).jobs.get()
    safety.import_job_discard(job=job)
    assert User.objects.filter(district=district, is_active=False).count() == 0


def test_users_of_manual_imports_are_left_alone_unless_opted_in(district, folder_sync, school):
    from users.tests.factories import make_user

    hand_made = make_user(district, district_user_id="HAND-1", school=school)
    drop(district, roster(20))
    _sync(district)
    drop(district, roster(20), name="night2.zip")
    _sync(district)
    hand_made.refresh_from_db()
    assert hand_made.is_active
    folder_sync.full_roster_manual_users = True
    folder_sync.save()
    drop(district, roster(20), name="night3.zip")
    run = _sync(district)
    hand_made.refresh_from_db()
    assert run.delta["user_data"]["disabled"] == 1 and not hand_made.is_active


def test_error_rows_are_reported_and_valid_rows_imported(district, folder_sync, district_admin, mailoutbox):
    records = roster(50)
    records["users"][3]["givenName"] = ""  # First Name is required
    drop(district, records)
    run = _sync(district)
    job = run.jobs.get()
    assert run.status == SyncRunStatus.COMPLETED_WITH_ERRORS
    assert job.status == ImportStatus.COMPLETED_WITH_WARNINGS
    assert run.delta["user_data"]["errors"] == 1 and run.delta["user_data"]["added"] == 49
    assert job.issues.filter(severity="error", row=5).exists()  # the header is row 1
    assert mailoutbox and "errors" in mailoutbox[0].subject


def test_too_many_error_rows_hold_the_sync(district, folder_sync):
    records = roster(40)
    for user in records["users"][:10]:
        user["givenName"] = ""
    drop(district, records)
    run = _sync(district)
    assert run.status == SyncRunStatus.HELD and "10 of 40 rows (25.0%) have errors" in run.message
    assert not User.objects.filter(district=district, user_type="student").exists()


def test_dry_run_prints_the_delta_and_writes_nothing(district, folder_sync):
    drop(district, roster(30))
    run = services.sync_run(district=district, trigger="command", dry_run=True)
    assert run.status == SyncRunStatus.DRY_RUN and run.delta["user_data"]["added"] == 30
    assert not User.objects.filter(district=district, user_type="student").exists()
    assert not ImportJob.objects.filter(district=district).exists()
    assert list((dropfolder.district_folder(district.slug) / "incoming").iterdir())  # left for the real run
    folder_sync.refresh_from_db()
    assert folder_sync.last_run_at is None  # not counted as tonight's run


def test_undo_of_a_sync_enables_the_users_it_disabled_and_puts_fields_back(district, folder_sync, district_admin):
    from imports.services import undo

    drop(district, roster(100))
    _sync(district)
    drop(district, roster(100, changed=range(3), gone=range(90, 95)), name="night2.zip")
    job = _sync(district).jobs.get()
    started = undo.import_undo_request(job=job, requested_by=district_admin, dispatch=False)
    import_job_run(job_id=started.id, queue_emails=False)
    started.refresh_from_db()
    assert started.status == ImportStatus.COMPLETED
    assert not User.objects.filter(district=district, is_active=False).exists()
    assert not User.objects.filter(district=district, first_name="Renamed").exists()


def test_export_users_shows_a_disabled_user_with_active_n(district, folder_sync):
    import csv
    import io

    from django.core.management import call_command

    drop(district, roster(10))
    _sync(district)
    drop(district, roster(10, gone=[4]), name="night2.zip")
    folder_sync.hold_disabled_percent = 100
    folder_sync.save()
    _sync(district)
    out = io.StringIO()
    call_command("export_users", "--district", district.slug, stdout=out)
    rows = {r["District ID"]: r for r in csv.DictReader(io.StringIO(out.getvalue()))}
    assert rows["S00004"]["Active"] == "N" and rows["S00003"]["Active"] == "Y"


def test_an_internal_error_ends_the_sync_failed_with_nothing_written(district, folder_sync, monkeypatch, mailoutbox):
    drop(district, roster(10))

    def broken(**kwargs):
        raise RuntimeError("Ada Family3 row")  # a message that could hold student data

    monkeypatch.setattr(services, "import_job_validate", broken)
    run = _sync(district)
    assert run.status == SyncRunStatus.FAILED and run.message == "The sync stopped because of an internal error (RuntimeError). Nothing was imported."
    assert run.jobs.get().status == ImportStatus.FAILED
    assert not User.objects.filter(district=district, user_type="student").exists()


def test_the_daily_summary_is_off_by_default_and_sent_when_on(district, folder_sync, district_admin, mailoutbox):
    drop(district, roster(10))
    services.sync_run(district=district, trigger="schedule")
    assert mailoutbox == []
    folder_sync.daily_summary = True
    folder_sync.save()
    drop(district, roster(10, changed=[1]), name="night2.zip")
    services.sync_run(district=district, trigger="schedule")
    assert len(mailoutbox) == 1 and "added 0, updated 1" in mailoutbox[0].body
