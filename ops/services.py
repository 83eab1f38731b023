"""Housekeeping and heartbeats: what beat runs to keep the database small and shows it is alive."""
import datetime
from importlib import import_module

from axes.handlers.proxy import AxesProxyHandler
from axes.models import AccessAttempt
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import Heartbeat

BEAT = "beat"


def sessions_clear_expired() -> None:
    """Delete expired sessions, as `manage.py clearsessions` does, for the configured session engine."""
    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()


@transaction.atomic
def axes_logs_trim(*, now: datetime.datetime | None = None) -> int:
    """Delete django-axes' sign-in records older than AXES_LOG_RETENTION_DAYS; returns how many went."""
    days = settings.AXES_LOG_RETENTION_DAYS
    cutoff = (now or timezone.now()) - datetime.timedelta(days=days)
    # axes' own handler for its logs; AccessAttempt (the lock-out counters) has no age-based reset.
    removed = AxesProxyHandler.reset_logs(age_days=days) + AxesProxyHandler.reset_failure_logs(age_days=days)
    removed += AccessAttempt.objects.filter(attempt_time__lte=cutoff).delete()[0]
    return removed


def heartbeat_record(*, name: str, now: datetime.datetime | None = None) -> None:
    """Record that the process `name` is alive now."""
    Heartbeat.objects.update_or_create(name=name, defaults={"beat_at": now or timezone.now()})


def heartbeat_age(*, name: str, now: datetime.datetime | None = None) -> datetime.timedelta | None:
    """How long ago `name` last recorded a heartbeat; None if it never did."""
    beat_at = Heartbeat.objects.filter(name=name).values_list("beat_at", flat=True).first()
    return None if beat_at is None else (now or timezone.now()) - beat_at
