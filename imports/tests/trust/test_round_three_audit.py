"""Round three, items 6 and 7: the audit trail records the client's address as throttling sees it and
every page that shows student data; validation never says a username exists in another district."""
import pytest
from django.urls import reverse

from imports.services import validation
from imports.tests.factories import make_import_job, run_job, student, write_csv
from users.models import AuditAction, AuditEvent
from users.tests.factories import make_custom_group, make_district, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_safety_hold")]

PROXY, CLIENT = "127.0.0.1", "198.51.100.23"


def _actions() -> list[str]:
    return list(AuditEvent.objects.order_by("id").values_list("action", flat=True))


def test_behind_a_trusted_proxy_the_trail_records_the_client_not_the_proxy(district_admin_client, district, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    user = make_user(district)

    district_admin_client.get(reverse("users:detail", args=[user.pk]), REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=CLIENT)

    assert list(AuditEvent.objects.values_list("ip_address", flat=True)) == [CLIENT]


def test_every_page_showing_student_data_is_recorded(district_admin_client, district, district_admin, school, tmp_path):
    user = make_user(district, school=school)
    group = make_custom_group(district, name="Robotics", members=[user])
    path = write_csv(tmp_path / "roster.csv", [student("1001"), student("1002", Grade="99")])
    draft = make_import_job(district, [path], created_by=district_admin)
    done = run_job(make_import_job(district, [write_csv(tmp_path / "ok.csv", [student("2001")])], created_by=district_admin))
    client = district_admin_client

    pages = [
        (reverse("users:list") + "?q=Last", AuditAction.VIEW_USERS),
        (reverse("users:edit", args=[user.pk]), AuditAction.VIEW_USER_EDIT),
        (reverse("imports:detail", args=[done.number]), AuditAction.VIEW_IMPORT),
        (reverse("imports:undo", args=[done.number]), AuditAction.VIEW_UNDO_PREVIEW),
        (reverse("imports:validate", args=[draft.number]), AuditAction.VIEW_VALIDATION),
        (reverse("imports:fields", args=[draft.number]), AuditAction.VIEW_FIELD_SAMPLES),
        (reverse("users:group_detail", args=[group.pk]), AuditAction.VIEW_GROUP),
    ]
    for url, action in pages:
        AuditEvent.objects.all().delete()
        assert client.get(url).status_code == 200, url
        assert action in _actions(), url


def test_group_changes_are_recorded(district_admin_client, district):
    user = make_user(district, district_user_id="S-1")
    client = district_admin_client

    client.post(reverse("users:groups"), {"name": "Chess"})
    group = district.custom_groups.get(name="Chess")
    client.post(reverse("users:group_rename", args=[group.pk]), {"name": "Chess Club"})
    client.post(reverse("users:group_member_add", args=[group.pk]), {"identifier": "S-1"})
    client.post(reverse("users:group_member_remove", args=[group.pk]), {"user_id": user.pk})
    client.post(reverse("users:group_delete", args=[group.pk]))

    recorded = set(_actions())
    assert {AuditAction.CREATE_GROUP, AuditAction.RENAME_GROUP, AuditAction.ADD_GROUP_MEMBER,
            AuditAction.REMOVE_GROUP_MEMBER, AuditAction.DELETE_GROUP} <= recorded


def test_viewing_a_user_is_on_the_trail_but_not_on_their_history_page(district_admin_client, district):
    user = make_user(district)
    district_admin_client.get(reverse("users:detail", args=[user.pk]))

    page = district_admin_client.get(reverse("users:detail", args=[user.pk])).content.decode()

    assert AuditEvent.objects.filter(action=AuditAction.VIEW_USER, subject_user=user).count() == 2
    assert "Viewed a user" not in page


def test_a_username_of_another_district_is_only_not_available(district, district_admin, school, tmp_path):
    make_user(make_district(), username="ada.l")
    path = write_csv(tmp_path / "roster.csv", [student("1001", Username="ada.l")],
                     header=("First Name", "Last Name", "District ID", "User Type", "Grade", "Email Address",
                             "School SIS ID", "Username"))

    job = make_import_job(district, [path], created_by=district_admin)

    [issue] = job.issues.filter(code="username_taken")
    assert issue.message == 'Username "ada.l" is not available.' == validation.USERNAME_TAKEN_ELSEWHERE.format(username="ada.l")
    assert "district" not in (issue.message + issue.suggestion).lower()
    assert "in use in classworks" not in issue.message.lower()
