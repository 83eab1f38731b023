"""Undo a finished import: the preview of what it will do, and the confirmation that starts it."""
from django.contrib import messages
from django.shortcuts import redirect, render

from core.permissions import district_admin_required
from users.models import AuditAction
from users.services import audit_event_record

from ..errors import Refusal
from ..services import undo as undo_service
from .common import get_job_or_404


@district_admin_required
def undo(request, number: int):
    """GET shows what the undo will do; POST (the confirmation form) starts it."""
    job = get_job_or_404(request, number)
    if request.method == "POST":
        try:
            started = undo_service.import_undo_request(job=job, requested_by=request.user, request=request)
        except Refusal as exc:
            messages.error(request, str(exc))
            return redirect("imports:undo", number=job.number)
        messages.success(request, f"Import {started.number} is undoing import {job.number}.")
        return redirect("imports:detail", number=started.number)
    refusal = undo_service.undo_refusal(job=job)
    preview = None if refusal and refusal.code in ("undo_of_undo", "not_finished") else undo_service.import_undo_preview(job=job)
    if preview is not None:
        audit_event_record(action=AuditAction.VIEW_UNDO_PREVIEW, request=request, job=job)
    return render(request, "imports/undo.html", {
        "job": job, "tab": "import", "refusal": refusal, "preview": preview,
        "existing": job.live_undo, "limit": undo_service.PREVIEW_ITEMS,
    })
