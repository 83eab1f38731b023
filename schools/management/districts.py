"""How the ops commands turn `--district SLUG` into a district."""

from django.core.management.base import CommandError

from schools.models import District
from schools.selectors import district_get

DISTRICT_NOT_FOUND = "No district with the slug '{slug}'. Create it with: manage.py create_district {slug} --name NAME"


def district_for_command(slug: str) -> District:
    """The district with this slug, or a CommandError that says how to create it."""
    district = district_get(slug=slug)
    if district is None:
        raise CommandError(DISTRICT_NOT_FOUND.format(slug=slug))
    return district
