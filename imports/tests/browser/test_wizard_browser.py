"""A district admin drives the import wizard in Chromium, by clicking, as they would by hand."""
import datetime
import re

import pytest

from imports import tasks
from imports.models import ImportJob, ImportStatus
from imports.services import validation
from imports.tests.factories import make_import_job
from users.tests.factories import make_admin, make_district, make_school, make_user

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.browser

# "Student Number" needs a manual Match (it is only suggested); "LMS" is a school value with no
# SIS ID match; the first two rows share an email (one warning).
WALK_FILE = (
    "First Name,Last Name,Student Number,User Type,Grade,Email Address,School SIS ID\r\n"
    "José,Núñez,000123,0,5,jn@example.org,101\r\n"
    "Zoë,Smith,000124,0,K,jn@example.org,LMS\r\n"
    "Ann,Teacher,T1,1,,ann@example.org,101\r\n"
).encode("utf-8")

GRADE_13_FILE = (
    "First Name,Last Name,District ID,User Type,Grade,Email Address,School SIS ID\r\n"
    "Ada,Lovelace,1001,Student,5,ada@example.org,101\r\n"
    "Alan,Turing,1002,Student,13,alan@example.org,101\r\n"
).encode("utf-8")

HEADERLESS_FILE = (
    "Ada,,Lovelace,1001,Student,5,ada@example.org,101\r\n"
    "Alan,M,Turing,1002,Student,K,alan@example.org,101\r\n"
    "Grace,,Hopper,T-1,Staff,,grace@example.org,101\r\n"
).encode("utf-8")
HEADERLESS_MATCHES = [
    ("First Name *", "Column 1"), ("Last Name *", "Column 3"), ("District ID *", "Column 4"),
    ("User Type *", "Column 5"), ("Grade *", "Column 6"), ("Email Address *", "Column 7"),
    ("School SIS ID *", "Column 8"),
]

# --color-warning-soft in app.css: the yellow of a warning.
WARNING_YELLOW = "rgb(255, 244, 209)"


@pytest.fixture
def district():
    d = make_district(name="Springfield Public Schools", timezone="America/Chicago")
    d.offpeak_start = d.offpeak_end = datetime.time(0, 0)  # a zero-length window means "any time"
    d.save()
    return d


@pytest.fixture
def admin(district):
    return make_admin(district, username="dadmin", first_name="Dana", last_name="Whitfield")


def _upload(page, tmp_path, name: str, content: bytes, *, description: str = "", no_header: bool = False):
    """From Import History: + Create New, fill the Upload File screen, Next."""
    page.get_by_role("link", name="+ Create New").click()
    page.get_by_label("Import type").select_option(label="User Data")
    if description:
        page.get_by_label("Description").fill(description)
    path = tmp_path / name
    path.write_bytes(content)
    page.get_by_label("Upload File").set_input_files(str(path))
    if no_header:
        page.get_by_label("My file has no header row").check()
    page.get_by_role("button", name="Next").click()
    page.wait_for_url("**/fields/")
    return path


def _match(page, field_label: str, column_label: str) -> None:
    """Map Fields: click a field's radio, a column's radio, then Match."""
    page.locator("#field-list li.choice", has_text=field_label).get_by_role("radio").click()
    page.locator("#column-list li.choice").filter(
        has=page.get_by_text(column_label, exact=True)
    ).get_by_role("radio").click()
    page.get_by_role("button", name="Match", exact=True).click()
    expect(page.locator("#field-list li.choice", has_text=field_label).locator(".badge-success")).to_have_text(
        f"matched: {column_label}"
    )


@pytest.fixture
def held_worker(monkeypatch):
    """The wizard's background passes wait in a queue until the test plays the worker."""
    queued = []
    monkeypatch.setattr(tasks.validate_draft, "delay_on_commit", queued.append)

    def run_next():
        assert queued, "no background pass was started"
        validation.import_job_validation_run(job_id=queued.pop(0))

    return run_next


def test_the_whole_wizard_by_clicking(page, sign_in, screenshot, browser_errors, tmp_path, district, admin, held_worker):
    first = make_school(district, sis_id="101", name="First Street ES")
    make_school(district, sis_id="201", name="Lincoln MS")
    make_user(district, district_user_id="000124", first_name="Zoe", last_name="Smith", grade="K", school=first)

    page.goto("/accounts/login/")
    screenshot(page, "walk-01-sign-in")
    sign_in("dadmin")
    page.locator(".user-menu > summary").click()
    screenshot(page, "walk-02-user-menu")
    page.get_by_role("link", name="Manage Classworks").click()
    page.get_by_role("link", name="Import", exact=True).click()
    expect(page.get_by_role("heading", name="Import History")).to_be_visible()
    screenshot(page, "walk-03-history-empty")

    page.get_by_role("link", name="+ Create New").click()
    screenshot(page, "walk-04-upload")
    page.goto("/imports/")
    _upload(page, tmp_path, "students.csv", WALK_FILE, description="First Street ES Student File")
    job = ImportJob.objects.get(district=district)

    # Map Fields: District ID is only suggested ("Student Number"), so Next waits for a Match.
    expect(page.locator(".alert-warning")).to_contain_text("District ID")
    expect(page.locator("#field-list li.choice", has_text="District ID *")).to_contain_text("suggested: Student Number")
    expect(page.locator("#column-list")).to_contain_text("000123")
    screenshot(page, "walk-05-map-fields", phone=True)
    _match(page, "District ID *", "Student Number")
    expect(page.locator(".alert-warning")).to_have_count(0)
    screenshot(page, "walk-06-map-fields-matched")
    page.get_by_role("button", name="Next").click()

    # School Mapping: the School column is read in the background; the page follows and shows the values.
    page.wait_for_url(f"**/imports/{job.number}/schools/")
    expect(page.locator("#validation-pending")).to_contain_text("Reading school values…")
    held_worker()
    # School Mapping: 101 is proposed by its SIS ID; LMS is chosen by hand.
    expect(page.get_by_label("School for 101")).to_have_value(str(first.id))
    expect(page.get_by_label("School for LMS")).to_have_value("")
    page.get_by_label("School for LMS").select_option(label="Lincoln MS (201)")
    screenshot(page, "walk-07-school-mapping")
    page.get_by_role("button", name="Next").click()

    # Validate File: live progress while the worker validates, then the result without a reload by hand.
    page.wait_for_url(f"**/imports/{job.number}/validate/")
    pending = page.locator("#validation-pending")
    expect(pending).to_contain_text("Validating…")
    expect(pending.locator(".progress-text")).to_have_text("0 of 3 rows")
    expect(page.get_by_role("button", name="Next")).to_have_count(0)
    screenshot(page, "walk-08-validating")
    held_worker()
    # The shared email is a warning, shown with the yellow caution sign; Next is offered.
    warning = page.locator(".alert-warning")
    expect(warning).to_contain_text(re.compile("\u26a0 \\d+ cautions?"))
    expect(warning).to_have_css("background-color", WARNING_YELLOW)
    expect(page.locator(".issue-groups .badge-warning")).to_have_text("\u26a0 Caution")
    expect(page.locator(".issue-groups")).to_contain_text("same email address is on more than one row")
    screenshot(page, "walk-08-validate")
    page.get_by_role("button", name="Next").click()

    # Additional Actions: a new conflict choice changes the preview, which Review waits for.
    page.wait_for_url(f"**/imports/{job.number}/actions/")
    expect(page.get_by_text("Zoë Smith in your file, Zoe Smith in Classworks")).to_be_visible()
    page.get_by_label("Existing Record Wins").check()
    screenshot(page, "walk-09-actions")
    page.get_by_role("button", name="Next").click()
    page.wait_for_url(f"**/imports/{job.number}/review/")
    expect(page.locator("#validation-pending")).to_contain_text("Validating…")
    held_worker()

    # Review, then Submit.
    page.wait_for_url(f"**/imports/{job.number}/review/")
    expect(page.locator(".review-list")).to_contain_text("Existing Record Wins")
    expect(page.locator(".review-list")).to_contain_text("District ID ← Student Number")
    expect(page.locator(".review-list")).to_contain_text("LMS → Lincoln MS (201)")
    expect(page.locator("#review-starts")).to_have_text(re.compile(r"C[SD]T$"))  # Chicago time, as labelled
    screenshot(page, "walk-10-review")
    page.get_by_role("button", name="Submit").click()
    page.wait_for_url(f"**/imports/{job.number}/")
    expect(page.locator(".messages")).to_contain_text(f"Import {job.number} is scheduled.")
    screenshot(page, "walk-11-submitted")

    # The open window and eager tasks ran it; Import History lists it, its number opens the details.
    job.refresh_from_db()
    assert job.status == ImportStatus.COMPLETED_WITH_WARNINGS, job.failure_reason
    assert job.conflict_policy == "existing"
    page.get_by_role("link", name="Import", exact=True).click()
    row = page.locator("#history tbody tr", has_text="First Street ES Student File")
    expect(row).to_contain_text("User Data")
    expect(row).to_contain_text("Completed with cautions")
    screenshot(page, "walk-12-history", phone=True)
    row.get_by_role("link", name=str(job.number), exact=True).click()
    page.wait_for_url(f"**/imports/{job.number}/")
    expect(page.get_by_role("heading", name=f"Import {job.number}: First Street ES Student File")).to_be_visible()
    expect(page.locator("main")).to_contain_text("students.csv")
    screenshot(page, "walk-13-details")
    assert browser_errors == []


def test_a_file_with_errors_stops_at_validate_and_close_x_ends_it(page, sign_in, screenshot, browser_errors, tmp_path, district, admin):
    make_school(district, sis_id="101", name="First Street ES")
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    sign_in("dadmin")
    _upload(page, tmp_path, "grade13.csv", GRADE_13_FILE, description="Bad grades")
    job = ImportJob.objects.get(district=district)
    expect(page.locator(".alert-warning")).to_have_count(0)  # every heading matched as it is
    page.get_by_role("button", name="Next").click()
    page.wait_for_url(f"**/imports/{job.number}/schools/")
    page.get_by_role("button", name="Next").click()

    page.wait_for_url(f"**/imports/{job.number}/validate/")
    expect(page.locator(".alert-error")).to_contain_text("The file has 1 error")
    issue = page.locator(".issue-rows tbody tr", has_text="is not a grade")
    expect(issue).to_have_count(1)
    expect(issue.locator("td").nth(0)).to_have_text("grade13.csv")
    expect(issue.locator("td").nth(1)).to_have_text("3")  # the file's third line: Alan Turing's row
    expect(issue.locator(".badge-error")).to_be_visible()
    expect(page.get_by_role("button", name="Next")).to_have_count(0)
    screenshot(page, "errors-01-validate")

    page.get_by_role("link", name="Close X").click()  # a page asks first, with or without JavaScript
    expect(page.get_by_role("heading", name=f"Close import {job.number}?")).to_be_visible()
    page.get_by_role("button", name="Close the import").click()
    page.wait_for_url("**/imports/")
    assert dialogs == []  # the page asked, not a pop-up
    expect(page.locator(".messages")).to_contain_text("was closed and its file deleted.")
    assert not ImportJob.objects.filter(id=job.id).exists()
    screenshot(page, "errors-02-closed")
    assert browser_errors == []


def test_a_headerless_file_is_matched_by_hand(page, sign_in, screenshot, browser_errors, tmp_path, district, admin):
    make_school(district, sis_id="101", name="First Street ES")
    sign_in("dadmin")
    _upload(page, tmp_path, "no_header.csv", HEADERLESS_FILE, no_header=True)
    job = ImportJob.objects.get(district=district)

    expect(page.get_by_text("No header row: columns are matched by position.")).to_be_visible()
    columns = page.locator("#column-list li.choice")
    expect(columns).to_have_count(8)
    expect(columns.nth(0)).to_contain_text("Column 1")
    expect(columns.nth(0).locator(".samples")).to_have_text("Ada, Alan, Grace")
    expect(columns.nth(3).locator(".samples")).to_have_text("1001, 1002, T-1")
    expect(page.locator("#field-list .badge-success")).to_have_count(0)  # nothing is guessed from position
    screenshot(page, "headerless-01-map-fields")
    for field_label, column_label in HEADERLESS_MATCHES:
        _match(page, field_label, column_label)
    expect(page.locator(".alert-warning")).to_have_count(0)
    screenshot(page, "headerless-02-matched")
    page.get_by_role("button", name="Next").click()

    page.wait_for_url(f"**/imports/{job.number}/schools/")
    page.get_by_role("button", name="Next").click()
    page.wait_for_url(f"**/imports/{job.number}/validate/")
    expect(page.locator(".counts")).to_contain_text("Errors0")
    expect(page.locator(".alert-error")).to_have_count(0)
    expect(page.get_by_role("button", name="Next")).to_be_visible()
    screenshot(page, "headerless-03-validate")
    job.refresh_from_db()
    assert job.validation_summary["counts"]["errors"] == 0
    assert job.validation_summary["counts"]["new"] == 3
    assert browser_errors == []


def test_live_progress_and_the_original_file_download(page, sign_in, screenshot, browser_errors, tmp_path, district, admin):
    make_school(district, sis_id="101")
    # cp1252 bytes that UTF-8 would mangle: the download must hand back exactly these.
    original = (
        "First Name,Last Name,District ID,User Type,Grade,Email Address,School SIS ID\r\n"
        "José,Núñez,1001,Student,5,jose@example.org,101\r\n"
        "Zoë,Smith,1002,Student,K,zoe@example.org,101\r\n"
    ).encode("cp1252")
    path = tmp_path / "roster_cp1252.csv"
    path.write_bytes(original)
    job = make_import_job(district, [path], created_by=admin)
    ImportJob.objects.filter(id=job.id).update(
        description="Nightly roster", status=ImportStatus.RUNNING, rows_total=200, rows_done=50,
    )

    sign_in("dadmin")
    row = page.locator("#history tbody tr", has_text="Nightly roster")
    bar = row.locator("progress")
    expect(bar).to_have_count(1)
    expect(bar).to_have_js_property("value", 50)
    expect(bar).to_have_js_property("max", 200)
    expect(row.locator(".progress-text")).to_have_text("50 of 200 rows")
    screenshot(page, "progress-01-running")

    # The worker moves on; the page follows without a reload.
    page.evaluate("window.__not_reloaded = true")
    ImportJob.objects.filter(id=job.id).update(rows_done=150)
    expect(row.locator(".progress-text")).to_have_text("150 of 200 rows")
    expect(bar).to_have_js_property("value", 150)
    assert page.evaluate("window.__not_reloaded") is True
    screenshot(page, "progress-02-updated")

    row.get_by_role("link", name=str(job.number), exact=True).click()
    page.wait_for_url(f"**/imports/{job.number}/")
    expect(page.locator(".counts")).not_to_contain_text("_")  # labels, not raw keys such as error_rows
    screenshot(page, "progress-03-details")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="roster_cp1252.csv").click()
    download = download_info.value
    assert download.suggested_filename == "roster_cp1252.csv"
    with open(download.path(), "rb") as fh:
        assert fh.read() == original
    assert browser_errors == []
