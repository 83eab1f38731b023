from django.core.management.base import CommandError

from schools.models import District


def get_district(slug: str) -> District:
    district = District.objects.filter(slug=slug).first()
    if district is None:
        raise CommandError(f'No district with slug "{slug}".')
    return district
