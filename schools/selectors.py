"""Reads for districts and schools. Everything a view shows is scoped to one district."""

from django.db.models import QuerySet

from .models import District, School


def district_get(*, slug: str) -> District | None:
    """The district with this slug, or None."""
    return District.objects.filter(slug=slug).first()


def school_list(*, district: District) -> QuerySet[School]:
    """The district's schools, by name."""
    return School.objects.filter(district=district).order_by("name", "sis_id")
