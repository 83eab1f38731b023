"""Fixtures for tests that run a real Celery worker against Redis and PostgreSQL (marker `services`).

Data is committed (transactional_db) so the worker process sees it; the worker uses the test
database, the same stored files, and writes emails to a folder the test reads.
"""
import datetime

import pytest
from django.db import connection

from imports.tests.factories import SCHOOL_SIS_ID
from users.tests.factories import make_admin, make_district, make_school

from .worker import broker_client, database_url, queue_declare, queue_purge, start_worker


@pytest.fixture
def broker(settings):
    """This process sends tasks to Redis instead of running them eagerly; the queue starts empty."""
    from classworks_import.celery import app

    url = settings.CELERY_BROKER_URL
    saved = (app.conf.task_always_eager, app.conf.broker_url)
    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.task_always_eager = False
    app.conf.broker_url = url
    client = broker_client(url)
    queue_purge(client)
    queue_declare(app)
    try:
        yield client
    finally:
        queue_purge(client)
        client.close()
        app.conf.task_always_eager, app.conf.broker_url = saved


@pytest.fixture
def email_dir(tmp_path):
    folder = tmp_path / "emails"
    folder.mkdir()
    return folder


@pytest.fixture
def worker_env(transactional_db, broker, email_dir, tmp_path, settings):
    """What a worker process needs to share the test database, stored files and email folder."""
    var_dir = tmp_path / "var"
    var_dir.mkdir()
    return {
        "DJANGO_SETTINGS_MODULE": "imports.tests.tasks.worker_settings",
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "DATABASE_URL": database_url(connection.settings_dict["NAME"]),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CLASSWORKS_VAR_DIR": str(var_dir),
        "PRIVATE_STORAGE_ROOT": str(settings.PRIVATE_STORAGE_ROOT),
        "EMAIL_FILE_PATH": str(email_dir),
    }


@pytest.fixture
def workers(worker_env, tmp_path):
    """start(concurrency=1, env=None) starts a worker; all are stopped before the database is flushed."""
    started = []

    def start(*, concurrency: int = 1, env: dict | None = None):
        worker = start_worker(
            env={**worker_env, **(env or {})}, log_path=tmp_path / f"worker-{len(started) + 1}.log",
            concurrency=concurrency,
        )
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
    for worker in started:
        # pytest shows this only when the test failed.
        print(f"---- {worker.log_path.name} ----\n{worker.log()[-6000:]}")


@pytest.fixture
def open_district(transactional_db):
    """A district whose off-peak window is open all day, with school 101 and an admin who has an email."""
    district = make_district(
        timezone="America/Chicago", offpeak_start=datetime.time(0, 0), offpeak_end=datetime.time(0, 0)
    )
    make_school(district, sis_id=SCHOOL_SIS_ID, name="Lincoln Elementary")
    district.admin = make_admin(district, email="dana.whitfield@springfield.example.org")
    return district
