"""A district admin finds, edits and groups users in Chromium, by clicking, as they would by hand."""
import datetime

import pytest

from imports.tests.factories import SCHOOL_SIS_ID, make_import_job, run_job, student, write_csv
from users.models import CustomGroup, User
from users.tests.factories import make_admin, make_district, make_school, make_user

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.browser

GROUP_FILE = (
    "First Name,Last Name,District ID,User Type,Grade,Email Address,School SIS ID\r\n"
    "Ada,Lovelace,2001,Student,5,ada@example.org,101\r\n"
    "Alan,Turing,2002,Student,K,alan@example.org,101\r\n"
    "Grace,Hopper,T-9,Staff,,grace@example.org,101\r\n"
).encode("utf-8")


@pytest.fixture
def district():
    d = make_district(name="Springfield Public Schools", timezone="America/Chicago")
    d.offpeak_start = d.offpeak_end = datetime.time(0, 0)  # a zero-length window means "any time"
    d.save()
    return d


@pytest.fixture
def admin(district):
    return make_admin(district, username="dadmin", first_name="Dana", last_name="Whitfield")


def test_find_a_user_imported_a_minute_ago_edit_their_grade_and_see_it_in_their_history(
    page, sign_in, screenshot, browser_errors, tmp_path, district, admin
):
    make_school(district, sis_id=SCHOOL_SIS_ID, name="First Street ES")
    for n in range(30):
        make_user(district, last_name=f"Other{n:02d}")
    path = write_csv(tmp_path / "roster.csv", [
        student("000777", **{"First Name": "Katherine", "Last Name": "Johnson", "Grade": "5"}),
        student("000778", **{"First Name": "Dorothy", "Last Name": "Vaughan", "Grade": "6"}),
    ])
    job = run_job(make_import_job(district, [path], created_by=admin))
    assert job.is_finished, job.failure_reason

    sign_in("dadmin")
    page.get_by_role("link", name="Users", exact=True).click()
    expect(page.get_by_role("heading", name="Users")).to_be_visible()
    page.get_by_label("Search").fill("johnson kath")
    page.get_by_role("button", name="Search").click()
    rows = page.locator("#users tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("000777")
    expect(rows.first).to_contain_text("First Street ES")
    screenshot(page, "users-01-search", phone=True)

    rows.first.get_by_role("link", name="Johnson, Katherine").click()
    expect(page.get_by_role("heading", name="Katherine Johnson")).to_be_visible()
    expect(page.locator("#user-imports")).to_contain_text(f"Created by Import {job.number}")
    screenshot(page, "users-02-user-page")

    page.get_by_role("link", name="Edit", exact=True).click()
    expect(page.get_by_label("Grade")).to_have_value("5")
    page.get_by_label("Grade").fill("13")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".field-error")).to_contain_text('Grade "13" is not a grade.')
    screenshot(page, "users-03-edit-error")
    page.get_by_label("Grade").fill("6")
    page.get_by_role("button", name="Save").click()

    expect(page.locator(".messages")).to_contain_text("Saved Katherine Johnson: Grade.")
    expect(page.locator("#user-fields")).to_contain_text("6")
    history = page.locator("#user-history tbody tr", has_text="Edited a user: Grade")
    expect(history).to_have_count(1)
    expect(history).to_contain_text("dadmin")
    screenshot(page, "users-04-history")
    assert User.objects.get(district=district, district_user_id="000777").grade == "6"
    assert browser_errors == []


def test_create_a_group_use_it_in_an_import_and_see_its_members(
    page, sign_in, screenshot, browser_errors, tmp_path, district, admin
):
    make_school(district, sis_id="101", name="First Street ES")
    sign_in("dadmin")
    page.get_by_role("link", name="Groups", exact=True).click()
    page.get_by_label("New group name").fill("Robotics Club")
    page.get_by_role("button", name="Create group").click()
    expect(page.locator(".messages")).to_contain_text('Group "Robotics Club" created.')
    expect(page.locator("#member-count")).to_have_text("0 members")
    screenshot(page, "groups-01-created")
    group = CustomGroup.objects.get(district=district)

    # The import wizard, with the new group chosen on Additional Actions.
    page.get_by_role("link", name="Import", exact=True).click()
    page.get_by_role("link", name="+ Create New").click()
    page.get_by_label("Import type").select_option(label="User Data")
    path = tmp_path / "robotics.csv"
    path.write_bytes(GROUP_FILE)
    page.get_by_label("Upload File").set_input_files(str(path))
    page.get_by_role("button", name="Next").click()
    page.wait_for_url("**/fields/")
    page.get_by_role("button", name="Next").click()
    page.wait_for_url("**/schools/")
    page.get_by_role("button", name="Next").click()
    page.wait_for_url("**/validate/")
    page.get_by_role("button", name="Next").click()
    page.wait_for_url("**/actions/")
    page.get_by_label("Add users to a custom group").select_option(label="Robotics Club")
    screenshot(page, "groups-02-actions")
    page.get_by_role("button", name="Next").click()
    page.wait_for_url("**/review/")
    page.get_by_role("button", name="Submit").click()
    expect(page.locator(".messages")).to_contain_text("is scheduled.")

    page.get_by_role("link", name="Groups", exact=True).click()
    row = page.locator("#groups tbody tr", has_text="Robotics Club")
    expect(row).to_contain_text("2")  # students only, the wizard's default
    row.get_by_role("link", name="Robotics Club").click()
    members = page.locator("#members tbody tr")
    expect(members).to_have_count(2)
    expect(page.locator("#members")).to_contain_text("Lovelace, Ada")
    expect(page.locator("#members")).to_contain_text("Turing, Alan")
    expect(page.locator("#members")).not_to_contain_text("Hopper")
    screenshot(page, "groups-03-members")

    # Take one out again on the group page.
    members.filter(has_text="Turing").get_by_role("button", name="Remove").click()
    expect(page.locator("#member-count")).to_have_text("1 member")
    assert list(group.members.values_list("district_user_id", flat=True)) == ["2001"]
    assert browser_errors == []
