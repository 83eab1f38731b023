"""The import wizard: one small view per step over a draft ImportJob (URLs /imports/<number>/<step>/)."""
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import TooManyFilesSent
from django.core.paginator import Paginator
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from users.models import AuditAction
from users.permissions import district_admin_required
from users.services import audit_event_record

from .. import selectors
from ..forms import ActionsForm, MatchForm, StartForm
from ..models import DistrictImportMemory, ImportFile, ImportStatus, Severity, WizardStep
from ..pipeline.fields import normalize_heading
from ..pipeline.mapping import missing_required, propose_school_mapping
from ..pipeline.reading import FileReadError
from ..scheduling import next_offpeak_start
from ..services import jobs, safety
from ..services.apply import import_job_validate
from ..services.sources import ImportOptions, column_labels, column_samples, school_value_counts, sources_for_job
from ..types import DEFAULT_TYPE, SPECS, get_spec
from .common import get_job_or_404

ISSUES_PER_PAGE = 50


def _step_url(job, step: str) -> str:
    return reverse("imports:start") if step == WizardStep.UPLOAD else reverse(f"imports:{step}", args=[job.number])


def _next_url(job, step: str) -> str:
    """Where the job's type goes after this step: the views never name it."""
    return _step_url(job, get_spec(job.import_type).next_step(step))


def _load_step(request, number: int, step: str):
    """The draft and a redirect when this step is not reachable yet (or the job was submitted)."""
    job = get_job_or_404(request, number)
    if not job.is_draft:
        return job, redirect("imports:detail", number=job.number)
    spec = get_spec(job.import_type)
    if not spec.has_step(step) or spec.step_index(step) > spec.step_index(job.step):
        return job, redirect(_step_url(job, job.step))
    return job, None


def _steps(job, current: str) -> list[dict]:
    """The step bar: only the steps the job's type has, in its order."""
    spec = get_spec(job.import_type if job else DEFAULT_TYPE)
    reached = spec.step_index(job.step) if job else 0
    return [
        {"key": s.value, "label": s.label, "url": _step_url(job, s.value) if job and 0 < i <= reached else "",
         "current": s.value == current, "done": i < spec.step_index(current)}
        for i, s in enumerate(spec.steps)
    ]


def _render(request, template: str, job, step: str, context: dict):
    spec = get_spec(job.import_type)
    previous = spec.previous_step(step)
    return render(request, template, {
        "job": job, "spec": spec, "steps": _steps(job, step), "tab": "import",
        "back_url": _step_url(job, previous) if previous else "", **context,
    })


@district_admin_required
def start(request):
    try:
        files = request.FILES
    except TooManyFilesSent:  # Django's own cap, far above ours: answer with our message, not a bare 400
        return _render_start(request, StartForm(), error=jobs.ERROR_TOO_MANY_FILES.format(limit=settings.IMPORT_MAX_FILES))
    form = StartForm(request.POST or None, files or None)
    if request.method == "POST" and form.is_valid():
        uploads = request.FILES.getlist("files")
        try:
            jobs.check_uploads(uploads)
            with transaction.atomic():
                job = jobs.import_job_create(
                    district=request.district, created_by=request.user,
                    description=form.cleaned_data["description"], import_type=form.cleaned_data["import_type"],
                )
                jobs.import_files_add(job=job, uploads=uploads, has_header=False if form.cleaned_data["no_header"] else None)
        except (jobs.ImportError_, FileReadError) as exc:
            form.add_error("files", str(exc))
        else:
            return redirect("imports:fields", number=job.number)
    return _render_start(request, form)


def _render_start(request, form, error: str = ""):
    return render(request, "imports/wizard/start.html", {
        "form": form, "upload_error": error, "steps": _steps(None, WizardStep.UPLOAD), "tab": "import", "specs": SPECS,
        "max_mb": settings.IMPORT_MAX_FILE_BYTES // (1024 * 1024), "max_files": settings.IMPORT_MAX_FILES,
    })


@district_admin_required
def map_fields(request, number: int):
    job, elsewhere = _load_step(request, number, WizardStep.MAP_FIELDS)
    if elsewhere:
        return elsewhere
    sources = sources_for_job(job)
    labels = column_labels(sources)
    if request.method == "POST":
        return _post_fields(request, job, labels)
    proposal = jobs.proposed_field_mapping(job)
    spec = get_spec(job.import_type)
    mapping, fixed = job.field_mapping, job.fixed_values
    used = set(mapping.values())
    fields = [
        {
            "field": f, "column": mapping.get(f.key), "fixed": fixed.get(f.key),
            "suggestion": proposal.suggestions.get(f.key) if f.key not in mapping and proposal.suggestions.get(f.key) not in used else None,
            "fixed_choices": f.fixed_choices or None,
        }
        for f in spec.fields
    ]
    # A column whose heading says Password is masked even before it is matched.
    hidden = {c for c in labels if normalize_heading(c) in spec.secret_headings} | {mapping.get(spec.password_field)}
    samples = column_samples(sources, hidden=hidden)
    columns = [{"label": c, "samples": samples.get(c, []), "matched": c in used} for c in labels]
    return _render(request, "imports/wizard/fields.html", job, WizardStep.MAP_FIELDS, {
        "fields": fields, "columns": columns, "files": job.files.all(),
        "missing": [spec.by_key[k].label for k in missing_required(mapping, fixed, spec)],
    })


def _post_fields(request, job, labels):
    action, _, target = request.POST.get("action", "").partition(":")
    mapping, fixed = dict(job.field_mapping), dict(job.fixed_values)
    spec = get_spec(job.import_type)
    confirm = False
    if action == "match":
        form = MatchForm(request.POST, column_labels=labels, spec=spec)
        if not form.is_valid():
            messages.error(request, "Click a field and a column, then Match.")
            return redirect("imports:fields", number=job.number)
        column, key = form.cleaned_data["column"], form.cleaned_data["field"]
        mapping = {k: v for k, v in mapping.items() if v != column}
        mapping[key] = column
        fixed.pop(key, None)
    elif action == "suggest":
        column = jobs.proposed_field_mapping(job).suggestions.get(target)
        if column in labels:
            mapping = {k: v for k, v in mapping.items() if v != column}
            mapping[target] = column
            fixed.pop(target, None)
    elif action == "unmatch":
        mapping.pop(target, None)
    elif action == "set_fixed":
        key = target
        value = request.POST.get(f"fixed_{key}", "")
        if key in spec.by_key and value:
            fixed[key] = "" if value == "__blank__" else value
            mapping.pop(key, None)
    elif action == "clear_fixed":
        fixed.pop(target, None)
    elif action == "header":
        import_file = ImportFile.objects.filter(job=job, id=request.POST.get("file")).first()
        if import_file is not None:
            try:
                jobs.import_file_set_header(job=job, import_file=import_file, has_header=request.POST.get("has_header") == "1")
            except (FileReadError, jobs.ImportError_) as exc:
                messages.error(request, str(exc))
        return redirect("imports:fields", number=job.number)
    elif action == "next":
        confirm = True
    try:
        jobs.import_job_set_field_mapping(job=job, field_mapping=mapping, fixed_values=fixed, column_labels=labels, confirm=confirm)
    except jobs.ImportError_ as exc:
        messages.error(request, str(exc))
        return redirect("imports:fields", number=job.number)
    return redirect(_next_url(job, WizardStep.MAP_FIELDS) if confirm else reverse("imports:fields", args=[job.number]))


@district_admin_required
def map_schools(request, number: int):
    job, elsewhere = _load_step(request, number, WizardStep.MAP_SCHOOLS)
    if elsewhere:
        return elsewhere
    counts = school_value_counts(sources_for_job(job), ImportOptions.from_job(job))
    values = list(counts)
    schools = selectors.school_choices(district=request.district)
    if request.method == "POST":
        chosen = {value: request.POST.get(f"school_{i}", "") for i, value in enumerate(values)}
        try:
            jobs.import_job_set_school_mapping(job=job, school_mapping=chosen, file_values=values)
        except jobs.ImportError_ as exc:
            messages.error(request, str(exc))
        else:
            return redirect(_next_url(job, WizardStep.MAP_SCHOOLS))
        current = chosen
    else:
        memory = DistrictImportMemory.objects.filter(district=request.district).first()
        proposal = propose_school_mapping(values, schools, remembered=memory.school_mapping if memory else None)
        current = {**proposal, **{k: v for k, v in job.school_mapping.items()}}
    lines = [
        {"index": i, "value": value, "count": counts[value], "selected": str(current.get(value) or "")}
        for i, value in enumerate(values)
    ]
    return _render(request, "imports/wizard/schools.html", job, WizardStep.MAP_SCHOOLS, {"lines": lines, "schools": schools})


@district_admin_required
def validate(request, number: int):
    job, elsewhere = _load_step(request, number, WizardStep.VALIDATE)
    if elsewhere:
        return elsewhere
    if job.validated_at is None:
        import_job_validate(job=job)
    counts = job.validation_summary.get("counts", {})
    if request.method == "POST" and request.POST.get("action") == "next":
        if counts.get("errors"):
            messages.error(request, jobs.ERROR_HAS_ERRORS)
            return redirect("imports:validate", number=job.number)
        return redirect(_step_url(job, jobs.import_job_step_done(job=job, step=WizardStep.VALIDATE)))
    code = request.GET.get("code") or None
    page = Paginator(selectors.import_issues(job=job, code=code), ISSUES_PER_PAGE).get_page(request.GET.get("page"))
    return _render(request, "imports/wizard/validate.html", job, WizardStep.VALIDATE, {
        "counts": counts, "groups": selectors.import_issue_groups(job=job), "page": page, "code": code,
        "Severity": Severity,
    })


@district_admin_required
def actions(request, number: int):
    job, elsewhere = _load_step(request, number, WizardStep.ACTIONS)
    if elsewhere:
        return elsewhere
    groups = selectors.custom_group_list(district=request.district)
    initial = {
        "conflict_policy": job.conflict_policy, "password_policy": job.password_policy,
        "custom_group": job.custom_group_id, "group_members": job.group_members, "email_staff": job.email_staff,
    }
    form = ActionsForm(request.POST or None, initial=initial, groups=groups)
    if request.method == "POST" and form.is_valid():
        try:
            jobs.import_job_set_actions(
                job=job, conflict_policy=form.cleaned_data["conflict_policy"],
                password_policy=form.cleaned_data["password_policy"], custom_group_id=form.cleaned_data["custom_group"],
                group_members=form.cleaned_data["group_members"], email_staff=form.cleaned_data["email_staff"],
            )
        except jobs.ImportError_ as exc:
            form.add_error(None, str(exc))
        else:
            return redirect(_next_url(job, WizardStep.ACTIONS))
    return _render(request, "imports/wizard/actions.html", job, WizardStep.ACTIONS, {
        "form": form, "example": job.validation_summary.get("conflict_example"),
        "has_password_column": get_spec(job.import_type).password_field in job.field_mapping,
    })


@district_admin_required
def review(request, number: int):
    job, elsewhere = _load_step(request, number, WizardStep.REVIEW)
    if elsewhere:
        return elsewhere
    if request.method == "POST":
        try:
            job = jobs.import_job_submit(job=job)
        except jobs.ImportError_ as exc:
            messages.error(request, str(exc))
            return redirect("imports:review", number=job.number)
        audit_event_record(action=AuditAction.SUBMIT, request=request, job=job)
        if job.status == ImportStatus.ON_HOLD:
            messages.warning(request, f"Import {job.number} is On hold: it changes more of the district than your limit. Approve or Discard it below.")
        else:
            messages.success(request, f"Import {job.number} is scheduled.")
        return redirect("imports:detail", number=job.number)
    if job.validated_at is None:
        import_job_validate(job=job)
    district = request.district
    starts = next_offpeak_start(now=timezone.now(), timezone=district.timezone, start=district.offpeak_start, end=district.offpeak_end)
    return _render(request, "imports/wizard/review.html", job, WizardStep.REVIEW, {
        "counts": job.validation_summary.get("counts", {}), "starts": starts, "files": job.files.all(),
        "mapping": get_spec(job.import_type).headings_of(job.field_mapping),
        "fixed": get_spec(job.import_type).headings_of(job.fixed_values),
        "school_lines": _school_lines(job),
        "hold": safety.hold_assess(district=district, summary=job.validation_summary, spec=get_spec(job.import_type)),
    })


def _school_lines(job):
    names = {s.id: str(s) for s in job.district.schools.all()}
    return [(value, names.get(int(school_id), "?")) for value, school_id in job.school_mapping.items()]


@district_admin_required
@require_POST
def close(request, number: int):
    job = get_job_or_404(request, number)
    if job.is_draft:
        jobs.import_job_close(job=job)
        messages.info(request, f"Import {number} was closed and its file deleted.")
    return redirect("imports:history")


def bad_request(request, exception=None):
    """Django refuses a POST with far too many files before any view runs: still answer with our message."""
    from django.views.defaults import bad_request as default_bad_request
    from users.permissions import is_district_admin

    if (
        isinstance(exception, TooManyFilesSent) and request.path == reverse("imports:start")
        and is_district_admin(request.user)
    ):
        request.district = request.user.district
        return _render_start(request, StartForm(), error=jobs.ERROR_TOO_MANY_FILES.format(limit=settings.IMPORT_MAX_FILES))
    return default_bad_request(request, exception)
