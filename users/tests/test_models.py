"""What the database guarantees about users, whatever code writes them."""

import pytest
from django.db import IntegrityError, transaction

from users.models import User
from users.tests.factories import make_district, make_user

pytestmark = pytest.mark.django_db


def test_district_user_id_keeps_leading_zeros():
    district = make_district()
    user = make_user(district, district_user_id="000123")

    assert User.objects.get(pk=user.pk).district_user_id == "000123"
    assert User.objects.filter(district=district, district_user_id="000123").exists()
    assert not User.objects.filter(district=district, district_user_id="123").exists()


def test_same_district_id_twice_in_one_district_is_refused_by_the_database():
    district = make_district()
    make_user(district, district_user_id="000123")

    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(username="second", district=district, district_user_id="000123")


def test_same_district_id_in_two_districts_is_allowed():
    make_user(make_district(), district_user_id="000123")
    make_user(make_district(), district_user_id="000123")

    assert User.objects.filter(district_user_id="000123").count() == 2


def test_users_without_a_district_id_do_not_collide():
    district = make_district()
    make_user(district, district_user_id=None)
    make_user(district, district_user_id=None)

    assert User.objects.filter(district=district, district_user_id__isnull=True).count() == 2


def test_full_name_includes_the_middle_name():
    user = make_user(make_district(), first_name="Ava", middle_name="Rose", last_name="Martinez")

    assert user.full_name == "Ava Rose Martinez"


def test_two_usernames_that_differ_only_in_case_are_refused_by_the_database():
    """Sign-in compares usernames ignoring case: "ada" and "ADA" would be one account's name twice."""
    make_user(make_district(), username="ada.lovelace")

    with pytest.raises(IntegrityError), transaction.atomic():
        make_user(make_district(), username="Ada.Lovelace")


def test_a_form_that_validates_the_model_reports_a_username_taken_in_other_letters_case():
    """The ops admin's user form validates the model's constraints: a message, not a database error."""
    from django.core.exceptions import ValidationError

    make_user(make_district(), username="ada.lovelace")
    other = User(username="ADA.Lovelace", district=make_district())

    with pytest.raises(ValidationError):
        other.validate_constraints()
