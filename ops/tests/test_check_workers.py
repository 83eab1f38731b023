"""`manage.py check_workers` fails when no Celery worker answers or beat's heartbeat is stale."""
import datetime
import os
import re
import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils import timezone

from classworks_import.celery import app
from imports.tests.tasks.worker import database_url, start_worker, wait_for
from ops import services
from ops.middleware import RequestLogMiddleware
from ops.models import Heartbeat

REDIS = os.environ.get("CELERY_BROKER_URL", "").startswith("redis")
needs_redis = pytest.mark.skipif(not REDIS, reason="needs CELERY_BROKER_URL=redis://...")
needs_postgres = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="needs DATABASE_URL=postgres://..."
)


def check_workers(*args: str) -> str:
    out = StringIO()
    call_command("check_workers", "--timeout", "2", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def fresh_beat(db):
    services.heartbeat_record(name=services.BEAT)


@pytest.fixture
def worker(tmp_path, settings):
    """A real Celery worker on the broker of CELERY_BROKER_URL (it needs no database to answer a ping)."""
    var_dir = tmp_path / "var"
    var_dir.mkdir()
    env = {"DJANGO_SETTINGS_MODULE": "classworks_import.settings.test", "CELERY_TASK_ALWAYS_EAGER": "0",
           "CELERY_BROKER_URL": settings.CELERY_BROKER_URL, "CLASSWORKS_VAR_DIR": str(var_dir)}
    started = start_worker(env=env, log_path=tmp_path / "worker.log")
    yield started
    started.stop()
    print(started.log()[-4000:])


def test_no_worker_answering_exits_non_zero(fresh_beat):
    with pytest.raises(CommandError, match="No Celery worker answered a ping") as error:
        check_workers()
    assert error.value.returncode == 1


def test_beat_that_never_recorded_a_heartbeat_is_reported(db):
    with pytest.raises(CommandError, match="beat has never recorded a heartbeat"):
        check_workers()


@pytest.mark.services
@needs_redis
def test_a_worker_answering_and_a_fresh_heartbeat_exit_zero_and_a_stale_heartbeat_does_not(fresh_beat, worker):
    out = check_workers()
    assert re.search(r"Workers answering: [1-9]", out) and out.strip().endswith("OK")

    Heartbeat.objects.update(beat_at=timezone.now() - datetime.timedelta(minutes=6))

    with pytest.raises(CommandError, match=r"beat's last heartbeat was 6\.0 minutes ago \(more than 5\)"):
        check_workers()
    # A looser limit for a slower schedule.
    assert "OK" in check_workers("--beat-max-age", "10")


@pytest.mark.services
@needs_redis
def test_a_task_started_by_a_request_logs_that_requests_id_in_the_worker(worker, monkeypatch):
    monkeypatch.setitem(app.conf, "task_always_eager", False)

    def view(request):
        app.send_task("celery.accumulate", args=["done"])  # a built-in task: nothing but a log line
        return HttpResponse("started")

    response = RequestLogMiddleware(view)(RequestFactory().get("/imports/"))
    request_id = response["X-Request-ID"]

    line = wait_for(
        lambda: next((ln for ln in worker.log().splitlines() if "celery.accumulate" in ln and "succeeded" in ln), None),
        timeout=30, message="the task to run",
    )
    assert f"rid={request_id}" in line


@pytest.mark.services
@needs_redis
@needs_postgres
def test_celery_beat_records_the_heartbeat_that_check_workers_reads(transactional_db, tmp_path, settings):
    var_dir = tmp_path / "var"
    var_dir.mkdir()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "classworks_import.settings.test", "CELERY_TASK_ALWAYS_EAGER": "0",
           "DATABASE_URL": database_url(connection.settings_dict["NAME"]), "CLASSWORKS_VAR_DIR": str(var_dir)}
    log_path = tmp_path / "beat.log"
    with open(log_path, "ab") as log:
        beat = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "classworks_import", "beat", "-l", "info",
             "--schedule", str(var_dir / "celerybeat-schedule")],
            cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        wait_for(lambda: Heartbeat.objects.filter(name=services.BEAT).exists(), timeout=30,
                 message=f"beat's heartbeat:\n{log_path.read_text() if log_path.exists() else ''}")
    finally:
        beat.terminate()
        beat.wait(timeout=20)
    age = services.heartbeat_age(name=services.BEAT)
    assert age < datetime.timedelta(minutes=1)
