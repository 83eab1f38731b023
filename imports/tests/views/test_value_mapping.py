"""Value mapping on School Mapping (and as its own step), and Create school: what an admin sees and what it does."""
import dataclasses
import re

import pytest

from imports.tests.factories import set_window_around_now, wizard_upload, wizard_url
from django.urls import reverse

from imports import types
from imports.models import ImportJob, ImportStatus, WizardStep
from schools.models import School
from users.models import User
from users.tests.factories import PASSWORD, make_admin, make_district, make_school

HEADER = "First Name,Last Name,District ID,User Type,Grade,Email Address,School SIS ID,Migrant\r\n"
ROSTER = (
    HEADER
    + "Ann,Lee,S1,student,TK,,101,T\r\n"
    + "Abe,Lee,S4,student,KG,,101,\r\n"
    + "Bob,Ray,S2,student,13,,101,F\r\n"
    + "Cat,Ito,S3,Student,5,,101,N\r\n"
    + "Dee,Fox,T1,teacher,,dee@example.org,101,\r\n"
    + "Eve,Lee,G1,guardian,,eve@example.org,101,\r\n"
    + "Fay,Lee,G2,guardian,,fay@example.org,101,\r\n"
).encode()


@pytest.fixture
def district():
    return make_district()


@pytest.fixture
def admin_client(client, district):
    make_admin(district, username="dadmin")
    client.login(username="dadmin", password=PASSWORD)
    return client


_url = wizard_url


def _upload(client, district, content: bytes = ROSTER, name: str = "roster.csv") -> ImportJob:
    return wizard_upload(client, district, content, name)


def _selected(page: str, value: str) -> str:
    """The option selected in the value-mapping drop-down of one file value ("" when none)."""
    row = re.search(r'<td class="mono">' + re.escape(value) + r'</td>.*?</select>', page, re.S)
    assert row, f"{value} is not listed"
    chosen = re.search(r'<option value="([^"]*)" selected>', row.group(0))
    return chosen.group(1) if chosen else ""


def _position(job, value: str) -> int:
    return job.coded_values.get(value=value).position


def _to_schools(client, job, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(_url(job, "fields"), {"action": "next"})
    return client.get(_url(job, "schools")).content.decode()


@pytest.mark.django_db
def test_unrecognised_values_are_listed_with_their_counts_and_suggestions(admin_client, district, django_capture_on_commit_callbacks):
    make_school(district, sis_id="101")
    job = _upload(admin_client, district)
    page = _to_schools(admin_client, job, django_capture_on_commit_callbacks)

    assert _selected(page, "teacher") == "staff"
    assert _selected(page, "guardian") == "skip"
    assert _selected(page, "TK") == "PK"
    assert _selected(page, "13") == ""  # no suggestion: the admin chooses
    assert _selected(page, "T") == "Y" and _selected(page, "F") == "N"
    # Recognised at once: not listed.
    assert '<td class="mono">student</td>' not in page and '<td class="mono">5</td>' not in page
    assert '<td class="mono">KG</td>' not in page
    assert '<td class="mono">N</td>' not in page
    assert re.search(r'<td class="mono">guardian</td><td class="text-right">2</td>', page)


@pytest.mark.django_db
def test_a_value_left_unchosen_stays_an_error(admin_client, district, django_capture_on_commit_callbacks):
    make_school(district, sis_id="101")
    job = _upload(admin_client, district)
    _to_schools(admin_client, job, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(_url(job, "schools"), {"action": "next"})
    job.refresh_from_db()
    assert job.value_mapping["user_type"] == {"teacher": "staff", "guardian": "skip"}
    assert "13" not in job.value_mapping.get("grade", {})
    assert list(job.issues.values_list("code", "row")) == [("invalid_grade", 4)]


@pytest.mark.django_db
def test_manual_choice_skipped_guardians_on_review_and_memory_in_the_next_import(
    admin_client, district, django_capture_on_commit_callbacks
):
    set_window_around_now(district, open_now=True)  # submitted inside the window: it runs at once, whatever the hour
    make_school(district, sis_id="101")
    job = _upload(admin_client, district)
    _to_schools(admin_client, job, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(_url(job, "schools"), {f"value_{_position(job, '13')}": "12", "action": "next"})
    job.refresh_from_db()
    assert job.validation_summary["counts"]["errors"] == 0
    admin_client.post(_url(job, "validate"), {"action": "next"})
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(_url(job, "actions"), {"conflict_policy": "imported", "password_policy": "keep", "group_members": "students"})
    review = admin_client.get(_url(job, "review")).content.decode()
    assert 'id="count-skipped">2<' in review
    assert "Grade “13” → 12" in review and "User Type “guardian” → skip these rows" in review
    assert 'id="count-new">5<' in review
    assert f'<a class="small" href="{_url(job, "schools")}">change<span class="visually-hidden"> values</span>' in review

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(_url(job, "review"))
    job.refresh_from_db()
    assert job.status != ImportStatus.DRAFT
    users = dict(User.objects.filter(district=district, district_user_id__isnull=False).values_list("district_user_id", "user_type"))
    assert users == {"S1": "student", "S2": "student", "S3": "student", "S4": "student", "T1": "staff"}
    assert User.objects.get(district_user_id="S2").grade == "12"
    detail = admin_client.get(reverse("imports:detail", args=[job.number])).content.decode()
    assert "Grade “13” → 12" in detail and 'id="detail-skipped">2 ' in detail

    # The next import proposes the district's choice for 13.
    second = _upload(admin_client, district)
    page = _to_schools(admin_client, second, django_capture_on_commit_callbacks)
    assert _selected(page, "13") == "12"


@pytest.mark.django_db
def test_changing_a_value_choice_restarts_validation(admin_client, district, django_capture_on_commit_callbacks):
    make_school(district, sis_id="101")
    job = _upload(admin_client, district)
    _to_schools(admin_client, job, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(_url(job, "schools"), {"action": "next"})
    job.refresh_from_db()
    assert job.validated_at is not None
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(_url(job, "schools"), {f"value_{_position(job, '13')}": "PK", "action": "next"})
    job.refresh_from_db()
    assert job.value_mapping["grade"]["13"] == "PK" and job.validation_summary["counts"]["errors"] == 0


@pytest.mark.django_db
def test_more_than_200_values_are_paged_and_searchable_without_javascript(
    admin_client, district, django_capture_on_commit_callbacks
):
    make_school(district, sis_id="101")
    rows = [HEADER] + [f"A,B,{i},student,G-{i:04d},,101,\r\n" for i in range(450)]
    job = _upload(admin_client, district, "".join(rows).encode())
    page = _to_schools(admin_client, job, django_capture_on_commit_callbacks)
    assert page.count('<select name="value_') == 200 and "G-0199" in page and "G-0200" not in page
    assert "Page 1 of 3" in page and 'name="vq"' in page

    page = admin_client.get(_url(job, "schools", "?vpage=3")).content.decode()
    assert page.count('<select name="value_') == 50 and "G-0449" in page
    page = admin_client.get(_url(job, "schools", "?vq=g-031")).content.decode()
    assert page.count('<select name="value_') == 10 and "10 values contain" in page

    # Save and next page keeps this page's choice and moves on.
    response = admin_client.post(_url(job, "schools"), {
        "vq": "g-031", "vpage": "1", f"value_{_position(job, 'G-0310')}": "3", "action": "vsave:1",
    })
    assert response.status_code == 302 and "vq=g-031" in response["Location"]
    job.refresh_from_db()
    assert job.value_mapping == {"grade": {"G-0310": "3"}}


@pytest.mark.django_db
def test_create_school_makes_the_school_only_when_the_import_is_submitted(
    admin_client, district, django_capture_on_commit_callbacks
):
    content = (HEADER + "Ann,Lee,S1,student,5,,NEW-7,\r\n").encode()
    job = _upload(admin_client, district, content)
    page = _to_schools(admin_client, job, django_capture_on_commit_callbacks)
    assert '<option value="new">Create school</option>' in page and 'value="NEW-7"' in page
    position = job.school_values.get().position

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(_url(job, "schools"), {
            f"school_{position}": "new", f"new_name_{position}": "Seven Oaks", f"new_sis_{position}": "NEW-7", "action": "next",
        })
    job.refresh_from_db()
    # Validation treats the school to be created as matched; nothing is created yet.
    assert job.validation_summary["counts"]["errors"] == 0
    assert not School.objects.filter(district=district, sis_id="NEW-7").exists()
    page = admin_client.get(_url(job, "schools")).content.decode()
    assert '<option value="new" selected>Create school</option>' in page and 'value="Seven Oaks"' in page

    admin_client.post(_url(job, "validate"), {"action": "next"})
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(_url(job, "actions"), {"conflict_policy": "imported", "password_policy": "keep", "group_members": "students"})
    assert "new school Seven Oaks (NEW-7)" in admin_client.get(_url(job, "review")).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(_url(job, "review"))
    school = School.objects.get(district=district, sis_id="NEW-7")
    assert school.name == "Seven Oaks"
    job.refresh_from_db()
    assert job.school_mapping == {"NEW-7": school.id}


@pytest.mark.django_db
def test_close_x_after_create_school_creates_nothing(admin_client, district, django_capture_on_commit_callbacks):
    content = (HEADER + "Ann,Lee,S1,student,5,,NEW-8,\r\n").encode()
    job = _upload(admin_client, district, content)
    _to_schools(admin_client, job, django_capture_on_commit_callbacks)
    position = job.school_values.get().position
    admin_client.post(_url(job, "schools"), {
        f"school_{position}": "new", f"new_name_{position}": "Eight", f"new_sis_{position}": "NEW-8", "action": "next",
    })
    admin_client.post(_url(job, "close"))
    assert not ImportJob.objects.filter(id=job.id).exists()
    assert not School.objects.filter(district=district).exists()


@pytest.mark.django_db
def test_create_school_refuses_an_sis_id_the_district_has(admin_client, district, django_capture_on_commit_callbacks):
    make_school(district, sis_id="101", name="Lincoln")
    content = (HEADER + "Ann,Lee,S1,student,5,,Lincoln Elem,\r\n").encode()
    job = _upload(admin_client, district, content)
    _to_schools(admin_client, job, django_capture_on_commit_callbacks)
    position = job.school_values.get().position
    page = admin_client.post(_url(job, "schools"), {
        f"school_{position}": "new", f"new_name_{position}": "Lincoln", f"new_sis_{position}": "101", "action": "next",
    }, follow=True).content.decode()
    assert 'A school with SIS ID &quot;101&quot; exists already' in page
    job.refresh_from_db()
    assert job.new_schools == {} and job.step == WizardStep.MAP_SCHOOLS


@pytest.fixture
def values_only(monkeypatch):
    """A test-only type without School Mapping: value mapping is its own step after Map Fields."""
    spec = dataclasses.replace(
        types.USER_DATA, import_type="values_only", label="Values only",
        fields=tuple(f for f in types.USER_DATA.fields if f.key != "school_sis_id"),
        steps=(WizardStep.UPLOAD, WizardStep.MAP_FIELDS, WizardStep.MAP_VALUES, WizardStep.VALIDATE, WizardStep.REVIEW),
    )
    monkeypatch.setitem(types._BY_TYPE, spec.import_type, spec)
    return spec


@pytest.mark.django_db
def test_a_type_without_school_mapping_has_value_mapping_as_its_own_step(
    values_only, admin_client, district, django_capture_on_commit_callbacks
):
    job = _upload(admin_client, district)
    mapping = {k: v for k, v in job.field_mapping.items() if k != "school_sis_id"}
    ImportJob.objects.filter(id=job.id).update(import_type=values_only.import_type, field_mapping=mapping)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(_url(job, "fields"), {"action": "next"})
    assert response["Location"] == _url(job, "values")
    page = admin_client.get(_url(job, "values")).content.decode()
    assert "Value Mapping" in page and "School Mapping" not in page
    assert _selected(page, "TK") == "PK" and _selected(page, "13") == ""
    job.refresh_from_db()
    assert job.validated_at is None  # validation waits until the admin leaves Value Mapping

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(_url(job, "values"), {f"value_{_position(job, '13')}": "PK", "action": "next"})
    assert response["Location"] == _url(job, "validate")
    job.refresh_from_db()
    assert job.validated_at is not None and job.validation_summary["counts"]["errors"] == 0
    assert job.validation_summary["counts"]["skipped"] == 2
    assert not User.objects.filter(district=district, district_user_id="G1").exists()


@pytest.mark.django_db
def test_create_school_proposes_the_bundles_school_name(admin_client, district, django_capture_on_commit_callbacks):
    content = (HEADER + "Ann,Lee,S1,student,5,,org-12,\r\n").encode()
    job = _upload(admin_client, district, content)
    ImportJob.objects.filter(id=job.id).update(bundle_summary={"school_names": {"org-12": "Maple Middle School"}})
    page = _to_schools(admin_client, job, django_capture_on_commit_callbacks)
    assert 'name="new_name_0" value="Maple Middle School"' in page and 'name="new_sis_0" value="org-12"' in page


@pytest.mark.django_db
def test_create_school_asks_for_a_name_instead_of_naming_it_after_its_code(
    admin_client, district, django_capture_on_commit_callbacks
):
    content = (HEADER + "Ann,Lee,S1,student,5,,999,\r\n").encode()
    job = _upload(admin_client, district, content)
    page = _to_schools(admin_client, job, django_capture_on_commit_callbacks)
    position = job.school_values.get().position
    assert f'name="new_name_{position}" value=""' in page  # no name made up from the code
    response = admin_client.post(_url(job, "schools"), {
        f"school_{position}": "new", f"new_name_{position}": "", f"new_sis_{position}": "999", "action": "next",
    }, follow=True)
    assert 'Give the new school for &quot;999&quot; a name and an SIS ID.' in response.content.decode()
    assert not School.objects.filter(district=district, name="999").exists()
