"""Reads for imports. Every selector a view uses takes the district: tenancy is never optional."""
from django.db.models import Count, Min, QuerySet

from schools.models import District, School
from users.models import CustomGroup

from .models import ImportChange, ImportIssue, ImportJob, ImportStatus
from .pipeline.mapping import SchoolChoice
# The users' look-ups moved to their write target; these names stay importable here.
from .targets.base import LOOKUP_BATCH  # noqa: F401
from .targets.users import (  # noqa: F401
    existing_district_ids, existing_email_owners, existing_users_by_district_id, taken_usernames, user_ids_by_district_id,
    username_owners, users_outside_match_only, zero_padded_id_lengths,
)
from .types import get_spec
ROWS_SHOWN_PER_GROUP = 12  # keeps IN lists under SQLite's variable limit


def import_job_get(*, district: District, number: int) -> ImportJob | None:
    """The district's import by number, or None: another district's job looks exactly like a missing one."""
    # A closed draft waiting for its purge task is gone for every page.
    return (
        ImportJob.objects.filter(district=district, number=number, closed_at__isnull=True)
        .select_related("created_by", "custom_group", "undo_of").first()
    )


def import_job_list(*, district: District) -> QuerySet[ImportJob]:
    return ImportJob.objects.filter(district=district).exclude(status=ImportStatus.DRAFT).select_related("undo_of").order_by("-number")


def import_issue_groups(*, job: ImportJob) -> list[dict]:
    """Problems grouped by severity and code, with a count and the first row, errors first."""
    groups = (
        ImportIssue.objects.filter(job=job)
        .values("severity", "code", "field")
        .annotate(count=Count("id"), first_id=Min("id"))
        .order_by("severity", "code")
    )
    firsts = ImportIssue.objects.in_bulk([g["first_id"] for g in groups])
    out = []
    for g in groups:
        first = firsts[g["first_id"]]
        rows = list(
            ImportIssue.objects.filter(job=job, code=g["code"], severity=g["severity"], row__isnull=False)
            .order_by("id").values_list("row", flat=True)[:ROWS_SHOWN_PER_GROUP]
        )
        out.append({**g, "message": first.message, "suggestion": first.suggestion, "column": first.column, "rows": rows})
    return out


def import_issues(*, job: ImportJob, code: str | None = None, severity: str | None = None) -> QuerySet[ImportIssue]:
    qs = ImportIssue.objects.filter(job=job).select_related("file")
    if code:
        qs = qs.filter(code=code)
    if severity:
        qs = qs.filter(severity=severity)
    return qs.order_by("id")


def school_choices(*, district: District) -> list[SchoolChoice]:
    return [SchoolChoice(id=s.id, sis_id=s.sis_id, name=s.name) for s in School.objects.filter(district=district)]


def school_labels(*, district: District) -> dict[int, str]:
    """School id -> "Name (SIS ID)", how change lists and reports name a school."""
    return {s.id: str(s) for s in School.objects.filter(district=district).only("id", "name", "sis_id")}


def import_created_users(*, job: ImportJob, limit: int):
    """The first users an import created (District ID, name, username), in the order it created them."""
    return job.created_users.order_by("id").values("district_user_id", "username", "first_name", "last_name")[:limit]


def import_change_lines(*, job: ImportJob, limit: int) -> list[dict]:
    """The first updated users of an import, each change as (label, before, after) in words."""
    spec, schools = get_spec(job.import_type), school_labels(district=job.district)
    return [
        {
            "district_user_id": c.district_user_id, "old_email_notified": c.old_email_notified,
            "lines": [
                (spec.field_label(k), spec.display(k, before, schools=schools), spec.display(k, after, schools=schools))
                for k, (before, after) in c.changes.items()
            ],
        }
        for c in ImportChange.objects.filter(job=job).order_by("id")[:limit]
    ]


def custom_group_list(*, district: District) -> QuerySet[CustomGroup]:
    return CustomGroup.objects.filter(district=district).order_by("name")


def import_draft_list(*, district: District, created_by) -> QuerySet[ImportJob]:
    """The admin's own unfinished wizards, so they can pick one up again."""
    return ImportJob.objects.filter(
        district=district, created_by=created_by, status=ImportStatus.DRAFT, closed_at__isnull=True,
    ).order_by("-number")


def coded_value_list(*, job: ImportJob, search: str = "") -> QuerySet:
    """The job's unrecognised coded values (value mapping), by field then file order, optionally only those containing `search`."""
    values = job.coded_values.all()
    return values.filter(value__icontains=search) if search else values


def school_value_list(*, job: ImportJob, search: str = "") -> QuerySet:
    """The job's stored school values in file order, optionally only those containing `search` (the job is the district's)."""
    values = job.school_values.all()
    return values.filter(value__icontains=search) if search else values
