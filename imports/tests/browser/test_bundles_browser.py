"""OneRoster 1.1 (zip), OneRoster 1.2 (files with roles.csv) and SDS v1 (the trio) walked through the wizard
in Chromium with the files as written, no hand edits and no manual matching."""
import datetime
from pathlib import Path

import pytest

from imports.models import ImportJob, ImportStatus
from imports.tests.fixtures import make_bundles
from users.models import User, UserType
from users.tests.factories import make_admin, make_district, make_school

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.browser
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

BUNDLES = {
    # name: (files to upload, what the summary calls it, rows not imported, expected users)
    "oneroster_11": ([FIXTURES / "oneroster_11.zip"], "OneRoster 1.1 upload", "3 rows", make_bundles.EXPECTED_11),
    "oneroster_12": (sorted((FIXTURES / "oneroster_12").iterdir()), "OneRoster 1.2 upload", "3 rows", make_bundles.EXPECTED_12),
    "sds_v1": (sorted((FIXTURES / "sds_v1").iterdir()), "School Data Sync v1 upload", "none", make_bundles.EXPECTED_SDS),
}


@pytest.fixture
def district():
    d = make_district(name="Riverside Unified", timezone="America/Chicago")
    d.offpeak_start = d.offpeak_end = datetime.time(0, 0)  # a zero-length window means "any time"
    d.change_threshold_percent = 100
    d.save()
    make_admin(d, username="dadmin")
    return d


@pytest.mark.parametrize("bundle", list(BUNDLES))
def test_a_bundle_walks_the_wizard_and_imports_every_student_and_staff_member(page, sign_in, screenshot, browser_errors, district, bundle):
    files, label, not_imported, expected = BUNDLES[bundle]
    lincoln = make_school(district, sis_id="101", name="Lincoln ES")
    make_school(district, sis_id="102", name="Washington MS")

    sign_in("dadmin")
    page.get_by_role("link", name="+ Create New").click()
    page.get_by_label("Import type").select_option(label="User Data")
    page.get_by_label("Description").fill(f"{bundle} roster")
    page.get_by_label("Upload File").set_input_files([str(f) for f in files])
    page.get_by_role("button", name="Next").click()
    page.wait_for_url("**/fields/")
    job = ImportJob.objects.get(district=district)

    # Map Fields: the upload is named for what it is, and every required field is already matched.
    expect(page.locator("#bundle-summary")).to_contain_text(label)
    expect(page.locator(".alert-warning")).to_have_count(0)
    screenshot(page, f"bundle-{bundle}-01-map-fields")
    page.get_by_role("button", name="Next").click()

    # School Mapping: the orgs' identifiers (SDS: School SIS IDs) match the district's schools by themselves.
    page.wait_for_url(f"**/imports/{job.number}/schools/")
    expect(page.get_by_label("School for 101")).to_have_value(str(lincoln.id))
    page.get_by_role("button", name="Next").click()

    page.wait_for_url(f"**/imports/{job.number}/validate/")
    expect(page.locator(".alert-error")).to_have_count(0)
    page.get_by_role("button", name="Next").click()
    page.wait_for_url(f"**/imports/{job.number}/actions/")
    page.get_by_role("button", name="Next").click()

    # Review: the rows not imported are counted.
    page.wait_for_url(f"**/imports/{job.number}/review/")
    expect(page.locator("#bundle-not-imported")).to_contain_text(not_imported)
    expect(page.locator("#count-new")).to_have_text(str(len(expected)))
    screenshot(page, f"bundle-{bundle}-02-review")
    page.get_by_role("button", name="Submit").click()
    page.wait_for_url(f"**/imports/{job.number}/")

    job.refresh_from_db()
    assert job.status in (ImportStatus.COMPLETED, ImportStatus.COMPLETED_WITH_WARNINGS), job.failure_reason
    imported = {
        u.district_user_id: ("student" if u.user_type == UserType.STUDENT else "staff", u.grade or "", u.school.sis_id)
        for u in User.objects.filter(district=district, district_user_id__isnull=False).select_related("school")
    }
    assert imported == expected
    assert browser_errors == []
