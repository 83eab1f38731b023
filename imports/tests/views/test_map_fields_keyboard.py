"""Map Fields by keyboard and without JavaScript: a column list per field, buttons named for their pair."""
import re

import pytest
from django.urls import reverse

from imports.tests.factories import SCHOOL_SIS_ID, make_import_job, write_csv
from users.tests.factories import make_school

pytestmark = pytest.mark.django_db
HEADER = ("First Name", "Last Name", "Student Number", "User Type", "Grade", "Email Address", "School SIS ID")


@pytest.fixture
def job(district, district_admin, tmp_path):
    make_school(district, sis_id=SCHOOL_SIS_ID)
    path = write_csv(tmp_path / "s.csv", [["Ada", "Lovelace", "1001", "Student", "5", "", SCHOOL_SIS_ID]], header=HEADER)
    job = make_import_job(district, [path], created_by=district_admin, validate=False, field_mapping={
        "first_name": "First Name", "last_name": "Last Name", "user_type": "User Type", "grade": "Grade",
        "email": "Email Address", "school_sis_id": "School SIS ID", "district_id": "Student Number"})
    job.field_mapping = {k: v for k, v in job.field_mapping.items() if k != "district_id"}
    job.step = "fields"
    job.save()
    return job


def test_each_field_has_its_own_column_list_and_a_match_button_named_for_it(district_admin_client, job):
    page = district_admin_client.get(reverse("imports:fields", args=[job.number])).content.decode()
    select = re.search(r'<select name="column_for_district_id"[^>]*aria-label="Column for District ID"[^>]*>(.*?)</select>', page, re.S)
    assert select and '<option value="Student Number">Student Number</option>' in select.group(1)
    assert '<button type="submit" name="action" value="pair:district_id" class="btn btn-secondary btn-sm">Match District ID</button>' in page
    assert 'Unmatch<span class="visually-hidden"> First Name</span>' in page


def test_matching_a_pair_without_javascript_returns_to_its_line(district_admin_client, job):
    url = reverse("imports:fields", args=[job.number])
    response = district_admin_client.post(url, {"action": "pair:district_id", "column_for_district_id": "Student Number"})
    assert response["Location"] == url + "#field-district_id"
    job.refresh_from_db()
    assert job.field_mapping["district_id"] == "Student Number"
    response = district_admin_client.post(url, {"action": "unmatch:district_id"})
    assert response["Location"] == url + "#field-district_id"
    job.refresh_from_db()
    assert "district_id" not in job.field_mapping


def test_match_without_a_chosen_column_says_what_to_do(district_admin_client, job):
    url = reverse("imports:fields", args=[job.number])
    response = district_admin_client.post(url, {"action": "pair:district_id", "column_for_district_id": ""}, follow=True)
    assert "Choose a column for District ID, then Match District ID." in response.content.decode()
