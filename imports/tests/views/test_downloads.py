"""Downloads hand back exactly what was uploaded, reports are safe to open in Excel, and the
stored files and pages give nothing away."""
import csv
import io
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from imports.models import ImportStatus
from imports.services.reports import ERROR_REPORT_EXTRA
from imports.tests.factories import HEADER, SCHOOL_SIS_ID, csv_text, make_import_job, student
from users.tests.factories import make_admin, make_school

ORIGINAL_NAME = "Lincoln_Elementary_students.csv"
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
    # UTF-16 with a byte-order mark: any re-encoding on the way out would change the bytes.
    text = csv_text([student("1001", **{"First Name": "Zoë"}), student("1002", **{"First Name": FORMULA, "Grade": "13"})])
    data = text.encode("utf-16")
    assert data.startswith(b"\xff\xfe")
    return data


@pytest.fixture
def job(district, admin, tmp_path, original_bytes):
    make_school(district, sis_id=SCHOOL_SIS_ID)
    path = tmp_path / ORIGINAL_NAME
    path.write_bytes(original_bytes)
    job = make_import_job(district, [path], created_by=admin)
    assert job.validation_summary["counts"]["errors"] == 1  # Grade 13 on the formula row
    return job


def _content(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def _is_within(path: Path, root) -> bool:
    return Path(path).resolve().is_relative_to(Path(root).resolve())


@pytest.mark.django_db
def test_the_original_file_downloads_byte_for_byte_as_an_attachment(admin_client, job, original_bytes):
    job.status = ImportStatus.COMPLETED
    job.save()
    import_file = job.files.get()
    response = admin_client.get(reverse("imports:original_file", args=[job.number, import_file.id]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert ORIGINAL_NAME in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "application/octet-stream"
    assert _content(response) == original_bytes


@pytest.mark.django_db
def test_the_error_report_neutralises_formulas_and_ends_with_the_problem_columns(admin_client, job):
    response = admin_client.get(reverse("imports:error_report", args=[job.number]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    rows = list(csv.reader(io.StringIO(_content(response).decode("utf-8-sig"))))
    header, lines = rows[0], rows[1:]
    assert ERROR_REPORT_EXTRA == ["Row", "Severity", "Field", "Problem", "Suggestion"]
    assert header[-5:] == ["Row", "Severity", "Field", "Problem", "Suggestion"]
    assert header[1:-5] == list(HEADER)
    by_column = [dict(zip(header, line)) for line in lines]
    grade = [line for line in by_column if line["Field"] == "grade"]
    assert len(grade) == 1
    assert grade[0]["First Name"] == "'" + FORMULA
    assert grade[0]["Row"] == "3" and grade[0]["Severity"] == "Error" and "13" in grade[0]["Problem"]
    assert not any(cell.startswith(("=", "+", "@")) for line in lines for cell in line)


@pytest.mark.django_db
def test_the_stored_file_is_private_and_its_name_reveals_nothing(job):
    stored = job.files.get().stored
    path = Path(stored.path)
    assert path.is_file()
    assert _is_within(path, settings.PRIVATE_STORAGE_ROOT)
    assert not _is_within(path, settings.STATIC_ROOT)
    assert not _is_within(path, settings.MEDIA_ROOT)
    for folder in settings.STATICFILES_DIRS:
        assert not _is_within(path, folder)
    stem = Path(ORIGINAL_NAME).stem.lower()
    assert stem not in stored.name.lower() and "lincoln" not in stored.name.lower()


@pytest.mark.django_db
def test_pages_carry_a_content_security_policy_without_unsafe_inline(admin_client, job):
    anonymous = Client()
    pages = [
        anonymous.get(reverse("login")),
        admin_client.get(reverse("imports:history")),
        admin_client.get(reverse("imports:start")),
        admin_client.get(reverse("imports:fields", args=[job.number])),
        admin_client.get(reverse("imports:validate", args=[job.number])),
        admin_client.get(reverse("manage:schools")),
        admin_client.get("/imports/99999/"),
    ]
    for response in pages:
        policy = response.get("Content-Security-Policy", "")
        assert "default-src 'self'" in policy and "script-src 'self'" in policy, response.request["PATH_INFO"]
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, response.request["PATH_INFO"]
    assert [r.status_code for r in pages] == [200, 200, 200, 200, 200, 200, 404]
