"""sync_setup and sync_district as ops run them."""
import io

import pytest
from django.core.management import CommandError, call_command

from sync.models import SyncSettings
from sync.tests.conftest import drop
from sync.tests.oneroster_server import CLIENT_ID, CLIENT_SECRET, OneRosterServer
from sync.tests.roster import roster
from users.models import User

pytestmark = pytest.mark.django_db


def _call(*args):
    out, err = io.StringIO(), io.StringIO()
    code = 0
    try:
        call_command(*args, stdout=out, stderr=err)
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue(), err.getvalue()


def test_setup_a_folder_sync_then_sync_district_prints_the_delta(district, school):
    code, out, _ = _call("sync_setup", "--district", district.slug, "--source", "folder", "--types", "user_data,demographics",
                         "--full-roster", "--schedule", "22:30", "--hold-changed", "30", "--hold-disabled", "15")
    assert code == 0 and "schedule 22:30" in out and "full roster on" in out and "30% changed" in out
    drop(district, roster(20))
    code, out, _ = _call("sync_district", district.slug, "--now")
    assert code == 0
    assert "user_data: import 1, added 20, updated 0, disabled 0, enabled again 0, unchanged 0, skipped 0, errors 0" in out
    drop(district, roster(20, changed=[1], gone=[2]), name="night2.zip")
    code, out, _ = _call("sync_district", district.slug, "--now")
    assert "added 0, updated 1, disabled 1, enabled again 0, unchanged 18" in out and "First Name 1" in out


def test_dry_run_prints_what_would_change_and_writes_nothing(district, school):
    _call("sync_setup", "--district", district.slug, "--source", "folder", "--types", "user_data")
    drop(district, roster(20))
    code, out, _ = _call("sync_district", district.slug, "--now", "--dry-run")
    assert code == 0 and "added 20" in out and "Dry run" in out
    assert not User.objects.filter(district=district, user_type="student").exists()


def test_sync_district_says_when_the_sync_is_held(district, school):
    _call("sync_setup", "--district", district.slug, "--source", "folder", "--types", "user_data", "--full-roster")
    drop(district, roster(20))
    _call("sync_district", district.slug, "--now")
    drop(district, roster(20, gone=range(10)), name="night2.zip")
    code, out, _ = _call("sync_district", district.slug, "--now")
    assert code == 0 and "Held: It would disable 10 of 20 users (50.0%)" in out


def test_sync_district_exits_non_zero_when_the_fetch_fails(district, school, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("wrong-secret")
    with OneRosterServer(version="1.1", data=roster(5)) as server:
        _call("sync_setup", "--district", district.slug, "--source", "oneroster", "--url", server.base_url,
              "--client-id", CLIENT_ID, "--client-secret-file", str(secret), "--oneroster-version", "1.1")
        code, out, err = _call("sync_district", district.slug, "--now")
    assert code == 1 and "refused the credentials (HTTP 401)" in err


def test_setup_oneroster_with_test_and_the_secret_is_stored_encrypted(district, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text(CLIENT_SECRET + "\n")
    with OneRosterServer(version="1.2", data=roster(5, version="1.2")) as server:
        code, out, _ = _call("sync_setup", "--district", district.slug, "--source", "oneroster", "--url", server.base_url,
                             "--client-id", CLIENT_ID, "--client-secret-file", str(secret), "--oneroster-version", "1.2", "--test")
    assert code == 0 and "Connected to 127.0.0.1" in out and "2 orgs" in out
    assert CLIENT_SECRET not in out and "secret stored" in out
    stored = SyncSettings.objects.get(district=district)
    assert stored.client_secret_encrypted and CLIENT_SECRET not in stored.client_secret_encrypted


def test_test_connection_failure_is_a_command_error(district, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text(CLIENT_SECRET)
    with OneRosterServer(version="1.1", data=roster(5)) as server:
        _call("sync_setup", "--district", district.slug, "--source", "oneroster", "--url", server.base_url,
              "--client-id", CLIENT_ID, "--client-secret-file", str(secret))
        server.revoke()
        with pytest.raises(CommandError, match="revoked"):
            call_command("sync_setup", "--district", district.slug, "--test", stdout=io.StringIO())


def test_a_schedule_outside_the_off_peak_window_is_refused(district):
    with pytest.raises(CommandError, match="inside the district's off-peak window"):
        call_command("sync_setup", "--district", district.slug, "--source", "folder", "--schedule", "12:00", stdout=io.StringIO())


def test_an_unknown_type_is_refused(district):
    with pytest.raises(CommandError, match="Unknown import type classes"):
        call_command("sync_setup", "--district", district.slug, "--types", "user_data,classes", stdout=io.StringIO())
