from django.core.management.base import CommandError

from imports.models import ImportJob
from imports.services import emails
from schools.models import District
from users.selectors import district_admin_find


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


def add_actor_argument(parser) -> None:
    parser.add_argument("--as", dest="as_user", metavar="USERNAME",
                        help="The district administrator this is done for; the audit trail names them.")


def get_actor(opts, district: District):
    """The --as district administrator, or None when the option is not given."""
    if not opts.get("as_user"):
        return None
    admin = district_admin_find(district=district, username=opts["as_user"])
    if admin is None:
        raise CommandError(f'No district administrator "{opts["as_user"]}" in {district.slug}.')
    return admin


EMAILS_PENDING = "Some emails could not be sent yet; the worker will retry them."


def send_owed_emails(job: ImportJob, stderr) -> None:
    """Send what a run in this process owes before the command exits; the worker retries what failed."""
    try:
        emails.import_emails_send(job_id=job.id)
    except emails.EmailsPending:
        stderr.write(EMAILS_PENDING)
    job.refresh_from_db()
