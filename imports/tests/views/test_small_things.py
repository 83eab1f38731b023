"""Small things an admin notices: field headings in change logs, a corrected file shown as replacing its original,
and import numbers never given twice."""
import html
import re

import pytest
from django.urls import reverse

from imports.models import ImportJob, ImportStatus, WizardStep
from imports.services import corrections, jobs
from imports.services.apply import import_job_validate
from imports.services.sources import sources_for_job
from imports.tests.factories import FULL_HEADER, make_import_job, run_job, student, write_csv
from users.tests.factories import make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_safety_hold")]


def _text(response) -> str:
    return html.unescape(response.content.decode())


def test_the_change_logs_of_an_import_and_its_undo_show_field_headings(
    district_admin_client, district, school, district_admin, tmp_path, django_capture_on_commit_callbacks,
):
    make_user(district, district_user_id="E1", first_name="Ann", last_name="Old", grade="3", school=school, email="")
    rows = [student("E1", **{"First Name": "Ann", "Last Name": "Old", "Grade": "3", "State User ID": "S-1"})]
    job = run_job(make_import_job(district, [write_csv(tmp_path / "r.csv", rows, header=FULL_HEADER)], created_by=district_admin))
    assert job.status == ImportStatus.COMPLETED, job.failure_reason

    detail = _text(district_admin_client.get(reverse("imports:detail", args=[job.number])))
    assert "<strong>State User ID</strong>: (blank) → S-1" in detail
    with django_capture_on_commit_callbacks(execute=True):
        district_admin_client.post(reverse("imports:undo", args=[job.number]))
    undo = ImportJob.objects.get(undo_of=job)

    page = _text(district_admin_client.get(reverse("imports:detail", args=[undo.number])))
    assert "<strong>State User ID</strong>: S-1 → (blank)" in page
    assert "state_user_id" not in page


def test_review_lists_a_corrected_file_once_as_replacing_its_original(district_admin_client, district, school, district_admin, tmp_path):
    path = write_csv(tmp_path / "Teacher.csv", [student("1"), student("2", Grade="13"), student("3", Grade="14")])
    job = make_import_job(district, [path], created_by=district_admin)
    file_id = sources_for_job(job)[0].file_id
    corrections.import_rows_correct(job=job, corrections={(file_id, 3): {"grade": "6"}, (file_id, 4): {"grade": "7"}})
    job.refresh_from_db()
    import_job_validate(job=job)
    job.refresh_from_db()
    job.step = WizardStep.REVIEW
    job.save()

    page = _text(district_admin_client.get(reverse("imports:review", args=[job.number])))

    files = re.sub(r"<[^>]+>", "", re.search(r"<dt>Files</dt><dd>(.*?)</dd>", page, re.S).group(1))
    assert files == "Teacher.csv (3 rows), replaced by the corrected copy made on Validate File (2 rows corrected)"
    assert "Teacher (corrected).csv" not in page


def test_a_closed_drafts_number_is_never_given_again(district, district_admin):
    first = jobs.import_job_create(district=district, created_by=district_admin)
    second = jobs.import_job_create(district=district, created_by=district_admin)
    jobs.import_job_close(job=second)  # an empty draft is deleted at once
    jobs.import_job_close(job=first)
    assert not ImportJob.objects.filter(district=district).exists()

    third = jobs.import_job_create(district=district, created_by=district_admin)

    assert (first.number, second.number, third.number) == (1, 2, 3)
