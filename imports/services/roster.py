"""A full roster: users an earlier sync brought in and this one leaves out are disabled, never deleted,
and enabled again when they come back. The plan is made before the run (so a hold can weigh it) and
applied by the run, after the rows are written, each change logged so an undo puts it back.
"""
from django.db import transaction

from ..models import ImportJob
from ..targets import get_target
# The undo's words for Active in a change log, so the details page and an undo read them alike.
from ..targets.users_undo import ACTIVE, ACTIVE_KEY, DISABLED  # noqa: F401 (the sync's delta reads them here)
from ..types import get_spec


def import_job_roster_apply(*, job: ImportJob) -> dict:
    """Disable and enable the users the job's roster plan lists; a user already so is left (a re-run is harmless)."""
    plan = job.roster_changes or {}
    counts = {"disabled": 0, "enabled": 0}
    for ids, active, key in ((plan.get("disable", []), False, "disabled"), (plan.get("enable", []), True, "enabled")):
        if not ids:
            continue
        with transaction.atomic():
            counts[key] = get_target(get_spec(job.import_type)).active_set(job=job, ids=ids, active=active)
    return counts
