"""The life of an ImportJob: draft, wizard choices, submit, cancel, close."""
import copy
import hashlib
import os
import tempfile
from contextlib import ExitStack, contextmanager

from django.conf import settings
from django.core.files import File
from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.db.models.functions import Greatest
from django.utils import timezone

from schools.models import District, School
from users.selectors import custom_group_get
from users.services import UserError, custom_group_create

from .. import scheduling, selectors
from ..dispatch import PURGE_CLOSED_DRAFT, RUN_IMPORT, enqueue_on_commit
from ..errors import Refusal
from ..models import (
    FINISHED_STATUSES, BundleRole, DistrictImportMemory, ImportCodedValue, ImportFile, ImportIssue, ImportJob, ImportSchoolValue,
    ImportStatus, ValidationPhase, WizardStep,
)
from ..formats import Bundle, class_counts, open_bundle
from ..pipeline.mapping import missing_required, propose_field_mapping, propose_file_fixed_values, propose_school_mapping
from ..pipeline.normalize import SKIP
from ..pipeline.reading import count_data_rows, inspect_file
from ..types import DEFAULT_TYPE, get_spec
from . import validation
from .safety import import_job_hold_if_needed
from .sources import column_labels, sources_for_job

ERROR_TOO_MANY_FILES = "Upload at most {limit} files at a time."
ERROR_FILE_TOO_LARGE = "{name} is larger than the {limit} MB limit."
ERROR_WRONG_EXTENSION = "{name} is not a .csv, .xlsx or .zip file."
ERROR_NO_FILES = "Choose at least one .csv or .xlsx file to upload."
ERROR_REQUIRED_UNMATCHED = "Match every required (*) field, or give it one value for every row: {fields}."
ERROR_UNKNOWN_COLUMN = 'There is no column "{column}" in the file.'
ERROR_UNKNOWN_FILE = 'There is no file "{name}" in this import.'
ERROR_SCHOOLS_UNMAPPED = "Choose a school for every value in the file: {values}."
ERROR_NOT_YOUR_SCHOOL = "Choose one of your district's schools."
ERROR_NEW_SCHOOL_BLANK = 'Give the new school for "{value}" a name and an SIS ID.'
ERROR_NEW_SCHOOL_TAKEN = 'A school with SIS ID "{sis_id}" exists already: choose it instead of creating one.'
ERROR_NOT_A_VALUE = "Choose one of the Classworks values for {heading}."
ERROR_NOT_YOUR_GROUP = "Choose one of your district's custom groups."
ERROR_HAS_ERRORS = "The file has errors. Fix them in your file and start a new import."
ERROR_NOT_VALIDATED = "Validate the file before submitting."
ERROR_NOT_DRAFT = "This import has already been submitted."
ERROR_CANNOT_CANCEL = "Only a scheduled import can be cancelled."
ERROR_FIXED_PASSWORD = (
    "One password for every user is not allowed. Give each user a password in the file, "
    "or leave Password unmatched so each user sets their own from the login email."
)
ALLOWED_EXTENSIONS = (".csv", ".xlsx", ".txt", ".tsv", ".zip")  # .zip: a roster export (imports/formats/)


class ImportError_(Refusal):
    """A wizard or command step refused, with a message safe to show the admin."""

    default_code = "import_refused"


def _field_values(job: ImportJob) -> dict:
    return {f.attname: copy.deepcopy(getattr(job, f.attname)) for f in job._meta.concrete_fields if not f.primary_key}


@contextmanager
def _saving_changes(job: ImportJob):
    """Save only the fields the block changed, so two admins on one draft keep each other's steps."""
    before = _field_values(job)
    yield
    changed = {name: getattr(job, name) for name, value in before.items() if getattr(job, name) != value}
    if changed:
        job.updated_at = changed["updated_at"] = timezone.now()
        # Only while it is a draft: another admin may have submitted it since this page loaded.
        if not ImportJob.objects.filter(id=job.id, status=ImportStatus.DRAFT).update(**changed):
            raise ImportError_(ERROR_NOT_DRAFT)


def _next_number(district: District) -> int:
    """The district's next import number, from its counter (in the caller's transaction): a number is never
    given twice, even once a closed draft is deleted. The jobs' own highest number covers a counter behind them."""
    highest = ImportJob.objects.filter(district=district).aggregate(n=Max("number"))["n"] or 0
    District.objects.filter(id=district.id).update(last_import_number=Greatest(F("last_import_number"), highest) + 1)
    return District.objects.values_list("last_import_number", flat=True).get(id=district.id)


def import_job_create(*, district: District, created_by=None, description: str = "", import_type: str = DEFAULT_TYPE) -> ImportJob:
    """A new draft with the district's next import number."""
    spec = get_spec(import_type)  # an unknown type is refused before anything is stored
    for _ in range(5):
        try:
            with transaction.atomic():
                return ImportJob.objects.create(
                    district=district, number=_next_number(district), created_by=created_by,
                    description=description.strip()[:255], import_type=spec.import_type,
                    step=spec.steps[0],
                )
        except IntegrityError:  # two drafts raced for the same number
            continue
    raise ImportError_("Could not number the import; try again.")


def check_uploads(files) -> None:
    """Refuse before anything is stored: count, size and type."""
    if not files:
        raise ImportError_(ERROR_NO_FILES)
    if len(files) > settings.IMPORT_MAX_FILES:
        raise ImportError_(ERROR_TOO_MANY_FILES.format(limit=settings.IMPORT_MAX_FILES))
    for f in files:
        if not f.name.lower().endswith(ALLOWED_EXTENSIONS):
            raise ImportError_(ERROR_WRONG_EXTENSION.format(name=f.name))
        if f.size > settings.IMPORT_MAX_FILE_BYTES:
            raise ImportError_(ERROR_FILE_TOO_LARGE.format(name=f.name, limit=settings.IMPORT_MAX_FILE_BYTES // (1024 * 1024)))


@contextmanager
def _local_path(upload):
    """A path on disk for the upload, so the reader can stream it."""
    path = getattr(upload, "temporary_file_path", None)
    if path:
        yield path()
        return
    fd, tmp = tempfile.mkstemp(prefix="upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
        yield tmp
    finally:
        os.unlink(tmp)


def import_files_add(*, job: ImportJob, uploads, has_header: bool | None = None,
                     row_counts: list[int] | None = None) -> list[ImportFile]:
    """Read each upload; store them only if every one is readable (FileReadError names the bad one).

    A OneRoster or SDS upload is kept as uploaded, and the user files made from it are what the import reads.
    row_counts: each plain upload's data rows, when the caller has just read them all (they are not counted again).
    """
    check_uploads(uploads)
    with ExitStack() as stack:
        paths = [stack.enter_context(_local_path(upload)) for upload in uploads]
        workdir = stack.enter_context(tempfile.TemporaryDirectory(prefix="bundle-"))
        named = [(upload.name, path) for upload, path in zip(uploads, paths)]
        bundle = open_bundle(named, workdir)
        if bundle is not None:
            classes = class_counts(bundle)
            return _bundle_files_add(job=job, uploads=uploads, bundle=bundle, classes=classes)
        inspected = []
        for n, (upload, path) in enumerate(zip(uploads, paths)):
            info = inspect_file(path, upload.name, has_header=has_header)
            if row_counts is not None:
                rows = row_counts[n]
            else:
                rows = info.row_count if info.row_count is not None else count_data_rows(path, info)
            inspected.append((upload, info, rows))
    with transaction.atomic():
        start = job.files.count()
        stored = [_store(job, position, upload, upload.name, info, rows) for position, (upload, info, rows) in enumerate(inspected, start)]
        _files_added(job)
    return stored


def _bundle_files_add(*, job: ImportJob, uploads, bundle: Bundle, classes: dict | None = None) -> list[ImportFile]:
    generated = []
    for user_file in bundle.files:
        info = inspect_file(user_file.path, user_file.name, has_header=True)
        generated.append((user_file, info, count_data_rows(user_file.path, info)))
    with transaction.atomic():
        position = job.files.count()
        for upload in uploads:
            _store(job, position, upload, upload.name, None, 0, role=BundleRole.MEMBER)
            position += 1
        stored = []
        for user_file, info, rows in generated:
            with open(user_file.path, "rb") as fh:
                stored.append(_store(job, position, File(fh), user_file.name, info, rows, role=BundleRole.GENERATED))
            position += 1
        with _saving_changes(job):
            job.bundle_summary = {**bundle.summary(), "uploaded": [os.path.basename(u.name) for u in uploads], "classes": classes}
        _files_added(job)
    return stored


def _store(job: ImportJob, position: int, upload, name: str, info, rows: int, role: str = BundleRole.NONE) -> ImportFile:
    """Keep one file byte for byte, with what the reader found out about it (nothing for a bundle's own files)."""
    upload.seek(0)
    digest = hashlib.sha256()
    size = 0
    for chunk in upload.chunks():
        digest.update(chunk)
        size += len(chunk)
    upload.seek(0)
    f = ImportFile(
        job=job, position=position, original_name=os.path.basename(name)[:255], size=size,
        sha256=digest.hexdigest(), bundle_role=role, row_count=rows,
    )
    if info is not None:
        f.encoding, f.delimiter, f.file_format = info.encoding, info.delimiter, info.file_format
        f.has_header, f.headers, f.column_count = info.has_header, info.headers, len(info.column_labels)
        if info.file_format == "xlsx":  # pages show these instead of opening the workbook again
            f.sample_rows = info.sample_rows
    else:
        f.file_format, f.has_header = os.path.splitext(name)[1].lstrip(".").lower()[:8] or "csv", False
    f.stored.save("upload", File(upload), save=False)
    f.save()
    return f


def _files_added(job: ImportJob) -> None:
    with _saving_changes(job):
        _reset_from(job, WizardStep.MAP_FIELDS)
        job.school_values_key = ""
        job.step = _later(job, WizardStep.MAP_FIELDS)
        job.rows_total = sum(x.row_count for x in job.files.all())
        if not job.field_mapping:
            job.field_mapping = proposed_field_mapping(job).matched
        _propose_file_values(job)


def proposed_field_mapping(job: ImportJob):
    """Exact headings and the district's remembered mapping, matched; aliases as suggestions."""
    sources = sources_for_job(job)
    memory = DistrictImportMemory.objects.filter(district=job.district).first()
    labels = column_labels(sources)
    proposal = propose_field_mapping(
        labels, has_header=all(s.info.has_header for s in sources),
        remembered=memory.field_mapping if memory else None, spec=get_spec(job.import_type),
    )
    return with_bundle_mapping(proposal, job.bundle_summary.get("mapping", {}), labels)


def with_bundle_mapping(proposal, bundle_mapping: dict, labels: list[str]):
    """A bundle's own choices (District ID from identifier or sourcedId) come first; the admin can still change them."""
    for key, label in bundle_mapping.items():
        if label not in labels:
            continue
        proposal.matched = {k: v for k, v in proposal.matched.items() if v != label and k != key}
        proposal.matched[key] = label
        proposal.suggestions.pop(key, None)
    return proposal


def import_file_set_header(*, job: ImportJob, import_file: ImportFile, has_header: bool) -> ImportFile:
    """The admin says whether the first row is a header; the columns are read again (the top of the file only)."""
    info = inspect_file(import_file.stored.path, import_file.original_name, has_header=has_header)
    if info.has_header != import_file.has_header:
        # The first row moves between heading and data: the count changes by one, without reading the file again.
        import_file.row_count = max(0, import_file.row_count + (-1 if info.has_header else 1))
    import_file.has_header = info.has_header
    import_file.headers = info.headers
    import_file.column_count = len(info.column_labels)
    with transaction.atomic(), _saving_changes(job):
        import_file.save()
        _reset_from(job, WizardStep.MAP_FIELDS, keep_mapping=False)
        job.school_values_key = ""
        job.rows_total = sum(f.row_count for f in job.files.all())
        job.field_mapping = proposed_field_mapping(job).matched
        _propose_file_values(job)
    return import_file


def _propose_file_values(job: ImportJob) -> None:
    """Pre-fill what each file's name or headings say (Teacher.csv: staff); the admin confirms on Map Fields."""

    files = [(s.settings_name, s.info.column_labels) for s in sources_for_job(job)]
    proposal = propose_file_fixed_values(files, job.field_mapping, job.fixed_values, get_spec(job.import_type))
    job.file_fixed_values = {
        name: {**proposal.get(name, {}), **job.file_fixed_values.get(name, {})} for name, _ in files
        if proposal.get(name) or job.file_fixed_values.get(name)
    }


def _reset_from(job: ImportJob, step: str, *, keep_mapping: bool = True) -> None:
    """Changing a step clears what depends on it: later choices stay, their results do not."""
    if not keep_mapping:
        job.field_mapping = {}
        job.fixed_values = {}
        job.file_fixed_values = {}
    # The old problems stay until the next pass deletes them in batches: a request never deletes a million rows.
    validation.import_job_validation_invalidate(job=job)
    spec = get_spec(job.import_type)
    if spec.step_index(job.step) > spec.step_index(step):
        job.step = step


def import_job_set_field_mapping(
    *, job: ImportJob, field_mapping: dict, fixed_values: dict, column_labels: list[str], confirm: bool = False,
    file_fixed_values: dict | None = None,
) -> ImportJob:
    """Record which column feeds each field, or one value for all rows (of every file, or of one file).

    Match and Unmatch save as they go; with confirm (Next) every * field must be covered.
    file_fixed_values None keeps the job's own.
    """
    spec = get_spec(job.import_type)
    file_fixed_values = job.file_fixed_values if file_fixed_values is None else file_fixed_values
    file_names = [f.original_name for f in job.files.all() if not f.corrected_from_id]
    for name, values in file_fixed_values.items():
        if name not in file_names:
            raise ImportError_(ERROR_UNKNOWN_FILE.format(name=name))
    for key in [*field_mapping, *fixed_values, *(k for values in file_fixed_values.values() for k in values)]:
        if key not in spec.by_key:
            raise ImportError_(f"Unknown field {key}.")
    if spec.password_field in fixed_values or any(spec.password_field in v for v in file_fixed_values.values()):
        raise ImportError_(ERROR_FIXED_PASSWORD)
    for column in field_mapping.values():
        if column not in column_labels:
            raise ImportError_(ERROR_UNKNOWN_COLUMN.format(column=column))
    missing = missing_required(field_mapping, fixed_values, spec, file_fixed_values=file_fixed_values, file_names=file_names)
    if confirm and missing:
        raise ImportError_(ERROR_REQUIRED_UNMATCHED.format(fields=", ".join(spec.heading(k) for k in missing)))
    with transaction.atomic(), _saving_changes(job):
        if (job.field_mapping, job.fixed_values, job.file_fixed_values) != (field_mapping, fixed_values, file_fixed_values):
            job.field_mapping = field_mapping
            job.fixed_values = fixed_values
            job.file_fixed_values = {name: dict(values) for name, values in file_fixed_values.items() if values}
            _reset_from(job, WizardStep.MAP_FIELDS)
        if confirm:
            job.step = _step_after(job, WizardStep.MAP_FIELDS)
    if confirm:
        _start_background_work(job, done=WizardStep.MAP_FIELDS)
    return job


def _later(job: ImportJob, step: str) -> str:
    """The job's step once it has reached `step`: reaching a step again never moves it back."""
    return get_spec(job.import_type).later_step(job.step, step)


def _step_after(job: ImportJob, step: str) -> str:
    """The job's step once `step` is done: the next one in its type's order, or where it already is."""
    return _later(job, get_spec(job.import_type).next_step(step))


def _start_background_work(job: ImportJob, *, done: str) -> None:
    """Leaving a mapping step: read the file's school and coded values before the page that maps them,
    or validate once the type's last mapping step is done."""
    following = get_spec(job.import_type).next_step(done)
    if following in (WizardStep.MAP_SCHOOLS, WizardStep.MAP_VALUES):
        if not validation.school_values_ready(job) and not validation.validation_running(job, ValidationPhase.SCHOOLS):
            validation.import_job_validation_start(job=job, phase=ValidationPhase.SCHOOLS)
    elif following == WizardStep.VALIDATE:
        if job.validated_at is None and not validation.validation_running(job, ValidationPhase.VALIDATE):
            validation.import_job_validation_start(job=job, phase=ValidationPhase.VALIDATE)


def import_job_step_done(*, job: ImportJob, step: str) -> str:
    """Record that the admin finished `step`; returns the step their type goes to next."""
    job.step = _step_after(job, step)
    job.save(update_fields=["step", "updated_at"])
    return get_spec(job.import_type).next_step(step)


def import_job_set_school_mapping(
    *, job: ImportJob, school_mapping: dict, file_values: list[str] | None = None, confirm: bool = True,
    new_schools: dict | None = None,
) -> ImportJob:
    """Record the chosen school for some of the file's values (one page); with confirm, every value must have one.

    A value never chosen takes the school proposed for it (same SIS ID or name, or remembered). Leaving
    School Mapping starts validation in the background. new_schools: file value -> {"name", "sis_id"} of a
    school created when the import is submitted; a value given a school of the district is no longer one.
    """
    planned = _checked_new_schools(job, new_schools or {})
    valid = set(job.district.schools.values_list("id", flat=True))
    chosen = {}
    for value, school_id in school_mapping.items():
        if school_id in (None, ""):
            chosen[value] = None
            continue
        if school_id == SKIP:  # "skip these rows": the value's rows are left out, and counted
            chosen[value] = SKIP
            continue
        try:
            school_id = int(school_id)
        except (TypeError, ValueError):
            raise ImportError_(ERROR_NOT_YOUR_SCHOOL)
        if school_id not in valid:
            raise ImportError_(ERROR_NOT_YOUR_SCHOOL)
        chosen[value] = school_id
    if file_values is None:
        file_values = list(job.school_values.values_list("value", flat=True))
    merged = {**job.school_mapping, **chosen}
    if confirm:
        untouched = [v for v in file_values if v not in merged and v not in planned]
        if untouched:
            memory = DistrictImportMemory.objects.filter(district=job.district).first()
            merged.update(propose_school_mapping(
                untouched, selectors.school_choices(district=job.district), remembered=memory.school_mapping if memory else None,
                names=job.bundle_summary.get("school_names"), not_k12=job.bundle_summary.get("not_k12_schools", ()),
            ))
    # A value chosen on this page without Create school is no longer planned as a new school.
    planned = {v: p for v, p in planned.items() if v in (new_schools or {}) or v not in school_mapping}
    clean = {value: merged[value] for value in file_values if merged.get(value) is not None and value not in planned}
    with transaction.atomic(), _saving_changes(job):
        if (job.school_mapping, job.new_schools) != (clean, planned):
            job.school_mapping = clean
            job.new_schools = planned
            _reset_from(job, WizardStep.VALIDATE)
    unmapped = [v for v in file_values if v not in clean and v not in planned]
    if confirm and unmapped:
        raise ImportError_(ERROR_SCHOOLS_UNMAPPED.format(values=", ".join(unmapped[:10])))
    if confirm:
        with transaction.atomic(), _saving_changes(job):
            job.step = _step_after(job, WizardStep.MAP_SCHOOLS)
        _start_background_work(job, done=WizardStep.MAP_SCHOOLS)
    return job


def _checked_new_schools(job: ImportJob, new_schools: dict) -> dict:
    """The job's planned schools with these added: each needs a name and an SIS ID no school of the district has."""
    planned = {**job.new_schools, **new_schools}
    taken = set(job.district.schools.values_list("sis_id", flat=True))
    seen: set[str] = set()
    clean = {}
    for value, school in planned.items():
        name, sis_id = str(school.get("name", "")).strip()[:200], str(school.get("sis_id", "")).strip()[:64]
        if not name or not sis_id:
            raise ImportError_(ERROR_NEW_SCHOOL_BLANK.format(value=value))
        if sis_id in taken or sis_id in seen:
            raise ImportError_(ERROR_NEW_SCHOOL_TAKEN.format(sis_id=sis_id))
        seen.add(sis_id)
        clean[value] = {"name": name, "sis_id": sis_id}
    return clean


def new_school_defaults(job: ImportJob, value: str) -> dict:
    """What Create school proposes for a file value: the bundle's name for it (orgs.csv, School.csv), else no
    name (the admin types one: a school named after its code, "999", is no name), and the value as its SIS ID."""
    return {"name": (job.bundle_summary.get("school_names") or {}).get(value) or "", "sis_id": value}


def import_job_set_value_mapping(
    *, job: ImportJob, value_mapping: dict, confirm: bool = True, advance: bool = False,
) -> ImportJob:
    """Record the Classworks value chosen for some of the file's unrecognised coded values (one page).

    With confirm, each listed value never chosen takes its proposal (remembered, else suggested); a value
    with neither stays unmapped, and its rows errors. With advance, this is the Value Mapping step's Next.
    """
    spec = get_spec(job.import_type)
    merged = {key: dict(values) for key, values in job.value_mapping.items()}
    for key, values in value_mapping.items():
        coding = spec.by_key[key].rule.coding if key in spec.by_key else None
        if coding is None:
            raise ImportError_(f"Unknown field {key}.")
        allowed = {text for text, _ in coding.choices} | ({SKIP} if coding.can_skip else set())
        for value, target in values.items():
            if target in (None, ""):
                merged.setdefault(key, {}).pop(value, None)
            elif target in allowed:
                merged.setdefault(key, {})[value] = target
            else:
                raise ImportError_(ERROR_NOT_A_VALUE.format(heading=spec.heading(key)))
    listed = list(job.coded_values.values_list("field_key", "value"))
    if confirm:
        proposal = proposed_value_mapping(job, listed)
        for key, value in listed:
            if value not in merged.get(key, {}) and proposal.get(key, {}).get(value) and value not in value_mapping.get(key, {}):
                merged.setdefault(key, {})[value] = proposal[key][value]
    listed_keys = set(listed)
    clean = {k: {v: t for v, t in values.items() if (k, v) in listed_keys} for k, values in merged.items()}
    clean = {k: values for k, values in clean.items() if values}
    with transaction.atomic(), _saving_changes(job):
        if job.value_mapping != clean:
            job.value_mapping = clean
            _reset_from(job, WizardStep.VALIDATE)
        if advance:
            job.step = _step_after(job, WizardStep.MAP_VALUES)
    if advance:
        _start_background_work(job, done=WizardStep.MAP_VALUES)
    return job


def proposed_value_mapping(job: ImportJob, listed: list[tuple[str, str]]) -> dict[str, dict[str, str]]:
    """For each listed (field, file value): the district's last choice for it, else the field's suggestion."""
    spec = get_spec(job.import_type)
    memory = DistrictImportMemory.objects.filter(district=job.district).first()
    remembered = memory.value_mapping if memory else {}
    proposal: dict[str, dict[str, str]] = {}
    for key, value in listed:
        coding = spec.by_key[key].rule.coding if key in spec.by_key else None
        if coding is None:
            continue
        target = remembered.get(key, {}).get(value) or coding.suggest(value)
        if target:
            proposal.setdefault(key, {})[value] = target
    return proposal


def import_job_set_actions(
    *, job: ImportJob, conflict_policy: str, password_policy: str, custom_group_id: int | None,
    group_members: str, email_staff: bool, replace_claimed_passwords: bool = False, also_classes: bool = False,
    new_group_name: str = "",
) -> ImportJob:
    """Record the Additional Actions (a new group named here is made now); the preview depends on them, so re-validate."""
    group = None
    if custom_group_id:
        group = custom_group_get(district=job.district, pk=custom_group_id)
        if group is None:
            raise ImportError_(ERROR_NOT_YOUR_GROUP)
    with transaction.atomic(), _saving_changes(job):
        if new_group_name.strip() and group is None:
            try:
                group = custom_group_create(district=job.district, name=new_group_name)
            except UserError as exc:
                raise ImportError_(str(exc)) from None
        changed = (job.conflict_policy, job.password_policy) != (conflict_policy, password_policy)
        job.conflict_policy = conflict_policy
        job.password_policy = password_policy
        job.custom_group = group
        job.group_members = group_members
        job.email_staff = email_staff
        job.replace_claimed_passwords = replace_claimed_passwords
        # Only an upload that holds classes offers them.
        job.also_classes = also_classes and bool((job.bundle_summary or {}).get("classes"))
        job.step = _step_after(job, WizardStep.ACTIONS)
        if changed:
            validation.import_job_validation_start(job=job, phase=ValidationPhase.VALIDATE)
    return job


def import_job_set_roster_policy(*, job: ImportJob, roster_policy: str) -> ImportJob:
    """Record the Classes type's Additional Actions; what is removed depends on it, so re-validate."""
    with transaction.atomic(), _saving_changes(job):
        changed = job.roster_policy != roster_policy
        job.roster_policy = roster_policy
        job.step = _step_after(job, WizardStep.ACTIONS)
        if changed:
            validation.import_job_validation_start(job=job, phase=ValidationPhase.VALIDATE)
    return job


def remember_mappings(job: ImportJob) -> None:
    """Keep the job's choices for the district's next import; the fields only another import type has stay remembered."""
    spec = get_spec(job.import_type)
    memory = DistrictImportMemory.objects.filter(district=job.district).first()
    others = {k: v for k, v in memory.field_mapping.items() if k not in spec.by_key} if memory else {}
    schools = job.school_mapping if spec.lookup_field("schools") else (memory.school_mapping if memory else {})
    values = {k: dict(v) for k, v in (memory.value_mapping if memory else {}).items()}
    for key, chosen in job.value_mapping.items():
        merged = {**values.get(key, {}), **chosen}
        # The latest choices win when a field's memory is full: it stays the size of one import's values.
        values[key] = dict(list(merged.items())[-validation.MAX_CODED_VALUES:])
    DistrictImportMemory.objects.update_or_create(
        district=job.district,
        defaults={"field_mapping": {**others, **job.field_mapping}, "school_mapping": schools, "value_mapping": values},
    )


def _create_new_schools(job: ImportJob) -> None:
    """Create School Mapping's planned schools (Create school) and point their file values at them."""
    mapping = dict(job.school_mapping)
    for value, planned in job.new_schools.items():
        school, _ = School.objects.get_or_create(
            district=job.district, sis_id=planned["sis_id"], defaults={"name": planned["name"]},
        )
        mapping[value] = school.id
    job.school_mapping = mapping
    job.new_schools = {}


def import_job_submit(*, job: ImportJob, now=None, dispatch: bool = True) -> ImportJob:
    """Schedule the draft for the district's next off-peak window. A second submit changes nothing."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = ImportJob.objects.select_for_update().get(id=job.id)
        if locked.status != ImportStatus.DRAFT:
            return locked
        if locked.validated_at is None:
            raise ImportError_(ERROR_NOT_VALIDATED)
        if locked.validation_summary.get("counts", {}).get("errors"):
            raise ImportError_(ERROR_HAS_ERRORS)
        district = locked.district
        locked.run_after = scheduling.next_offpeak_start(
            now=now, timezone=district.timezone, start=district.offpeak_start, end=district.offpeak_end
        )
        locked.status = ImportStatus.SCHEDULED
        locked.submitted_at = now
        _create_new_schools(locked)
        locked.save()
        remember_mappings(locked)
        if import_job_hold_if_needed(job=locked):
            return locked
        if dispatch and locked.run_after <= now:
            ImportJob.objects.filter(id=locked.id).update(dispatched_at=now)
            enqueue_on_commit(RUN_IMPORT, locked.id)
    return locked


def import_job_cancel(*, job: ImportJob) -> bool:
    """Cancel a scheduled job before it starts."""
    return bool(
        ImportJob.objects.filter(id=job.id, status__in=[ImportStatus.SCHEDULED, ImportStatus.ON_HOLD]).update(
            status=ImportStatus.CANCELLED, completed_at=timezone.now()
        )
    )


def import_job_close(*, job: ImportJob) -> None:
    """Close X: abandon a draft and delete its files.

    A draft with many stored problems is hidden at once and deleted by a task in committed batches:
    deleting a million rows takes seconds, and on SQLite one long delete would block every sign-in.
    """
    if job.status != ImportStatus.DRAFT:
        return
    files = list(job.files.all())
    if ImportIssue.objects.filter(job=job)[: validation.background.DELETE_BATCH + 1].count() <= validation.background.DELETE_BATCH:
        with transaction.atomic():
            job.delete()
    else:
        validation.import_job_validation_invalidate(job=job)  # a pass still running stops at its next batch
        ImportJob.objects.filter(id=job.id, status=ImportStatus.DRAFT).update(closed_at=timezone.now())
        enqueue_on_commit(PURGE_CLOSED_DRAFT, job.id)
    for f in files:
        f.stored.storage.delete(f.stored.name)


def import_job_ids_closed() -> list[int]:
    return list(ImportJob.objects.filter(status=ImportStatus.DRAFT, closed_at__isnull=False).values_list("id", flat=True))


def import_job_closed_purge(*, job_id: int) -> None:
    """Delete a closed draft: its problems a committed batch at a time, then the draft itself."""
    while True:
        ids = list(ImportIssue.objects.filter(job_id=job_id, job__closed_at__isnull=False).values_list("id", flat=True)[: validation.background.DELETE_BATCH])
        if not ids:
            break
        ImportIssue.objects.filter(id__in=ids).delete()
    with transaction.atomic():
        closed = ImportJob.objects.filter(id=job_id, status=ImportStatus.DRAFT, closed_at__isnull=False).first()
        if closed is not None:
            validation.built_rows_delete(job=closed)
            closed.delete()


def import_files_purge(*, job: ImportJob) -> None:
    """Delete a finished job's student files and the problems its error report is made of; the history row stays."""
    if job.status not in FINISHED_STATUSES:
        return
    for f in job.files.filter(deleted_at__isnull=True):
        f.stored.storage.delete(f.stored.name)
        f.deleted_at = timezone.now()
        f.save(update_fields=["deleted_at"])
    ImportIssue.objects.filter(job=job).delete()
    ImportSchoolValue.objects.filter(job=job).delete()
    ImportCodedValue.objects.filter(job=job).delete()
    validation.built_rows_delete(job=job)
