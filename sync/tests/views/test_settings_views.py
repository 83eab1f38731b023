"""Sync settings, Sync now and Test connection in the browser's terms."""
import pytest
from django.urls import reverse

from sync.models import SyncRun, SyncSettings
from sync.tests.conftest import drop
from sync.tests.oneroster_server import CLIENT_ID, CLIENT_SECRET, OneRosterServer
from sync.tests.roster import roster
from users.models import User
from users.tests.factories import make_admin, make_district

pytestmark = pytest.mark.django_db


def _form(**overrides):
    data = {"source": "folder", "schedule_time": "22:00", "import_types": ["user_data"], "mapping_from": "",
            "full_roster": "on", "hold_changed_percent": "20", "hold_disabled_percent": "10", "hold_errors_percent": "10",
            "oneroster_version": "1.1"}
    data.update(overrides)
    return data


def test_import_history_links_to_sync_settings(district_admin_client):
    page = district_admin_client.get(reverse("imports:history")).content.decode()
    assert reverse("sync:settings") in page and "Sync settings" in page


def test_saving_folder_settings_shows_the_drop_folder(district_admin_client, district):
    response = district_admin_client.post(reverse("sync:settings"), _form(), follow=True)
    assert "Sync settings saved." in response.content.decode()
    cfg = SyncSettings.objects.get(district=district)
    assert cfg.full_roster and cfg.schedule_time.hour == 22 and cfg.next_run_at is not None
    assert f"{district.slug}/incoming" in response.content.decode()


def test_a_time_outside_the_window_is_refused_on_the_page(district_admin_client, district):
    response = district_admin_client.post(reverse("sync:settings"), _form(schedule_time="12:00"))
    assert "inside the district&#x27;s off-peak window" in response.content.decode()
    assert not SyncSettings.objects.filter(district=district).exists()


def test_the_client_secret_is_never_shown_again_and_blank_keeps_it(district_admin_client, district):
    form = _form(source="oneroster", oneroster_url="https://sis.example.org/ims/oneroster/v1p1", client_id=CLIENT_ID,
                 client_secret=CLIENT_SECRET)
    district_admin_client.post(reverse("sync:settings"), form)
    stored = SyncSettings.objects.get(district=district).client_secret_encrypted
    page = district_admin_client.get(reverse("sync:settings")).content.decode()
    assert CLIENT_SECRET not in page and stored not in page and "A client secret is stored" in page
    district_admin_client.post(reverse("sync:settings"), {**form, "client_secret": ""})
    assert SyncSettings.objects.get(district=district).client_secret_encrypted == stored


def test_test_connection_button(district_admin_client, district, school):
    with OneRosterServer(version="1.1", data=roster(5)) as server:
        district_admin_client.post(reverse("sync:settings"), _form(
            source="oneroster", oneroster_url=server.base_url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET))
        ok = district_admin_client.post(reverse("sync:test"), follow=True).content.decode()
        server.revoke()
        refused = district_admin_client.post(reverse("sync:test"), follow=True).content.decode()
    assert "Connected to 127.0.0.1" in ok
    assert "refused the credentials" in refused and CLIENT_SECRET not in refused


def test_sync_now_runs_the_sync_and_lists_it(district_admin_client, district, school, django_capture_on_commit_callbacks):
    district_admin_client.post(reverse("sync:settings"), _form())
    drop(district, roster(12))
    with django_capture_on_commit_callbacks(execute=True):
        district_admin_client.post(reverse("sync:now"))
    assert User.objects.filter(district=district, user_type="student").count() == 12
    page = district_admin_client.get(reverse("sync:settings")).content.decode()
    assert "added 12" in page and SyncRun.objects.get(district=district).trigger == "now"
    history = district_admin_client.get(reverse("imports:history")).content.decode()
    assert "Sync · User Data" in history


def test_another_districts_sync_is_not_seen(client, district, school):
    from sync import services

    services.sync_settings_update(district=district, source="folder", schedule_time=None, import_types=["user_data"],
                                  oneroster_url="", client_id="")
    other = make_district()
    client.force_login(make_admin(other))
    page = client.get(reverse("sync:settings")).content.decode()
    assert district.slug + "/incoming" not in page and other.slug + "/incoming" in page


def test_signed_out_and_non_admins_are_kept_out(client, district):
    assert client.get(reverse("sync:settings")).status_code == 302
    from users.tests.factories import make_user

    client.force_login(make_user(district))
    assert client.get(reverse("sync:settings")).status_code == 403
    assert client.post(reverse("sync:now")).status_code == 403


def test_a_held_sync_shows_why_with_approve_and_discard(district_admin_client, district, school):
    from sync import services

    district_admin_client.post(reverse("sync:settings"), _form())
    drop(district, roster(20))
    services.sync_run(district=district)
    drop(district, roster(20, gone=range(10)), name="night2.zip")
    job = services.sync_run(district=district).jobs.get()
    page = district_admin_client.get(reverse("imports:detail", args=[job.number])).content.decode()
    assert "It would disable 10 of 20 users (50.0%)" in page
    assert reverse("imports:approve", args=[job.number]) in page and reverse("imports:discard", args=[job.number]) in page
