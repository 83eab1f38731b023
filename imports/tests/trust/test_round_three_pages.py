"""Round three, item 10: School Mapping stays small however many schools the district has.

The reproduction: 2,000 schools and 200 values a page gave 200 <select>s of 2,000 options each, 24.9 MB
of HTML that took 17 s to render. Past SCHOOL_SELECT_MAX schools each line is a text box over one
shared <datalist>, which needs no JavaScript.
"""
import pytest
from django.urls import reverse
from django.utils.html import escape

from imports.services import jobs
from imports.tests.factories import make_import_job, student, write_csv
from imports.views.wizard import SCHOOL_SELECT_MAX
from users.tests.factories import make_school

pytestmark = pytest.mark.django_db


@pytest.fixture
def many_schools(district):
    return [make_school(district, name=f"Academy {n:03d}", sis_id=f"A{n:03d}") for n in range(SCHOOL_SELECT_MAX + 10)]


@pytest.fixture
def job(district, district_admin, many_schools, tmp_path):
    rows = [student("1001", **{"School SIS ID": "A003"}), student("1002", **{"School SIS ID": "Old Mill"}),
            student("1003", **{"School SIS ID": "Zed"})]
    return make_import_job(district, [write_csv(tmp_path / "roster.csv", rows)], created_by=district_admin, validate=False)


def test_one_shared_list_instead_of_a_select_per_line(district_admin_client, job, many_schools):
    html = district_admin_client.get(reverse("imports:schools", args=[job.number])).content.decode()

    assert '<select name="school_' not in html
    assert html.count("<datalist") == 1 and html.count('list="school-choices"') == 3
    assert html.count('<option value="Academy') == len(many_schools)  # each school once, not once per line
    assert 'value="Academy 003 (A003)"' in html  # the proposed school is filled in


def test_a_school_is_chosen_by_its_label_sis_id_or_name_without_javascript(district_admin_client, job, many_schools):
    by_sis = {s.sis_id: s for s in many_schools}
    lines = dict(job.school_values.values_list("value", "position"))

    district_admin_client.post(reverse("imports:schools", args=[job.number]), {
        f"school_{lines['A003']}": "Academy 003 (A003)", f"school_{lines['Old Mill']}": "a007",
        f"school_{lines['Zed']}": "Academy 012", "action": "save",
    })

    job.refresh_from_db()
    assert job.school_mapping == {"A003": by_sis["A003"].id, "Old Mill": by_sis["A007"].id, "Zed": by_sis["A012"].id}


def test_text_that_names_no_school_is_refused_with_a_message(district_admin_client, job):
    lines = dict(job.school_values.values_list("value", "position"))

    response = district_admin_client.post(reverse("imports:schools", args=[job.number]), {
        f"school_{lines['Zed']}": "Nowhere High", "action": "save"}, follow=True)

    job.refresh_from_db()
    assert "Zed" not in job.school_mapping or job.school_mapping["Zed"] is None
    assert response.status_code == 200
    assert escape(jobs.ERROR_NOT_YOUR_SCHOOL) in response.content.decode()
