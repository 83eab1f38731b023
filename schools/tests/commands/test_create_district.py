from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from schools.models import District
from schools.services import DISTRICT_SLUG_TAKEN
from users.tests.factories import make_district

pytestmark = pytest.mark.django_db


def test_creates_the_district():
    out = StringIO()

    call_command(
        "create_district",
        "springfield",
        "--name",
        "Springfield Public Schools",
        "--timezone",
        "America/Denver",
        stdout=out,
    )

    district = District.objects.get(slug="springfield")
    assert district.name == "Springfield Public Schools"
    assert district.timezone == "America/Denver"
    assert "Created district Springfield Public Schools" in out.getvalue()


def test_default_timezone_is_eastern():
    call_command("create_district", "east", "--name", "East District", stdout=StringIO())

    assert District.objects.get(slug="east").timezone == "America/New_York"


def test_unknown_timezone_is_refused():
    with pytest.raises(CommandError, match="Unknown time zone: Mars/Olympus"):
        call_command("create_district", "mars", "--name", "Mars", "--timezone", "Mars/Olympus")

    assert not District.objects.filter(slug="mars").exists()


def test_existing_slug_is_refused():
    make_district(slug="taken")

    with pytest.raises(CommandError, match=DISTRICT_SLUG_TAKEN.format(slug="taken")):
        call_command("create_district", "taken", "--name", "Again")


def test_bad_slug_is_refused():
    with pytest.raises(CommandError, match="slug"):
        call_command("create_district", "not a slug", "--name", "Spaces")
