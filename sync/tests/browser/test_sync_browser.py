"""A district admin sets up a drop-folder sync in Chromium, presses Sync now, and finds the sync in
Import History as "Sync · User Data" with its delta on the Sync settings page."""
import pytest

from sync.tests.conftest import drop
from sync.tests.roster import roster
from users.models import User
from users.tests.factories import make_admin, make_district, make_school

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.browser


def test_set_up_a_folder_sync_and_sync_now(page, sign_in, screenshot, browser_errors):
    district = make_district(name="Springfield Public Schools", timezone="America/Chicago")
    make_school(district, sis_id="101", name="Lincoln Elementary")
    make_admin(district, username="dadmin")
    sign_in("dadmin")
    page.get_by_role("link", name="Sync settings").click()
    page.get_by_label("Drop folder (SFTP)").check()
    page.get_by_label("User Data").check()
    page.get_by_label("Schedule time").fill("22:00")
    page.get_by_label("Full roster: disable users an earlier sync brought in and this one leaves out").check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Sync settings saved.")).to_be_visible()
    expect(page.get_by_text(f"{district.slug}/incoming")).to_be_visible()
    drop(district, roster(12))
    page.get_by_role("button", name="Sync now").click()
    expect(page.locator("#sync-runs")).to_contain_text("added 12, updated 0, disabled 0")
    screenshot(page, "sync-01-settings-after-sync-now", phone=True)
    assert User.objects.filter(district=district, user_type="student").count() == 12
    page.get_by_role("link", name="Import History").click()
    expect(page.locator("#history")).to_contain_text("Sync · User Data")
    assert browser_errors == []
