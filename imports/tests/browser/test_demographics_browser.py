"""A district admin updates 100 students' demographics in Chromium: Student Demographics, on the same wizard."""
import csv
import datetime
import io

import pytest

from imports.models import ImportJob, ImportStatus
from users.models import User
from users.tests.factories import make_admin, make_district, make_school, make_user

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.browser

STUDENTS = 100
FLAGS = ("hispanic_latino", "limited_english", "disabled", "economically_disadvantaged", "migrant")
HEADER = (
    "DistrictUserID", "Grade", "Gender", "Race", "Hispanic or Latino", "English Language Learner",
    "Special Education", "Economically Disadvantaged", "Migrant",
)
UNKNOWN_ID = "999999"
SPARE_ID = f"{STUDENTS + 1:06d}"  # a student who is not in the file; the admin types this id instead


def _file() -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for n in range(1, STUDENTS + 1):
        if n % 2 == 0:  # a new grade, gender and race; flags Y/N
            writer.writerow([f"{n:06d}", "K", "F", "Asian;White", "Y", "N", "Y", "1", "0"])
        else:  # every cell blank: grade, gender and race are kept, each flag becomes No
            writer.writerow([f"{n:06d}", "", "", "", "", "", "", "", ""])
    writer.writerow([UNKNOWN_ID, "3", "M", "", "", "", "", "", ""])
    return out.getvalue().encode("utf-8")


@pytest.fixture
def district():
    d = make_district(name="Springfield Public Schools", timezone="America/Chicago", change_threshold_percent=100)
    d.offpeak_start = d.offpeak_end = datetime.time(0, 0)  # a zero-length window means "any time"
    d.save()
    school = make_school(d, sis_id="101", name="First Street ES")
    for n in range(1, STUDENTS + 2):
        make_user(d, district_user_id=f"{n:06d}", username=f"springfield.{n:06d}", grade="3", school=school,
                  **{f: True for f in FLAGS})
    return d


def _signatures(district):
    return {u["id"]: u for u in User.objects.filter(district=district).values("id", "username", "password", "district_user_id", "first_name", "last_name")}


def test_a_demographics_file_for_a_hundred_students(page, sign_in, screenshot, browser_errors, tmp_path, district):
    make_admin(district, username="dadmin")
    before, count = _signatures(district), User.objects.count()
    sign_in("dadmin")
    page.get_by_role("link", name="+ Create New").click()
    page.get_by_label("Import type").select_option(label="Student Demographics")
    path = tmp_path / "demographics.csv"
    path.write_bytes(_file())
    page.get_by_label("Upload File").set_input_files(str(path))
    page.get_by_role("button", name="Next").click()
    page.wait_for_url("**/fields/")
    job = ImportJob.objects.get(district=district)

    # Only this type's steps; every heading of the article matches without a click.
    expect(page.locator("ol.steps li")).to_have_text(["Upload File", "Map Fields", "Value Mapping", "Validate File", "Review"])
    expect(page.locator("#field-list li.choice", has_text="DistrictUserID *").locator(".badge-success")).to_have_text("matched: DistrictUserID")
    expect(page.locator(".alert-warning")).to_have_count(0)
    screenshot(page, "demographics-01-map-fields")
    page.get_by_role("button", name="Next").click()

    # Value Mapping: every coded value of the file is recognised, so there is nothing to choose.
    page.wait_for_url(f"**/imports/{job.number}/values/")
    page.get_by_role("button", name="Next").click()

    # Validate File: the unknown District ID is an error row, corrected here to a student not in the file.
    page.wait_for_url(f"**/imports/{job.number}/validate/")
    expect(page.locator(".alert-error")).to_contain_text("The file has 1 error")
    row = page.locator("#fix-rows .fix-row").filter(has_text=f"demographics.csv, row {STUDENTS + 2}")
    expect(row).to_contain_text(f"There is no student with this District ID ({UNKNOWN_ID}).")
    screenshot(page, "demographics-02-error-row")
    row.get_by_label("DistrictUserID").fill(SPARE_ID)
    page.get_by_role("button", name="Save corrections").click()
    page.wait_for_url(f"**/imports/{job.number}/validate/?fix_page=1")
    expect(page.locator(".counts")).to_contain_text("Errors0")
    expect(page.locator(".counts")).to_contain_text("New0")
    expect(page.locator(".counts")).to_contain_text(f"Updated{STUDENTS + 1}")
    expect(page.locator(".counts")).to_contain_text("Conflicts0")
    page.get_by_role("button", name="Next").click()

    page.wait_for_url(f"**/imports/{job.number}/review/")
    expect(page.locator("#count-new")).to_have_text("0")
    expect(page.locator("#count-updated")).to_have_text(str(STUDENTS + 1))
    expect(page.locator(".review-list")).to_contain_text("Student Demographics")
    screenshot(page, "demographics-03-review")
    page.get_by_role("button", name="Submit").click()
    page.wait_for_url(f"**/imports/{job.number}/")

    job.refresh_from_db()
    assert job.status == ImportStatus.COMPLETED, job.failure_reason
    even, odd, spare = (User.objects.get(district_user_id=i) for i in ("000002", "000001", SPARE_ID))
    assert (even.grade, even.gender, even.race) == ("K", "F", "Asian;White")
    assert [getattr(even, f) for f in FLAGS] == [True, False, True, True, False]
    assert (odd.grade, odd.gender, odd.race) == ("3", "", "")  # blank keeps grade, gender and race
    assert not any(getattr(odd, f) for f in FLAGS)  # blank = No for the flags
    assert (spare.grade, spare.gender) == ("3", "M")
    # Usernames, ids, names and passwords untouched, and nobody created.
    assert _signatures(district) == before and User.objects.count() == count
    page.goto("/imports/")
    expect(page.locator("table tr", has_text=job.description or "Student Demographics").first).to_contain_text("Student Demographics")
    screenshot(page, "demographics-04-history")
    assert browser_errors == []
