"""Where an import's emails are sent: login information for staff, the notice of a replaced address, and the completion notice.

Each email is a row claimed before sending, so a second delivery of the task sends nothing twice.
"""
from django.conf import settings
from django.core.mail import send_mail
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from users.services import set_password_url

from ..outcomes import WORDS, outcome_counts
from ..models import EmailKind, EmailStatus, ImportChange, ImportEmail, ImportJob

MAX_SEND_ATTEMPTS = 5
NO_ADDRESS = "No email address."
EMAIL_CHANGED_SUBJECT = "Your Classworks email address was changed"
PASSWORD_CHANGED_SUBJECT = "Your Classworks password was replaced"


class EmailsPending(Exception):
    """Some emails could not be sent yet; the task retries with backoff."""


def _replaced_address(email: ImportEmail) -> str:
    """The address the job replaced, as its change log recorded it."""
    change = ImportChange.objects.filter(job_id=email.job_id, user_id=email.user_id, old_email_notified=True).first()
    if change is None:
        return ""
    return (change.changes.get("email") or [""])[0] or ""


def _address_before_job(email: ImportEmail) -> str:
    """The user's address before the job: a notice must reach the holder, not an address the same file gave."""
    change = ImportChange.objects.filter(job_id=email.job_id, user_id=email.user_id, changes__has_key="email").first()
    if change is not None and (change.changes["email"] or [""])[0]:
        return change.changes["email"][0]
    return email.user.email


def _recipient(email: ImportEmail) -> str:
    if email.kind == EmailKind.PASSWORD_CHANGED:
        return _address_before_job(email)
    return _replaced_address(email) if email.kind == EmailKind.EMAIL_CHANGED else email.user.email


def _message(email: ImportEmail) -> tuple[str, str]:
    job, user = email.job, email.user
    if email.kind == EmailKind.LOGIN:
        context = {"user": user, "district": job.district, "url": set_password_url(user), "site_url": settings.SITE_URL}
        return "Your Classworks login", render_to_string("imports/email/login.txt", context)
    if email.kind in (EmailKind.EMAIL_CHANGED, EmailKind.PASSWORD_CHANGED):
        admin = job.created_by
        context = {
            "user": user, "job": job, "district": job.district,
            "admin_name": (admin.get_full_name() or admin.get_username()) if admin else "",
        }
        if email.kind == EmailKind.PASSWORD_CHANGED:
            return PASSWORD_CHANGED_SUBJECT, render_to_string("imports/email/password_changed.txt", context)
        return EMAIL_CHANGED_SUBJECT, render_to_string("imports/email/email_changed.txt", context)
    skipped = (job.validation_summary or {}).get("counts", {}).get("skipped", 0)
    words = outcome_counts(job.counts or {}, skipped=skipped)
    context = {
        "job": job, "counts": job.counts, "district": job.district,
        "outcomes": [(word, words[key]) for key, word in WORDS],
        "url": settings.SITE_URL.rstrip("/") + reverse("imports:detail", args=[job.number]),
    }
    subject = f"Classworks import {job.number}: {job.get_status_display()}"
    template = "imports/email/completion.txt"
    if job.undo_of_id:
        subject = f"Classworks import {job.number} ({job.type_label.lower()}): {job.get_status_display()}"
        template = "imports/email/undo_completion.txt"
    return subject, render_to_string(template, context)


def import_emails_send(*, job_id: int) -> int:
    """Send every email the job still owes; raises EmailsPending if some must be retried."""
    pending = False
    sent = 0
    for email_id in ImportEmail.objects.filter(job_id=job_id, status=EmailStatus.PENDING).values_list("id", flat=True):
        claimed = ImportEmail.objects.filter(id=email_id, status=EmailStatus.PENDING).update(
            status=EmailStatus.SENDING, attempts=F("attempts") + 1
        )
        if not claimed:
            continue
        email = ImportEmail.objects.select_related("job__district", "job__created_by", "user").get(id=email_id)
        to = _recipient(email)
        if not to:
            ImportEmail.objects.filter(id=email_id).update(status=EmailStatus.FAILED, last_error=NO_ADDRESS)
            continue
        try:
            subject, body = _message(email)
            send_mail(subject, body, None, [to])
        except Exception as exc:  # SMTP down, refused, timed out
            final = email.attempts >= MAX_SEND_ATTEMPTS
            error = f"{type(exc).__name__}: {exc}"[:500]
            ImportEmail.objects.filter(id=email_id).update(
                status=EmailStatus.FAILED if final else EmailStatus.PENDING, last_error=error
            )
            if email.kind == EmailKind.COMPLETION:
                ImportJob.objects.filter(id=job_id).update(
                    completion_email_error=("Not sent: " if final else "Retrying: ") + error
                )
            pending = pending or not final
            continue
        ImportEmail.objects.filter(id=email_id).update(status=EmailStatus.SENT, sent_at=timezone.now(), last_error="")
        if email.kind == EmailKind.COMPLETION:
            ImportJob.objects.filter(id=job_id).update(completion_email_error="")
        sent += 1
    if pending:
        raise EmailsPending(f"job {job_id}: emails pending retry")
    return sent
