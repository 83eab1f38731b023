"""axe-core on every admin page, at desktop and phone width, in a full wizard walk for each import type;
then the whole wizard by keyboard alone.

axe-core is vendored from its npm package (vendor/axe.min.js, licence kept); it is injected through the
browser's DevTools protocol, so the pages' Content Security Policy stays as strict as in production.
"""
import datetime
import re
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from imports.models import ImportJob, ImportStatus
from imports.tests.browser.conftest import DESKTOP, PHONE
from users.tests.factories import PASSWORD, make_admin, make_custom_group, make_district, make_school, make_user

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.browser

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
BLOCKING = ("serious", "critical")

USER_FILE = (
    "First Name,Last Name,Student Number,User Type,Grade,Email Address,School SIS ID\r\n"
    "José,Núñez,000123,0,5,jn@example.org,101\r\n"
    "Zoë,Smith,000124,0,K,jn@example.org,LMS\r\n"
    "Ann,Teacher,T1,1,,ann@example.org,101\r\n"
    "Alan,Turing,000125,0,13,alan@example.org,101\r\n"
).encode("utf-8")
DEMOGRAPHICS_FILE = (
    "DistrictUserID,Grade,Gender,Race,Hispanic or Latino,Migrant\r\n"
    "000124,K,F,Asian;White,Y,N\r\n"
    "000126,2,M,White,N,Y\r\n"
    "999999,3,M,,,\r\n"
).encode("utf-8")


@pytest.fixture
def district():
    d = make_district(name="Springfield Public Schools", timezone="America/Chicago")
    d.offpeak_start = d.offpeak_end = datetime.time(0, 0)  # a zero-length window means "any time"
    d.save()
    first = make_school(d, sis_id="101", name="First Street ES")
    make_school(d, sis_id="201", name="Lincoln MS")
    make_user(d, district_user_id="000124", first_name="Zoe", last_name="Smith", grade="K", school=first)
    make_user(d, district_user_id="000126", first_name="Ben", last_name="Okafor", grade="2", school=first)
    make_user(d, district_user_id="000127", first_name="Cy", last_name="Park", grade="4", school=first)
    make_custom_group(d, name="Robotics")
    make_admin(d, username="dadmin", first_name="Dana", last_name="Whitfield")
    return d


class Audit:
    """Runs axe on the page now shown, at both widths; collects what it finds rather than stopping at the first."""

    def __init__(self, page):
        self.page, self.found, self.pages, self.runs = page, [], [], 0

    def __call__(self, name: str) -> None:
        page = self.page
        page.wait_for_load_state("load")
        for label, size in (("1280", DESKTOP), ("390", PHONE)):
            page.set_viewport_size(size)
            result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
            self.runs += 1
            for v in result["violations"]:
                if v["impact"] in BLOCKING:
                    targets = [n["target"] for n in v["nodes"]][:3]
                    self.found.append(f"{name} @{label}: {v['id']} ({v['impact']}) {targets}")
            if size is PHONE:
                width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
                if width[0] > width[1]:
                    self.found.append(f"{name} @390: the page is {width[0]} px wide")
        page.set_viewport_size(DESKTOP)
        self.pages.append(name)


@pytest.fixture
def audit(page):
    page.context.add_init_script(path=str(AXE))
    return Audit(page)


def test_axe_runs_and_sees_a_violation(page, audit):
    """The check can fail: a button without a name, added to a page, is reported."""
    page.goto("/accounts/login/")
    page.evaluate("() => document.querySelector('main').appendChild(document.createElement('button'))")
    audit("sign-in with a nameless button")
    assert any("button-name (critical)" in f for f in audit.found)


def _start(page, tmp_path, type_label: str, name: str, content: bytes, audit):
    page.get_by_role("link", name="+ Create New").click()
    audit("create new")
    page.get_by_label("Import type").select_option(label=type_label)
    # The step bar follows the chosen type at once, before the form is sent.
    third = "Value Mapping" if type_label == "Student Demographics" else "School Mapping"
    expect(page.locator("ol.steps:visible li").nth(2)).to_have_text(third)
    path = tmp_path / name
    path.write_bytes(content)
    page.get_by_label("Upload File").set_input_files(str(path))
    page.get_by_role("button", name="Next").click()
    page.wait_for_url("**/fields/")


def test_every_admin_page_of_a_user_data_walk_passes_axe(page, sign_in, audit, tmp_path, district, browser_errors, screenshot):
    sign_in("dadmin")
    audit("import history (empty)")
    _start(page, tmp_path, "User Data", "students.csv", USER_FILE, audit)
    job = ImportJob.objects.get(district=district)
    audit("map fields")
    page.get_by_label("Column for District ID").select_option("Student Number")
    page.get_by_role("button", name="Match District ID").click()
    audit("map fields (matched)")
    screenshot(page, "round2-map-fields", phone=True)
    page.get_by_role("button", name="Next").click()
    page.wait_for_url(f"**/imports/{job.number}/schools/")
    page.get_by_label("School for LMS").wait_for()
    audit("school mapping")
    page.get_by_label("School for LMS").select_option(label="Lincoln MS (201)")
    page.get_by_role("button", name="Next").click()
    page.wait_for_url(f"**/imports/{job.number}/validate/")
    expect(page.locator("#fix-rows")).to_be_visible()
    audit("validate file (errors)")
    screenshot(page, "round2-validate-errors", phone=True)
    page.locator("#fix-rows").get_by_label("Grade").fill("6")
    page.get_by_role("button", name="Save corrections").click()
    expect(page.get_by_role("button", name="Next")).to_be_visible()
    audit("validate file (cautions)")
    page.get_by_role("button", name="Next").click()
    page.wait_for_url(f"**/imports/{job.number}/actions/")
    audit("additional actions")
    page.get_by_role("button", name="Next").click()
    page.wait_for_url(f"**/imports/{job.number}/review/")
    expect(page.get_by_role("button", name="Submit")).to_be_visible()
    audit("review")
    screenshot(page, "round2-review", phone=True)
    page.get_by_role("link", name="Close X").click()
    audit("close confirmation")
    page.get_by_role("link", name="Keep working").click()
    page.get_by_role("button", name="Submit").click()
    page.wait_for_url(f"**/imports/{job.number}/")
    job.refresh_from_db()
    assert job.status in (ImportStatus.COMPLETED, ImportStatus.COMPLETED_WITH_WARNINGS), job.failure_reason
    audit("import details")
    screenshot(page, "round2-details", phone=True)
    page.goto(f"/imports/{job.number}/undo/")
    audit("undo preview")
    page.goto("/imports/")
    audit("import history")
    page.goto("/manage/schools/")
    audit("schools")
    page.goto("/manage/users/")
    audit("users")
    page.get_by_role("link", name="Smith").first.click() if page.get_by_role("link", name="Smith").count() else page.goto(
        f"/manage/users/{district.users.get(district_user_id='000124').pk}/")
    audit("user detail")
    page.goto("/manage/groups/")
    audit("groups")
    page.goto("/imports/999999/")
    audit("not found")
    assert audit.found == [], "\n".join(audit.found)
    assert audit.runs == 2 * len(audit.pages) == 2 * 18
    assert browser_errors == ["Failed to load resource: the server responded with a status of 404 (Not Found)"]


def test_every_admin_page_of_a_demographics_walk_passes_axe(page, sign_in, audit, tmp_path, district, browser_errors):
    sign_in("dadmin")
    _start(page, tmp_path, "Student Demographics", "demographics.csv", DEMOGRAPHICS_FILE, audit)
    job = ImportJob.objects.get(district=district)
    expect(page.locator("ol.steps li")).to_have_text(["Upload File", "Map Fields", "Value Mapping", "Validate File", "Review"])
    audit("map fields")
    page.get_by_role("button", name="Next").click()
    page.wait_for_url(f"**/imports/{job.number}/values/")
    audit("value mapping")
    page.get_by_role("button", name="Next").click()
    page.wait_for_url(f"**/imports/{job.number}/validate/")
    expect(page.locator("#fix-rows")).to_be_visible()
    audit("validate file (errors)")
    page.locator("#fix-rows").get_by_label("DistrictUserID").fill("000127")
    page.get_by_role("button", name="Save corrections").click()
    page.wait_for_url(f"**/imports/{job.number}/validate/?fix_page=1")
    page.get_by_role("button", name="Next").click()
    page.wait_for_url(f"**/imports/{job.number}/review/")
    expect(page.get_by_role("button", name="Submit")).to_be_visible()
    audit("review")
    page.get_by_role("button", name="Submit").click()
    page.wait_for_url(f"**/imports/{job.number}/")
    audit("import details")
    assert audit.found == [], "\n".join(audit.found)
    assert browser_errors == []


KEYBOARD_FILE = (
    "First Name,Last Name,Student Number,User Type,Grade,Email Address,School SIS ID\r\n"
    "José,Núñez,000123,0,5,jn@example.org,101\r\n"
    "Zoë,Smith,000128,0,K,zs@example.org,LMS\r\n"
).encode("utf-8")

_FOCUSED = r"""() => {
  const el = document.activeElement;
  if (!el || el === document.body) return "";
  const label = el.labels && el.labels.length ? el.labels[0].innerText : "";
  return (el.getAttribute("aria-label") || label || el.innerText || el.value || "").replace(/\s+/g, " ").trim();
}"""


def _tab_to(page, name: str, *, limit: int = 250) -> None:
    """Press Tab until the focused control's name is `name` (never a click)."""
    for _ in range(limit):
        if page.evaluate(_FOCUSED) == name:
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {name!r}")


def _open_file_chooser(page):
    """Space on the focused file input, as a keyboard user opens the file dialog. Headless Chromium now and then
    drops the first press on a page just loaded (about 1 run in 5 here, with the input focused); pressed again."""
    for _ in range(3):
        try:
            with page.expect_file_chooser(timeout=5000) as chooser:
                page.keyboard.press("Space")
            return chooser.value
        except PlaywrightTimeoutError:
            assert _focused(page) == "Upload File"
    raise AssertionError("Space on the focused file input never opened the file dialog")


def _focused(page) -> str:
    return page.evaluate(_FOCUSED)


def _luminance(rgb: str) -> float:
    channels = [int(c) / 255 for c in re.findall(r"\d+", rgb)[:3]]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _ring_contrast(page) -> float:
    """The focused control's ring against white (the cards' background): WCAG asks at least 3:1."""
    style = page.evaluate("() => { const s = getComputedStyle(document.activeElement); return [s.outlineStyle, s.outlineWidth, s.outlineColor]; }")
    assert style[0] != "none" and float(style[1].rstrip("px")) >= 2, style
    ring, white = _luminance(style[2]), 1.0
    return (white + 0.05) / (ring + 0.05)


def test_the_whole_wizard_by_keyboard_alone(page, tmp_path, district):
    page.goto("/accounts/login/")
    _tab_to(page, "Username")
    page.keyboard.type("dadmin")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/imports/")

    _tab_to(page, "+ Create New")
    page.keyboard.press("Enter")
    page.wait_for_url("**/imports/new/")
    _tab_to(page, "Upload File")
    path = tmp_path / "students.csv"
    path.write_bytes(KEYBOARD_FILE)
    _open_file_chooser(page).set_files(str(path))
    _tab_to(page, "Next")
    page.keyboard.press("Enter")
    page.wait_for_url("**/fields/")
    job = ImportJob.objects.get(district=district)

    # Map Fields: the column list beside District ID, then its own Match button; focus stays on the pair.
    _tab_to(page, "Column for District ID")
    assert _ring_contrast(page) >= 3
    page.keyboard.type("Student Number")
    expect(page.get_by_label("Column for District ID")).to_have_value("Student Number")
    page.keyboard.press("Tab")
    assert _focused(page) == "Match District ID"
    assert _ring_contrast(page) >= 3
    page.keyboard.press("Enter")
    page.wait_for_url("**/fields/#field-district_id")
    expect(page.locator("#field-district_id .badge-success")).to_have_text("matched: Student Number")
    expect(page.get_by_role("button", name="Unmatch District ID", exact=True)).to_be_focused()
    page.keyboard.press("Enter")  # Unmatch
    expect(page.locator("#field-district_id .badge-success")).to_have_count(0)
    expect(page.get_by_label("Column for District ID")).to_be_focused()
    page.keyboard.type("Student Number")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.locator("#field-district_id .badge-success")).to_have_text("matched: Student Number")
    _tab_to(page, "Next")
    page.keyboard.press("Enter")

    page.wait_for_url(f"**/imports/{job.number}/schools/")
    _tab_to(page, "School for LMS")
    page.keyboard.type("Lincoln")
    expect(page.get_by_label("School for LMS")).to_have_value(str(district.schools.get(sis_id="201").id))
    _tab_to(page, "Next")
    page.keyboard.press("Enter")

    page.wait_for_url(f"**/imports/{job.number}/validate/")
    _tab_to(page, "Next")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/imports/{job.number}/actions/")
    _tab_to(page, "Imported Record Wins")  # a radio button
    assert _ring_contrast(page) >= 3
    _tab_to(page, "Next")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/imports/{job.number}/review/")
    _tab_to(page, "Submit")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/imports/{job.number}/")
    job.refresh_from_db()
    assert job.status in (ImportStatus.COMPLETED, ImportStatus.COMPLETED_WITH_WARNINGS), job.failure_reason
    assert job.field_mapping["district_id"] == "Student Number"
