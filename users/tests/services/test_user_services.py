import pytest
from django.core.exceptions import ValidationError

from users.models import UserType
from users.services import USERNAME_TAKEN, district_admin_create, user_password_set
from users.tests.factories import make_district, make_user

pytestmark = pytest.mark.django_db


def test_district_admin_is_a_staff_user_who_may_manage_the_district():
    district = make_district()

    admin = district_admin_create(
        district=district, username="dana", email="dana@example.org", password="long-enough-pass"
    )

    assert admin.district == district
    assert admin.user_type == UserType.STAFF
    assert admin.is_district_admin is True
    assert admin.is_staff is False  # the ops-admin site stays closed to district admins
    assert admin.check_password("long-enough-pass")


def test_without_a_password_the_admin_cannot_sign_in_yet():
    admin = district_admin_create(district=make_district(), username="dana", email="dana@example.org")

    assert not admin.has_usable_password()


def test_username_is_unique_ignoring_case():
    make_user(make_district(), username="Dana")

    with pytest.raises(ValidationError) as exc:
        district_admin_create(
            district=make_district(), username="dana", email="d@example.org", password="long-enough-pass"
        )

    assert exc.value.messages == [USERNAME_TAKEN.format(username="dana")]


def test_weak_password_is_refused():
    with pytest.raises(ValidationError, match="too short"):
        district_admin_create(district=make_district(), username="dana", email="d@example.org", password="abc")


def test_invalid_email_is_refused():
    with pytest.raises(ValidationError, match="email"):
        district_admin_create(
            district=make_district(), username="dana", email="not-an-email", password="long-enough-pass"
        )


def test_user_password_set():
    user = make_user(make_district())

    user_password_set(user=user, password="another-long-pass")

    user.refresh_from_db()
    assert user.check_password("another-long-pass")
