"""A district admin undoes a wrong import in Chromium: 50 users it created are disabled, the 20 it
changed get their values back, except one field a later import changed, which is listed as skipped."""
import datetime

import pytest

from imports.models import ImportJob, ImportStatus
from imports.tests.factories import make_import_job, run_job, student, write_csv
from imports.types import USER_DATA
from users.models import User
from users.tests.factories import make_admin, make_district, make_school, make_user

RECORD_FIELDS = USER_DATA.record_columns

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.browser

CREATED, CHANGED = 50, 20
LATER_CHANGED = "E07"  # the one user whose grade a later import changed again


@pytest.fixture
def district():
    d = make_district(name="Springfield Public Schools", timezone="America/Chicago", change_threshold_percent=100)
    d.offpeak_start = d.offpeak_end = datetime.time(0, 0)  # any time
    d.save()
    return d


def _snapshot(district) -> dict:
    return {
        u["district_user_id"]: u
        for u in User.objects.filter(district=district, district_user_id__startswith="E").values("district_user_id", "is_active", *RECORD_FIELDS)
    }


def test_undo_an_import_that_created_50_and_changed_20(page, sign_in, screenshot, browser_errors, tmp_path, district):
    school = make_school(district, sis_id="101", name="First Street ES")
    make_admin(district, username="dadmin", first_name="Dana", last_name="Whitfield")
    for n in range(1, CHANGED + 1):
        make_user(district, district_user_id=f"E{n:02d}", first_name=f"Eve{n}", last_name=f"Before{n}", grade="3", school=school, email="")
    before = _snapshot(district)

    # Import 1, the wrong file: 50 new students, and 20 existing ones with another last name and grade.
    rows = [student(f"E{n:02d}", **{"First Name": f"Eve{n}", "Last Name": f"After{n}", "Grade": "4"}) for n in range(1, CHANGED + 1)]
    rows += [student(f"N{n:02d}", **{"First Name": f"New{n}", "Last Name": "Wrong"}) for n in range(1, CREATED + 1)]
    wrong = run_job(make_import_job(district, [write_csv(tmp_path / "wrong.csv", rows)]))
    assert (wrong.status, wrong.counts["created"], wrong.counts["updated"]) == (ImportStatus.COMPLETED, CREATED, CHANGED)
    # Import 2, later: moves one of them to grade 6.
    later = run_job(make_import_job(district, [write_csv(tmp_path / "later.csv", [
        student(LATER_CHANGED, **{"First Name": "Eve7", "Last Name": "After7", "Grade": "6"}),
    ])]))
    assert later.status == ImportStatus.COMPLETED, later.failure_reason

    sign_in("dadmin")
    page.goto(f"/imports/{wrong.number}/")
    page.get_by_role("link", name="Undo this import").click()
    page.wait_for_url(f"**/imports/{wrong.number}/undo/")
    expect(page.locator("#count-disabled")).to_have_text(str(CREATED))
    expect(page.locator("#count-reverted")).to_have_text(str(2 * CHANGED - 1))
    expect(page.locator("#count-skipped")).to_have_text("1")
    skipped = page.locator("#undo-skipped tbody tr")
    expect(skipped).to_have_count(1)
    expect(skipped.locator("td")).to_have_text([LATER_CHANGED, "Grade", "4", "6"])
    screenshot(page, "undo-01-preview")
    assert User.objects.filter(created_by_import=wrong, is_active=True).count() == CREATED  # the preview changed nothing

    page.get_by_role("button", name=f"Undo import {wrong.number}").click()
    undo_job = ImportJob.objects.get(undo_of=wrong)
    page.wait_for_url(f"**/imports/{undo_job.number}/")
    expect(page.locator(".status-text")).to_have_text("Completed with cautions")
    expect(page.locator("#undo")).to_contain_text(f"Undo of import {wrong.number}")
    done_skipped = page.locator("#undo-skipped tbody tr")
    expect(done_skipped).to_have_count(1)
    expect(done_skipped.locator("td")).to_have_text([LATER_CHANGED, "Grade", "4", "6"])
    screenshot(page, "undo-02-done")

    # Every value is back, except the grade the later import set.
    after = _snapshot(district)
    expected = {k: dict(v) for k, v in before.items()}
    expected[LATER_CHANGED]["grade"] = "6"
    assert after == expected
    created = User.objects.filter(created_by_import=wrong)
    assert created.count() == CREATED and not created.filter(is_active=True).exists()

    page.goto("/imports/")
    expect(page.locator("#history")).to_contain_text(f"Undo of import {wrong.number}")
    # A second undo is refused.
    page.goto(f"/imports/{wrong.number}/undo/")
    expect(page.locator("#undo-refusal")).to_contain_text(f"Import {wrong.number} was already undone")
    expect(page.get_by_role("button", name=f"Undo import {wrong.number}")).to_have_count(0)
    assert browser_errors == []
