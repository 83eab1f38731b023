"""Beat clears expired sessions and trims django-axes' sign-in records daily."""
import datetime

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from classworks_import.celery import app
from ops import tasks

pytestmark = pytest.mark.django_db
ONE_DAY = datetime.timedelta(days=1)


@pytest.mark.parametrize("task", ["ops.tasks.clear_expired_sessions", "ops.tasks.trim_axes_logs"])
def test_each_housekeeping_task_is_on_beat_once_a_day(task):
    entries = [entry for entry in settings.CELERY_BEAT_SCHEDULE.values() if entry["task"] == task]

    assert len(entries) == 1
    assert entries[0]["schedule"] == 24 * 3600
    assert task in app.tasks  # the name beat sends is a task a worker knows


def test_clearing_sessions_removes_expired_ones_and_keeps_live_ones():
    expired, live = SessionStore(), SessionStore()
    for session in (expired, live):
        session["_auth_user_id"] = "1"
        session.create()
    Session.objects.filter(session_key=expired.session_key).update(expire_date=timezone.now() - datetime.timedelta(minutes=1))

    tasks.clear_expired_sessions.delay()

    assert list(Session.objects.values_list("session_key", flat=True)) == [live.session_key]


def _aged(model, days: float, **fields):
    row = model.objects.create(username="admin.springfield", ip_address="203.0.113.9", user_agent=f"browser {days}", **fields)
    model.objects.filter(pk=row.pk).update(attempt_time=timezone.now() - datetime.timedelta(days=days))
    return row


def test_trimming_removes_sign_in_records_older_than_the_retention_and_keeps_recent_ones(settings):
    settings.AXES_LOG_RETENTION_DAYS = 90
    old = [_aged(AccessLog, 91), _aged(AccessAttempt, 91, failures_since_start=1), _aged(AccessFailureLog, 91)]
    recent = [_aged(AccessLog, 89), _aged(AccessAttempt, 89, failures_since_start=1), _aged(AccessFailureLog, 89)]

    tasks.trim_axes_logs.delay()

    for row in old:
        assert not type(row).objects.filter(pk=row.pk).exists(), type(row).__name__
    for row in recent:
        assert type(row).objects.filter(pk=row.pk).exists(), type(row).__name__
