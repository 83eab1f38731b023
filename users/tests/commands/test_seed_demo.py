import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from schools.models import District, School
from users.models import CustomGroup, User

pytestmark = pytest.mark.django_db


def seed(*args) -> dict[str, str]:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    text = out.getvalue()
    return {
        "url": re.search(r"Sign in at: (\S+)", text).group(1),
        "username": re.search(r"Username: +(\S+)", text).group(1),
        "password": re.search(r"Password: +(\S+)", text).group(1),
    }


def counts() -> tuple[int, int, int, int]:
    return District.objects.count(), School.objects.count(), User.objects.count(), CustomGroup.objects.count()


def test_demo_admin_signs_in_with_the_printed_password_and_sees_manage(client):
    login = seed()

    assert login["url"].endswith(reverse("login"))
    response = client.post(
        reverse("login"), {"username": login["username"], "password": login["password"]}, follow=True
    )

    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == reverse("imports:history")
    landing = response.content.decode()
    assert "Manage Classworks" in landing
    assert f'href="{reverse("imports:history")}" aria-current="page">Import</a>' in landing
    assert f'href="{reverse("manage:schools")}">Schools</a>' in landing
    schools_page = client.get(reverse("manage:schools")).content.decode()
    assert f'href="{reverse("manage:schools")}" aria-current="page">Schools</a>' in schools_page
    for name in ("First Street ES", "Lincoln MS", "Roosevelt HS", "Oak Grove ES"):
        assert name in schools_page


def test_demo_district_content():
    seed()

    district = District.objects.get(slug="demo")
    assert district.name == "Demo Unified School District"
    assert district.timezone == "America/Chicago"
    assert dict(district.schools.values_list("sis_id", "name")) == {
        "101": "First Street ES",
        "102": "Oak Grove ES",
        "201": "Lincoln MS",
        "301": "Roosevelt HS",
    }
    users = district.users.all()
    assert users.filter(user_type="student").count() >= 3
    assert users.filter(user_type="staff", is_district_admin=False).count() >= 2
    assert users.filter(district_user_id="000123").exists()
    assert set(district.custom_groups.values_list("name", flat=True)) == {"Robotics Club", "Grade 5 Reading"}
    assert all(group.members.exists() for group in district.custom_groups.all())


def test_running_again_duplicates_nothing():
    seed()
    before = counts()

    seed()

    assert counts() == before


def test_password_option_resets_the_admin_password(client):
    seed()
    login = seed("--password", "a-different-demo-pass")

    assert login["password"] == "a-different-demo-pass"
    assert client.login(username=login["username"], password="a-different-demo-pass")
