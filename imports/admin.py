"""Import jobs in the ops admin: read-only, with the same approve, discard, retry and undo services
as the pages and commands, and each original file downloadable byte for byte."""
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import FileResponse, Http404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from users.models import AuditAction
from users.services import audit_event_record

from .errors import Refusal
from .models import ImportFile, ImportJob, ImportStatus, ImportType
from .services import runs, safety
from .services import undo as undo_service

UNDO_TYPE = "undo"
ERROR_RETRY_NOT_FAILED = "Import {number} of {district} is {status}: only a failed import can be retried."
ERROR_RETRY_NOT_CLAIMED = "Import {number} of {district} could not be run now (another run took it)."


class JobTypeFilter(admin.SimpleListFilter):
    """The import type, or an undo of an import."""

    title = "type"
    parameter_name = "type"

    def lookups(self, request, model_admin):
        return [*ImportType.choices, (UNDO_TYPE, "Undo of an import")]

    def queryset(self, request, queryset):
        if self.value() == UNDO_TYPE:
            return queryset.filter(undo_of__isnull=False)
        if self.value():
            return queryset.filter(import_type=self.value(), undo_of__isnull=True)
        return queryset


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = ("number", "district", "job_type", "status", "description", "counts_summary", "completed_at", "file_links")
    list_display_links = ("number",)
    list_filter = ("district", "status", JobTypeFilter)
    search_fields = ("description", "district__name", "district__slug")
    search_help_text = "Search by import number, description or district."
    list_select_related = ("district", "undo_of")
    ordering = ("-created_at",)
    actions = ["approve_jobs", "discard_jobs", "retry_jobs", "undo_jobs"]

    # ---- read-only: ops staff look; changes go through the actions, which call the services ----

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_operate_permission(self, request):
        """Who may use the actions: staff holding the change permission the form itself never uses."""
        return request.user.has_perm("imports.change_importjob")

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields] + ["job_type", "counts_summary", "file_links"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("files")

    def get_search_results(self, request, queryset, search_term):
        results, duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if term.isdigit():  # an import number, as Import History shows it
            results = results | queryset.filter(Q(number=int(term)))
        return results, duplicates

    # ---- columns ----

    @admin.display(description="Type")
    def job_type(self, job):
        return job.type_label

    @admin.display(description="Counts")
    def counts_summary(self, job):
        return ", ".join(f"{key.replace('_', ' ')} {value:,}" for key, value in (job.counts or {}).items() if value) or "—"

    @admin.display(description="Files")
    def file_links(self, job):
        files = [f for f in job.files.all() if f.deleted_at is None]
        if not files:
            return "—"
        return format_html_join(
            ", ", '<a href="{}">{}</a>',
            ((reverse("admin:imports_importjob_file", args=[job.pk, f.pk]), f.original_name) for f in files),
        )

    # ---- the original file, streamed as an attachment ----

    def get_urls(self):
        extra = [
            path(
                "<int:job_id>/files/<int:file_id>/", self.admin_site.admin_view(self.original_file),
                name="imports_importjob_file",
            ),
        ]
        return extra + super().get_urls()

    def original_file(self, request, job_id: int, file_id: int):
        if not self.has_view_permission(request):
            raise PermissionDenied
        import_file = ImportFile.objects.filter(job_id=job_id, id=file_id, deleted_at__isnull=True).select_related("job__district").first()
        if import_file is None:
            raise Http404("No such file.")
        audit_event_record(
            action=AuditAction.DOWNLOAD_ORIGINAL, request=request, job=import_file.job,
            detail={"file": import_file.id, "via": "ops-admin"},
        )
        response = FileResponse(
            import_file.stored.open("rb"), as_attachment=True, filename=import_file.original_name,
            content_type="application/octet-stream",
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, no-store"
        return response

    # ---- actions: the same services as the pages and commands ----

    @admin.action(description="Approve selected imports that are on hold", permissions=["operate"])
    def approve_jobs(self, request, queryset):
        for job in queryset.select_related("district"):
            try:
                safety.import_job_approve(job=job, approved_by=request.user)
            except Refusal as exc:
                self.message_user(request, f"Import {job.number} of {job.district}: {exc}", messages.ERROR)
                continue
            audit_event_record(action=AuditAction.APPROVE, request=request, job=job, detail={"via": "ops-admin"})
            self.message_user(request, f"Import {job.number} of {job.district} was approved and is scheduled.", messages.SUCCESS)

    @admin.action(description="Discard selected imports that are on hold", permissions=["operate"])
    def discard_jobs(self, request, queryset):
        for job in queryset.select_related("district"):
            try:
                safety.import_job_discard(job=job)
            except Refusal as exc:
                self.message_user(request, f"Import {job.number} of {job.district}: {exc}", messages.ERROR)
                continue
            audit_event_record(action=AuditAction.DISCARD, request=request, job=job, detail={"via": "ops-admin"})
            self.message_user(request, f"Import {job.number} of {job.district} was discarded. Nothing was changed.", messages.SUCCESS)

    @admin.action(description="Retry selected failed imports (resume after the last saved rows)", permissions=["operate"])
    def retry_jobs(self, request, queryset):
        for job in queryset.select_related("district"):
            if job.status != ImportStatus.FAILED:
                self.message_user(request, ERROR_RETRY_NOT_FAILED.format(
                    number=job.number, district=job.district, status=job.get_status_display()), messages.ERROR)
                continue
            # What `manage.py run_import` does; emails and password batches go to the workers.
            ran = runs.import_job_run(job_id=job.id, queue_emails=True, retry_failed=True)
            if ran is None:
                self.message_user(request, ERROR_RETRY_NOT_CLAIMED.format(number=job.number, district=job.district), messages.ERROR)
                continue
            level = messages.ERROR if ran.status == ImportStatus.FAILED else messages.SUCCESS
            note = f": {ran.failure_reason}" if ran.failure_reason else "."
            self.message_user(request, f"Import {job.number} of {job.district} ran again: {ran.get_status_display()}{note}", level)

    @admin.action(description="Undo selected finished imports…", permissions=["operate"])
    def undo_jobs(self, request, queryset):
        jobs = list(queryset.select_related("district").order_by("district__name", "number"))
        if request.POST.get("confirm") != "yes":
            lines = []
            for job in jobs:
                refusal = undo_service.undo_refusal(job=job)
                lines.append({
                    "job": job, "refusal": refusal,
                    "counts": None if refusal else undo_service.import_undo_preview(job=job, limit=0).counts,
                })
            return TemplateResponse(request, "imports/undo_admin_confirm.html", {
                **self.admin_site.each_context(request), "title": "Undo imports", "lines": lines,
                "opts": self.model._meta, "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
                "any_allowed": any(line["refusal"] is None for line in lines),
            })
        for job in jobs:
            try:
                started = undo_service.import_undo_request(job=job, requested_by=request.user, request=request)
            except Refusal as exc:
                self.message_user(request, f"{job.district}: {exc}", messages.ERROR)
                continue
            self.message_user(
                request, format_html("Import {} of {} is undoing import {}.", started.number, job.district, job.number),
                messages.SUCCESS,
            )
        return None
