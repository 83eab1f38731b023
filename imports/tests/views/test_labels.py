"""Change lists, the results report, the user's History and the hold card speak in labels and words, not keys and codes."""
import pytest
from django.urls import reverse

from imports.tests.factories import make_import_job, run_job, student, write_csv
from users.tests.factories import make_school, make_user

pytestmark = pytest.mark.django_db

HEADER = ("First Name", "Last Name", "District ID", "User Type", "Grade", "Email Address", "School SIS ID", "Economically Disadvantaged")


@pytest.fixture
def changed_job(district, district_admin, no_safety_hold, tmp_path):
    old = make_school(district, name="Lincoln Elementary", sis_id="101")
    make_school(district, name="Washington Middle", sis_id="202")
    ada = make_user(district, district_user_id="1001", first_name="Ada", last_name="Lovelace", grade="5", school=old,
                    economically_disadvantaged=True)
    path = write_csv(tmp_path / "roster.csv", [student("1001", **{
        "Last Name": "King", "Grade": "K", "School SIS ID": "202", "Economically Disadvantaged": "N"})], header=HEADER)
    job = run_job(make_import_job(district, [path], created_by=district_admin))
    assert job.counts["updated"] == 1
    return job, ada


def test_the_details_page_lists_changes_in_words(district_admin_client, changed_job):
    job, _ = changed_job
    html = district_admin_client.get(reverse("imports:detail", args=[job.number])).content.decode()
    assert "<strong>Last Name</strong>: Lovelace → King" in html
    assert "<strong>School</strong>: Lincoln Elementary (101) → Washington Middle (202)" in html
    assert "<strong>Economically Disadvantaged</strong>: Yes → No" in html
    assert "<strong>Grade</strong>: 5 → Kindergarten" in html
    assert "school_id" not in html and "economically_disadvantaged" not in html


def test_the_results_report_uses_the_same_words(district_admin_client, changed_job):
    job, _ = changed_job
    response = district_admin_client.get(reverse("imports:results_report", args=[job.number]))
    report = b"".join(response.streaming_content).decode("utf-8-sig")
    assert ",Economically Disadvantaged,Yes,No" in report
    assert ",School,Lincoln Elementary (101),Washington Middle (202)" in report
    assert ",Grade,5,Kindergarten" in report


def test_the_users_history_uses_the_same_words(district_admin_client, changed_job):
    _, ada = changed_job
    html = district_admin_client.get(reverse("users:detail", args=[ada.pk])).content.decode()
    assert "Washington Middle (202)" in html and "Kindergarten" in html
