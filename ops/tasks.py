"""Housekeeping on beat (CELERY_BEAT_SCHEDULE in settings/base.py)."""
from celery import shared_task

from . import services


@shared_task
def clear_expired_sessions() -> None:
    services.sessions_clear_expired()


@shared_task
def trim_axes_logs() -> None:
    services.axes_logs_trim()
