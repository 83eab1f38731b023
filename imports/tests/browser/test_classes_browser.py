"""Classes in Chromium: a plain Classes file walked through every step of its wizard, and each format's roster export
(OneRoster 1.1 and 1.2, SDS v1, v2 and v2.1, Clever) whose classes are imported with its users; the Classes tab then
shows them."""
import datetime
import io
import re
from pathlib import Path

import pytest
from django.core.management import call_command

from imports.models import ImportJob, ImportStatus
from imports.tests.fixtures import make_bundles
from users.models import UserType
from users.tests.factories import make_admin, make_district, make_school, make_user

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[3]
PLAIN = ROOT / "classes" / "tests" / "fixtures" / "classes.csv"
ONEROSTER_12 = sorted((ROOT / "imports" / "tests" / "fixtures" / "oneroster_12").iterdir())
EXPORTS = ROOT / "imports" / "tests" / "fixtures" / "exports"  # one folder a format, from its published column lists


@pytest.fixture
def district():
    d = make_district(name="Riverside Unified", timezone="America/Chicago")
    d.offpeak_start = d.offpeak_end = datetime.time(0, 0)  # any time
    d.change_threshold_percent = 100
    d.save()
    make_admin(d, username="dadmin")
    return d


def _exported(district) -> list[list[str]]:
    import csv

    out = io.StringIO()
    call_command("export_classes", "--district", district.slug, stdout=out)
    return list(csv.reader(io.StringIO(out.getvalue())))[1:]


def _start(page, import_type: str, files):
    page.get_by_role("link", name="+ Create New").click()
    page.get_by_label("Import type").select_option(label=import_type)
    page.get_by_label("Upload File").set_input_files([str(f) for f in files])
    page.get_by_role("button", name="Next").click()
    page.wait_for_url("**/fields/")


def test_a_plain_classes_file_walks_its_wizard_and_the_classes_tab_shows_the_classes(page, sign_in, screenshot, browser_errors, district):
    schools = {"101": make_school(district, sis_id="101", name="Lincoln ES"), "102": make_school(district, sis_id="102", name="Washington MS")}
    for district_id, school in (("T-1", "101"), ("T-2", "102")):
        make_user(district, district_user_id=district_id, user_type=UserType.STAFF, school=schools[school])
    for district_id, school in (("S-1", "101"), ("S-2", "101"), ("S-3", "101"), ("S-4", "102")):
        make_user(district, district_user_id=district_id, school=schools[school])

    sign_in("dadmin")
    _start(page, "Classes", [PLAIN])
    job = ImportJob.objects.get(district=district)
    page.get_by_role("button", name="Next").click()
    page.wait_for_url(f"**/imports/{job.number}/schools/")
    expect(page.get_by_label("School for 101")).to_have_value(str(schools["101"].id))
    page.get_by_role("button", name="Next").click()
    page.wait_for_url(f"**/imports/{job.number}/validate/")
    expect(page.locator(".alert-error")).to_have_count(0)
    page.get_by_role("button", name="Next").click()
    page.wait_for_url(f"**/imports/{job.number}/actions/")
    expect(page.locator("#roster-policy")).to_contain_text("Replace each class's roster with the file's")
    page.get_by_role("button", name="Next").click()
    page.wait_for_url(f"**/imports/{job.number}/review/")
    expect(page.locator("#review-enrollments-added")).to_have_text("9")
    screenshot(page, "classes-01-review")
    page.get_by_role("button", name="Submit").click()
    page.wait_for_url(f"**/imports/{job.number}/")
    job.refresh_from_db()
    assert job.status == ImportStatus.COMPLETED, job.failure_reason

    page.get_by_role("link", name="Classes", exact=True).click()
    page.get_by_label("Search by class name, SIS ID or teacher").fill("Reading")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Reading 5 B").click()
    expect(page.locator("#students")).to_contain_text("S-3")
    expect(page.locator("#class-history")).to_contain_text(f"Created by Import {job.number}")
    screenshot(page, "classes-02-class-page")
    assert browser_errors == []


def test_a_oneroster_12_upload_imports_its_classes_after_its_users(page, sign_in, browser_errors, district):
    make_school(district, sis_id="101", name="Lincoln ES")
    make_school(district, sis_id="102", name="Washington MS")

    sign_in("dadmin")
    _start(page, "User Data", ONEROSTER_12)
    job = ImportJob.objects.get(district=district)
    page.get_by_role("button", name="Next").click()
    page.wait_for_url(f"**/imports/{job.number}/schools/")
    page.get_by_role("button", name="Next").click()
    page.wait_for_url(f"**/imports/{job.number}/validate/")
    page.get_by_role("button", name="Next").click()
    page.wait_for_url(f"**/imports/{job.number}/actions/")
    expect(page.get_by_label("Also import classes (2 classes, 6 enrollments)")).to_be_checked()
    page.get_by_role("button", name="Next").click()
    page.wait_for_url(f"**/imports/{job.number}/review/")
    expect(page.locator("#review-classes")).to_contain_text("6")
    page.get_by_role("button", name="Submit").click()
    page.wait_for_url(f"**/imports/{job.number}/")

    job.refresh_from_db()
    assert job.status in (ImportStatus.COMPLETED, ImportStatus.COMPLETED_WITH_WARNINGS), job.failure_reason
    assert _exported(district) == make_bundles.EXPECTED_12_CLASSES
    assert browser_errors == []


@pytest.mark.parametrize("folder", sorted(p.name for p in EXPORTS.iterdir() if p.is_dir()))
def test_each_formats_export_imports_its_class_with_its_users_through_the_wizard(page, sign_in, browser_errors, district, folder):
    make_school(district, sis_id="201", name="Maple Elementary")
    make_school(district, sis_id="202", name="Valley High")

    sign_in("dadmin")
    _start(page, "User Data", sorted((EXPORTS / folder).iterdir()))
    job = ImportJob.objects.get(district=district)
    page.get_by_role("button", name="Next").click()
    page.wait_for_url(f"**/imports/{job.number}/schools/")
    if folder == "sds_v2":  # its department has no parent in orgs.csv: it is a school value of its own
        page.get_by_label("School for 202-SCI").select_option(label="Create school")
    for step in ("validate", "actions"):
        page.get_by_role("button", name="Next").click()
        page.wait_for_url(f"**/imports/{job.number}/{step}/")
    expect(page.get_by_label(re.compile(r"^Also import classes \(1 classes, 2 enrollments\)"))).to_be_checked()
    page.get_by_role("button", name="Next").click()
    page.wait_for_url(f"**/imports/{job.number}/review/")
    page.get_by_role("button", name="Submit").click()
    page.wait_for_url(f"**/imports/{job.number}/")

    job.refresh_from_db()
    assert job.status in (ImportStatus.COMPLETED, ImportStatus.COMPLETED_WITH_WARNINGS), job.failure_reason
    [row] = _exported(district)
    assert row[1:] == ["Grade 3 Reading", "201", "cara", "ana"]
    assert browser_errors == []
