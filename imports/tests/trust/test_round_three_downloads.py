"""Round three, item 4: errors.csv and results.csv stream, whatever the number of problems.

The reproduction: with a million error rows the download took 55 s and the web process grew by 1 GB,
because every issue was loaded into a dict before the first line. Issues are now read in row order
beside the file, a chunk at a time (bench/report_download_bench.py measures time and memory).
"""
import csv
import io

import pytest
from django.urls import reverse

from imports.models import ImportIssue, Severity
from imports.services import reports
from imports.tests.factories import make_import_job, student, write_csv

pytestmark = pytest.mark.django_db


def _lines(response) -> list[list[str]]:
    assert response.streaming
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


def test_errors_csv_streams_every_problem_beside_its_row_in_file_order(
    district_admin_client, district, district_admin, school, tmp_path, monkeypatch
):
    monkeypatch.setattr(reports, "ISSUE_CHUNK", 2)  # several chunks even for a few problems
    rows = [student(f"10{i:02d}", **{"Last Name": f"Row{i}", "Grade": "99" if i % 2 else "5"}) for i in range(12)]
    job = make_import_job(district, [write_csv(tmp_path / "roster.csv", rows)], created_by=district_admin)
    file = job.files.get()
    ImportIssue.objects.create(job=job, file=file, row=4, code="extra", severity=Severity.WARNING, message="Second problem")
    ImportIssue.objects.create(job=job, file=file, row=99, code="gone", severity=Severity.ERROR, message="A row the file lacks")
    ImportIssue.objects.create(job=job, file=file, row=None, code="whole", severity=Severity.ERROR, message="Whole file")

    lines = _lines(district_admin_client.get(reverse("imports:error_report", args=[job.number])))

    header, body = lines[0], lines[1:]
    assert body[0][-3:] == ["", "Whole file", ""] and body[0][0] == "roster.csv"
    rows_named = [(line[header.index("Last Name")], line[header.index("Row")]) for line in body[1:]]
    assert rows_named == [
        ("Row1", "3"), ("Row2", "4"), ("Row3", "5"), ("Row5", "7"), ("Row7", "9"), ("Row9", "11"), ("Row11", "13"),
    ]
    assert [line[header.index("Problem")] for line in body if line[header.index("Row")] == "4"][-1] == "Second problem"
    assert "A row the file lacks" not in str(body)
