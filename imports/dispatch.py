"""Handing work to a worker by task name: services enqueue without importing imports/tasks.py, which
imports them (the app's ready() registers the tasks). Only ids travel, never student data."""
from celery import current_app
from django.db import transaction

RUN_IMPORT = "imports.tasks.run_import"
HASH_PASSWORD_BATCH = "imports.tasks.hash_password_batch"
SEND_IMPORT_EMAILS = "imports.tasks.send_import_emails"
VALIDATE_DRAFT = "imports.tasks.validate_draft"
PURGE_CLOSED_DRAFT = "imports.tasks.purge_closed_draft"


def task(name: str):
    """The registered task of this name."""
    return current_app.tasks[name]


def enqueue_on_commit(name: str, object_id: int) -> None:
    """Send the task once the current transaction commits (at once outside one)."""
    task(name).delay_on_commit(object_id)


def enqueue_after_commit(name: str, object_id: int) -> None:
    """As enqueue_on_commit, through .delay (whose tests and callers watch that method)."""
    transaction.on_commit(lambda: task(name).delay(object_id))


def enqueue_now(name: str, object_id: int) -> None:
    task(name).delay(object_id)
