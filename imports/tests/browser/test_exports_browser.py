"""Each format's export folder, uploaded loose in Chromium, walks the wizard with no edits: post-secondary rows
are proposed for skipping, guardians are listed by name, and the K-12 people are created."""
import datetime
from pathlib import Path

import pytest

from imports.models import ImportJob, ImportStatus
from imports.tests.fixtures import make_exports
from users.models import User, UserType
from users.tests.factories import make_admin, make_district, make_school

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.browser
EXPORTS = Path(__file__).resolve().parent.parent / "fixtures" / "exports"
LABELS = {
    "oneroster_11": "OneRoster 1.1 upload", "oneroster_12": "OneRoster 1.2 upload", "sds_v1": "School Data Sync v1 upload",
    "sds_v2": "School Data Sync v2 upload", "sds_v21": "School Data Sync v2.1 upload", "clever": "Clever district files upload",
}


@pytest.fixture
def district():
    d = make_district(name="Maple Valley Unified", timezone="America/Chicago")
    d.offpeak_start = d.offpeak_end = datetime.time(0, 0)  # a zero-length window means "any time"
    d.change_threshold_percent = 100
    d.save()
    make_admin(d, username="dadmin")
    make_school(d, sis_id="201", name="Maple Elementary")
    make_school(d, sis_id="202", name="Valley High")
    return d


@pytest.mark.parametrize("folder", list(LABELS))
def test_an_export_folder_walks_the_wizard(page, sign_in, screenshot, browser_errors, district, folder):
    sign_in("dadmin")
    page.get_by_role("link", name="+ Create New").click()
    page.get_by_label("Import type").select_option(label="User Data")
    page.get_by_label("Upload File").set_input_files([str(f) for f in sorted((EXPORTS / folder).iterdir())])
    page.get_by_role("button", name="Next").click()
    page.wait_for_url("**/fields/")
    job = ImportJob.objects.get(district=district)
    expect(page.locator("#bundle-summary")).to_contain_text(LABELS[folder])
    expect(page.locator(".alert-warning")).to_have_count(0)
    page.get_by_role("button", name="Next").click()

    page.wait_for_url(f"**/imports/{job.number}/schools/")
    if folder == "sds_v2":  # its department has no parent in orgs.csv: it is a school value of its own
        page.get_by_label("School for 202-SCI").select_option(label="Create school")
    screenshot(page, f"export-{folder}-01-school-mapping")
    page.get_by_role("button", name="Next").click()

    page.wait_for_url(f"**/imports/{job.number}/validate/")
    expect(page.locator(".alert-error")).to_have_count(0)
    page.get_by_role("button", name="Next").click()
    page.wait_for_url(f"**/imports/{job.number}/actions/")
    page.get_by_role("button", name="Next").click()

    page.wait_for_url(f"**/imports/{job.number}/review/")
    expect(page.locator("#count-new")).to_have_text(str(len(make_exports.K12)))
    page.get_by_role("button", name="Submit").click()
    page.wait_for_url(f"**/imports/{job.number}/")

    job.refresh_from_db()
    assert job.status in (ImportStatus.COMPLETED, ImportStatus.COMPLETED_WITH_WARNINGS), job.failure_reason
    imported = {
        u.district_user_id: ("student" if u.user_type == UserType.STUDENT else "staff", u.grade or "", u.school.sis_id)
        for u in User.objects.filter(district=district, district_user_id__isnull=False).select_related("school")
    }
    expected = dict(make_exports.K12)
    if folder == "sds_v2":
        expected["ben"] = ("student", "K", "202-SCI")
    assert imported == expected
    assert browser_errors == []
