"""Writes for districts and schools."""

from django.core.exceptions import ValidationError
from django.db import transaction
from import_export.results import Result
from tablib import Dataset

from .models import District, School, validate_timezone
from .resources import HEADINGS, SchoolResource

DISTRICT_SLUG_TAKEN = "A district with the slug '{slug}' already exists."
SCHOOL_FILE_MISSING_HEADINGS = "The school file must have the headings: {headings}. Missing: {missing}."


def district_create(*, slug: str, name: str, timezone: str = "America/New_York") -> District:
    """Create a district; the slug must be new and the time zone a known IANA name."""
    validate_timezone(timezone)
    with transaction.atomic():
        if District.objects.filter(slug=slug).exists():
            raise ValidationError(DISTRICT_SLUG_TAKEN.format(slug=slug), code="slug_taken")
        district = District(slug=slug, name=name, timezone=timezone)
        district.full_clean()
        district.save()
    return district


def school_upsert(*, district: District, sis_id: str, name: str) -> tuple[School, bool]:
    """Create the district's school with this SIS ID, or rename it; returns (school, created)."""
    with transaction.atomic():
        school = School.objects.select_for_update().filter(district=district, sis_id=sis_id).first()
        created = school is None
        if created:
            school = School(district=district, sis_id=sis_id, name=name)
        elif school.name == name:
            return school, False
        school.name = name
        school.full_clean()
        school.save()
    return school, created


def school_import(*, district: District, dataset: Dataset, dry_run: bool = False) -> Result:
    """Create or update the district's schools from a `Name,SIS ID` dataset; all rows or none."""
    missing = [h for h in HEADINGS if h not in (dataset.headers or [])]
    if missing:
        raise ValidationError(
            SCHOOL_FILE_MISSING_HEADINGS.format(headings=", ".join(HEADINGS), missing=", ".join(missing)),
            code="missing_headings",
        )
    resource = SchoolResource(district=district)
    with transaction.atomic():
        # Each row runs in its own savepoint; any error or invalid row rolls the whole file back.
        return resource.import_data(
            dataset, dry_run=dry_run, raise_errors=False, use_transactions=True, rollback_on_validation_errors=True
        )
