"""Done means, OneRoster API (1.1 and 1.2, against a server that follows the paging and both authentications):
a first sync imports the district; a night later 10 changed and 5 gone, unchanged, and 40% gone (held)."""
import datetime

import pytest

from imports.models import ImportChange, ImportStatus
from sync import services
from sync.models import SyncRunStatus
from sync.tests.oneroster_server import CLIENT_ID, CLIENT_SECRET, OneRosterServer
from sync.tests.roster import roster
from users.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["1.1", "1.2"])
def api(request, district, school, district_admin):
    version = request.param
    with OneRosterServer(version=version, data=roster(100, version=version)) as server:
        services.sync_settings_update(
            district=district, source="oneroster", schedule_time=datetime.time(22, 0), import_types=["user_data"],
            full_roster=True, oneroster_url=server.base_url, oneroster_version=version, client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
        )
        yield server


def _sync(district):
    return services.sync_run(district=district, trigger="command")


def test_first_sync_imports_the_district_and_keeps_the_pages(district, api):
    run = _sync(district)
    assert run.status == SyncRunStatus.COMPLETED, run.message
    job = run.jobs.get()
    assert job.type_label == "Sync · User Data" and job.status == ImportStatus.COMPLETED
    assert run.delta["user_data"]["added"] == 100
    assert User.objects.filter(district=district, user_type="student", is_active=True).count() == 100
    # Paged at the server's 100 per page, X-Total-Count honoured: one request per page, none past the end.
    assert [o for c, o, s in api.requests if c == "users"] == [0]
    names = set(job.files.values_list("original_name", flat=True))
    assert names == {f"oneroster-{api.version}.zip", "users.csv", "oneroster-pages.jsonl"}
    pages = job.files.get(original_name="oneroster-pages.jsonl").stored.open("rb").read().decode()
    assert '"collection": "users"' in pages and CLIENT_SECRET not in pages


def test_a_night_later_ten_changed_and_five_gone_disables_five(district, api):
    _sync(district)
    api.data = roster(100, version=api.version, changed=range(10), gone=range(90, 95))
    run = _sync(district)
    delta = run.delta["user_data"]
    assert (delta["updated"], delta["disabled"], delta["unchanged"]) == (10, 5, 85), run.message
    assert User.objects.filter(district=district, is_active=False).count() == 5


def test_an_unchanged_roster_writes_nothing(district, api):
    _sync(district)
    run = _sync(district)
    job = run.jobs.get()
    assert (job.counts["created"], job.counts["updated"], job.counts.get("disabled", 0)) == (0, 0, 0)
    assert not ImportChange.objects.filter(job=job).exists()


def test_a_roster_that_would_disable_40_percent_is_held(district, api):
    _sync(district)
    api.data = roster(100, version=api.version, gone=range(60, 100))
    run = _sync(district)
    assert run.status == SyncRunStatus.HELD
    assert run.jobs.get().status == ImportStatus.ON_HOLD
    assert not User.objects.filter(district=district, is_active=False).exists()


def test_no_secret_or_token_in_the_stored_job(district, api):
    from imports.tests.factories import stored_text

    _sync(district)
    text = stored_text()
    assert CLIENT_SECRET not in text
    assert not any(h[7:] in text for h in api.auth_headers if h.startswith("Bearer "))
