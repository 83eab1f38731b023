"""The Users tab's page, its edit form and the export read their fields from the User Data declaration, so
every field an import can set (Username, Birthdate, Prefix, Suffix, Gender, Ethnicity, Race, Disabled,
Migrant...) is shown, edited under the import's rules, and exported."""
import datetime
import html
import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from imports.types import USER_DATA
from users import services
from users.forms import UserEditForm
from users.models import User
from users.tests.factories import make_district, make_school, make_user

pytestmark = pytest.mark.django_db

DECLARED = [f for f in USER_DATA.stored_fields if not f.rule.secret]


@pytest.fixture
def ava(district):
    school = make_school(district, name="Roosevelt HS", sis_id="301")
    return make_user(
        district, first_name="Ava", last_name="Martinez", district_user_id="000123", grade="5", username="ava.m",
        email="", school=school, prefix="Ms.", birthdate=datetime.date(2015, 3, 14), gender="F", hispanic_latino=True,
        race="Asian;White", migrant=True,
    )


def _text(response) -> str:
    return html.unescape(response.content.decode())


def test_the_user_page_shows_every_declared_field(district_admin_client, ava):
    fields = _text(district_admin_client.get(reverse("users:detail", args=[ava.pk]))).split('id="user-fields"', 1)[1]

    for f in DECLARED:
        assert f"<dt>{'School' if f.rule.lookup == 'schools' else f.heading}</dt>" in fields
    for shown in ("Ms.", "2015-03-14", "Female", "Asian;White", "ava.m", "Roosevelt HS (301)"):
        assert shown in fields


def test_the_edit_form_has_a_field_per_declared_field_and_saves_the_new_ones(district_admin_client, ava):
    assert list(UserEditForm(schools=[]).fields) == [f.key for f in DECLARED]
    data = {**UserEditForm.initial_for(ava), "birthdate": "03/15/2015", "suffix": "Jr.", "gender": "X",
            "disabled": "Y", "username": "ava.martinez"}

    response = district_admin_client.post(reverse("users:edit", args=[ava.pk]), data)

    assert response.status_code == 302
    ava.refresh_from_db()
    assert (ava.birthdate, ava.suffix, ava.gender, ava.disabled, ava.username) == (
        datetime.date(2015, 3, 15), "Jr.", "X", True, "ava.martinez")
    assert (ava.prefix, ava.race, ava.migrant, ava.hispanic_latino) == ("Ms.", "Asian;White", True, True)  # kept


@pytest.mark.parametrize("changes", [{"birthdate": "not a date"}, {"gender": "Q"}, {"race": "Martian"}])
def test_a_new_field_is_checked_by_the_import_rule(district_admin_client, ava, changes):
    before = User.objects.filter(pk=ava.pk).values().get()
    response = district_admin_client.post(reverse("users:edit", args=[ava.pk]), {**UserEditForm.initial_for(ava), **changes})

    assert response.status_code == 200 and 'class="field-error"' in response.content.decode()
    assert User.objects.filter(pk=ava.pk).values().get() == before


def test_a_username_another_district_holds_is_refused_and_a_blank_one_keeps_the_username(district_admin_client, ava):
    make_user(make_district(), username="Taken.Name", district_user_id="X9")
    response = district_admin_client.post(
        reverse("users:edit", args=[ava.pk]), {**UserEditForm.initial_for(ava), "username": "taken.name"})
    assert services.ERROR_USERNAME_TAKEN.format(username="taken.name") in _text(response)

    district_admin_client.post(reverse("users:edit", args=[ava.pk]), {**UserEditForm.initial_for(ava), "username": ""})
    ava.refresh_from_db()
    assert ava.username == "ava.m"


def test_export_users_has_a_column_per_declared_field(district, ava):
    out = io.StringIO()
    call_command("export_users", "--district", district.slug, stdout=out)
    header = out.getvalue().splitlines()[0].lstrip("\ufeff").split(",")

    assert {f.heading for f in DECLARED} <= set(header)
