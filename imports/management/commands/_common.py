from django.core.management.base import CommandError

from imports.models import ImportJob
from schools.models import District


def get_district(slug: str) -> District:
    district = District.objects.filter(slug=slug).first()
    if district is None:
        raise CommandError(f'No district with slug "{slug}".')
    return district


def add_job_arguments(parser) -> None:
    parser.add_argument("number", type=int, help="The import number, as Import History shows it.")
    parser.add_argument("--district", required=True, metavar="SLUG")


def get_job(opts) -> ImportJob:
    """The district's import by number, from the NUMBER and --district arguments."""
    district = get_district(opts["district"])
    job = ImportJob.objects.filter(district=district, number=opts["number"]).select_related("district").first()
    if job is None:
        raise CommandError(f"No import {opts['number']} in {district.slug}.")
    return job
