"""Thin tasks: take an id, call one service. Nothing here carries student data."""
from celery import shared_task
from django.conf import settings

from .services import emails, jobs, maintenance, runs, validation


@shared_task(
    acks_late=True, reject_on_worker_lost=True,
    soft_time_limit=settings.IMPORT_TASK_SOFT_TIME_LIMIT, time_limit=settings.IMPORT_TASK_SOFT_TIME_LIMIT + 300,
)
def run_import(job_id: int) -> None:
    runs.import_job_run(job_id=job_id)


@shared_task(
    acks_late=True, reject_on_worker_lost=True,
    soft_time_limit=settings.PASSWORD_BATCH_SOFT_TIME_LIMIT, time_limit=settings.PASSWORD_BATCH_SOFT_TIME_LIMIT + 60,
)
def hash_password_batch(batch_id: int) -> None:
    runs.password_batch_run(batch_id=batch_id)


@shared_task(
    bind=True, autoretry_for=(emails.EmailsPending,), retry_backoff=30, retry_backoff_max=1800,
    retry_jitter=True, max_retries=emails.MAX_SEND_ATTEMPTS,
)
def send_import_emails(self, job_id: int) -> None:
    emails.import_emails_send(job_id=job_id)


@shared_task(
    acks_late=True, reject_on_worker_lost=True,
    soft_time_limit=settings.IMPORT_TASK_SOFT_TIME_LIMIT, time_limit=settings.IMPORT_TASK_SOFT_TIME_LIMIT + 300,
)
def validate_draft(job_id: int) -> None:
    validation.import_job_validation_run(job_id=job_id)


@shared_task(acks_late=True)
def purge_closed_draft(job_id: int) -> None:
    jobs.import_job_closed_purge(job_id=job_id)


@shared_task
def dispatch_due_imports() -> None:
    runs.import_jobs_dispatch_due()
    validation.import_job_validations_redispatch_stale()


@shared_task
def purge_stale_drafts() -> None:
    maintenance.drafts_purge_stale()
    for job_id in jobs.import_job_ids_closed():  # closed drafts whose purge task was lost
        jobs.import_job_closed_purge(job_id=job_id)
    maintenance.files_purge_expired()
    maintenance.emails_mark_interrupted()
