"""Downloads: the sample file, the original files byte for byte, their corrected versions, and the reports."""
from django.http import FileResponse, Http404, StreamingHttpResponse
from django.utils.http import content_disposition_header

from core.permissions import district_admin_required
from users.models import AuditAction
from users.services import audit_event_record

from ..models import BundleRole, ImportFile
from ..services import corrections, reports
from ..types import DEFAULT_TYPE, get_spec, get_spec_by_command_name
from .common import get_job_or_404


def _attachment(response, filename: str):
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@district_admin_required
def sample_csv(request):
    """The import type's sample file (?type=, its stored or command-line name; User Data by default), with its exact headings."""
    name = request.GET.get("type") or DEFAULT_TYPE
    try:
        spec = get_spec(name)
    except LookupError:
        try:
            spec = get_spec_by_command_name(name)
        except LookupError:
            raise Http404("No such import type.") from None
    return _attachment(
        StreamingHttpResponse(reports.csv_stream(spec.sample_table()), content_type="text/csv; charset=utf-8"),
        spec.sample_file_name,
    )


@district_admin_required
def original_file(request, number: int, file_id: int):
    job = get_job_or_404(request, number)
    import_file = ImportFile.objects.filter(job=job, id=file_id, deleted_at__isnull=True).first()
    if import_file is None:
        raise Http404("No such file.")
    audit_event_record(action=AuditAction.DOWNLOAD_ORIGINAL, request=request, job=job, detail={"file_id": import_file.id})
    if import_file.corrected_from_id or import_file.bundle_role == BundleRole.GENERATED:
        # Written by us, not the admin's own bytes: formula-safe like every generated file.
        rows = reports.csv_stream(corrections.corrected_file_rows(import_file))
        response = StreamingHttpResponse(rows, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = content_disposition_header(True, import_file.original_name)
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, no-store"
        return response
    response = FileResponse(import_file.stored.open("rb"), as_attachment=True, filename=import_file.original_name,
                            content_type="application/octet-stream")
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@district_admin_required
def error_report(request, number: int):
    job = get_job_or_404(request, number)
    audit_event_record(action=AuditAction.DOWNLOAD_ERRORS, request=request, job=job)
    return _attachment(
        StreamingHttpResponse(reports.csv_stream(reports.error_report_rows(job)), content_type="text/csv; charset=utf-8"),
        f"import_{job.number}_errors.csv",
    )


@district_admin_required
def results_report(request, number: int):
    job = get_job_or_404(request, number)
    audit_event_record(action=AuditAction.DOWNLOAD_RESULTS, request=request, job=job)
    return _attachment(
        StreamingHttpResponse(reports.csv_stream(reports.results_report_rows(job)), content_type="text/csv; charset=utf-8"),
        f"import_{job.number}_results.csv",
    )
