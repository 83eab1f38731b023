"""A full roster: users an earlier sync brought in and this one leaves out are disabled, never deleted,
and enabled again when they come back. The plan is made before the run (so a hold can weigh it) and
applied by the run, after the rows are written, each change logged so an undo puts it back.
"""
from django.db import transaction

from users.models import User
from users.protection import protected_q

from ..models import ImportChange, ImportJob

# The undo's words for Active in a change log, so the details page and an undo read them alike.
ACTIVE_KEY, ACTIVE, DISABLED = "is_active", "active", "disabled"


def import_job_roster_apply(*, job: ImportJob) -> dict:
    """Disable and enable the users the job's roster plan lists; a user already so is left (a re-run is harmless)."""
    plan = job.roster_changes or {}
    counts = {"disabled": 0, "enabled": 0}
    for ids, active, key in ((plan.get("disable", []), False, "disabled"), (plan.get("enable", []), True, "enabled")):
        if not ids:
            continue
        with transaction.atomic():
            # Protected accounts (admins, ops staff) are never touched by an import, whatever a plan says.
            users = list(
                User.objects.select_for_update().filter(district_id=job.district_id, id__in=ids, is_active=not active)
                .exclude(protected_q()).values_list("id", "district_user_id")
            )
            User.objects.filter(id__in=[u for u, _ in users]).update(is_active=active)
            change = [DISABLED, ACTIVE] if active else [ACTIVE, DISABLED]
            ImportChange.objects.bulk_create(
                [ImportChange(job=job, user_id=u, district_user_id=d or "", changes={ACTIVE_KEY: change}) for u, d in users],
                batch_size=2000,
            )
            counts[key] = len(users)
    return counts
