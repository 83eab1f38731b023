"""Helpers for import tests: small SIS files written to tmp_path, and jobs built through the services.

    path = write_csv(tmp_path / "roster.csv", [student(), staff()])
    job = make_import_job(district, [path], created_by=admin)
    job = run_job(job)

Users, schools and districts come from users/tests/factories.py.
"""
import csv
import datetime
import io
from pathlib import Path

from django.core import serializers
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from imports.models import (
    DistrictImportMemory, ImportChange, ImportEmail, ImportFile, ImportIssue, ImportJob, WizardStep,
)
from imports.pipeline.mapping import plan_columns, propose_field_mapping, propose_school_mapping
from imports.pipeline.reading import inspect_file, iter_rows
from imports.pipeline.rows import RowBuilder, UserRow
from imports.selectors import school_choices
from imports.services import jobs, runs
from imports.services.apply import import_job_validate
from imports.services.sources import ImportOptions, column_labels, sources_for_job
from imports.services.validation import file_value_counts
from imports.types import DEFAULT_TYPE, USER_DATA, get_spec
from imports.services.validation import school_values_key, school_values_store
from users.models import User

HEADER = ("First Name", "Last Name", "District ID", "User Type", "Grade", "Email Address", "School SIS ID")
FULL_HEADER = HEADER + (
    "Middle Name", "State User ID", "Alternate User ID", "Limited English", "Economically Disadvantaged", "Password",
)
SCHOOL_SIS_ID = "101"

# 03:00 UTC is 21:00 the evening before in Chicago (22:00 in New York): inside the default
# 20:00-06:00 window, and in the past, so a job submitted then is due at once.
IN_WINDOW = datetime.datetime(2024, 1, 10, 3, 0, tzinfo=datetime.timezone.utc)


def student(district_id: str = "1001", **cells) -> dict:
    """One student row keyed by heading; pass cells by heading, e.g. **{"Grade": "K"}."""
    return {
        "First Name": "Ada", "Last Name": "Lovelace", "District ID": district_id, "User Type": "Student",
        "Grade": "5", "Email Address": "", "School SIS ID": SCHOOL_SIS_ID, **cells,
    }


def staff(district_id: str = "T-1", **cells) -> dict:
    return {
        "First Name": "Grace", "Last Name": "Hopper", "District ID": district_id, "User Type": "Staff",
        "Grade": "", "Email Address": f"{district_id.lower()}@springfield.example.org",
        "School SIS ID": SCHOOL_SIS_ID, **cells,
    }


def csv_text(rows, header=HEADER) -> str:
    """CSV text with a header row; dict rows are keyed by heading, list rows are taken as they are."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if header:
        writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(h, "") for h in header] if isinstance(row, dict) else row)
    return out.getvalue()


def write_csv(path: Path, rows, header=HEADER) -> Path:
    path.write_text(csv_text(rows, header), encoding="utf-8")
    return path


def build_user_rows(
    path: Path, *, field_mapping: dict | None = None, fixed_values: dict | None = None,
    school_mapping: dict | None = None,
) -> list[UserRow]:
    """The pure pipeline on one file, without a database: read, match columns as proposed, build rows."""
    info = inspect_file(path, Path(path).name)
    if field_mapping is None:
        proposal = propose_field_mapping(info.column_labels, has_header=info.has_header, spec=USER_DATA)
        field_mapping = {**proposal.suggestions, **proposal.matched}
    plan = plan_columns(info.column_labels, field_mapping, fixed_values or {}, spec=USER_DATA)
    builder = RowBuilder(
        file_name=info.name, plan=plan, school_mapping={SCHOOL_SIS_ID: 1} if school_mapping is None else school_mapping
    , spec=USER_DATA)
    return [
        UserRow(file=info.name, row=raw.row, issues=[raw.problem]) if raw.problem else builder.build(raw.row, raw.cells)
        for raw in iter_rows(path, info)
    ]


def make_import_job(
    district,
    paths,
    *,
    created_by=None,
    field_mapping: dict | None = None,
    fixed_values: dict | None = None,
    school_mapping: dict | None = None,
    conflict_policy: str = "imported",
    password_policy: str = "keep",
    custom_group=None,
    group_members: str = "students",
    email_staff: bool = False,
    validate: bool = True,
    import_type: str = DEFAULT_TYPE,
) -> ImportJob:
    """A draft job with its files uploaded, columns and schools matched as the wizard proposes, then validated.

    Schools are matched by SIS ID or name; values that match nothing stay unmapped, so the
    validation step reports them (school_unmapped).
    """
    job = jobs.import_job_create(district=district, created_by=created_by, description="test import", import_type=import_type)
    uploads = [SimpleUploadedFile(Path(p).name, Path(p).read_bytes()) for p in paths]
    jobs.import_files_add(job=job, uploads=uploads)
    sources = sources_for_job(job)
    labels = column_labels(sources)
    if field_mapping is None:
        proposal = propose_field_mapping(
            labels, has_header=all(s.info.has_header for s in sources), spec=get_spec(job.import_type)
        )
        field_mapping = {**proposal.suggestions, **proposal.matched}
    jobs.import_job_set_field_mapping(
        job=job, field_mapping=field_mapping, fixed_values=fixed_values or {}, column_labels=labels, confirm=True
    )
    job.refresh_from_db()
    counts = file_value_counts(sources, ImportOptions.from_job(job), limit_schools=False)[0]
    # As the background pass would: the School column's values, stored for School Mapping to page through.
    school_values_store(job=job, counts=counts)
    job.school_values_key = school_values_key(job)
    job.validation_phase = ""
    values = list(counts)
    proposed = propose_school_mapping(values, school_choices(district=district))
    proposed.update(school_mapping or {})
    job.school_mapping = proposed
    job.conflict_policy = conflict_policy
    job.password_policy = password_policy
    job.custom_group = custom_group
    job.group_members = group_members
    job.email_staff = email_staff
    job.step = WizardStep.REVIEW
    job.save()
    if validate:
        import_job_validate(job=job)
        job.refresh_from_db()
    return job


def run_job(job: ImportJob, *, queue_emails: bool = False) -> ImportJob:
    """Submit inside the off-peak window and run the job in this process, as a worker would."""
    jobs.import_job_submit(job=job, now=IN_WINDOW, dispatch=False)
    runs.import_job_run(job_id=job.id, queue_emails=queue_emails)
    job.refresh_from_db()
    return job


def set_window_around_now(district, *, open_now: bool) -> None:
    """Give the district an off-peak window that the real clock is inside of, or two hours before."""
    local = timezone.now().astimezone(district.tzinfo)
    start = local + datetime.timedelta(hours=-1 if open_now else 2)
    district.offpeak_start = start.time().replace(second=0, microsecond=0)
    district.offpeak_end = (start + datetime.timedelta(hours=2)).time().replace(second=0, microsecond=0)
    district.save()


def stored_text() -> str:
    """Every import row and user row as JSON: a clear-text password must not appear anywhere in it."""
    models = (ImportJob, ImportFile, ImportIssue, ImportChange, ImportEmail, DistrictImportMemory, User)
    return "".join(serializers.serialize("json", m.objects.all()) for m in models)


def issue_codes(issues) -> list[tuple[str, int | None]]:
    """(code, row) pairs, sorted, from Issue objects or ImportIssue rows."""
    return sorted((i.code, i.row) for i in issues)


def wizard_url(job: ImportJob, step: str, query: str = "") -> str:
    return reverse(f"imports:{step}", args=[job.number]) + query


def wizard_upload(client, district, content: bytes, name: str, import_type: str = "user_data") -> ImportJob:
    """Upload one file on the wizard's first step, as the admin's browser does; the new draft."""
    response = client.post(reverse("imports:start"), {"import_type": import_type, "files": SimpleUploadedFile(name, content)})
    assert response.status_code == 302, response.content.decode()[:2000]
    return ImportJob.objects.filter(district=district).latest("id")
