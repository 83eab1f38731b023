"""Trust, data protection: file passwords end up hashed and nowhere else, production is HTTPS-only,
pages run no inline code, and student files are deleted after the district's retention period."""
import csv
import datetime
import importlib
import io
import json
import logging
import os
import secrets
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from celery.app.task import Task
from django.apps import apps
from django.conf import settings as django_settings
from django.core import serializers
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from imports.models import FINISHED_STATUSES, ImportIssue, ImportJob, ImportStatus
from imports.services import jobs, maintenance
from imports.tests.factories import FULL_HEADER, IN_WINDOW, make_import_job, run_job, staff, student, write_csv
from schools.models import District
from users.models import User
from users.tests.factories import make_district, make_school, make_user

FILE_PASSWORD = "Str0ng-Passw0rd-Fixture!"


def _content(response) -> str:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return body.decode("utf-8-sig")


# --- Passwords ---


@pytest.fixture
def task_messages(monkeypatch):
    """Every task handed to the broker, as (name, args, kwargs); eager in tests, so it still runs."""
    sent = []
    real_apply_async = Task.apply_async

    def recording(self, args=None, kwargs=None, *rest, **options):
        sent.append((self.name, tuple(args or ()), dict(kwargs or {})))
        return real_apply_async(self, args, kwargs, *rest, **options)

    monkeypatch.setattr(Task, "apply_async", recording)
    return sent


@pytest.mark.django_db
@pytest.mark.usefixtures("no_safety_hold")
def test_a_file_password_is_in_no_table_log_query_email_report_or_task_message(
    district, district_admin, district_admin_client, school, tmp_path, caplog, mailoutbox, task_messages,
    django_capture_on_commit_callbacks,
):
    caplog.set_level(logging.DEBUG)
    make_user(district, district_user_id="1001", school=school, email="")  # existing: Overwrite Password applies
    rows = [
        student("1001", Password=FILE_PASSWORD),
        student("1002", Password=FILE_PASSWORD),                      # new student
        staff("T-1", Password=FILE_PASSWORD),                         # new staff: gets a login email
        student("1003", **{"Email Address": "twin@example.org"}),     # two rows sharing an email: warnings,
        student("1004", **{"Email Address": "twin@example.org"}),     # so the error report has lines
    ]
    path = write_csv(tmp_path / "roster.csv", rows, header=FULL_HEADER)

    with CaptureQueriesContext(connection) as queries:
        job = make_import_job(district, [path], created_by=district_admin, password_policy="overwrite", email_staff=True)
        with django_capture_on_commit_callbacks(execute=True):
            jobs.import_job_submit(job=job, now=IN_WINDOW)  # due at once: the worker (eager) runs it on commit

    job.refresh_from_db()
    assert job.status == ImportStatus.COMPLETED_WITH_WARNINGS, job.failure_reason
    for district_id in ("1001", "1002", "T-1"):  # the password did go through, hashed
        assert User.objects.get(district=district, district_user_id=district_id).check_password(FILE_PASSWORD)

    for model in apps.get_models():
        dump = serializers.serialize("json", model.objects.all())
        assert FILE_PASSWORD not in dump, model._meta.label
    assert FILE_PASSWORD not in str(queries.captured_queries)  # not even a row that was later deleted
    assert caplog.records and FILE_PASSWORD not in caplog.text
    assert all(FILE_PASSWORD not in str(r.args) for r in caplog.records)
    assert mailoutbox and all(FILE_PASSWORD not in m.body + m.subject for m in mailoutbox)

    error_report = _content(district_admin_client.get(reverse("imports:error_report", args=[job.number])))
    results_report = _content(district_admin_client.get(reverse("imports:results_report", args=[job.number])))
    assert "twin@example.org" in error_report and "1002" in results_report
    assert FILE_PASSWORD not in error_report and FILE_PASSWORD not in results_report
    detail = district_admin_client.get(reverse("imports:detail", args=[job.number])).content.decode()
    assert FILE_PASSWORD not in detail

    names = {name for name, _, _ in task_messages}
    assert {"imports.tasks.run_import", "imports.tasks.send_import_emails"} <= names
    for name, args, kwargs in task_messages:
        assert all(type(a) is int for a in [*args, *kwargs.values()]), (name, args, kwargs)


@pytest.mark.django_db
def test_the_error_report_never_repeats_a_file_password(district, district_admin_client, school, tmp_path):
    rows = [
        student("1", Password=FILE_PASSWORD, **{"Email Address": "twin@example.org"}),  # a warning on a row with a password
        student("2", **{"Email Address": "twin@example.org"}),
    ]
    job = make_import_job(district, [write_csv(tmp_path / "roster.csv", rows, header=FULL_HEADER)])

    report = _content(district_admin_client.get(reverse("imports:error_report", args=[job.number])))

    assert "twin@example.org" in report
    assert FILE_PASSWORD not in report


@pytest.mark.django_db
def test_the_map_fields_page_never_shows_a_file_password(district, district_admin_client, school, tmp_path):
    rows = [student("1", Password=FILE_PASSWORD)]
    job = make_import_job(district, [write_csv(tmp_path / "roster.csv", rows, header=FULL_HEADER)])

    page = district_admin_client.get(reverse("imports:fields", args=[job.number])).content.decode()

    assert "Ada" in page  # the samples are there
    assert FILE_PASSWORD not in page


@pytest.mark.django_db
@pytest.mark.parametrize("weak", ["12345678", "qwerty123", "letmein"])
def test_a_weak_file_password_is_a_warning_that_does_not_repeat_it(district, school, tmp_path, weak):
    job = make_import_job(district, [write_csv(tmp_path / "roster.csv", [student("1", Password=weak)], header=FULL_HEADER)])

    issue = ImportIssue.objects.get(job=job)
    assert (issue.code, issue.severity, issue.row) == ("weak_password", "warning", 2)
    assert weak not in issue.message + issue.suggestion
    assert job.validation_summary["counts"]["errors"] == 0  # a warning: the import may go on


# --- Security settings ---


def test_production_settings_are_https_only(tmp_path):
    code = (
        "import json; from django.conf import settings; "
        "names = ['DEBUG', 'SECURE_HSTS_SECONDS', 'SECURE_SSL_REDIRECT', 'SESSION_COOKIE_SECURE', "
        "'SESSION_COOKIE_HTTPONLY', 'CSRF_COOKIE_SECURE', 'SECURE_CONTENT_TYPE_NOSNIFF', 'X_FRAME_OPTIONS']; "
        "print(json.dumps({n: getattr(settings, n) for n in names}))"
    )
    env = {
        **os.environ, "DJANGO_SETTINGS_MODULE": "classworks_import.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(50), "CLASSWORKS_VAR_DIR": str(tmp_path),
    }
    env.pop("SECURE_SSL_REDIRECT", None)

    result = subprocess.run([sys.executable, "-c", code], cwd=django_settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120)

    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["SECURE_HSTS_SECONDS"] > 0
    assert values["SESSION_COOKIE_SECURE"] and values["SESSION_COOKIE_HTTPONLY"] and values["CSRF_COOKIE_SECURE"]
    assert values["SECURE_SSL_REDIRECT"] and values["SECURE_CONTENT_TYPE_NOSNIFF"]
    assert values["DEBUG"] is False and values["X_FRAME_OPTIONS"] == "DENY"

    env["SECRET_KEY"] = ""
    refused = subprocess.run([sys.executable, "-c", code], cwd=django_settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120)
    assert refused.returncode != 0 and "SECRET_KEY must be set in production" in refused.stderr


class InlineCode(HTMLParser):
    """Collects what a strict Content Security Policy would block: inline scripts and styles, handlers, javascript: URLs."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._inside: str | None = None

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...>")
            elif name == "style":
                self.problems.append(f"<{tag} style=...>")
            elif name in ("href", "src", "action", "formaction") and (value or "").strip().lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {name}=javascript:...>")
        if tag in ("script", "style"):
            self._inside = tag

    def handle_endtag(self, tag):
        if tag == self._inside:
            self._inside = None

    def handle_data(self, data):
        if self._inside and data.strip():
            self.problems.append(f"inline <{self._inside}> {data.strip()[:40]!r}")


def _policy(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


@pytest.fixture
def jobs_in_every_state(district, district_admin, school, tmp_path):
    """A draft at its last step, and finished, failed, scheduled, running and held jobs, each with a page to show."""
    make_user(district, district_user_id="1", first_name="Old", last_name="Name", school=school, email="")
    rows = [student("1"), student("2", **{"Email Address": "twin@example.org"}), student("3", **{"Email Address": "twin@example.org"})]
    path = write_csv(tmp_path / "roster.csv", rows)
    made = {}
    district.change_threshold_percent = 100
    district.save()
    made["completed"] = run_job(make_import_job(district, [path], created_by=district_admin))
    for state in ("failed", "scheduled", "running", "on_hold"):
        job = make_import_job(district, [path], created_by=district_admin)
        made[state] = jobs.import_job_submit(job=job, now=IN_WINDOW, dispatch=False)
    ImportJob.objects.filter(id=made["failed"].id).update(
        status=ImportStatus.FAILED, failure_reason="The import stopped at row 3.", failed_row=3,
        completion_email_error="Retrying: SMTPServerDisconnected",
    )
    ImportJob.objects.filter(id=made["running"].id).update(status=ImportStatus.RUNNING, rows_total=3, rows_done=1)
    held = made["on_hold"]
    ImportJob.objects.filter(id=held.id).update(status=ImportStatus.ON_HOLD, hold_summary={
        "existing_users": 1, "changed": 1, "percent": 100.0, "threshold": 20, "hold": True,
        "schools": [{"school": school.name, "affected": 1, "students": 1, "percent": 100.0}],
        "largest_changes": [{"district_id": "1", "fields": {"last_name": ["Name", "Lovelace"]}}],
    })
    made["draft"] = make_import_job(district, [path], created_by=district_admin)
    return made


@pytest.mark.django_db
def test_every_page_has_a_strict_policy_and_no_inline_code(district_admin_client, jobs_in_every_state):
    draft = jobs_in_every_state["draft"]
    urls = [reverse("imports:history"), reverse("imports:start"), reverse("manage:schools")]
    urls += [reverse(f"imports:{step}", args=[draft.number]) for step in ("fields", "schools", "validate", "actions", "review")]
    urls += [reverse("imports:detail", args=[j.number]) for key, j in jobs_in_every_state.items() if key != "draft"]
    pages = [(url, district_admin_client.get(url)) for url in urls]
    pages += [(reverse("login"), Client().get(reverse("login"))), ("/imports/99999/", district_admin_client.get("/imports/99999/"))]

    for url, response in pages:
        assert response.status_code == (404 if url == "/imports/99999/" else 200), url
        policy = _policy(response.get("Content-Security-Policy", ""))
        script_src = policy.get("script-src", policy.get("default-src"))
        assert script_src, url
        assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src, url
        assert "'unsafe-inline'" not in policy.get("style-src", policy.get("default-src")), url
        parser = InlineCode()
        parser.feed(response.content.decode())
        assert parser.problems == [], url
    held = district_admin_client.get(reverse("imports:detail", args=[jobs_in_every_state["on_hold"].number])).content.decode()
    assert "Approve" in held  # the hold card, the scheduled job's Cancel button and the rest were rendered


# --- Retention ---


def _finished_job(district, admin, tmp_path, *, first_id: int, days_ago: float):
    """A completed job with warnings (so error-report rows exist) that finished days_ago."""
    rows = [
        student(str(first_id)),
        student(str(first_id + 1), **{"Email Address": f"twin{first_id}@example.org"}),
        student(str(first_id + 2), **{"Email Address": f"twin{first_id}@example.org"}),
    ]
    folder = tmp_path / str(first_id)
    folder.mkdir()
    job = run_job(make_import_job(district, [write_csv(folder / "roster.csv", rows)], created_by=admin))
    assert job.status in FINISHED_STATUSES and ImportIssue.objects.filter(job=job).exists()
    ImportJob.objects.filter(id=job.id).update(completed_at=timezone.now() - datetime.timedelta(days=days_ago))
    job.refresh_from_db()
    return job


def _stored_path(job) -> Path:
    return Path(job.files.get().stored.path)


@pytest.mark.django_db
@pytest.mark.usefixtures("no_safety_hold")
def test_files_and_error_rows_are_deleted_after_the_districts_retention_and_the_history_row_stays(
    district, district_admin, district_admin_client, school, tmp_path
):
    district.file_retention_days = 30
    district.save()
    expired = _finished_job(district, district_admin, tmp_path, first_id=100, days_ago=31)
    recent = _finished_job(district, district_admin, tmp_path, first_id=200, days_ago=29)
    expired_path, recent_path = _stored_path(expired), _stored_path(recent)

    assert maintenance.files_purge_expired() == 1

    assert not expired_path.exists()
    assert expired.files.get().deleted_at is not None
    assert not ImportIssue.objects.filter(job=expired).exists()
    expired.refresh_from_db()
    assert expired.status == ImportStatus.COMPLETED_WITH_WARNINGS and expired.counts["created"] == 3
    client = district_admin_client
    assert f'href="{reverse("imports:detail", args=[expired.number])}"' in client.get(reverse("imports:history")).content.decode()
    detail = client.get(reverse("imports:detail", args=[expired.number])).content.decode()
    assert "roster.csv" in detail and "deleted after the retention period" in detail
    assert client.get(reverse("imports:original_file", args=[expired.number, expired.files.get().id])).status_code == 404
    report = list(csv.reader(io.StringIO(_content(client.get(reverse("imports:error_report", args=[expired.number]))))))
    assert len(report) == 1  # the heading only: no student row is left

    assert recent_path.is_file() and recent.files.get().deleted_at is None
    assert ImportIssue.objects.filter(job=recent).count() == 2
    assert client.get(reverse("imports:original_file", args=[recent.number, recent.files.get().id])).status_code == 200
    assert maintenance.files_purge_expired() == 0


@pytest.mark.django_db
@pytest.mark.usefixtures("no_safety_hold")
def test_the_retention_period_is_the_districts_own_and_90_days_by_default(district, district_admin, school, tmp_path):
    assert District._meta.get_field("file_retention_days").default == 90
    assert district.file_retention_days == 90
    short = make_district(file_retention_days=7)
    short_admin = make_user(short, user_type="staff", is_district_admin=True, district_user_id=None)
    make_school(short, sis_id="101")
    kept = _finished_job(district, district_admin, tmp_path, first_id=100, days_ago=60)
    expired = _finished_job(district, district_admin, tmp_path, first_id=200, days_ago=91)
    short_job = _finished_job(short, short_admin, tmp_path, first_id=300, days_ago=8)

    assert maintenance.files_purge_expired() == 2

    assert _stored_path(kept).is_file()
    assert kept.files.get().deleted_at is None
    assert expired.files.get().deleted_at is not None and not _stored_path(expired).exists()
    assert short_job.files.get().deleted_at is not None


@pytest.mark.django_db
@pytest.mark.usefixtures("no_safety_hold")
def test_the_periodic_schedule_runs_the_purge(district, district_admin, school, tmp_path, monkeypatch):
    expired = _finished_job(district, district_admin, tmp_path, first_id=100, days_ago=91)
    due = []
    for entry in django_settings.CELERY_BEAT_SCHEDULE.values():
        module, name = entry["task"].rsplit(".", 1)
        task = getattr(importlib.import_module(module), name)
        assert task.name == entry["task"]  # the name beat sends is a registered task
        schedule = entry["schedule"]
        seconds = schedule.total_seconds() if isinstance(schedule, datetime.timedelta) else float(schedule)
        due.append((task, seconds))
    calls = []
    real_purge = maintenance.files_purge_expired
    monkeypatch.setattr(maintenance, "files_purge_expired", lambda **kw: calls.append(kw) or real_purge(**kw))

    purging = []
    for task, seconds in due:
        before = len(calls)
        task.apply()
        if len(calls) > before:
            purging.append(seconds)

    assert purging and min(purging) <= 24 * 3600  # at least once a day
    assert expired.files.get().deleted_at is not None
