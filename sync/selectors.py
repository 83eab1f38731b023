"""Reads for the sync: a district's settings and runs, and which districts are due."""
from django.db.models import F, Q
from django.utils import timezone

from imports.models import ImportJob, ImportSource, ImportStatus
from schools.models import District

from .models import SyncRun, SyncSettings


def sync_settings_get(*, district: District) -> SyncSettings | None:
    return SyncSettings.objects.filter(district=district).first()


def sync_run_list(*, district: District, limit: int = 20) -> list[SyncRun]:
    return list(SyncRun.objects.filter(district=district).prefetch_related("jobs")[:limit])


def sync_held_job(*, district: District) -> ImportJob | None:
    """A sync of the district waiting for Approve or Discard: later syncs wait for it."""
    return ImportJob.objects.filter(district=district, source=ImportSource.SYNC, status=ImportStatus.ON_HOLD).first()


def sync_mapping_choices(*, district: District):
    """The district's finished manual imports whose mappings a sync may take."""
    return ImportJob.objects.filter(
        district=district, status__in=[ImportStatus.COMPLETED, ImportStatus.COMPLETED_WITH_WARNINGS], undo_of__isnull=True,
    ).order_by("-number")


def sync_due_district_ids(*, now=None, redispatch_after=None, stale_after=None) -> list[int]:
    """Districts whose sync is due, in fair order: the one that ran longest ago (or never) first.

    One dispatched within redispatch_after is left out (its task is queued); past it, it is sent again.
    One running is left out, unless its run started over stale_after ago (its worker died).
    """
    now = now or timezone.now()
    idle = Q(running_since__isnull=True)
    if stale_after is not None:
        idle |= Q(running_since__lt=now - stale_after)
    due = SyncSettings.objects.filter(idle, next_run_at__lte=now)
    if redispatch_after is not None:
        due = due.filter(Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=now - redispatch_after))
    return list(due.order_by(F("last_run_at").asc(nulls_first=True), "id").values_list("district_id", flat=True))
