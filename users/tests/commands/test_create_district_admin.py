import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from users.models import User
from users.tests.factories import make_district

pytestmark = pytest.mark.django_db


def test_created_admin_signs_in_and_reaches_manage(client):
    make_district(slug="springfield", name="Springfield Public Schools")
    out = StringIO()

    call_command(
        "create_district_admin",
        "--district",
        "springfield",
        "--username",
        "dana",
        "--email",
        "dana@example.org",
        "--password",
        "long-enough-pass",
        stdout=out,
    )

    assert "Created district admin dana for Springfield Public Schools" in out.getvalue()
    assert "Generated password" not in out.getvalue()
    assert client.login(username="dana", password="long-enough-pass")
    assert client.get(reverse("manage:schools")).status_code == 200


def test_without_password_a_random_one_is_printed_once_and_works(client):
    make_district(slug="springfield")
    out = StringIO()

    call_command(
        "create_district_admin",
        "--district",
        "springfield",
        "--username",
        "dana",
        "--email",
        "dana@example.org",
        stdout=out,
    )

    password = re.search(r"Generated password \(shown only this once\): (\S+)", out.getvalue()).group(1)
    assert len(password) >= 16
    assert client.login(username="dana", password=password)


def test_unknown_district():
    with pytest.raises(CommandError, match="No district with the slug 'nowhere'"):
        call_command("create_district_admin", "--district", "nowhere", "--username", "dana", "--email", "d@example.org")


def test_taken_username():
    make_district(slug="springfield")
    args = ["create_district_admin", "--district", "springfield", "--username", "dana", "--email", "d@example.org"]
    call_command(*args, stdout=StringIO())

    with pytest.raises(CommandError, match="The username 'dana' is already taken."):
        call_command(*args, stdout=StringIO())

    assert User.objects.filter(username="dana").count() == 1
