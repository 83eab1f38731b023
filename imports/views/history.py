"""Import History: the list, the details page, live progress and cancelling."""
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from core.permissions import district_admin_required
from users.models import AuditAction
from users.selectors import audit_event_list
from users.services import audit_event_record

from .. import selectors
from ..errors import Refusal
from ..models import BundleRole, EmailKind, EmailStatus, ImportChange, ImportStatus
from ..services import jobs, safety
from ..types import get_spec
from .wizard import value_mapping_lines
from .common import get_job_or_404

JOBS_PER_PAGE = 25
CHANGES_SHOWN = 200
AUDIT_EVENTS_SHOWN = 200


@district_admin_required
def history(request):
    page = Paginator(selectors.import_job_list(district=request.district), JOBS_PER_PAGE).get_page(request.GET.get("page"))
    drafts = selectors.import_draft_list(district=request.district, created_by=request.user)
    return render(request, "imports/history.html", {"page": page, "drafts": drafts, "tab": "import"})


@district_admin_required
def progress(request, number: int):
    job = get_job_or_404(request, number)
    return JsonResponse({
        "status": job.status, "status_display": job.get_status_display(), "rows_done": job.rows_done,
        "rows_total": job.rows_total, "percent": job.progress_percent, "finished": job.is_finished,
        "note": job.status_note,
    })


@district_admin_required
def detail(request, number: int):
    job = get_job_or_404(request, number)
    if job.is_draft:
        return redirect(f"imports:{job.step}" if job.step != "upload" else "imports:fields", number=job.number)
    page = Paginator(selectors.import_issues(job=job), 50).get_page(request.GET.get("page"))
    created = selectors.import_created_users(job=job, limit=CHANGES_SHOWN)
    changes = selectors.import_change_lines(job=job, limit=CHANGES_SHOWN)
    audit_event_record(action=AuditAction.VIEW_IMPORT, request=request, job=job)
    emails = {
        "login_sent": job.emails.filter(kind=EmailKind.LOGIN, status=EmailStatus.SENT).count(),
        "login_failed": job.emails.filter(kind=EmailKind.LOGIN, status=EmailStatus.FAILED).count(),
        "notices": job.emails.filter(kind=EmailKind.EMAIL_CHANGED).count(),
        "notices_sent": job.emails.filter(kind=EmailKind.EMAIL_CHANGED, status=EmailStatus.SENT).count(),
    }
    files = list(job.files.all())
    # A corrected copy is shown beside the original it replaced, not as one more file.
    file_pairs = [(f, next((c for c in files if c.corrected_from_id == f.id), None)) for f in files if not f.corrected_from_id]
    return render(request, "imports/detail.html", {
        "job": job, "tab": "import", "counts": job.counts or job.validation_summary.get("counts", {}),
        "spec": get_spec(job.import_type),
        "groups": selectors.import_issue_groups(job=job), "page": page, "created": created, "changes": changes,
        "files": files, "file_pairs": file_pairs, "emails": emails, "bundle_files": job.files.exclude(bundle_role=BundleRole.MEMBER),
        "mapping": get_spec(job.import_type).headings_of(job.field_mapping),
        "fixed": get_spec(job.import_type).headings_of(job.fixed_values),
        "file_fixed": get_spec(job.import_type).headings_of_files(job.file_fixed_values),
        "value_lines": value_mapping_lines(job), "skipped": job.validation_summary.get("counts", {}).get("skipped", 0),
        "can_cancel": job.status in (ImportStatus.SCHEDULED, ImportStatus.ON_HOLD),
        "audit_events": audit_event_list(district=request.district, job=job)[:AUDIT_EVENTS_SHOWN],
    })


@district_admin_required
@require_POST
def cancel(request, number: int):
    job = get_job_or_404(request, number)
    if jobs.import_job_cancel(job=job):
        audit_event_record(action=AuditAction.CANCEL, request=request, job=job)
        messages.success(request, f"Import {job.number} was cancelled.")
    else:
        messages.error(request, jobs.ERROR_CANNOT_CANCEL)
    return redirect("imports:detail", number=job.number)


@district_admin_required
@require_POST
def approve(request, number: int):
    job = get_job_or_404(request, number)
    try:
        safety.import_job_approve(job=job, approved_by=request.user)
    except Refusal as exc:
        messages.error(request, str(exc))
    else:
        audit_event_record(action=AuditAction.APPROVE, request=request, job=job)
        messages.success(request, f"Import {job.number} was approved and is scheduled.")
    return redirect("imports:detail", number=job.number)


@district_admin_required
@require_POST
def discard(request, number: int):
    job = get_job_or_404(request, number)
    try:
        safety.import_job_discard(job=job)
    except Refusal as exc:
        messages.error(request, str(exc))
    else:
        audit_event_record(action=AuditAction.DISCARD, request=request, job=job)
        messages.success(request, f"Import {job.number} was discarded. Nothing was changed.")
    return redirect("imports:detail", number=job.number)
