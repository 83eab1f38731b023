"""A district admin corrects two error rows on Validate File in Chromium, imports them, and downloads both versions."""
import csv
import datetime
import io

import pytest

from imports.models import ImportJob, ImportStatus
from users.models import User
from users.tests.factories import make_admin, make_district, make_school

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.browser

# Row 3 has a grade that does not exist, row 4 a user type that does not; rows 2 and 5 are fine.
TWO_BAD_ROWS = (
    "First Name,Last Name,District ID,User Type,Grade,Email Address,School SIS ID\r\n"
    "Ada,Lovelace,1001,Student,5,ada@example.org,101\r\n"
    "Alan,Turing,1002,Student,13,alan@example.org,101\r\n"
    "Grace,Hopper,1003,Wizard,4,grace@example.org,101\r\n"
    "Katherine,Johnson,1004,Student,K,kj@example.org,101\r\n"
).encode("utf-8")


@pytest.fixture
def district():
    d = make_district(name="Springfield Public Schools", timezone="America/Chicago")
    d.offpeak_start = d.offpeak_end = datetime.time(0, 0)  # a zero-length window means "any time"
    d.save()
    make_school(d, sis_id="101", name="First Street ES")
    return d


@pytest.fixture
def admin(district):
    return make_admin(district, username="dadmin")


def _row(page, number: int):
    return page.locator("#fix-rows .fix-row").filter(has_text=f"roster.csv, row {number}")


def test_two_error_rows_are_fixed_on_validate_file_and_imported(page, sign_in, screenshot, browser_errors, tmp_path, district, admin):
    sign_in("dadmin")
    page.get_by_role("link", name="+ Create New").click()
    page.get_by_label("Import type").select_option(label="User Data")
    path = tmp_path / "roster.csv"
    path.write_bytes(TWO_BAD_ROWS)
    page.get_by_label("Upload File").set_input_files(str(path))
    page.get_by_role("button", name="Next").click()
    page.wait_for_url("**/fields/")
    job = ImportJob.objects.get(district=district)
    page.get_by_role("button", name="Next").click()
    page.wait_for_url(f"**/imports/{job.number}/schools/")
    page.get_by_role("button", name="Next").click()

    # Validate File: both rows are offered with their cells and their problems beside them.
    page.wait_for_url(f"**/imports/{job.number}/validate/")
    expect(page.locator(".alert-error")).to_contain_text("The file has 2 errors")
    expect(page.locator("#fix-rows .fix-row")).to_have_count(2)
    expect(_row(page, 3).get_by_label("Grade")).to_have_value("13")
    expect(_row(page, 3)).to_contain_text('Grade "13" is not a grade.')
    expect(_row(page, 4).get_by_label("User Type")).to_have_value("Wizard")
    expect(_row(page, 4).get_by_label("First Name")).to_have_value("Grace")
    screenshot(page, "fix-rows-01-editor", phone=True)

    _row(page, 3).get_by_label("Grade").fill("6")
    _row(page, 4).get_by_label("User Type").fill("Staff")
    _row(page, 4).get_by_label("Grade").fill("")
    page.get_by_role("button", name="Save corrections").click()

    # Checked again: no errors, the editor is gone, and Next is offered.
    page.wait_for_url(f"**/imports/{job.number}/validate/?fix_page=1")
    expect(page.locator(".messages")).to_contain_text("2 rows corrected and the file checked again.")
    expect(page.locator(".counts")).to_contain_text("Errors0")
    expect(page.locator(".counts")).to_contain_text("New4")
    expect(page.locator("#fix-rows")).to_have_count(0)
    screenshot(page, "fix-rows-02-saved")
    page.get_by_role("button", name="Next").click()
    page.wait_for_url(f"**/imports/{job.number}/actions/")
    page.get_by_role("button", name="Next").click()
    page.wait_for_url(f"**/imports/{job.number}/review/")
    page.get_by_role("button", name="Submit").click()
    page.wait_for_url(f"**/imports/{job.number}/")

    # The open window and eager tasks ran it: both corrected users are in Classworks.
    job.refresh_from_db()
    assert job.status == ImportStatus.COMPLETED, job.failure_reason
    assert User.objects.get(district=district, district_user_id="1002").grade == "6"
    assert User.objects.get(district=district, district_user_id="1003").user_type == "staff"
    page.reload()
    created = page.locator("table", has_text="Username").first
    expect(created).to_contain_text("1002")
    expect(created).to_contain_text("1003")
    expect(page.locator(".review-list")).to_contain_text("rows 3, 4 of roster.csv corrected on Validate File")
    screenshot(page, "fix-rows-03-details")

    # Both versions download: the upload byte for byte, the corrected one with the fixes.
    with page.expect_download() as original:
        page.get_by_role("link", name="roster.csv", exact=True).click()
    assert original.value.suggested_filename == "roster.csv"
    with open(original.value.path(), "rb") as fh:
        assert fh.read() == TWO_BAD_ROWS
    with page.expect_download() as corrected:
        page.get_by_role("link", name="roster (corrected).csv").click()
    assert corrected.value.suggested_filename == "roster (corrected).csv"
    with open(corrected.value.path(), encoding="utf-8-sig") as fh:
        records = list(csv.reader(io.StringIO(fh.read())))
    assert records[2][3:5] == ["Student", "6"]
    assert records[3][3:5] == ["Staff", ""]
    assert records[1] == ["Ada", "Lovelace", "1001", "Student", "5", "ada@example.org", "101"]
    assert browser_errors == []
