"""The import wizard: one small view per step over a draft ImportJob (URLs /imports/<number>/<step>/)."""
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import TooManyFilesSent
from django.core.paginator import Paginator
from django.db import transaction
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST
from django.views.defaults import bad_request as default_bad_request

from core.permissions import district_admin_required, is_district_admin
from users.models import AuditAction
from users.services import audit_event_record

from .. import selectors
from ..errors import Refusal
from ..forms import ActionsForm, MatchForm, RosterActionsForm, StartForm
from ..models import BundleRole, DistrictImportMemory, ImportFile, ImportStatus, Severity, ValidationPhase, WizardStep
from ..pipeline.mapping import missing_required, propose_school_mapping
from ..pipeline.masking import is_password_heading
from ..pipeline.normalize import SKIP, SKIP_LABEL, SKIP_NOT_K12_LABEL
from ..scheduling import next_offpeak_start
from ..services import jobs, safety, validation
from ..services.sources import column_labels, column_samples, current_files, sources_for_job
from ..types import ALL_SPECS, DEFAULT_TYPE, SPECS, get_spec
from .common import get_job_or_404

ISSUES_PER_PAGE = 50
SCHOOL_VALUES_PER_PAGE = 200
SCHOOL_LINES_ON_REVIEW = 50
CODED_VALUES_PER_PAGE = 200
NEW_SCHOOL_CHOICE = "new"  # the School Mapping drop-down's "Create school"
# Beyond this many schools each line gets a text box over one shared <datalist> instead of its own
# <select>: 200 lines of 2,000 options each were 25 MB of HTML and 17 s to render.
SCHOOL_SELECT_MAX = 50
NEW_SCHOOL_TEXT = "Create school"
ERROR_CHOOSE_COLUMN = "Choose a column for {field}, then Match {field}."


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


def _steps_of(spec, current: str) -> list[dict]:
    return [{"key": s.value, "label": s.label, "current": s.value == current} for s in spec.steps]


def _render(request, template: str, job, step: str, context: dict):
    spec = get_spec(job.import_type)
    previous = spec.previous_step(step)
    return render(request, template, {
        "job": job, "spec": spec, "steps": _steps(job, step), "tab": "import",
        "back_url": _step_url(job, previous) if previous else "", **context,
    })


def _pending(job, phase: str) -> dict:
    """What a page waiting on the background pass shows: its progress, or why it stopped."""
    validation.import_job_validation_ensure(job=job, phase=phase)
    return {
        "phase": ValidationPhase(phase).label, "error": job.validation_error,
        "rows_done": job.validation_rows_done, "rows_total": job.rows_total,
        "progress_url": reverse("imports:validation_progress", args=[job.number]),
    }


@district_admin_required
def validation_progress(request, number: int):
    """The wizard's background pass, polled by wizard.js; a stalled pass is dispatched again from here too."""
    job = get_job_or_404(request, number)
    running = job.is_draft and bool(job.validation_phase) and not job.validation_error
    if running:
        validation.import_job_validation_redispatch_if_stale(job=job)
    return JsonResponse({
        "running": running, "rows_done": job.validation_rows_done, "rows_total": job.rows_total,
        "error": bool(job.validation_error),
    })


@district_admin_required
def start(request):
    try:
        files = request.FILES
    except TooManyFilesSent:  # Django's own cap, far above ours: answer with our message, not a bare 400
        return _render_start(request, StartForm(), error=jobs.ERROR_TOO_MANY_FILES.format(limit=settings.IMPORT_MAX_FILES))
    form = StartForm(request.POST or None, files or None)
    if request.method == "POST" and form.is_valid():
        # A folder chosen whole brings the system's hidden files (.DS_Store, desktop.ini): they are not the admin's.
        uploads = [f for f in request.FILES.getlist("files") if not _system_file(f.name)]
        try:
            jobs.check_uploads(uploads)
            with transaction.atomic():
                job = jobs.import_job_create(
                    district=request.district, created_by=request.user,
                    description=form.cleaned_data["description"], import_type=form.cleaned_data["import_type"],
                )
                jobs.import_files_add(job=job, uploads=uploads, has_header=False if form.cleaned_data["no_header"] else None)
        except Refusal as exc:
            form.add_error("files", str(exc))
        else:
            return redirect("imports:fields", number=job.number)
    return _render_start(request, form)


def _system_file(name: str) -> bool:
    return name.startswith(".") or name.casefold() in ("desktop.ini", "thumbs.db")


def _render_start(request, form, error: str = ""):
    return render(request, "imports/wizard/start.html", {
        "form": form, "upload_error": error, "steps": _steps(None, WizardStep.UPLOAD), "tab": "import", "specs": ALL_SPECS,
        # One step bar per type, the chosen one shown (wizard.js switches them as the type changes).
        "type_steps": sorted(
            ((s.import_type, _steps_of(s, WizardStep.UPLOAD)) for s in ALL_SPECS),
            key=lambda pair: pair[0] != (form["import_type"].value() or DEFAULT_TYPE),
        ),
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
        return _post_fields(request, job, labels, sources)
    audit_event_record(action=AuditAction.VIEW_FIELD_SAMPLES, request=request, job=job)
    proposal = jobs.proposed_field_mapping(job)
    spec = get_spec(job.import_type)
    mapping, fixed = job.field_mapping, job.fixed_values
    used = set(mapping.values())
    file_names = [s.settings_name for s in sources]
    fields = [
        {
            "field": f, "column": mapping.get(f.key), "fixed": fixed.get(f.key),
            # A column already matched may still be suggested: one column can feed several fields.
            "suggestion": proposal.suggestions.get(f.key) if f.key not in mapping else None,
            "fixed_choices": f.fixed_choices or None,
            # One value for one file's rows: the file it applies to is named next to it.
            "per_file": [
                (name, dict(f.fixed_choices).get(job.file_fixed_values[name][f.key], job.file_fixed_values[name][f.key]))
                for name in file_names if f.key in job.file_fixed_values.get(name, {})
            ],
        }
        for f in spec.fields
    ]
    # A column whose heading says Password is masked even before it is matched.
    hidden = {c for c in labels if is_password_heading(c, spec=spec, field_mapping=mapping)}
    samples = column_samples(sources, hidden=hidden)
    feeds = {}
    for f in spec.fields:
        if mapping.get(f.key) in used:
            feeds.setdefault(mapping[f.key], []).append(f.heading)
    columns = [{"label": c, "samples": samples.get(c, []), "matched": c in used, "feeds": feeds.get(c, [])} for c in labels]
    return _render(request, "imports/wizard/fields.html", job, WizardStep.MAP_FIELDS, {
        "fields": fields, "columns": columns, "files": job.files.exclude(bundle_role=BundleRole.MEMBER),
        "file_names": file_names, "bundle": job.bundle_summary,
        "missing": [
            spec.by_key[k].label
            for k in missing_required(mapping, fixed, spec, file_fixed_values=job.file_fixed_values, file_names=file_names)
        ],
    })


MATCH_REPLACES = "{heading} now reads the column “{column}” instead of “{previous}”."
MATCH_SHARED = "The column “{column}” feeds {heading} and also {others}."


def _say_what_a_match_changes(request, spec, mapping: dict, key: str, column: str) -> None:
    """A match never undoes another silently: say when it replaces the field's column, or shares its column."""
    previous = mapping.get(key)
    if previous and previous != column:
        messages.info(request, MATCH_REPLACES.format(heading=spec.heading(key), column=column, previous=previous))
    others = [spec.heading(k) for k, label in mapping.items() if label == column and k != key]
    if others and previous != column:
        messages.info(request, MATCH_SHARED.format(column=column, heading=spec.heading(key), others=", ".join(others)))


def _post_fields(request, job, labels, sources):
    action, _, target = request.POST.get("action", "").partition(":")
    mapping, fixed = dict(job.field_mapping), dict(job.fixed_values)
    file_fixed = {name: dict(values) for name, values in job.file_fixed_values.items()}
    spec = get_spec(job.import_type)
    confirm = False
    focus = target.partition(":")[0]  # the field whose line the page returns to
    if action in ("match", "pair"):
        if action == "pair":  # the column chosen in the field's own list
            key, column = target, request.POST.get(f"column_for_{target}", "")
            if key not in spec.by_key or column not in labels:
                messages.error(request, ERROR_CHOOSE_COLUMN.format(field=spec.by_key[key].heading if key in spec.by_key else "the field"))
                return redirect(_fields_url(job, key))
        else:
            form = MatchForm(request.POST, column_labels=labels, spec=spec)
            if not form.is_valid():
                messages.error(request, "Click a field and a column, then Match.")
                return redirect("imports:fields", number=job.number)
            column, key = form.cleaned_data["column"], form.cleaned_data["field"]
        focus = key
        _say_what_a_match_changes(request, spec, mapping, key, column)
        mapping[key] = column  # the column keeps feeding its other fields (a username that is the email address)
        fixed.pop(key, None)
        for source in sources:  # a file that has the column now reads it
            if column in source.info.column_labels:
                file_fixed.get(source.settings_name, {}).pop(key, None)
    elif action == "suggest":
        column = jobs.proposed_field_mapping(job).suggestions.get(target)
        if column in labels and target in spec.by_key:
            _say_what_a_match_changes(request, spec, mapping, target, column)
            mapping[target] = column
            fixed.pop(target, None)
    elif action == "unmatch":
        mapping.pop(target, None)
    elif action == "set_fixed":
        key = target
        value = request.POST.get(f"fixed_{key}", "")
        file_name = request.POST.get(f"fixed_file_{key}", "")
        if key in spec.by_key and value and file_name:
            file_fixed.setdefault(file_name, {})[key] = "" if value == "__blank__" else value
        elif key in spec.by_key and value:
            fixed[key] = "" if value == "__blank__" else value
            mapping.pop(key, None)
    elif action == "clear_fixed":
        fixed.pop(target, None)
    elif action == "clear_file_fixed":
        key, _, file_name = target.partition(":")
        file_fixed.get(file_name, {}).pop(key, None)
    elif action == "header":
        import_file = ImportFile.objects.filter(job=job, id=request.POST.get("file")).first()
        if import_file is not None:
            try:
                jobs.import_file_set_header(job=job, import_file=import_file, has_header=request.POST.get("has_header") == "1")
            except Refusal as exc:
                messages.error(request, str(exc))
        return redirect("imports:fields", number=job.number)
    elif action == "next":
        confirm = True
    try:
        jobs.import_job_set_field_mapping(
            job=job, field_mapping=mapping, fixed_values=fixed, column_labels=labels, confirm=confirm,
            file_fixed_values={name: values for name, values in file_fixed.items() if values},
        )
    except Refusal as exc:
        messages.error(request, str(exc))
        return redirect("imports:fields", number=job.number)
    return redirect(_next_url(job, WizardStep.MAP_FIELDS) if confirm else _fields_url(job, focus))


def _fields_url(job, key: str = "") -> str:
    """Map Fields, scrolled to (and, with wizard.js, focused on) the field just matched or unmatched."""
    return reverse("imports:fields", args=[job.number]) + (f"#field-{key}" if key else "")


@district_admin_required
def map_schools(request, number: int):
    job, elsewhere = _load_step(request, number, WizardStep.MAP_SCHOOLS)
    if elsewhere:
        return elsewhere
    if not validation.school_values_ready(job):
        return _render(request, "imports/wizard/schools.html", job, WizardStep.MAP_SCHOOLS, {
            "pending": _pending(job, ValidationPhase.SCHOOLS),
        })
    params = request.POST if request.method == "POST" else request.GET
    search = params.get("q", "").strip()[:255]
    page = Paginator(selectors.school_value_list(job=job, search=search), SCHOOL_VALUES_PER_PAGE).get_page(params.get("page"))
    lines = list(page)
    schools = selectors.school_choices(district=request.district)
    current = dict(job.school_mapping)
    values = _ValuePage(job, params)
    listed = len(schools) > SCHOOL_SELECT_MAX
    if request.method == "POST":
        # A select the form did not send leaves its value as it was (chosen earlier, or proposed at Next).
        chosen = {line.value: request.POST[f"school_{line.position}"] for line in lines if f"school_{line.position}" in request.POST}
        if listed:
            chosen = {value: _school_from_text(text, schools) for value, text in chosen.items()}
        new_schools = {
            value: {"name": request.POST.get(f"new_name_{line.position}", ""), "sis_id": request.POST.get(f"new_sis_{line.position}", "")}
            for line in lines for value in [line.value] if chosen.get(value) == NEW_SCHOOL_CHOICE
        }
        chosen = {value: school for value, school in chosen.items() if value not in new_schools}
        action, _, goto = request.POST.get("action", "next").partition(":")
        confirm = action == "next"
        try:
            jobs.import_job_set_value_mapping(job=job, value_mapping=values.chosen(request.POST), confirm=confirm)
            jobs.import_job_set_school_mapping(job=job, school_mapping=chosen, confirm=confirm, new_schools=new_schools)
        except Refusal as exc:
            messages.error(request, str(exc))
            current.update(chosen)
        else:
            if confirm:
                return redirect(_next_url(job, WizardStep.MAP_SCHOOLS))
            if action == "vsave":
                return redirect(_schools_page_url(job, search, page.number, values.query(int(goto) if goto.isdigit() else 1)))
            return redirect(_schools_page_url(job, search, int(goto) if goto.isdigit() else page.number, values.query()))
    memory = DistrictImportMemory.objects.filter(district=request.district).first()
    proposal = propose_school_mapping(
        [line.value for line in lines], schools, remembered=memory.school_mapping if memory else None,
        names=job.bundle_summary.get("school_names"), not_k12=job.bundle_summary.get("not_k12_schools", ()),
    )
    options = "" if listed else _school_options(schools)
    labels = {str(s.id): _school_label(s) for s in schools} if listed else {}
    not_k12 = set(job.bundle_summary.get("not_k12_schools", ()))
    rows = []
    for line in lines:
        selected = current[line.value] if line.value in current else proposal.get(line.value)
        planned = job.new_schools.get(line.value)
        skip_label = SKIP_NOT_K12_LABEL if line.value in not_k12 else SKIP_LABEL
        row = {"index": line.position, "value": line.value, "count": line.rows,
               "skip": SKIP, "skip_selected": selected == SKIP, "skip_label": skip_label}
        if listed:
            row["text"] = (NEW_SCHOOL_TEXT if planned is not None else skip_label if selected == SKIP
                           else labels.get(str(selected or ""), str(selected or "")))
        else:
            row["options"] = _with_selected(options, selected)
        if planned is not None or selected is None:  # matches no school: it can become a new one
            row["new"] = planned or jobs.new_school_defaults(job, line.value)
            row["new_selected"] = planned is not None
        rows.append(row)
    return _render(request, "imports/wizard/schools.html", job, WizardStep.MAP_SCHOOLS, {
        "lines": rows, "page": page, "q": search,
        "paged": page.paginator.num_pages > 1 or bool(search), "values": values.context(),
        "new_school_choice": NEW_SCHOOL_CHOICE, "listed": listed, "new_school_text": NEW_SCHOOL_TEXT,
        "skip_label": SKIP_LABEL, "skip_not_k12_label": SKIP_NOT_K12_LABEL,
        "school_labels": [labels[str(s.id)] for s in schools] if listed else [],
    })


class _ValuePage:
    """One page of the job's unrecognised coded values (value mapping): the same look on School Mapping and Value Mapping."""

    def __init__(self, job, params):
        self.job, self.spec = job, get_spec(job.import_type)
        self.search = params.get("vq", "").strip()[:255]
        self.page = Paginator(selectors.coded_value_list(job=job, search=self.search), CODED_VALUES_PER_PAGE).get_page(params.get("vpage"))
        self.lines = list(self.page)

    def chosen(self, post) -> dict[str, dict[str, str]]:
        """The drop-downs this page sent, per field."""
        found: dict[str, dict[str, str]] = {}
        for line in self.lines:
            name = f"value_{line.position}"
            if name in post:
                found.setdefault(line.field_key, {})[line.value] = post[name]
        return found

    def query(self, page: int | None = None) -> dict:
        page = page or self.page.number
        return {k: v for k, v in (("vq", self.search), ("vpage", page if page > 1 else None)) if v}

    def context(self) -> dict:
        proposal = jobs.proposed_value_mapping(self.job, [(line.field_key, line.value) for line in self.lines])
        rows = []
        for line in self.lines:
            field = self.spec.by_key.get(line.field_key)
            if field is None:
                continue
            coding = field.rule.coding
            chosen = self.job.value_mapping.get(line.field_key, {}).get(line.value)
            selected = chosen if chosen is not None else proposal.get(line.field_key, {}).get(line.value, "")
            choices = [*coding.choices, *(((SKIP, coding.skip_label(line.value)),) if coding.can_skip else ())]
            rows.append({
                "index": line.position, "heading": field.heading, "value": line.value, "count": line.rows,
                "choices": [{"value": v, "label": label, "selected": v == selected} for v, label in choices],
            })
        return {
            "lines": rows, "page": self.page, "q": self.search,
            "paged": self.page.paginator.num_pages > 1 or bool(self.search),
        }


@district_admin_required
def map_values(request, number: int):
    """Value Mapping as its own step, for a type without School Mapping."""
    job, elsewhere = _load_step(request, number, WizardStep.MAP_VALUES)
    if elsewhere:
        return elsewhere
    if not validation.school_values_ready(job):
        return _render(request, "imports/wizard/values.html", job, WizardStep.MAP_VALUES, {
            "pending": _pending(job, ValidationPhase.SCHOOLS),
        })
    params = request.POST if request.method == "POST" else request.GET
    values = _ValuePage(job, params)
    if request.method == "POST":
        action, _, goto = request.POST.get("action", "next").partition(":")
        confirm = action == "next"
        try:
            jobs.import_job_set_value_mapping(job=job, value_mapping=values.chosen(request.POST), confirm=confirm, advance=confirm)
        except Refusal as exc:
            messages.error(request, str(exc))
        else:
            if confirm:
                return redirect(_next_url(job, WizardStep.MAP_VALUES))
            query = urlencode(values.query(int(goto) if goto.isdigit() else None))
            return redirect(reverse("imports:values", args=[job.number]) + (f"?{query}" if query else ""))
    return _render(request, "imports/wizard/values.html", job, WizardStep.MAP_VALUES, {"values": values.context()})


def _school_options(schools) -> str:
    """The district's schools as <option>s, rendered once per page rather than once per line."""
    return "".join(
        format_html('<option value="{}">{} ({})</option>', s.id, s.name, s.sis_id) for s in schools
    )


def _school_label(school) -> str:
    return f"{school.name} ({school.sis_id})" if school.sis_id else school.name


def _school_from_text(text: str, schools) -> str:
    """A school chosen in a text box: its list label, its SIS ID or its name (when one school has it).
    Blank stays unchosen; text that names no school is sent on as is and refused as not the district's."""
    text = " ".join(text.split())
    if not text:
        return ""
    if text.casefold() == NEW_SCHOOL_TEXT.casefold():
        return NEW_SCHOOL_CHOICE
    if text.casefold() in (SKIP_LABEL.casefold(), SKIP_NOT_K12_LABEL.casefold()):
        return SKIP
    for key in (_school_label, lambda s: s.sis_id, lambda s: s.name):
        found = [s for s in schools if (key(s) or "").casefold() == text.casefold()]
        if len(found) == 1:
            return str(found[0].id)
    return text


def _with_selected(options: str, school_id) -> str:
    """The options with one school selected; options holds only escaped names, and the id is digits."""
    if not str(school_id or "").isdigit():
        return mark_safe(options)
    marker = f'<option value="{int(school_id)}">'
    return mark_safe(options.replace(marker, f'<option value="{int(school_id)}" selected>', 1))


def _schools_page_url(job, search: str, page: int, values_query: dict | None = None) -> str:
    query = urlencode({**{k: v for k, v in (("q", search), ("page", page)) if v}, **(values_query or {})})
    return reverse("imports:schools", args=[job.number]) + (f"?{query}" if query else "")


@district_admin_required
def validate(request, number: int):
    job, elsewhere = _load_step(request, number, WizardStep.VALIDATE)
    if elsewhere:
        return elsewhere
    if job.validated_at is None:
        if request.method == "POST":
            return redirect("imports:validate", number=job.number)
        return _render(request, "imports/wizard/validate.html", job, WizardStep.VALIDATE, {
            "pending": _pending(job, ValidationPhase.VALIDATE),
        })
    counts = job.validation_summary.get("counts", {})
    if request.method == "POST" and request.POST.get("action") == "next":
        if counts.get("errors"):
            messages.error(request, jobs.ERROR_HAS_ERRORS)
            return redirect("imports:validate", number=job.number)
        return redirect(_step_url(job, jobs.import_job_step_done(job=job, step=WizardStep.VALIDATE)))
    code = request.GET.get("code") or None
    groups = job.validation_summary.get("groups")
    if groups is None:  # a job validated before the pass stored its groups
        groups = selectors.import_issue_groups(job=job)
    page = Paginator(selectors.import_issues(job=job, code=code), ISSUES_PER_PAGE).get_page(request.GET.get("page"))
    audit_event_record(action=AuditAction.VIEW_VALIDATION, request=request, job=job)  # issues and the fix-rows editor
    return _render(request, "imports/wizard/validate.html", job, WizardStep.VALIDATE, {
        "counts": counts, "groups": groups, "page": page, "code": code,
        "Severity": Severity,
    })


@district_admin_required
def actions(request, number: int):
    job, elsewhere = _load_step(request, number, WizardStep.ACTIONS)
    if elsewhere:
        return elsewhere
    if "roster_policy" in get_spec(job.import_type).options:
        return _roster_actions(request, job)
    groups = selectors.custom_group_list(district=request.district)
    initial = {
        "conflict_policy": job.conflict_policy, "password_policy": job.password_policy,
        "custom_group": job.custom_group_id, "group_members": job.group_members, "email_staff": job.email_staff,
        "replace_claimed_passwords": job.replace_claimed_passwords,
        # Offered ticked, as the upload holds them; coming back from Review shows what was chosen.
        "also_classes": job.also_classes if job.step == WizardStep.REVIEW else True,
    }
    claimed = job.validation_summary.get("claimed_passwords", 0)
    form = ActionsForm(request.POST or None, initial=initial, groups=groups, claimed=claimed,
                       classes=(job.bundle_summary or {}).get("classes"))
    if request.method == "POST" and form.is_valid():
        try:
            jobs.import_job_set_actions(
                job=job, conflict_policy=form.cleaned_data["conflict_policy"],
                password_policy=form.cleaned_data["password_policy"], custom_group_id=form.cleaned_data["custom_group"],
                group_members=form.cleaned_data["group_members"], email_staff=form.cleaned_data["email_staff"],
                replace_claimed_passwords=form.cleaned_data["replace_claimed_passwords"],
                also_classes=form.cleaned_data.get("also_classes", False),
                new_group_name=form.cleaned_data["new_group_name"],
            )
        except Refusal as exc:
            form.add_error(None, str(exc))
        else:
            return redirect(_next_url(job, WizardStep.ACTIONS))
    return _render(request, "imports/wizard/actions.html", job, WizardStep.ACTIONS, {
        "form": form, "example": job.validation_summary.get("conflict_example"),
        "has_password_column": get_spec(job.import_type).password_field in job.field_mapping, "claimed": claimed,
    })


def _roster_actions(request, job):
    """Additional Actions of the Classes type: add to each class, or replace each class's roster."""
    form = RosterActionsForm(request.POST or None, initial={"roster_policy": job.roster_policy})
    if request.method == "POST" and form.is_valid():
        jobs.import_job_set_roster_policy(job=job, roster_policy=form.cleaned_data["roster_policy"])
        return redirect(_next_url(job, WizardStep.ACTIONS))
    return _render(request, "imports/wizard/roster_actions.html", job, WizardStep.ACTIONS, {"form": form})


@district_admin_required
def review(request, number: int):
    job, elsewhere = _load_step(request, number, WizardStep.REVIEW)
    if elsewhere:
        return elsewhere
    if request.method == "POST":
        try:
            job = jobs.import_job_submit(job=job)
        except Refusal as exc:
            messages.error(request, str(exc))
            return redirect("imports:review", number=job.number)
        audit_event_record(action=AuditAction.SUBMIT, request=request, job=job)
        if job.status == ImportStatus.ON_HOLD:
            reason = job.hold_summary.get("reason") or "it changes more of the district than your limit."
            messages.warning(request, f"Import {job.number} is On hold. {reason} Approve or Discard it below.")
        else:
            messages.success(request, f"Import {job.number} is scheduled.")
        return redirect("imports:detail", number=job.number)
    if job.validated_at is None:
        # New Additional Actions change the preview: it is computed again in the background.
        return _render(request, "imports/wizard/review.html", job, WizardStep.REVIEW, {
            "pending": _pending(job, ValidationPhase.VALIDATE),
        })
    district = request.district
    starts = next_offpeak_start(now=timezone.now(), timezone=district.timezone, start=district.offpeak_start, end=district.offpeak_end)
    return _render(request, "imports/wizard/review.html", job, WizardStep.REVIEW, {
        "counts": job.validation_summary.get("counts", {}), "starts": starts,
        # A corrected version replaces its file: listed once, under the uploaded name, as the import reads it.
        "files": current_files(job), "bundle": job.bundle_summary,
        "mapping": get_spec(job.import_type).headings_of(job.field_mapping),
        "fixed": get_spec(job.import_type).headings_of(job.fixed_values),
        "file_fixed": get_spec(job.import_type).headings_of_files(job.file_fixed_values),
        "school_lines": _school_lines(job), "school_count": len(job.school_mapping) + len(job.new_schools),
        "value_lines": value_mapping_lines(job),
        # Value mapping is on its own step, or on School Mapping for a type that has that step.
        "values_url": _step_url(job, WizardStep.MAP_VALUES if get_spec(job.import_type).has_step(WizardStep.MAP_VALUES) else WizardStep.MAP_SCHOOLS),
        "hold": safety.hold_assess(district=district, summary=job.validation_summary, spec=get_spec(job.import_type)),
    })


def _school_lines(job):
    names = {s.id: str(s) for s in job.district.schools.all()}
    lines = list(job.school_mapping.items())[:SCHOOL_LINES_ON_REVIEW]
    planned = [(value, f"new school {p['name']} ({p['sis_id']})") for value, p in job.new_schools.items()]
    return planned[:SCHOOL_LINES_ON_REVIEW] + [
        (value, _school_skip_label(job, value) if school_id == SKIP else names.get(int(school_id), "?")) for value, school_id in lines
    ]


def _school_skip_label(job, value: str) -> str:
    return _lowered(SKIP_NOT_K12_LABEL if value in job.bundle_summary.get("not_k12_schools", ()) else SKIP_LABEL)


def _lowered(label: str) -> str:
    """A label inside a sentence: only its first letter changes (K-12 stays K-12)."""
    return label[:1].lower() + label[1:]


def value_mapping_lines(job) -> list[tuple[str, str, str]]:
    """(field heading, file value, what it became) for each value mapping choice, for Review and the details page."""
    spec = get_spec(job.import_type)
    lines = []
    for key, chosen in job.value_mapping.items():
        field = spec.by_key.get(key)
        if field is None or field.rule.coding is None:
            continue
        coding = field.rule.coding
        labels = dict(coding.choices)
        lines += [
            (field.heading, value, _lowered(coding.skip_label(value)) if target == SKIP else labels.get(target, target))
            for value, target in chosen.items()
        ]
    return lines[:SCHOOL_LINES_ON_REVIEW]


@district_admin_required
def close(request, number: int):
    """GET asks first (a page, so it works without JavaScript); POST closes the draft."""
    job = get_job_or_404(request, number)
    if request.method != "POST":
        if not job.is_draft:
            return redirect("imports:detail", number=job.number)
        step = job.step if job.step != WizardStep.UPLOAD else WizardStep.MAP_FIELDS
        return _render(request, "imports/wizard/close.html", job, step, {"keep_url": _step_url(job, step)})
    if job.is_draft:
        jobs.import_job_close(job=job)
        messages.info(request, f"Import {number} was closed and its file deleted.")
    return redirect("imports:history")


def bad_request(request, exception=None):
    """Django refuses a POST with far too many files before any view runs: still answer with our message."""
    if (
        isinstance(exception, TooManyFilesSent) and request.path == reverse("imports:start")
        and is_district_admin(request.user)
    ):
        request.district = request.user.district
        return _render_start(request, StartForm(), error=jobs.ERROR_TOO_MANY_FILES.format(limit=settings.IMPORT_MAX_FILES))
    return default_bad_request(request, exception)
