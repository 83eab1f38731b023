"""The Classes import's own path: read its rows, check them, hold, write through its target, undo.

The user engine (validation.py, apply.py) reads users; a Classes row is an enrollment, so this
module runs the Classes type from the file (or a roster upload's class files) to the write.
"""
import dataclasses
import json
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db.models import F
from django.utils import timezone

from classes.models import ClassChange, ClassChangeKind, ClassStudent, ClassTeacher, SchoolClass

from ..models import BundleRole, ImportIssue, ImportJob, ImportStatus
from ..formats import bundle_class_rows, open_class_files
from ..pipeline.class_rows import ClassBlock, ClassPlan, ClassRow, class_blocks, class_blocks_check_at_once
from ..pipeline.reading import iter_row_blocks
from ..targets.classes import ClassChanges, ClassesTarget, StoredClasses
from ..types.classes import CLASSES, ROSTER_REPLACE
from .collector import few_collections
from .sources import ImportOptions, Source, sources_for_job

# Past a handful of enrollments a share means something: dropping 3 of 5 is no mass change.
MIN_REMOVED_ENROLLMENTS = 10
ERROR_CLASSES_NOT_WRITTEN = "The users were imported; the upload's classes were not."
ERROR_REVALIDATION = "The classes no longer validate ({errors} errors): nothing was written. Check the file and import it again."


@dataclass
class ClassesCheck:
    plan: ClassPlan
    stored: StoredClasses
    changes: ClassChanges
    people: dict = field(default_factory=dict, repr=False)  # what the plan was checked against
    rosters: dict = field(default_factory=dict, repr=False)  # the plan's rosters, as the target compares them
    people_version: str | None = None  # the people's digest, taken before they were read (PostgreSQL)
    compared: bool = True  # False: stored and changes are still to be read (classes_compare)

    def counts(self) -> dict:
        return {
            "rows": self.plan.rows, "classes": len(self.plan.classes), "enrollments": self.plan.enrollments,
            "errors": self.plan.counts["errors"], "warnings": self.plan.counts["warnings"],
            **(self.changes.counts() if self.compared else {}),
        }


def file_class_blocks(sources: list[Source], options: ImportOptions) -> Iterator[ClassBlock]:
    """The rows of plain Classes files, a block at a time, as field key -> texts by the mapping (a file's fixed values win)."""
    for source in sources:
        labels = source.info.column_labels
        index = {key: labels.index(label) for key, label in options.field_mapping.items() if label in labels}
        fixed = options.fixed_for(source)
        for block in iter_row_blocks(source.path, source.info, strip=False):  # the check strips each distinct text once
            values = {key: block.columns[i] for key, i in index.items()}
            values.update((key, (value,) * len(block.rows)) for key, value in fixed.items())
            yield ClassBlock(source.info.name, block.rows, values, block.problems)


def bundle_class_blocks(files) -> Iterator[ClassBlock]:
    """A roster upload's enrollments, a block at a time."""
    return class_blocks(ClassRow(*r) for r in bundle_class_rows(files)) if files else iter(())


def classes_check(*, district, rows: Callable[[], Iterator[ClassBlock]], school_ids: Mapping[str, int], replace: bool,
                  columns: dict | None = None, checked: "ClassesCheck | None" = None, compare: bool = True,
                  kept: bool = False) -> ClassesCheck:
    """Check the rows (read once) and compare them with what is stored. school_ids: file value -> school id.

    checked: an earlier check of the same rows and choices; its plan is taken again when the people it was
    checked against are still the district's (the plan depends on nothing else), so the file is not read again.
    compare False leaves the comparison to classes_compare (a run at once compares in its run).
    kept: the check is kept for its run in this process (classes_check_keep), which compares the people's digest.
    """
    with few_collections():
        # Taken before the people are read (a change after it gives the next digest another value), and only
        # where a digest is compared: by a check kept for its run, and by that run.
        version = ClassesTarget.people_version(district=district) if kept or checked is not None else None
        if checked is not None and version is not None and version == checked.people_version:
            plan, rosters, people = checked.plan, checked.rosters, checked.people
        else:
            people = ClassesTarget.people(district=district)
            if checked is not None and checked.people == people:
                plan, rosters = checked.plan, checked.rosters
            else:
                plan = class_blocks_check_at_once(rows, people=people, school_ids=school_ids, columns=columns, spec=CLASSES)
                rosters = ClassesTarget.rosters(plan)
        check = ClassesCheck(plan, StoredClasses(), ClassChanges(), people, rosters, people_version=version, compared=False)
        return classes_compare(district=district, check=check, replace=replace) if compare else check


def classes_compare(*, district, check: ClassesCheck, replace: bool) -> ClassesCheck:
    """The check's plan compared with what is stored now."""
    stored = ClassesTarget.lookup(district=district, keys=check.plan.classes, rosters=check.rosters)
    changes = ClassesTarget.compare(plan=check.plan, stored=stored, replace=replace)
    return dataclasses.replace(check, stored=stored, changes=changes, compared=True)


def classes_summary(check: ClassesCheck) -> dict:
    """A Classes job's validation summary, as the command stores it (the wizard's: wizard_summary)."""
    return {"counts": check.counts()}


# The command's check of a job it runs at once (--now), by job id: the run takes its plan again if the files
# and choices are the ones it was made from (this process only; a worker always reads the files).
_CHECKED: dict[int, tuple[str, ClassesCheck]] = {}


def _rows_key(job: ImportJob) -> str:
    """What a job's rows and their checks depend on: its files' bytes and its mapping choices."""
    files = sorted(job.files.values_list("sha256", flat=True))
    return json.dumps([files, job.field_mapping, job.fixed_values, job.file_fixed_values, job.school_mapping], sort_keys=True)


def classes_check_keep(*, job: ImportJob, check: ClassesCheck) -> None:
    """Keep the check made before the job was created, for its run in this process."""
    _CHECKED.clear()  # one at a time: a command runs one import
    _CHECKED[job.id] = (_rows_key(job), check)


def classes_hold_assess(*, district, check: ClassesCheck) -> dict:
    """Whether the run removes more of the district's enrollments than its change threshold allows."""
    existing = check.stored.enrollments_in_district
    removed = check.changes.removed
    percent = round(100 * removed / existing, 1) if existing else 0.0
    threshold = district.change_threshold_percent
    return {
        "removed_enrollments": removed, "existing_enrollments": existing, "percent": percent, "threshold": threshold,
        "changed": removed, "hold": removed >= MIN_REMOVED_ENROLLMENTS and percent > threshold,
    }


@contextmanager
def job_class_rows(job: ImportJob):
    """A callable giving the job's class rows afresh: its plain files', or its roster upload's class files'."""
    members = [f for f in job.files.all() if f.bundle_role == BundleRole.MEMBER]
    if members:
        with tempfile.TemporaryDirectory(prefix="classes-") as workdir:
            files = open_class_files([(f.original_name, f.stored.path) for f in members], workdir)
            yield (lambda: bundle_class_blocks(files)), {}
        return
    sources, options = sources_for_job(job), ImportOptions.from_job(job)
    yield (lambda: file_class_blocks(sources, options)), dict(options.field_mapping)


def job_classes_check(*, job: ImportJob) -> ClassesCheck:
    key, checked = _CHECKED.pop(job.id, (None, None))
    if checked is not None and key != _rows_key(job):
        checked = None
    with job_class_rows(job) as (rows, columns):
        school_ids = {k: int(v) for k, v in job.school_mapping.items() if str(v).isdigit()}
        return classes_check(district=job.district, rows=rows, school_ids=school_ids,
                             replace=job.roster_policy == ROSTER_REPLACE, columns=columns, checked=checked)


def classes_job_write(*, job: ImportJob) -> dict | None:
    """Check the job's classes again and write them; None when nothing was written (the job is On hold, or Failed
    because the file no longer validates)."""
    check = job_classes_check(job=job)
    if "enrollments_added" not in job.validation_summary.get("counts", {}):  # the command left the comparison to the run
        ImportJob.objects.filter(id=job.id).update(validation_summary=classes_summary(check))
    if check.plan.has_errors:  # nothing is written; the job fails with the reason, as a user import's would
        ImportJob.objects.filter(id=job.id, status=ImportStatus.RUNNING).update(
            status=ImportStatus.FAILED, failure_reason=ERROR_REVALIDATION.format(errors=check.plan.counts["errors"]),
            completed_at=timezone.now())
        return None
    assessment = classes_hold_assess(district=job.district, check=check)
    if assessment["hold"] and job.approved_at is None:
        ImportJob.objects.filter(id=job.id).update(status=ImportStatus.ON_HOLD, hold_summary=assessment, status_note="")
        return None
    ClassesTarget.write(job=job, changes=check.changes)
    return check.counts()


def classes_job_apply(*, job: ImportJob) -> None:
    """Run a claimed (Running) Classes job: write, record counts, complete."""
    ImportJob.objects.filter(id=job.id).update(heartbeat_at=timezone.now())
    counts = classes_job_write(job=job)
    if counts is None:
        return
    ImportJob.objects.filter(id=job.id, status=ImportStatus.RUNNING).update(
        counts={**counts, "created": counts["classes_created"], "updated": counts["classes_updated"],
                "unchanged": counts["classes_unchanged"], "conflicts": 0},
        rows_total=counts["rows"], rows_done=F("rows_total"), rows_committed=counts["rows"],
        status=ImportStatus.COMPLETED_WITH_WARNINGS if counts["warnings"] else ImportStatus.COMPLETED,
        completed_at=timezone.now(), status_note="",
    )


def classes_after_users(*, job: ImportJob) -> None:
    """A user import that also imports its upload's classes: written after the users, in the same run."""
    job.refresh_from_db()
    if not job.also_classes or job.status not in (ImportStatus.COMPLETED, ImportStatus.COMPLETED_WITH_WARNINGS):
        return
    check = job_classes_check(job=job)
    if check.plan.has_errors:  # the users are written; no class is, and the job lists why
        ImportIssue.objects.bulk_create([
            ImportIssue(job=job, row=i.row, column=i.column[:255], field=i.field, code=i.code, severity=i.severity,
                        message=f"{i.file}: {i.message} {ERROR_CLASSES_NOT_WRITTEN}", suggestion=i.suggestion)
            for i in check.plan.issues if i.is_error
        ], batch_size=2000)
        ImportJob.objects.filter(id=job.id).update(
            counts={**job.counts, "class_errors": check.plan.counts["errors"]}, status=ImportStatus.COMPLETED_WITH_WARNINGS)
        return
    counts = ClassesTarget.write(job=job, changes=check.changes)
    ImportJob.objects.filter(id=job.id).update(counts={**job.counts, **counts, "classes": len(check.plan.classes),
                                                        "enrollments": check.plan.enrollments})


def classes_touched(*, job: ImportJob) -> int:
    """How many classes and enrollments an undo of this import would put back."""
    return (
        SchoolClass.objects.filter(created_by_import=job).count()
        + ClassTeacher.objects.filter(added_by_import=job).count() + ClassStudent.objects.filter(added_by_import=job).count()
        + ClassChange.objects.filter(job=job).count()
    )


def classes_undo_counts(*, job: ImportJob) -> dict:
    """What an undo of this import would do to classes: shown before the admin confirms it."""
    changes = ClassChange.objects.filter(job=job)
    return {
        "classes_deleted": SchoolClass.objects.filter(created_by_import=job).count(),
        "class_members_removed": sum(model.objects.filter(added_by_import=job).exclude(school_class__created_by_import=job).count()
                                     for model in (ClassTeacher, ClassStudent)),
        "class_members_restored": changes.filter(kind=ClassChangeKind.MEMBER_REMOVED).count(),
        "classes_restored": changes.filter(kind=ClassChangeKind.UPDATED).count(),
    }


def classes_undo_apply(*, job: ImportJob, complete: bool) -> None:
    """Undo the classes an import wrote; `complete` finishes the undo job (a Classes import's whole undo)."""
    original = ImportJob.objects.get(id=job.undo_of_id)
    counts = ClassesTarget.undo(job=original, undo_job=job)
    if complete:
        ImportJob.objects.filter(id=job.id, status=ImportStatus.RUNNING).update(
            counts=counts, status=ImportStatus.COMPLETED, completed_at=timezone.now(), status_note="")
    else:
        ImportJob.objects.filter(id=job.id).update(counts={**(job.counts or {}), **counts})


def wizard_summary(check: ClassesCheck) -> dict:
    """The validation summary the wizard's pages read: counts under their keys, and the classes' own."""
    counts = check.counts()
    return {"counts": {**counts, "created": counts["classes_created"], "updated": counts["classes_updated"],
                       "unchanged": counts["classes_unchanged"], "conflict": 0, "conflicts": 0}}
