"""The safety hold: an import that would change too much of the district waits for approval.

Like Canvas's change_threshold and Clever's "Sync On Hold", it stops a file from the wrong
school year from renaming or moving half the district.
"""
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from schools.models import District
from .. import scheduling
from ..dispatch import RUN_IMPORT, enqueue_on_commit
from ..errors import Refusal
from ..models import ImportJob, ImportStatus
from ..selectors import school_labels
from ..targets import get_target
from ..types import ImportSpec, get_spec

# A share only means something past a handful of people: fixing 3 typos in a 5-user district is no mass change.
MIN_SCHOOL_STUDENTS = 10
MIN_CHANGED_USERS = 10
ERROR_NOT_ON_HOLD = "Only an import on hold can be approved or discarded."
# What triggered a hold: the district's share, or one school's (the limit applies to each).
HELD_FOR_DISTRICT = (
    "Held because {changed} of {existing} existing users ({percent}%) would get a new {fields}, "
    "over your district's limit of {threshold}%."
)
HELD_FOR_SCHOOL = (
    "Held because at {school}, {affected} of {students} students ({percent}%) would get a new {fields}, "
    "over your district's limit of {threshold}% for a school{more}."
)


def hold_assess(*, district: District, summary: dict, spec: ImportSpec) -> dict:
    """How much of the district this import would change, and whether that is over the threshold."""
    changed = summary.get("counts", {}).get("mass_changed", 0)
    if changed < MIN_CHANGED_USERS:  # no hold is possible: the district is not counted (0.3 s at a million users)
        existing, totals = None, {}
    else:
        existing, totals = get_target(spec).hold_counts(district=district, summary=summary)
    threshold = district.change_threshold_percent
    percent = round(100 * changed / existing, 1) if existing else 0.0
    affected = {int(k): v for k, v in summary.get("affected_by_school", {}).items()}
    schools = []
    if affected:
        names = dict(district.schools.filter(id__in=list(affected)).values_list("id", "name"))
        for school_id, n in affected.items():
            students = totals.get(school_id, 0)
            share = round(100 * n / students, 1) if students else 0.0
            schools.append({"school": names.get(school_id, "?"), "affected": n, "students": students, "percent": share})
        schools.sort(key=lambda s: -s["percent"])
    schools_over = [s for s in schools if s["percent"] > threshold and s["students"] >= MIN_SCHOOL_STUDENTS]
    over_school = bool(schools_over)
    school_names = school_labels(district=district)

    def readable(change: dict) -> dict:
        """Labels instead of field keys, values in words, schools by name and SIS ID."""
        fields = {
            spec.field_label(column): [spec.display(column, before, schools=school_names), spec.display(column, after, schools=school_names)]
            for column, (before, after) in change["fields"].items()
        }
        return {"district_id": change["district_id"], "fields": fields}

    hold = changed >= MIN_CHANGED_USERS and (percent > threshold or over_school)
    fields = spec.hold_headings or "name, school or user type"
    reasons = []
    if hold and percent > threshold:
        reasons.append(HELD_FOR_DISTRICT.format(
            changed=changed, existing=existing, percent=percent, fields=fields, threshold=threshold))
    if hold and over_school:
        worst = schools_over[0]  # sorted by share, highest first
        reasons.append(HELD_FOR_SCHOOL.format(
            school=worst["school"], affected=worst["affected"], students=worst["students"], percent=worst["percent"],
            fields=fields, threshold=threshold, more=_more_schools(len(schools_over) - 1)))
    return {
        "existing_users": existing, "changed": changed, "held_fields": spec.hold_headings, "percent": percent, "threshold": threshold,
        "schools": schools[:10], "largest_changes": [readable(c) for c in summary.get("largest_changes", [])],
        "hold": hold, "reason": " ".join(reasons),
        "min_changed": MIN_CHANGED_USERS, "min_school_students": MIN_SCHOOL_STUDENTS,
    }


def _more_schools(n: int) -> str:
    return "" if n <= 0 else f" ({n} more school{'s' if n > 1 else ''} over the limit too)"


def import_job_hold_if_needed(*, job: ImportJob) -> bool:
    """Put a scheduled or running job on hold when its changes pass the threshold and nobody approved them."""
    assessment = hold_assess(district=job.district, summary=job.validation_summary, spec=get_spec(job.import_type))
    ImportJob.objects.filter(id=job.id).update(hold_summary=assessment)
    job.hold_summary = assessment
    if not assessment["hold"] or job.approved_at is not None:
        return False
    ImportJob.objects.filter(id=job.id).update(status=ImportStatus.ON_HOLD, status_note="")
    job.status = ImportStatus.ON_HOLD
    return True


def import_job_approve(*, job: ImportJob, approved_by=None) -> ImportJob:
    """An admin accepts the mass change: the job is scheduled for the next off-peak window."""
    with transaction.atomic():
        locked = ImportJob.objects.select_for_update().select_related("district").get(id=job.id)
        if locked.status != ImportStatus.ON_HOLD:
            raise Refusal(ERROR_NOT_ON_HOLD, code="not_on_hold")
        now = timezone.now()
        d = locked.district
        locked.run_after = scheduling.next_offpeak_start(now=now, timezone=d.timezone, start=d.offpeak_start, end=d.offpeak_end)
        locked.status = ImportStatus.SCHEDULED
        locked.approved_by = approved_by
        locked.approved_at = now
        locked.dispatched_at = None
        locked.save()
        if locked.run_after <= now:
            enqueue_on_commit(RUN_IMPORT, locked.id)
    return locked


def import_job_discard(*, job: ImportJob) -> ImportJob:
    """An admin refuses the mass change: nothing is written, the history row stays."""
    updated = ImportJob.objects.filter(Q(id=job.id) & Q(status=ImportStatus.ON_HOLD)).update(
        status=ImportStatus.DISCARDED, completed_at=timezone.now()
    )
    if not updated:
        raise Refusal(ERROR_NOT_ON_HOLD, code="not_on_hold")
    job.refresh_from_db()
    return job
