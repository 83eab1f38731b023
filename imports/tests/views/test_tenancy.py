"""Tenancy and access: another district's import, user or group answers exactly like one that
does not exist, and only district administrators reach the Manage pages.

Every URL of the imports and users apps is found by introspecting imports.urls and users.urls,
so a new URL is covered the day it is added; a URL argument this module does not know how to
fill fails the run.
"""
import html
import re

import pytest
from django.test import Client
from django.urls import reverse

from imports import urls as imports_urls
from imports.models import ImportFile, ImportJob, ImportStatus, WizardStep
from imports.services import jobs
from imports.tests.factories import IN_WINDOW, SCHOOL_SIS_ID, make_import_job, run_job, student, write_csv
from classes import urls as classes_urls
from classes.models import ClassStudent, ClassTeacher, SchoolClass
from users import urls as users_urls
from users.models import CustomGroup, User
from users.tests.factories import make_admin, make_custom_group, make_district, make_school, make_staff, make_user

# How each URL argument is filled: an import number (per district) or an uploaded file's id.
KNOWN_ARGUMENTS = {"number", "file_id"}
# Neither exists in district B: the answer every foreign id must match.
MISSING = {"number": 99999, "file_id": 99999}
# District A's import numbers start here, so district B (numbered from 1) has none of them.
A_FIRST_NUMBER = 7

ALL_PATTERNS = [p for p in imports_urls.urlpatterns]
ID_PATTERNS = [p for p in ALL_PATTERNS if p.pattern.regex.groupindex]
_CSRF_TOKEN = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]*"')


# The Users and Groups tabs: a user's id and a custom group's id.
USERS_KNOWN_ARGUMENTS = {"user_id", "group_id"}
USERS_MISSING = {"user_id": 999999, "group_id": 999999}
USERS_ALL_PATTERNS = list(users_urls.urlpatterns)
USERS_ID_PATTERNS = [p for p in USERS_ALL_PATTERNS if p.pattern.regex.groupindex]


# The Classes tab: a class's id.
CLASSES_KNOWN_ARGUMENTS = {"class_id"}
CLASSES_MISSING = {"class_id": 999999}
CLASSES_ALL_PATTERNS = list(classes_urls.urlpatterns)
CLASSES_ID_PATTERNS = [p for p in CLASSES_ALL_PATTERNS if p.pattern.regex.groupindex]


def _arguments(pattern) -> set[str]:
    return set(pattern.pattern.regex.groupindex)


def _body(response) -> bytes:
    raw = b"".join(response.streaming_content) if response.streaming else response.content
    # The sign-out form's CSRF token is masked afresh on every render; nothing else may differ.
    return _CSRF_TOKEN.sub(b'name="csrfmiddlewaretoken" value="-"', raw)


def _url(pattern, values: dict, app_name: str = imports_urls.app_name) -> str:
    name = f"{app_name}:{pattern.name}"
    return reverse(name, kwargs={arg: values[arg] for arg in _arguments(pattern)})


def test_every_url_argument_of_the_imports_app_is_known():
    unknown = {p.name: sorted(_arguments(p) - KNOWN_ARGUMENTS) for p in ALL_PATTERNS if _arguments(p) - KNOWN_ARGUMENTS}
    assert not unknown, f"Teach test_tenancy.py how to fill these URL arguments: {unknown}"
    assert all(p.name for p in ALL_PATTERNS), "every imports URL needs a name to be reversed"
    assert len(ID_PATTERNS) >= 12


@pytest.fixture
def district_a():
    return make_district(name="District A")


@pytest.fixture
def district_b():
    return make_district(name="District B")


@pytest.fixture
def a_jobs(district_a, tmp_path):
    """District A: a finished, a scheduled and a draft import (numbers 7, 8, 9), each with a file."""
    make_school(district_a, sis_id=SCHOOL_SIS_ID)
    admin = make_admin(district_a)
    path = write_csv(tmp_path / "a.csv", [student("A-1"), student("A-2")])
    finished = make_import_job(district_a, [path], created_by=admin)
    ImportJob.objects.filter(id=finished.id).update(number=A_FIRST_NUMBER)
    finished.refresh_from_db()
    run_job(finished)
    clean = write_csv(tmp_path / "a_more.csv", [student("A-3")])
    scheduled = make_import_job(district_a, [clean], created_by=admin)
    jobs.import_job_submit(job=scheduled, now=IN_WINDOW, dispatch=False)
    draft = make_import_job(district_a, [clean], created_by=admin)
    found = list(ImportJob.objects.filter(district=district_a).order_by("number"))
    assert [j.number for j in found] == [A_FIRST_NUMBER, A_FIRST_NUMBER + 1, A_FIRST_NUMBER + 2]
    assert found[0].is_finished, found[0].failure_reason
    assert [j.status for j in found[1:]] == [ImportStatus.SCHEDULED, ImportStatus.DRAFT]
    assert draft.step == WizardStep.REVIEW
    return found


@pytest.fixture
def b_job(district_b, tmp_path):
    make_school(district_b, sis_id=SCHOOL_SIS_ID)
    path = write_csv(tmp_path / "b.csv", [student("B-1")])
    job = run_job(make_import_job(district_b, [path]))
    assert job.number == 1
    return job


@pytest.fixture
def b_admin_client(district_b, b_job):
    client = Client()
    client.force_login(make_admin(district_b))
    return client


def _snapshot(job_ids) -> list[tuple]:
    return list(
        ImportJob.objects.filter(id__in=job_ids).order_by("id").values_list(
            "id", "number", "status", "step", "field_mapping", "school_mapping", "conflict_policy", "validated_at",
        )
    )


@pytest.mark.django_db
@pytest.mark.parametrize("pattern", ID_PATTERNS, ids=lambda p: p.name)
def test_another_districts_import_answers_like_a_missing_one(pattern, a_jobs, b_job, b_admin_client, district_b):
    client = b_admin_client
    assert not ImportJob.objects.filter(district=district_b, number__in=[j.number for j in a_jobs]).exists()
    assert not ImportJob.objects.filter(district=district_b, number=MISSING["number"]).exists()
    assert not ImportFile.objects.filter(id=MISSING["file_id"]).exists()
    before = _snapshot([j.id for j in a_jobs])
    files_before = ImportFile.objects.filter(job__in=a_jobs).count()

    cases = []
    for job in a_jobs:
        a_file = job.files.first()
        # A's number and A's file, against a number and a file that exist nowhere.
        cases.append(({"number": job.number, "file_id": a_file.id}, MISSING))
        if "file_id" in _arguments(pattern):
            # B's own import with A's file id, against B's own import with a missing file id.
            cases.append(({"number": b_job.number, "file_id": a_file.id}, {"number": b_job.number, "file_id": MISSING["file_id"]}))

    for foreign, missing in cases:
        for method in ("get", "post"):
            theirs = getattr(client, method)(_url(pattern, foreign))
            nothing = getattr(client, method)(_url(pattern, missing))
            where = f"{method.upper()} {_url(pattern, foreign)} vs {_url(pattern, missing)}"
            assert theirs.status_code == nothing.status_code, where
            assert theirs.status_code in (404, 405), where
            assert theirs.get("Content-Type") == nothing.get("Content-Type"), where
            assert _body(theirs) == _body(nothing), where

    # Nothing of district A moved: no cancel, no close, no wizard write.
    assert _snapshot([j.id for j in a_jobs]) == before
    assert ImportFile.objects.filter(job__in=a_jobs).count() == files_before


def _manage_urls(job) -> list[str]:
    values = {"number": job.number, "file_id": job.files.first().id}
    # The access check comes before any look-up, so the users app's ids need not exist.
    users_urls_ = [_url(p, USERS_MISSING, users_urls.app_name) for p in USERS_ALL_PATTERNS]
    classes_urls_ = [_url(p, CLASSES_MISSING, classes_urls.app_name) for p in CLASSES_ALL_PATTERNS]
    return [_url(p, values) for p in ALL_PATTERNS] + [reverse("manage:home"), reverse("manage:schools")] + users_urls_ + classes_urls_


@pytest.mark.django_db
@pytest.mark.parametrize("make_someone", [make_staff, make_user], ids=["staff", "student"])
def test_a_non_admin_gets_403_on_every_manage_url(make_someone, a_jobs, district_a):
    client = Client()
    client.force_login(make_someone(district_a))
    before = _snapshot([j.id for j in a_jobs])
    for job in a_jobs:
        for url in _manage_urls(job):
            if url == reverse("manage:home"):  # the landing page after sign-in says what they can do instead
                assert "What you can do" in client.get(url).content.decode()
                continue
            assert client.get(url).status_code == 403, url
            assert client.post(url).status_code == 403, url
    assert _snapshot([j.id for j in a_jobs]) == before


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_sign_in(a_jobs):
    client = Client()
    login = reverse("login")
    for url in _manage_urls(a_jobs[-1]):
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            assert response.status_code == 302, f"{method} {url}"
            assert response["Location"].startswith(f"{login}?next="), f"{method} {url}"


@pytest.fixture
def b_draft(district_b, b_admin_client, tmp_path):
    """District B's own draft, on Review, with its school value proposed as B's school."""
    path = write_csv(tmp_path / "b_draft.csv", [student("B-2")])
    job = make_import_job(district_b, [path])
    assert list(job.school_mapping.values()) == [district_b.schools.get().id]
    return job


@pytest.mark.django_db
def test_a_tampered_school_id_is_refused_and_not_stored(b_draft, b_admin_client, district_a):
    foreign_school = make_school(district_a, sis_id="A-SCHOOL")
    before = _snapshot([b_draft.id])
    response = b_admin_client.post(
        reverse("imports:schools", args=[b_draft.number]), {"school_0": str(foreign_school.id)}
    )
    assert response.status_code == 200
    assert jobs.ERROR_NOT_YOUR_SCHOOL in html.unescape(response.content.decode())
    b_draft.refresh_from_db()
    assert foreign_school.id not in b_draft.school_mapping.values()
    assert _snapshot([b_draft.id]) == before


@pytest.mark.django_db
def test_a_tampered_custom_group_is_refused(b_draft, b_admin_client, district_a, district_b):
    own_group = make_custom_group(district_b, name="Robotics")
    foreign_group = make_custom_group(district_a, name="Chess")
    url = reverse("imports:actions", args=[b_draft.number])
    form = {"conflict_policy": "imported", "password_policy": "keep", "group_members": "students"}
    response = b_admin_client.post(url, {**form, "custom_group": str(foreign_group.id)})
    assert response.status_code == 200
    assert '<p class="field-error">Select a valid choice.' in response.content.decode()
    b_draft.refresh_from_db()
    assert b_draft.custom_group_id is None
    # The service refuses it too, should a form ever let it through.
    with pytest.raises(jobs.ImportError_, match=jobs.ERROR_NOT_YOUR_GROUP):
        jobs.import_job_set_actions(
            job=b_draft, conflict_policy="imported", password_policy="keep", custom_group_id=foreign_group.id,
            group_members="students", email_staff=False,
        )
    # B's own group is accepted, so the refusal above is about the district, not the form.
    response = b_admin_client.post(url, {**form, "custom_group": str(own_group.id)})
    assert response.status_code == 302
    b_draft.refresh_from_db()
    assert b_draft.custom_group_id == own_group.id


@pytest.mark.django_db
def test_a_tampered_file_id_in_the_header_toggle_is_ignored(b_draft, b_admin_client, a_jobs):
    foreign_file = a_jobs[-1].files.get()
    assert foreign_file.has_header
    b_admin_client.post(
        reverse("imports:fields", args=[b_draft.number]), {"action": "header", "file": foreign_file.id, "has_header": "0"}
    )
    foreign_file.refresh_from_db()
    assert foreign_file.has_header
    assert a_jobs[-1].files.get().headers == foreign_file.headers


def test_every_url_argument_of_the_users_app_is_known():
    unknown = {p.name: sorted(_arguments(p) - USERS_KNOWN_ARGUMENTS) for p in USERS_ALL_PATTERNS if _arguments(p) - USERS_KNOWN_ARGUMENTS}
    assert not unknown, f"Teach test_tenancy.py how to fill these URL arguments: {unknown}"
    assert all(p.name for p in USERS_ALL_PATTERNS), "every users URL needs a name to be reversed"
    assert len(USERS_ID_PATTERNS) >= 9


@pytest.fixture
def a_people(district_a):
    """District A: a student, a staff member and an admin, and a group with the student in it."""
    student_a = make_user(district_a, district_user_id="A-100", username="a.student")
    staff_a = make_staff(district_a, district_user_id="A-200", username="a.staff")
    admin_a = make_admin(district_a)
    group = make_custom_group(district_a, name="A group", members=[student_a])
    return {"users": [student_a, staff_a, admin_a], "group": group}


def _people_snapshot(district) -> list[tuple]:
    users = list(User.objects.filter(district=district).order_by("id").values_list(
        "id", "first_name", "grade", "email", "is_active", "district_user_id", "user_type",
    ))
    groups = list(CustomGroup.objects.filter(district=district).order_by("id").values_list("id", "name"))
    members = list(CustomGroup.members.through.objects.filter(customgroup__district=district).order_by("id").values_list("customgroup_id", "user_id"))
    return users + groups + members


@pytest.mark.django_db
@pytest.mark.parametrize("pattern", USERS_ID_PATTERNS, ids=lambda p: p.name)
def test_another_districts_user_or_group_answers_like_a_missing_one(pattern, a_people, district_a, district_b):
    from django.core import mail

    client = Client()
    client.force_login(make_admin(district_b))
    before = _people_snapshot(district_a)
    group = a_people["group"]
    # A form body that would change something, were the id theirs.
    body = {
        "active": "0", "name": "Renamed", "identifier": "A-200", "user_id": a_people["users"][0].id,
        "first_name": "Changed", "last_name": "Changed", "district_id": "A-100", "user_type": "student", "grade": "6",
        "school_sis_id": "", "email": "taken@over.example", "limited_english": "N", "economically_disadvantaged": "N",
    }
    for user in a_people["users"]:
        foreign = {"user_id": user.id, "group_id": group.id}
        for method in ("get", "post"):
            theirs = getattr(client, method)(_url(pattern, foreign, users_urls.app_name), body)
            nothing = getattr(client, method)(_url(pattern, USERS_MISSING, users_urls.app_name), body)
            where = f"{method.upper()} {_url(pattern, foreign, users_urls.app_name)}"
            assert theirs.status_code == nothing.status_code, where
            assert theirs.status_code in (404, 405), where
            assert theirs.get("Content-Type") == nothing.get("Content-Type"), where
            assert _body(theirs) == _body(nothing), where

    assert _people_snapshot(district_a) == before
    assert mail.outbox == []


def test_every_url_argument_of_the_classes_app_is_known():
    unknown = {p.name: sorted(_arguments(p) - CLASSES_KNOWN_ARGUMENTS) for p in CLASSES_ALL_PATTERNS if _arguments(p) - CLASSES_KNOWN_ARGUMENTS}
    assert not unknown, f"Teach test_tenancy.py how to fill these URL arguments: {unknown}"
    assert all(p.name for p in CLASSES_ALL_PATTERNS), "every classes URL needs a name to be reversed"
    assert len(CLASSES_ID_PATTERNS) >= 6


def _classes_snapshot(district) -> list[tuple]:
    classes = list(SchoolClass.objects.filter(district=district).order_by("id").values_list("id", "name", "sis_id", "active", "school_id"))
    teachers = list(ClassTeacher.objects.filter(school_class__district=district).order_by("id").values_list("school_class_id", "user_id"))
    students = list(ClassStudent.objects.filter(school_class__district=district).order_by("id").values_list("school_class_id", "user_id"))
    return classes + teachers + students


@pytest.mark.django_db
@pytest.mark.parametrize("pattern", CLASSES_ID_PATTERNS, ids=lambda p: p.name)
def test_another_districts_class_answers_like_a_missing_one(pattern, a_people, district_a, district_b):
    school = make_school(district_a, sis_id="A1")
    a_class = SchoolClass.objects.create(district=district_a, school=school, sis_id="A-CLASS", name="A class")
    ClassStudent.objects.create(school_class=a_class, user=a_people["users"][0])
    client = Client()
    client.force_login(make_admin(district_b))
    before = _classes_snapshot(district_a)
    body = {"active": "0", "name": "Renamed", "sis_id": "X", "school": school.id, "district_id": "A-200", "role": "teacher",
            "user_id": a_people["users"][0].id}
    for method in ("get", "post"):
        theirs = getattr(client, method)(_url(pattern, {"class_id": a_class.id}, classes_urls.app_name), body)
        nothing = getattr(client, method)(_url(pattern, CLASSES_MISSING, classes_urls.app_name), body)
        where = f"{method.upper()} {_url(pattern, {'class_id': a_class.id}, classes_urls.app_name)}"
        assert theirs.status_code == nothing.status_code, where
        assert theirs.status_code in (404, 405), where
        assert _body(theirs) == _body(nothing), where

    assert _classes_snapshot(district_a) == before
