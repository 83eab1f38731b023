"""Round three, item 2: every column whose heading is a password heading is masked, matched or not.

The reproduction: errors.csv masked only the matched Password column, so an "Initial Password"
column left unmatched, or an exact "Password" column the admin did not match, printed the passwords.
"""
import pytest
from django.urls import reverse

from imports.pipeline.masking import is_password_heading
from imports.services.corrections import fix_rows_editor
from imports.services.reports import results_report_rows
from imports.tests.factories import SCHOOL_SIS_ID, csv_text, make_import_job
from imports.types import get_spec
from users.tests.factories import make_user

pytestmark = pytest.mark.django_db

SECRET = "Sunflower-Kite-8812"
HEADER = ("First Name", "Last Name", "District ID", "User Type", "Grade", "Email Address", "School SIS ID")
MAPPING = {"first_name": "First Name", "last_name": "Last Name", "district_id": "District ID",
           "user_type": "User Type", "grade": "Grade", "email": "Email Address", "school_sis_id": "School SIS ID"}


def _text(response) -> str:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return body.decode("utf-8-sig")


def _job(district, admin, tmp_path, heading, *, grade="99", mapping=None):
    """One row with an error (grade 99) and a password in an unmatched column named `heading`."""
    rows = [{"First Name": "Ada", "Last Name": "Lovelace", "District ID": "1001", "User Type": "Student",
             "Grade": grade, "Email Address": "", "School SIS ID": SCHOOL_SIS_ID, heading: SECRET}]
    path = tmp_path / "roster.csv"
    path.write_text(csv_text(rows, header=(*HEADER, heading)), encoding="utf-8")
    return make_import_job(district, [path], created_by=admin, field_mapping=mapping or dict(MAPPING))


@pytest.mark.parametrize("heading", ["Initial Password", "Password", "Student PWD", "password_2"])
def test_errors_csv_masks_an_unmatched_password_column(district_admin_client, district_admin, district, school, tmp_path, heading):
    job = _job(district, district_admin, tmp_path, heading)
    assert job.validation_summary["counts"]["errors"] >= 1
    assert "password" not in job.field_mapping

    report = _text(district_admin_client.get(reverse("imports:error_report", args=[job.number])))

    assert "Lovelace" in report  # the row is in the report...
    assert SECRET not in report  # ...without its password


def test_map_fields_samples_and_the_fix_rows_editor_mask_it(district_admin_client, district_admin, district, school, tmp_path):
    mapping = {**MAPPING, "alternate_user_id": "Initial Password"}  # matched to another field by mistake
    job = _job(district, district_admin, tmp_path, "Initial Password", mapping=mapping)

    fields_page = _text(district_admin_client.get(reverse("imports:fields", args=[job.number])))
    editor = fix_rows_editor(job=job)

    assert "Lovelace" in fields_page and SECRET not in fields_page
    [row] = editor.rows
    [cell] = [c for c in row.cells if c.column == "Initial Password"]
    assert cell.is_password and cell.value == ""
    assert SECRET not in str([c.value for c in row.cells])


def test_a_password_column_matched_to_another_field_is_masked_in_results_csv(district, district_admin, school, tmp_path):
    from imports.tests.factories import run_job

    make_user(district, district_user_id="1001", first_name="Ada", last_name="Lovelace", school=school,
              alternate_user_id="old-alt")
    mapping = {**MAPPING, "alternate_user_id": "Initial Password"}
    job = _job(district, district_admin, tmp_path, "Initial Password", grade="5", mapping=mapping)
    job = run_job(job)

    report = "\n".join(",".join(map(str, r)) for r in results_report_rows(job))
    assert "Alternate User ID" in report and SECRET not in report  # the field by its label, its values masked


def test_the_rule_covers_mapped_alias_exact_and_password_words():
    spec = get_spec("user_data")
    mapping = {"password": "Secret Column"}
    for heading in ("Secret Column", "Password", "Initial Password", "pwd", "Passcode", "PASSWORD*", "Teacher Passwd"):
        assert is_password_heading(heading, spec=spec, field_mapping=mapping), heading
    for heading in ("Last Name", "Grade", "Email Address", "District ID"):
        assert not is_password_heading(heading, spec=spec, field_mapping=mapping), heading


def test_value_pages_never_list_a_password_column_matched_to_a_coded_field(district, district_admin, school, tmp_path):
    from imports.services.sources import ImportOptions, sources_for_job
    from imports.services.validation import file_value_counts

    mapping = {**MAPPING, "grade": "Initial Password"}  # a coded field fed by a password heading
    job = _job(district, district_admin, tmp_path, "Initial Password", mapping=mapping)

    schools, coded = file_value_counts(sources_for_job(job), ImportOptions.from_job(job))

    assert SECRET not in str(coded) and SECRET not in str(schools)
