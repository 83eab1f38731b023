"""A district admin maps a OneRoster-style file's roles and grades, and creates a school, by clicking."""
import datetime

import pytest

from imports.models import ImportJob
from schools.models import School
from users.models import User
from users.tests.factories import make_admin, make_district, make_school

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.browser

ROLES_FILE = (
    "First Name,Last Name,District ID,User Type,Grade,Email Address,School SIS ID\r\n"
    "Ada,Lovelace,1001,student,KG,,101\r\n"
    "Alan,Turing,1002,student,13,,NEW-9\r\n"
    "Grace,Hopper,T-1,teacher,,grace@example.org,101\r\n"
    "Gus,Parent,G-1,guardian,,gus@example.org,101\r\n"
).encode("utf-8")


@pytest.fixture
def district():
    d = make_district(name="Springfield Public Schools", timezone="America/Chicago")
    d.offpeak_start = d.offpeak_end = datetime.time(0, 0)  # any time: the import runs on submit
    d.save()
    make_admin(d, username="dadmin")
    make_school(d, sis_id="101", name="First Street ES")
    return d


def test_value_mapping_and_create_school_through_the_wizard(page, sign_in, screenshot, browser_errors, tmp_path, district):
    sign_in("dadmin")
    page.get_by_role("link", name="+ Create New").click()
    page.get_by_label("Import type").select_option(label="User Data")
    path = tmp_path / "users.csv"
    path.write_bytes(ROLES_FILE)
    page.get_by_label("Upload File").set_input_files(str(path))
    page.get_by_role("button", name="Next").click()
    page.wait_for_url("**/fields/")
    job = ImportJob.objects.get(district=district)
    page.get_by_role("button", name="Next").click()
    page.wait_for_url(f"**/imports/{job.number}/schools/")

    # The roles and grade 13 are listed with their suggestion; KG and student are known at once.
    table = page.locator("#value-mapping-table")
    expect(table.get_by_label("User Type for teacher")).to_have_value("staff")
    expect(table.get_by_label("User Type for guardian")).to_have_value("skip")
    expect(table.get_by_label("Grade for 13")).to_have_value("")
    expect(table).not_to_contain_text("KG")
    table.get_by_label("Grade for 13").select_option(label="12")
    # NEW-9 matches no school: create it, with an edited name.
    page.get_by_label("School for NEW-9").select_option(label="Create school")
    page.get_by_label("New school name for NEW-9").fill("Ninth Street MS")
    screenshot(page, "values-01-schools")
    page.get_by_role("button", name="Next").click()

    page.wait_for_url(f"**/imports/{job.number}/validate/")
    expect(page.locator(".alert-error")).to_have_count(0)
    assert not School.objects.filter(district=district, sis_id="NEW-9").exists()  # only on submit
    page.get_by_role("button", name="Next").click()
    page.wait_for_url(f"**/imports/{job.number}/actions/")
    page.get_by_role("button", name="Next").click()
    page.wait_for_url(f"**/imports/{job.number}/review/")
    expect(page.locator("#count-skipped")).to_have_text("1")
    expect(page.locator("#review-values")).to_contain_text("Grade “13” → 12")
    expect(page.locator(".review-list")).to_contain_text("new school Ninth Street MS (NEW-9)")
    screenshot(page, "values-02-review")
    page.get_by_role("button", name="Submit").click()
    page.wait_for_url(f"**/imports/{job.number}/")
    expect(page.locator("#detail-values")).to_contain_text("User Type “guardian” → skip these rows")
    screenshot(page, "values-03-details")

    school = School.objects.get(district=district, sis_id="NEW-9")
    assert school.name == "Ninth Street MS"
    users = {
        u.district_user_id: (u.user_type, u.grade, u.school.sis_id)
        for u in User.objects.filter(district=district, district_user_id__isnull=False).select_related("school")
    }
    assert users == {
        "1001": ("student", "K", "101"), "1002": ("student", "12", "NEW-9"), "T-1": ("staff", "", "101"),
    }
    assert browser_errors == []
