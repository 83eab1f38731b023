"""Thin tasks: a district id in, one service call. Nothing here carries student data."""
from celery import shared_task
from django.conf import settings

from . import services


@shared_task(
    acks_late=True, reject_on_worker_lost=True,
    soft_time_limit=settings.IMPORT_TASK_SOFT_TIME_LIMIT, time_limit=settings.IMPORT_TASK_SOFT_TIME_LIMIT + 300,
)
def run_sync(district_id: int, trigger: str = "schedule") -> None:
    services.sync_district_run(district_id=district_id, trigger=trigger)


@shared_task
def dispatch_due_syncs() -> None:
    services.sync_due_dispatch()
