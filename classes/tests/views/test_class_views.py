"""The Classes tab: find a class, see and change it and its roster; a user's page lists their classes."""
import pytest
from django.urls import reverse

from classes.models import ClassChange, ClassStudent, ClassTeacher, SchoolClass
from users.models import AuditAction, AuditEvent, UserType
from users.tests.factories import make_district, make_school, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def setting(district):
    north, south = make_school(district, name="North ES", sis_id="N1"), make_school(district, name="South ES", sis_id="S1")
    teacher = make_user(district, user_type=UserType.STAFF, first_name="Rita", last_name="Okafor", district_user_id="T-9")
    student = make_user(district, first_name="Sam", last_name="Lee", district_user_id="S-9", school=north)
    math = SchoolClass.objects.create(district=district, school=north, sis_id="MATH-1", name="Math Blue")
    art = SchoolClass.objects.create(district=district, school=south, sis_id="ART-2", name="Art Green")
    ClassTeacher.objects.create(school_class=math, user=teacher, is_primary=True)
    ClassStudent.objects.create(school_class=math, user=student)
    return {"north": north, "south": south, "teacher": teacher, "student": student, "math": math, "art": art}


def _listed(client, **params) -> list[str]:
    page = client.get(reverse("classes:list"), params).context["page"]
    return [c.sis_id for c in page.items]


def test_the_list_searches_by_name_sis_id_or_teacher_and_filters_by_school(district_admin_client, setting):
    client = district_admin_client
    assert _listed(client) == ["ART-2", "MATH-1"]
    assert _listed(client, q="blue") == ["MATH-1"]
    assert _listed(client, q="art-2") == ["ART-2"]
    assert _listed(client, q="okafor") == ["MATH-1"]
    assert _listed(client, q="T-9") == ["MATH-1"]
    assert _listed(client, school=setting["south"].id) == ["ART-2"]


def test_another_districts_classes_are_never_listed(client, setting):
    other = make_district()
    admin = make_user(other, user_type=UserType.STAFF, is_district_admin=True, district_user_id=None)
    client.force_login(admin)

    assert _listed(client) == [] and _listed(client, q="MATH-1") == []


def test_a_class_page_shows_teachers_students_and_history_and_is_on_the_audit_trail(district_admin_client, setting):
    math = setting["math"]
    page = district_admin_client.get(reverse("classes:detail", args=[math.id])).content.decode()

    assert "Okafor, Rita" in page and "Lee, Sam" in page and "Primary" in page
    event = AuditEvent.objects.get(action=AuditAction.VIEW_CLASS)
    assert event.detail == {"class_id": math.id}


def test_an_admin_creates_edits_deactivates_and_deletes_a_class(district_admin_client, setting):
    client = district_admin_client
    response = client.post(reverse("classes:create"), {"name": "Science", "sis_id": "SCI-1", "school": setting["north"].id})
    science = SchoolClass.objects.get(sis_id="SCI-1")
    assert response.url == reverse("classes:detail", args=[science.id])

    taken = client.post(reverse("classes:edit", args=[science.id]), {"name": "Science", "sis_id": "MATH-1", "school": setting["north"].id})
    assert "Another class of the district has the SIS ID MATH-1." in taken.content.decode()
    client.post(reverse("classes:edit", args=[science.id]), {"name": "Science 2", "sis_id": "SCI-1", "school": setting["south"].id})
    science.refresh_from_db()
    assert (science.name, science.school) == ("Science 2", setting["south"])
    assert ClassChange.objects.filter(school_class=science, kind="updated").get().fields["name"] == ["Science", "Science 2"]

    client.post(reverse("classes:active", args=[science.id]), {"active": "0"})
    science.refresh_from_db()
    assert not science.active

    client.post(reverse("classes:delete", args=[science.id]))
    assert not SchoolClass.objects.filter(sis_id="SCI-1").exists()
    assert AuditEvent.objects.filter(action=AuditAction.DELETE_CLASS).exists()


def test_an_admin_adds_and_removes_members_under_the_role_rules(district_admin_client, setting):
    client, art = district_admin_client, setting["art"]
    url = reverse("classes:member_add", args=[art.id])

    client.post(url, {"district_id": "T-9", "role": "teacher"})
    client.post(url, {"district_id": "S-9", "role": "student"})
    refused = client.post(url, {"district_id": "S-9", "role": "teacher"}, follow=True).content.decode()

    assert "S-9 is a student: add them as a student." in refused
    assert ClassTeacher.objects.get(school_class=art).is_primary
    assert list(ClassStudent.objects.filter(school_class=art).values_list("user__district_user_id", flat=True)) == ["S-9"]

    client.post(reverse("classes:member_remove", args=[art.id]), {"user_id": setting["student"].id})
    assert not ClassStudent.objects.filter(school_class=art).exists()
    assert ClassChange.objects.filter(school_class=art, kind="member_removed", district_user_id="S-9").exists()


def test_a_users_page_lists_their_classes(district_admin_client, setting):
    page = district_admin_client.get(reverse("users:detail", args=[setting["teacher"].id])).content.decode()

    assert "Math Blue" in page and "teacher (primary)" in page
    assert "Art Green" not in page
