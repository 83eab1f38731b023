"""Student.csv and Teacher.csv in one import, by clicking: each file's rows get their own User Type."""
import datetime

import pytest

from imports.models import ImportJob, ImportStatus
from users.models import User
from users.tests.factories import make_admin, make_district, make_school

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.browser

# As SDS exports them: no User Type column, and no Grade in the teacher file.
STUDENT_CSV = (
    "First Name,Last Name,District ID,Grade,School SIS ID\r\n"
    "Ada,Lovelace,S1,5,101\r\n"
    "Alan,Turing,S2,K,101\r\n"
).encode()
TEACHER_CSV = (
    "First Name,Last Name,District ID,Email Address,School SIS ID\r\n"
    "Grace,Hopper,T1,grace@example.org,101\r\n"
).encode()


@pytest.fixture
def district():
    d = make_district(name="Springfield Public Schools", timezone="America/Chicago")
    d.offpeak_start = d.offpeak_end = datetime.time(0, 0)  # any time
    d.save()
    make_admin(d, username="dadmin")
    make_school(d, sis_id="101", name="First Street ES")
    return d


def test_student_and_teacher_files_import_with_their_own_user_types(page, sign_in, screenshot, browser_errors, tmp_path, district):
    sign_in("dadmin")
    page.get_by_role("link", name="+ Create New").click()
    page.get_by_label("Import type").select_option(label="User Data")
    (tmp_path / "Student.csv").write_bytes(STUDENT_CSV)
    (tmp_path / "Teacher.csv").write_bytes(TEACHER_CSV)
    page.get_by_label("Upload File").set_input_files([str(tmp_path / "Student.csv"), str(tmp_path / "Teacher.csv")])
    page.get_by_role("button", name="Next").click()
    page.wait_for_url("**/fields/")
    job = ImportJob.objects.get(district=district)

    # Each file's User Type is proposed from its name and shown with the file it applies to.
    user_type = page.locator("#field-list li.choice", has_text="User Type *")
    expect(user_type.locator(".per-file")).to_have_text(["Student.csv: Student for every row", "Teacher.csv: Staff for every row"])
    screenshot(page, "per-file-01-proposed")

    # The admin takes Teacher.csv's back, then gives it again with the file chosen.
    page.get_by_role("button", name="Unmatch User Type for Teacher.csv").click()
    expect(user_type.locator(".per-file")).to_have_text(["Student.csv: Student for every row"])
    expect(page.locator(".alert-warning")).to_contain_text("User Type")
    user_type.get_by_label("Which file's rows get the value for User Type").select_option("Teacher.csv")
    user_type.get_by_label("One value for User Type").select_option(label="Staff")
    user_type.get_by_role("button", name="Use for all rows").click()
    expect(user_type.locator(".per-file")).to_have_text(["Student.csv: Student for every row", "Teacher.csv: Staff for every row"])
    expect(page.locator(".alert-warning")).to_have_count(0)
    screenshot(page, "per-file-02-confirmed")
    page.get_by_role("button", name="Next").click()

    page.wait_for_url(f"**/imports/{job.number}/schools/")
    page.get_by_role("button", name="Next").click()
    page.wait_for_url(f"**/imports/{job.number}/validate/")
    expect(page.locator(".alert-error")).to_have_count(0)
    page.get_by_role("button", name="Next").click()
    page.wait_for_url(f"**/imports/{job.number}/actions/")
    page.get_by_role("button", name="Next").click()
    page.wait_for_url(f"**/imports/{job.number}/review/")
    expect(page.locator(".review-list")).to_contain_text("User Type = staff for every row of Teacher.csv")
    screenshot(page, "per-file-03-review")
    page.get_by_role("button", name="Submit").click()
    page.wait_for_url(f"**/imports/{job.number}/")

    job.refresh_from_db()
    assert job.status == ImportStatus.COMPLETED, job.failure_reason
    assert dict(User.objects.filter(district=district, district_user_id__isnull=False).values_list("district_user_id", "user_type")) == {
        "S1": "student", "S2": "student", "T1": "staff",
    }
    assert User.objects.get(district_user_id="S2").grade == "K"
    assert browser_errors == []
