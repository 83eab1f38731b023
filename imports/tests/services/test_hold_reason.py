"""The hold message names what triggered the hold: the district's share, or one school with its N of M."""
import pytest
from django.urls import reverse

from imports.models import ImportStatus
from imports.services import jobs, safety
from imports.tests.factories import make_import_job, write_csv
from imports.types import USER_DATA
from users.tests.factories import make_school, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def schools(district):
    """94 students: 20 at Lincoln, 74 at Washington; the district's limit is 20%."""
    district.change_threshold_percent = 20
    district.save(update_fields=["change_threshold_percent"])
    lincoln = make_school(district, sis_id="101", name="Lincoln Elementary")
    washington = make_school(district, sis_id="202", name="Washington Elementary")
    users = [make_user(district, district_user_id=f"{n:03d}", first_name=f"F{n}", last_name=f"L{n}", grade="5", email="",
                       school=lincoln if n <= 20 else washington) for n in range(1, 95)]
    return lincoln, washington, users


def _row(user, last_name=None):
    return {"First Name": user.first_name, "Last Name": last_name or user.last_name, "District ID": user.district_user_id,
            "User Type": "Student", "Grade": "5", "Email Address": "", "School SIS ID": user.school.sis_id}


def test_a_hold_triggered_by_one_school_names_the_school_and_its_n_of_m(district, district_admin, schools, tmp_path):
    # 15 of 94 (16.0%) is under the district's 20%; 15 of Lincoln's 20 (75.0%) is not.
    lincoln, _, users = schools
    path = write_csv(tmp_path / "roster.csv", [_row(u, "Renamed" if n < 15 else None) for n, u in enumerate(users)])
    job = make_import_job(district, [path], created_by=district_admin)

    job = jobs.import_job_submit(job=job, dispatch=False)

    assert job.status == ImportStatus.ON_HOLD
    assert job.hold_summary["reason"] == (
        "Held because at Lincoln Elementary, 15 of 20 students (75.0%) would get a new First Name, Middle Name, "
        "Last Name, User Type or School, over your district's limit of 20% for a school."
    )
    assert "16.0%" not in job.hold_summary["reason"]


def test_a_hold_triggered_by_the_districts_share_says_so(district, schools):
    summary = {"counts": {"mass_changed": 30}, "affected_by_school": {}}

    assessment = safety.hold_assess(district=district, summary=summary, spec=USER_DATA)

    assert assessment["hold"] is True
    assert assessment["reason"].startswith("Held because 30 of 94 existing users (31.9%) would get a new ")
    assert assessment["reason"].endswith("over your district's limit of 20%.")


def test_the_details_page_shows_the_reason(district, district_admin, district_admin_client, schools, tmp_path):
    _, _, users = schools
    path = write_csv(tmp_path / "roster.csv", [_row(u, "Renamed" if n < 15 else None) for n, u in enumerate(users)])
    job = jobs.import_job_submit(job=make_import_job(district, [path], created_by=district_admin), dispatch=False)

    page = district_admin_client.get(reverse("imports:detail", args=[job.number])).content.decode()

    assert "Held because at Lincoln Elementary, 15 of 20 students (75.0%)" in page


def test_no_hold_no_reason(district, schools):
    assessment = safety.hold_assess(district=district, summary={"counts": {"mass_changed": 1}}, spec=USER_DATA)

    assert (assessment["hold"], assessment["reason"]) == (False, "")


def test_fewer_changed_users_than_a_hold_needs_never_count_the_district(district, schools, monkeypatch):
    counted = []
    monkeypatch.setattr(type(safety.get_target(USER_DATA)), "hold_counts",
                        lambda self, **kw: counted.append(1) or (94, {}))

    below = safety.hold_assess(district=district, summary={"counts": {"mass_changed": safety.MIN_CHANGED_USERS - 1}},
                               spec=USER_DATA)
    assert (below["hold"], counted) == (False, [])
    at = safety.hold_assess(district=district, summary={"counts": {"mass_changed": safety.MIN_CHANGED_USERS}},
                            spec=USER_DATA)
    assert (at["existing_users"], counted) == (94, [1])


def test_review_and_the_submit_message_name_the_school(district, district_admin, district_admin_client, schools, tmp_path):
    _, _, users = schools
    path = write_csv(tmp_path / "roster.csv", [_row(u, "Renamed" if n < 15 else None) for n, u in enumerate(users)])
    job = make_import_job(district, [path], created_by=district_admin)

    review = district_admin_client.get(reverse("imports:review", args=[job.number])).content.decode()
    submitted = district_admin_client.post(reverse("imports:review", args=[job.number]), follow=True).content.decode()

    assert "Held because at Lincoln Elementary, 15 of 20 students (75.0%)" in review
    assert f"Import {job.number} is On hold. Held because at Lincoln Elementary, 15 of 20 students" in submitted
