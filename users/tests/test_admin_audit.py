"""Ops looking at a user record in the ops admin leave a trace on the user's district's audit trail."""
import pytest
from django.urls import reverse

from users.models import AuditAction, AuditEvent
from users.tests.factories import make_district, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def ops_client(client):
    ops = make_user(None, username="ops", is_staff=True, is_superuser=True, district_user_id=None)
    client.force_login(ops)
    client.defaults["REMOTE_ADDR"] = "198.51.100.4"
    return client, ops


def test_viewing_a_user_in_the_ops_admin_is_recorded_for_the_users_district(ops_client):
    client, ops = ops_client
    district = make_district()
    student = make_user(district, district_user_id="000123")

    response = client.get(reverse("admin:users_user_change", args=[student.pk]))

    assert response.status_code == 200
    [event] = AuditEvent.objects.all()
    assert (event.action, event.actor, event.subject_user, event.district, event.ip_address) == (
        AuditAction.VIEW_USER, ops, student, district, "198.51.100.4",
    )


def test_the_list_is_recorded_and_a_missing_user_records_nothing(ops_client):
    """Round three, item 7: the ops admin's user list shows every district's users, so seeing it is recorded."""
    client, _ = ops_client
    make_user(make_district())

    assert client.get(reverse("admin:users_user_changelist")).status_code == 200
    client.get(reverse("admin:users_user_change", args=[999999]))

    assert list(AuditEvent.objects.values_list("action", flat=True)) == [AuditAction.VIEW_ADMIN_USERS]
