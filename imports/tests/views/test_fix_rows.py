"""Validate File offers error rows to correct in place; saving re-validates, and both versions are downloadable."""
import csv
import html
import io
import re

import pytest
from django.test import Client
from django.urls import reverse

from imports.models import ImportFile, ImportJob, ImportStatus
from imports.services import corrections
from imports.tests.factories import FULL_HEADER, SCHOOL_SIS_ID, csv_text, make_import_job, run_job, student, write_csv
from imports.views import corrections as views
from users.models import AuditAction
from users.selectors import audit_event_list
from users.tests.factories import make_admin, make_school

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_safety_hold")]
FORMULA = '=HYPERLINK("x")'


@pytest.fixture
def admin(district):
    return make_admin(district)


@pytest.fixture
def admin_client(client, admin):
    client.force_login(admin)
    return client


@pytest.fixture
def original_bytes() -> bytes:
    # UTF-16 with a byte-order mark: the original download must come back exactly like this.
    text = csv_text([
        student("1001", **{"First Name": FORMULA, "Grade": "13"}),
        student("1002", **{"User Type": "Wizard"}),
        student("1003"),
    ])
    return text.encode("utf-16")


@pytest.fixture
def job(district, admin, tmp_path, original_bytes):
    make_school(district, sis_id=SCHOOL_SIS_ID)
    path = tmp_path / "roster.csv"
    path.write_bytes(original_bytes)
    job = make_import_job(district, [path], created_by=admin)
    job.step = "validate"
    job.save()
    return job


def _validate_page(client, job, **params) -> str:
    response = client.get(reverse("imports:validate", args=[job.number]), params)
    assert response.status_code == 200
    return response.content.decode()


def _fix_form(job, values: dict) -> dict:
    """The POST the editor sends: every shown cell as it was, with `values` {(row, field): text} typed over it."""
    editor = corrections.fix_rows_editor(job=job)
    data = {"fix_page": "1", "rows": [r.key for r in editor.rows]}
    for r in editor.rows:
        for c in r.cells:
            data[c.name] = values.get((r.row, c.key), c.value)
    return data


def test_validate_file_shows_each_error_row_with_its_cells_and_problems(admin_client, job):
    page = _validate_page(admin_client, job)

    assert "Correct rows here" in page
    assert "roster.csv, row 2" in page and "roster.csv, row 3" in page
    assert "roster.csv, row 4" not in page  # a good row is not offered
    file_id = job.files.get().id
    grade = re.search(rf'<input type="text" id="fix-{file_id}-2-grade"[^>]*>', page).group(0)
    assert 'value="13"' in grade and 'aria-invalid="true"' in grade
    assert 'Grade &quot;13&quot; is not a grade.' in page  # the problem, beside its cell
    assert f'value="{html.escape(FORMULA)}"' in page


def test_saving_re_validates_and_the_counts_update(admin_client, job, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):  # the background pass, run as a worker would
        response = admin_client.post(
            reverse("imports:fix_rows", args=[job.number]), _fix_form(job, {(2, "grade"): "6", (3, "user_type"): "Student"})
        )

    assert response.status_code == 302
    assert response["Location"] == reverse("imports:validate", args=[job.number]) + "?fix_page=1"
    job.refresh_from_db()
    assert job.validation_summary["counts"]["errors"] == 0
    page = admin_client.get(response["Location"]).content.decode()
    assert views.SAVED.format(count=2, s="s") in html.unescape(page)
    assert re.search(r"<dt>Errors</dt><dd id=\"count-errors\">0</dd>", page)
    assert "Correct rows here" not in page
    assert 'value="next"' in page  # Next is offered now


def test_nothing_typed_changes_nothing(admin_client, job):
    response = admin_client.post(reverse("imports:fix_rows", args=[job.number]), _fix_form(job, {}), follow=True)
    assert views.NOTHING_CHANGED in html.unescape(response.content.decode())
    assert not ImportFile.objects.filter(job=job, corrected_from__isnull=False).exists()


def test_a_null_character_is_refused_with_the_row_and_field(admin_client, job):
    response = admin_client.post(
        reverse("imports:fix_rows", args=[job.number]), _fix_form(job, {(2, "grade"): "6\x00"}), follow=True
    )
    assert "Row 2, Grade: Null characters are not allowed." in html.unescape(response.content.decode())
    assert not ImportFile.objects.filter(job=job, corrected_from__isnull=False).exists()


def test_a_password_cell_is_never_pre_filled(admin_client, district, admin, tmp_path):
    make_school(district, sis_id=SCHOOL_SIS_ID)
    rows = [list(student("1001", Grade="13").values()) + ["", "", "", "N", "N", "Secret-Horse-9"]]
    job = make_import_job(district, [write_csv(tmp_path / "pw.csv", rows, header=FULL_HEADER)], created_by=admin)

    page = _validate_page(admin_client, job)

    assert "Secret-Horse-9" not in page
    field = re.search(r'<input type="password"[^>]*>', page).group(0)
    assert "value=" not in field


def test_too_many_error_rows_ask_for_a_fixed_file(admin_client, district, admin, tmp_path):
    make_school(district, sis_id=SCHOOL_SIS_ID)
    rows = [student(str(1000 + n), Grade="13") for n in range(corrections.FIX_ROWS_LIMIT + 1)]
    job = make_import_job(district, [write_csv(tmp_path / "many.csv", rows)], created_by=admin)

    page = _validate_page(admin_client, job)

    assert "Correct rows here" not in page
    assert "51 rows have errors, more than the 50 that can be corrected here. Fix them in your file" in page
    response = admin_client.post(reverse("imports:fix_rows", args=[job.number]), {"rows": [f"{job.files.get().id}-2"]}, follow=True)
    assert corrections.ERROR_TOO_MANY_ROWS.format(rows=51, limit=50) in html.unescape(response.content.decode())


def test_the_details_page_offers_both_versions(admin_client, job, original_bytes, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            reverse("imports:fix_rows", args=[job.number]), _fix_form(job, {(2, "grade"): "6", (3, "user_type"): "Student"})
        )
    job = run_job(job)
    original = ImportFile.objects.get(job=job, corrected_from__isnull=True)
    version = ImportFile.objects.get(job=job, corrected_from=original)

    page = admin_client.get(reverse("imports:detail", args=[job.number])).content.decode()
    assert reverse("imports:original_file", args=[job.number, original.id]) in page
    assert reverse("imports:original_file", args=[job.number, version.id]) in page
    assert "rows 2, 3 of roster.csv corrected on Validate File" in page

    response = admin_client.get(reverse("imports:original_file", args=[job.number, original.id]))
    assert b"".join(response.streaming_content) == original_bytes
    response = admin_client.get(reverse("imports:original_file", args=[job.number, version.id]))
    assert response["Content-Disposition"] == 'attachment; filename="roster (corrected).csv"'
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    records = list(csv.reader(io.StringIO(text)))
    assert records[1][0] == "'" + FORMULA  # a generated file: formula-safe
    assert records[1][4] == "6" and records[2][3] == "Student"
    downloads = audit_event_list(district=job.district).filter(action=AuditAction.DOWNLOAD_ORIGINAL)
    assert sorted(e.detail["file_id"] for e in downloads) == [original.id, version.id]  # both in the audit trail


def test_a_submitted_import_sends_the_form_to_its_details(admin_client, job):
    data = _fix_form(job, {(2, "grade"): "6"})
    ImportJob.objects.filter(id=job.id).update(status=ImportStatus.SCHEDULED)  # submitted from another tab
    response = admin_client.post(reverse("imports:fix_rows", args=[job.number]), data)
    assert response["Location"] == reverse("imports:detail", args=[job.number])
    assert not ImportFile.objects.filter(job=job, corrected_from__isnull=False).exists()


def test_the_editor_posts_with_the_pages_csrf_token_and_nothing_without_it(admin, job):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin)
    url = reverse("imports:fix_rows", args=[job.number])
    data = _fix_form(job, {(2, "grade"): "6"})

    assert client.post(url, data).status_code == 403
    assert not ImportFile.objects.filter(job=job, corrected_from__isnull=False).exists()

    page = _validate_page(client, job)
    editor = page[page.index('id="fix-rows"'):]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', editor).group(1)
    assert client.post(url, {**data, "csrfmiddlewaretoken": token}).status_code == 302
    assert ImportFile.objects.filter(job=job, corrected_from__isnull=False).exists()


def test_review_shows_the_corrected_copy_replacing_its_original(admin_client, job, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            reverse("imports:fix_rows", args=[job.number]), _fix_form(job, {(2, "grade"): "6", (3, "user_type"): "Student"})
        )
    job.refresh_from_db()
    job.step = "review"
    job.save()
    page = admin_client.get(reverse("imports:review", args=[job.number])).content.decode()
    files = re.sub(r"<[^>]+>", "", re.search(r"<dt>Files</dt><dd>(.*?)</dd>", page, re.S).group(1))
    assert "roster.csv (3 rows), replaced by the corrected copy made on Validate File" in files
    assert "(corrected).csv" not in files  # listed once: the rows are not counted twice


def test_the_cells_with_a_problem_come_first_and_inputs_fit_their_value(admin_client, job):
    page = _validate_page(admin_client, job)
    file_id = job.files.get().id
    row = page[page.index(f'id="fix-{file_id}-2"'):page.index(f'id="fix-{file_id}-3"')]
    names = re.findall(rf'<input type="text" id="fix-{file_id}-2-(\w+)"', row)
    assert names[0] == "grade" and names.index("first_name") > 0
    first_name = re.search(rf'<input type="text" id="fix-{file_id}-2-first_name"[^>]*>', row).group(0)
    assert f'size="{len(FORMULA) + 2}"' in first_name
    assert "<table" not in row  # a grid of labelled inputs, not a table that scrolls sideways


def test_the_details_page_shows_the_corrected_copy_replacing_its_original(admin_client, job, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            reverse("imports:fix_rows", args=[job.number]), _fix_form(job, {(2, "grade"): "6", (3, "user_type"): "Student"})
        )
    job = run_job(job)
    page = admin_client.get(reverse("imports:detail", args=[job.number])).content.decode()
    files = re.sub(r"<[^>]+>", "", re.search(r"<dt>Files</dt><dd>(.*?)</dd>", page, re.S).group(1))
    assert files == "roster.csv, replaced by its corrected copy roster (corrected).csv (the import read the copy)"
