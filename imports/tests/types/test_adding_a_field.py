"""Adding a field to User Data is one line in its spec (plus a migration for a new column).

The line below declares one more field over an existing users.User column that no import
writes today (date_joined, as "Enrollment Date", with the date rule). Registered as the User
Data spec, it then shows on Map Fields, in the sample file, in validation, in the export and in
the change log, with no other module touched.
"""
import csv
import dataclasses
import datetime
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from imports import types
from imports.models import ImportChange, ImportIssue, ImportJob
from imports.pipeline.fields import Field
from imports.pipeline.normalize import calendar_date
from imports.tests.factories import HEADER, make_import_job, run_job, student, write_csv
from users.exports import user_export_write_csv
from users.models import User
from users.tests.factories import make_user

ENROLLED = Field("enrolled_on", "Enrollment Date", False, ("Entry Date",), column="date_joined", rule=calendar_date())
WITH_ENROLLMENT = HEADER + ("Enrollment Date",)

# A date becomes midnight in the project's time zone when stored in a date-and-time column.
pytestmark = pytest.mark.filterwarnings("ignore:DateTimeField User.date_joined received a naive datetime")


@pytest.fixture
def extended(monkeypatch):
    spec = dataclasses.replace(types.USER_DATA, fields=(*types.USER_DATA.fields, ENROLLED))
    monkeypatch.setitem(types._BY_TYPE, types.USER_DATA.import_type, spec)
    return spec


def test_the_new_field_is_offered_on_map_fields_and_matched_by_its_heading(extended, district_admin_client, school, tmp_path):
    path = write_csv(tmp_path / "roster.csv", [student("1", **{"Enrollment Date": "2014-09-03"})], header=WITH_ENROLLMENT)
    district_admin_client.post(reverse("imports:start"), {
        "import_type": "user_data", "files": SimpleUploadedFile("roster.csv", path.read_bytes(), content_type="text/csv"),
    })
    job = ImportJob.objects.get()

    page = district_admin_client.get(reverse("imports:fields", args=[job.number]))

    assert job.field_mapping["enrolled_on"] == "Enrollment Date"
    assert b'value="enrolled_on"' in page.content and b"matched: Enrollment Date" in page.content


def test_the_sample_file_has_its_heading(extended, district_admin_client):
    response = district_admin_client.get(reverse("imports:sample_csv"))

    header = next(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert header[-1] == "Enrollment Date"


def test_a_bad_value_gets_its_rules_message_with_row_and_column(extended, district, school, tmp_path):
    path = write_csv(
        tmp_path / "roster.csv",
        [student("1", **{"Enrollment Date": "2014-09-03"}), student("2", **{"Enrollment Date": "31/31/2014"})],
        header=WITH_ENROLLMENT,
    )

    job = make_import_job(district, [path])

    issue = ImportIssue.objects.get(job=job)
    assert (issue.code, issue.row, issue.column) == ("invalid_date", 3, "Enrollment Date")
    assert issue.message == '"31/31/2014" is not a date.'


def test_the_export_has_the_new_column(extended, district, school):
    make_user(district, username="ada", district_user_id="1", date_joined=datetime.datetime(2014, 9, 3, 12, tzinfo=datetime.UTC))

    out = io.StringIO()
    user_export_write_csv(district=district, stream=out)

    [row] = csv.DictReader(io.StringIO(out.getvalue()))
    assert row["Enrollment Date"] == "2014-09-03"


def test_an_import_writes_it_and_the_change_log_records_it(extended, district, school, no_safety_hold, tmp_path):
    user = make_user(district, first_name="Ada", last_name="Lovelace", district_user_id="1", school=school,
                     email="", date_joined=datetime.datetime(2020, 1, 6, 12, tzinfo=datetime.UTC))
    path = write_csv(tmp_path / "roster.csv", [
        student("1", **{"Enrollment Date": "9/3/2014"}),  # an existing student: updated
        student("2", **{"Enrollment Date": "2015-08-31"}),  # a new one: created with it
    ], header=WITH_ENROLLMENT)

    job = run_job(make_import_job(district, [path]))

    user.refresh_from_db()
    [change] = ImportChange.objects.filter(job=job)
    assert change.user_id == user.id and list(change.changes) == ["date_joined"]
    assert change.changes["date_joined"][1] == "2014-09-03"
    assert user.date_joined.date() == datetime.date(2014, 9, 3)
    assert User.objects.get(district_user_id="2").date_joined.date() == datetime.date(2015, 8, 31)
