"""Every fault ends the sync with a clear message in Import History and nothing written: the previous
roster stays, the next run tries again, and no credential or token shows in logs, pages or reports."""
import datetime
import logging
import os
import time

import pytest
from django.urls import reverse

from imports.models import ImportStatus
from imports.tests.factories import stored_text
from sync import dropfolder, services
from sync.models import SyncRunStatus, SyncSettings
from sync.tests.conftest import drop
from sync.tests.oneroster_server import CLIENT_ID, CLIENT_SECRET, OneRosterServer
from sync.tests.roster import roster
from users.models import User

pytestmark = pytest.mark.django_db


def _snapshot(district):
    return list(User.objects.filter(district=district).order_by("id").values())


def _failed_in_history(run, message_part):
    assert run.status == SyncRunStatus.FAILED
    job = run.jobs.get()
    assert job.status == ImportStatus.FAILED and message_part in job.failure_reason
    assert job.type_label == "Sync · User Data"
    assert not job.changes.exists() and not job.created_users.exists()
    return job


def _history_page(client, job):
    return client.get(reverse("imports:detail", args=[job.number])).content.decode()


# --- Drop folder ---------------------------------------------------------------------------------


@pytest.fixture
def synced_folder(district, folder_sync):
    drop(district, roster(50))
    assert services.sync_run(district=district).status == SyncRunStatus.COMPLETED
    return folder_sync


def test_a_file_still_being_written_is_left_for_the_next_run(district, synced_folder):
    before = _snapshot(district)
    path = drop(district, roster(50, gone=range(3)), name="night2.zip", age_seconds=0)  # just written
    run = services.sync_run(district=district)
    assert run.status == SyncRunStatus.NOTHING_NEW and "night2.zip" in run.message
    assert os.path.exists(path) and _snapshot(district) == before
    past = time.time() - 3600
    os.utime(path, (past, past))  # the upload settled
    assert services.sync_run(district=district).status == SyncRunStatus.COMPLETED


def test_a_partial_folder_upload_fails_in_history_and_changes_nothing(district, synced_folder, district_admin_client):
    before = _snapshot(district)
    incoming = dropfolder.folders_ensure(district.slug)
    folder = incoming / "nightly"
    from sync.tests.roster import roster_folder

    roster_folder(roster(50, gone=range(20)), folder)
    os.remove(folder / "users.csv")  # the manifest lists it, the upload stopped before it
    past = time.time() - 3600
    for p in [folder, *folder.iterdir()]:
        os.utime(p, (past, past))
    run = services.sync_run(district=district)
    job = _failed_in_history(run, "The upload nightly is incomplete: its manifest.csv lists users.csv")
    assert _snapshot(district) == before
    assert [p.name.endswith("nightly") for p in (dropfolder.district_folder(district.slug) / "failed").iterdir()] == [True]
    assert "is incomplete" in _history_page(district_admin_client, job)


def test_a_corrupt_zip_fails_in_history_and_changes_nothing(district, synced_folder):
    before = _snapshot(district)
    incoming = dropfolder.folders_ensure(district.slug)
    path = incoming / "night2.zip"
    good = drop(district, roster(50), name="good.zip")
    path.write_bytes(open(good, "rb").read()[:300])  # cut short
    os.remove(good)
    past = time.time() - 3600
    os.utime(path, (past, past))
    run = services.sync_run(district=district)
    _failed_in_history(run, "night2.zip")
    assert "not a readable zip archive" in run.message
    assert _snapshot(district) == before
    # Moved to failed/: the next run does not trip over it again, and a new upload is imported.
    drop(district, roster(50), name="night3.zip")
    assert services.sync_run(district=district).status == SyncRunStatus.COMPLETED


# --- OneRoster API -------------------------------------------------------------------------------


@pytest.fixture
def api(district, school, district_admin):
    with OneRosterServer(version="1.2", data=roster(250, version="1.2")) as server:
        services.sync_settings_update(
            district=district, source="oneroster", schedule_time=datetime.time(22, 0), import_types=["user_data"],
            full_roster=True, oneroster_url=server.base_url, oneroster_version="1.2", client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
        )
        assert services.sync_run(district=district).status == SyncRunStatus.COMPLETED
        server.data = roster(250, version="1.2", gone=range(100))  # tonight: would disable 100 if half-read
        yield server


def _fault_run(district, caplog, settings, client, message_part):
    before = _snapshot(district)
    settings.SYNC_HTTP_TIMEOUT = 0.5
    with caplog.at_level(logging.DEBUG):
        run = services.sync_run(district=district)
    job = _failed_in_history(run, message_part)
    assert _snapshot(district) == before
    page = _history_page(client, job)
    assert message_part in page
    for text in (caplog.text, page, stored_text(), run.message):
        assert CLIENT_SECRET not in text
    cfg = SyncSettings.objects.get(district=district)
    assert cfg.next_run_at is not None and cfg.running_since is None  # the next scheduled run tries again
    return run


@pytest.fixture
def fast_retries(monkeypatch):
    monkeypatch.setattr("sync.oneroster.BACKOFF_SECONDS", 0.01)
    monkeypatch.setattr("sync.oneroster.MAX_RETRIES", 1)


def test_an_api_that_times_out_mid_paging(district, api, caplog, settings, district_admin_client, fast_retries):
    api.stall = {("users", 100): 3.0}
    _fault_run(district, caplog, settings, district_admin_client, "did not answer within 0.5 seconds while fetching users (offset 100)")
    api.stall = {}
    assert services.sync_run(district=district).status == SyncRunStatus.HELD  # tried again, read whole: 100 of 250 is over 10%


def test_an_api_that_answers_500(district, api, caplog, settings, district_admin_client, fast_retries):
    api.fail_status = {("users", 100): [500] * 5}
    _fault_run(district, caplog, settings, district_admin_client, "kept answering HTTP 500 for users (offset 100)")


def test_an_api_that_sends_a_malformed_page(district, api, caplog, settings, district_admin_client, fast_retries):
    api.malformed = {("users", 100)}
    _fault_run(district, caplog, settings, district_admin_client, "sent a page of users (offset 100) that is not a OneRoster JSON page")


def test_revoked_credentials(district, api, caplog, settings, district_admin_client, fast_retries):
    api.revoke()
    run = _fault_run(district, caplog, settings, district_admin_client, "gave no access token (HTTP 401)")
    tokens = [h[7:] for h in api.auth_headers if h.startswith("Bearer ")]
    assert tokens and not any(t in caplog.text or t in run.message or t in stored_text() for t in tokens)


def test_a_failed_fetch_emails_the_admins(district, api, settings, mailoutbox, fast_retries):
    api.malformed = {("users", 0)}
    services.sync_run(district=district)
    assert len(mailoutbox) == 1 and mailoutbox[0].subject == "Classworks sync failed"
    assert CLIENT_SECRET not in mailoutbox[0].body


def test_a_quiet_successful_sync_sends_no_email(district, api, mailoutbox):
    api.data = roster(250, version="1.2")
    services.sync_run(district=district)
    assert mailoutbox == []
