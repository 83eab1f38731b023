"""The Groups tab: create, rename and delete custom groups; add and remove members."""
import html

import pytest
from django.urls import reverse

from imports.tests.factories import SCHOOL_SIS_ID, make_import_job, student, write_csv
from users import services, views
from users.models import CustomGroup
from users.tests.factories import make_custom_group, make_district, make_school, make_user

pytestmark = pytest.mark.django_db


def _text(response) -> str:
    return html.unescape(response.content.decode())


def test_create_a_group_and_see_it_with_its_member_count(district_admin_client, district):
    response = district_admin_client.post(reverse("users:groups"), {"name": "  Robotics   Club "}, follow=True)
    group = CustomGroup.objects.get(district=district)
    assert group.name == "Robotics Club"
    assert views.GROUP_CREATED.format(name="Robotics Club") in _text(response)
    group.members.add(make_user(district), make_user(district))
    make_custom_group(make_district(), name="Chess")
    listing = _text(district_admin_client.get(reverse("users:groups")))
    assert "Robotics Club" in listing and "Chess" not in listing
    assert '<td class="num">2</td>' in listing
    assert 'aria-current="page">Groups</a>' in listing


@pytest.mark.parametrize("name, message", [
    ("", services.ERROR_GROUP_NAME_REQUIRED),
    ("robotics club", services.ERROR_GROUP_NAME_TAKEN.format(name="robotics club")),
    ("x" * 151, services.ERROR_GROUP_NAME_TOO_LONG),
])
def test_a_group_needs_a_new_name(district_admin_client, district, name, message):
    make_custom_group(district, name="Robotics Club")
    response = district_admin_client.post(reverse("users:groups"), {"name": name})
    assert response.status_code == 200
    assert message in _text(response)
    assert CustomGroup.objects.filter(district=district).count() == 1


def test_another_district_may_use_the_same_name(district_admin_client, district):
    make_custom_group(make_district(), name="Robotics Club")
    district_admin_client.post(reverse("users:groups"), {"name": "Robotics Club"})
    assert CustomGroup.objects.filter(district=district, name="Robotics Club").exists()


def test_rename_a_group(district_admin_client, district):
    group = make_custom_group(district, name="Robotics")
    make_custom_group(district, name="Chess")
    response = district_admin_client.post(reverse("users:group_rename", args=[group.pk]), {"name": "chess"})
    assert services.ERROR_GROUP_NAME_TAKEN.format(name="chess") in _text(response)
    district_admin_client.post(reverse("users:group_rename", args=[group.pk]), {"name": "Robotics Club"})
    group.refresh_from_db()
    assert group.name == "Robotics Club"


def test_delete_asks_first_and_keeps_the_members(district_admin_client, district):
    ava = make_user(district)
    group = make_custom_group(district, name="Robotics", members=[ava])
    confirm = district_admin_client.get(reverse("users:group_delete", args=[group.pk]))
    assert 'Delete "Robotics"?' in _text(confirm)
    assert CustomGroup.objects.filter(pk=group.pk).exists()
    response = district_admin_client.post(reverse("users:group_delete", args=[group.pk]), follow=True)
    assert views.GROUP_DELETED.format(name="Robotics") in _text(response)
    assert not CustomGroup.objects.filter(pk=group.pk).exists()
    ava.refresh_from_db()
    assert ava.is_active


def test_a_group_an_import_will_add_to_cannot_be_deleted(district_admin_client, district, tmp_path):
    make_school(district, sis_id=SCHOOL_SIS_ID)
    group = make_custom_group(district, name="Robotics")
    job = make_import_job(district, [write_csv(tmp_path / "a.csv", [student("1")])], custom_group=group)
    response = district_admin_client.post(reverse("users:group_delete", args=[group.pk]), follow=True)
    assert services.ERROR_GROUP_IN_USE.format(number=job.number) in _text(response)
    assert CustomGroup.objects.filter(pk=group.pk).exists()


def test_add_members_by_district_id_or_username_and_remove_them(district_admin_client, district):
    group = make_custom_group(district, name="Robotics")
    ava = make_user(district, first_name="Ava", last_name="Martinez", district_user_id="000123")
    liam = make_user(district, first_name="Liam", last_name="Brown", username="liam.b")
    stranger = make_user(make_district(), district_user_id="000999", username="stranger")
    add = reverse("users:group_member_add", args=[group.pk])
    response = district_admin_client.post(add, {"identifier": " 000123 "}, follow=True)
    assert views.MEMBER_ADDED.format(name="Ava Martinez") in _text(response)
    district_admin_client.post(add, {"identifier": "LIAM.B"})
    assert set(group.members.all()) == {ava, liam}
    for identifier in ("000999", "stranger", "nobody"):
        response = district_admin_client.post(add, {"identifier": identifier})
        assert services.ERROR_MEMBER_NOT_FOUND.format(identifier=identifier) in _text(response)
    response = district_admin_client.post(add, {"identifier": "000123"})
    assert services.ERROR_MEMBER_ALREADY.format(name="Ava Martinez") in _text(response)
    page = _text(district_admin_client.get(reverse("users:group_detail", args=[group.pk])))
    assert "Martinez, Ava" in page and "Brown, Liam" in page and "2 members" in page

    remove = reverse("users:group_member_remove", args=[group.pk])
    district_admin_client.post(remove, {"user_id": ava.pk})
    district_admin_client.post(remove, {"user_id": stranger.pk})  # not theirs: nothing happens
    assert set(group.members.all()) == {liam}
    assert "1 member" in _text(district_admin_client.get(reverse("users:group_detail", args=[group.pk])))
