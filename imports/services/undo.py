"""Undo a finished import: disable the users it created, put back the fields it changed, take
back its custom-group additions.

An undo is an ImportJob of its own (`undo_of` names the undone import), claimed and run by
runs.import_job_run like any import, so it has a status, a completion email and a history row.
It commits a batch of users at a time, with a heartbeat, and logs each user it touched; a re-run
after a crash skips the users already logged, so nothing is done twice.

Never reverted: a field changed again since the import (a later import or a hand edit), which
is reported as skipped with its current value, and passwords, whose old hash is not kept.
Created users are disabled, never deleted, so nothing a student did is lost. A protected account
(users.protection: made an administrator since, say) is never disabled or edited: it is listed as skipped.
"""
from collections import Counter
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from users.models import AuditAction, CustomGroup, User
from users.protection import PROTECTED_COLUMNS, is_protected, protected_q
from users.services import audit_event_record

from ..models import ImportChange, ImportGroupAddition, ImportJob, ImportStatus, WizardStep
from ..selectors import school_labels
from ..types import CHANGE_HEADINGS, SPECS, get_spec
from . import writers
from .apply import ImportAborted, import_job_complete
from .classes import classes_touched, classes_undo_counts
from .jobs import ImportError_, import_job_create

UNDO_BATCH = 2000  # users looked at and written at a time
PREVIEW_ITEMS = 200  # lines of each list the preview shows; the counts are always whole
UNDOABLE_STATUSES = (ImportStatus.COMPLETED, ImportStatus.COMPLETED_WITH_WARNINGS)
# The undo's own change log: what it did to a user besides putting fields back.
ACTIVE_KEY = "is_active"
GROUP_KEY = "custom_group"
PASSWORD_KEY = "password"
# Words, not True/False, so the details page and the results report read without a legend.
ACTIVE, DISABLED, REMOVED = "active", "disabled", "(removed)"
PROTECTED_NOTE = " (an account that imports cannot change)"
# Every import type's stored columns: an undo puts back what any type's import changed.
RECORD_FIELDS = tuple(dict.fromkeys(column for spec in SPECS for column in spec.record_columns))
# A full-roster sync disables and enables users (imports/services/roster.py): its undo puts Active back too.
REVERTED_FIELDS = (*RECORD_FIELDS, ACTIVE_KEY)
FIELD_HEADINGS = CHANGE_HEADINGS

ERROR_NOT_FINISHED = "Only a completed import can be undone; import {number} is {status}."
ERROR_UNDO_OF_UNDO = "Import {number} is itself an undo and cannot be undone."
ERROR_ALREADY_UNDONE = "Import {number} was already undone (import {undo_number}, {status})."
ERROR_UNDO_STARTING = "Import {number} is being undone already."
ERROR_ANOTHER_RUNNING = "Another import of this district is running (import {running}). Undo it once that one has finished."
ERROR_NOTHING_TO_UNDO = "Import {number} created, changed and grouped nobody, so there is nothing to undo."
ERROR_NOT_AN_UNDO = "This job is not an undo."
ERROR_STOPPED = "The undo was stopped while it ran."
BATCH_COUNTS = ("users", "disabled", "reverted", "skipped", "group_removals")


class UndoRefused(ImportError_):
    """An undo that may not start; `code` is stable for callers, the message is for the admin."""

    def __init__(self, message: str, *, code: str):
        super().__init__(message)
        self.code = code


@dataclass
class FieldUndo:
    """One user's fields: those to put back {field: (current, before)} and those skipped {field: (after, current)}."""

    user_id: int
    district_user_id: str
    reverts: dict = field(default_factory=dict)
    skipped: dict = field(default_factory=dict)
    password_kept: bool = False


@dataclass
class UndoPreview:
    """What an undo would do, in whole counts and the first lines of each list."""

    counts: Counter
    disable: list[dict]
    reverts: list[dict]
    skipped: list[dict]
    passwords: list[str]
    group_removals: list[dict]


# ---- reads ----


def _same(current, after) -> bool:
    if current in (None, "") and after in (None, ""):
        return True
    # The change log keeps dates as text (JSON): compare a stored date in the same spelling.
    return current == after or (hasattr(current, "isoformat") and current.isoformat() == after)


def _logged_value(value):
    """A stored value as the change log (JSON) keeps it: a date as YYYY-MM-DD."""
    return value.isoformat() if hasattr(value, "isoformat") else value


def _field_undos(original: ImportJob, *, lock: bool = False, undo_job: ImportJob | None = None):
    """Batches of FieldUndo for the users the import changed, decided against their values now.

    With undo_job, users it already logged (an earlier attempt committed them) are left out.
    """
    school_ids = set(original.district.schools.values_list("id", flat=True))
    pending = ImportChange.objects.filter(job=original)
    if undo_job is not None:
        pending = pending.exclude(user_id__in=_logged(undo_job))
    after_user_id = 0
    while True:
        user_ids = list(
            pending.filter(user_id__gt=after_user_id).order_by("user_id").values_list("user_id", flat=True).distinct()[:UNDO_BATCH]
        )
        if not user_ids:
            return
        after_user_id = user_ids[-1]
        batch = ImportChange.objects.filter(job=original, user_id__in=user_ids).order_by("user_id", "id").values_list(
            "user_id", "district_user_id", "changes"
        )
        users = User.objects.filter(district_id=original.district_id, id__in=user_ids)
        if lock:
            users = users.select_for_update()
        current = {row["id"]: row for row in users.values("id", *dict.fromkeys((*REVERTED_FIELDS, *PROTECTED_COLUMNS)))}
        decided: dict[int, FieldUndo] = {}
        firsts: dict[tuple[int, str], object] = {}
        for user_id, district_user_id, changes in batch:
            if user_id not in current:
                continue
            undo = decided.setdefault(user_id, FieldUndo(user_id=user_id, district_user_id=district_user_id))
            for key, (before, after) in changes.items():
                if key == PASSWORD_KEY:
                    undo.password_kept = True
                    continue
                if key not in REVERTED_FIELDS:
                    continue
                if key == ACTIVE_KEY:  # logged in words, stored as a flag
                    before, after = before == ACTIVE, after == ACTIVE
                # A re-run may log a user twice: the earliest before and the latest after hold.
                before = firsts.setdefault((user_id, key), before)
                undo.reverts.pop(key, None)
                undo.skipped.pop(key, None)
                now = current[user_id][key]
                # A school deleted since cannot be gone back to: the field stays, listed as skipped.
                if _is_protected(current[user_id]) or not _same(now, after) or (key == "school_id" and before is not None and before not in school_ids):
                    undo.skipped[key] = (after, now)
                else:
                    undo.reverts[key] = (now, before)
        yield list(decided.values()), current


def _is_protected(stored: dict) -> bool:
    return is_protected(**{c: stored[c] for c in PROTECTED_COLUMNS})


def _logged(undo_job: ImportJob):
    return ImportChange.objects.filter(job=undo_job).values("user_id")


def _created_active(original: ImportJob):
    return User.objects.filter(district_id=original.district_id, created_by_import=original, is_active=True)


def _created_to_disable(original: ImportJob):
    return _created_active(original).exclude(protected_q())


def _group_additions_present(original: ImportJob, user_ids=None):
    """The import's group additions whose membership still stands."""
    through = CustomGroup.members.through
    additions = ImportGroupAddition.objects.filter(job=original).filter(
        Exists(through.objects.filter(customgroup_id=OuterRef("group_id"), user_id=OuterRef("user_id")))
    )
    if user_ids is not None:
        additions = additions.filter(user_id__in=user_ids)
    return additions


def _touched_users(original: ImportJob):
    return User.objects.filter(district_id=original.district_id).filter(
        Q(created_by_import=original)
        | Q(id__in=ImportChange.objects.filter(job=original).values("user_id"))
        | Q(id__in=ImportGroupAddition.objects.filter(job=original).values("user_id"))
    )


def import_undo_preview(*, job: ImportJob, limit: int = PREVIEW_ITEMS) -> UndoPreview:
    """What undoing the import would do now: whole counts, and the first `limit` lines of each list."""
    spec, schools = get_spec(job.import_type), school_labels(district=job.district)

    def shown(key, value) -> str:
        return spec.display(key, value, schools=schools)
    counts = Counter()
    reverts, skipped, passwords = [], [], []
    for undos, _ in _field_undos(job):
        for undo in undos:
            counts["reverted"] += len(undo.reverts)
            counts["skipped"] += len(undo.skipped)
            counts["users_reverted"] += bool(undo.reverts)
            counts["passwords_kept"] += undo.password_kept
            for key, (now, before) in undo.reverts.items():
                if len(reverts) < limit:
                    reverts.append({
                        "district_user_id": undo.district_user_id, "field": spec.field_label(key),
                        "current": shown(key, now), "before": shown(key, before),
                    })
            for key, (after, now) in undo.skipped.items():
                if len(skipped) < limit:
                    skipped.append({
                        "district_user_id": undo.district_user_id, "field": spec.field_label(key),
                        "after": shown(key, after), "current": shown(key, now),
                    })
            if undo.password_kept and len(passwords) < limit:
                passwords.append(undo.district_user_id)
    for district_user_id in _created_active(job).filter(protected_q()).order_by("id").values_list("district_user_id", flat=True):
        counts["skipped"] += 1
        if len(skipped) < limit:
            skipped.append({"district_user_id": district_user_id or "", "field": FIELD_HEADINGS[ACTIVE_KEY],
                            "after": ACTIVE, "current": ACTIVE + PROTECTED_NOTE})
    to_disable = _created_to_disable(job)
    counts["disabled"] = to_disable.count()
    disable = list(to_disable.order_by("id").values("district_user_id", "first_name", "last_name", "username")[:limit])
    additions = _group_additions_present(job)
    counts["group_removals"] = additions.count()
    group_removals = [
        {"district_user_id": d, "group": g}
        for d, g in additions.order_by("id").values_list("user__district_user_id", "group__name")[:limit]
    ]
    counts.update(classes_undo_counts(job=job))
    return UndoPreview(
        counts=counts, disable=disable, reverts=reverts, skipped=skipped, passwords=passwords,
        group_removals=group_removals,
    )


def undo_refusal(*, job: ImportJob) -> UndoRefused | None:
    """Why this import may not be undone now, or None."""
    if job.undo_of_id:
        return UndoRefused(ERROR_UNDO_OF_UNDO.format(number=job.number), code="undo_of_undo")
    existing = job.live_undo
    if existing is not None:
        return UndoRefused(
            ERROR_ALREADY_UNDONE.format(number=job.number, undo_number=existing.number, status=existing.get_status_display()),
            code="already_undone",
        )
    if job.status not in UNDOABLE_STATUSES:
        return UndoRefused(
            ERROR_NOT_FINISHED.format(number=job.number, status=job.get_status_display()), code="not_finished"
        )
    running = ImportJob.objects.filter(district_id=job.district_id, status=ImportStatus.RUNNING).exclude(id=job.id).first()
    if running is not None:
        return UndoRefused(ERROR_ANOTHER_RUNNING.format(running=running.number), code="another_running")
    return None


# ---- writes ----


def import_undo_request(*, job: ImportJob, requested_by=None, request=None, now=None, dispatch: bool = True) -> ImportJob:
    """Create the undo job for a finished import, due now, and hand it to a worker. Raises UndoRefused."""
    now = now or timezone.now()
    refusal = undo_refusal(job=job)
    if refusal is not None:
        raise refusal
    users = _touched_users(job).count() + classes_touched(job=job)
    if not users:
        raise UndoRefused(ERROR_NOTHING_TO_UNDO.format(number=job.number), code="nothing_to_undo")
    try:
        with transaction.atomic():
            undo = import_job_create(
                district=job.district, created_by=requested_by, description=f"Undo of import {job.number}",
                import_type=job.import_type,
            )
            undo.undo_of = job
            undo.status = ImportStatus.SCHEDULED
            undo.step = WizardStep.REVIEW
            # Dispatched now either way: without `dispatch` the caller runs it at once (--now), and the
            # sweeper only takes it over if neither a worker nor that process has claimed it for a while.
            undo.submitted_at = undo.run_after = undo.dispatched_at = now
            undo.rows_total = users
            undo.save()
            audit_event_record(
                action=AuditAction.UNDO, actor=requested_by, district=job.district, request=request, job=job,
                detail={"undo_job": undo.number, "users": users},
            )
            if dispatch:
                from ..tasks import run_import

                run_import.delay_on_commit(undo.id)
    except IntegrityError:  # a second request raced this one past the check: one_undo_per_import
        raise undo_refusal(job=job) or UndoRefused(ERROR_UNDO_STARTING.format(number=job.number), code="already_undone")
    return undo


def import_undo_apply(*, job: ImportJob) -> None:
    """Run a claimed (Running) undo job to its end, a committed batch at a time, then complete it.

    Called by runs.import_job_run, which holds the claim and the district lock. A re-run resumes
    after the users an earlier attempt logged; raises ImportAborted when the job was stopped meanwhile.
    """
    if not job.undo_of_id:
        raise ValueError(ERROR_NOT_AN_UNDO)
    original = ImportJob.objects.select_related("district").get(id=job.undo_of_id)
    # Counts of batches committed by an earlier attempt stay; this attempt adds its own.
    counts = Counter({k: v for k, v in (job.counts or {}).items() if k in BATCH_COUNTS})
    for step in (_undo_changed_users, _undo_created_users, _undo_other_group_additions):
        batches = step(job, original)
        while True:
            with transaction.atomic():
                done = next(batches, None)  # the batch's reads and writes run here, inside this transaction
                if done is None:
                    break
                counts.update(done)
                _checkpoint(job, counts)
    counts["passwords_kept"] = ImportChange.objects.filter(job=original, changes__has_key=PASSWORD_KEY).count()
    counts["warnings"] = counts["skipped"]
    with transaction.atomic():
        _checkpoint(job, counts)
        if not import_job_complete(job=job):
            transaction.set_rollback(True)
            raise ImportAborted(ERROR_STOPPED)


def _checkpoint(job: ImportJob, counts: Counter) -> None:
    """Record the batch's counts and a heartbeat; undo the batch if the job was stopped or taken over."""
    updated = ImportJob.objects.filter(id=job.id, status=ImportStatus.RUNNING).update(
        counts={k: counts[k] for k in (*BATCH_COUNTS, "passwords_kept", "warnings")},
        rows_done=min(counts["users"], job.rows_total), heartbeat_at=timezone.now(), status_note="",
    )
    if not updated:
        transaction.set_rollback(True)
        raise ImportAborted(ERROR_STOPPED)


def _group_removals_for(original: ImportJob, user_ids) -> dict[int, list[tuple[int, str]]]:
    found: dict[int, list[tuple[int, str]]] = {}
    for user_id, group_id, name in _group_additions_present(original, user_ids).values_list("user_id", "group_id", "group__name"):
        found.setdefault(user_id, []).append((group_id, name))
    return found


def _remove_from_groups(removals: dict[int, list[tuple[int, str]]]) -> int:
    by_group: dict[int, list[int]] = {}
    for user_id, groups in removals.items():
        for group_id, _ in groups:
            by_group.setdefault(group_id, []).append(user_id)
    through = CustomGroup.members.through
    removed = 0
    for group_id, user_ids in by_group.items():
        removed += through.objects.filter(customgroup_id=group_id, user_id__in=user_ids).delete()[0]
    return removed


def _group_change(groups) -> dict:
    return {GROUP_KEY: [", ".join(sorted(name for _, name in groups)), REMOVED]}


def _undo_changed_users(job: ImportJob, original: ImportJob):
    """Put back the fields of the users the import changed; yields each batch's counts once written."""
    for undos, current in _field_undos(original, lock=True, undo_job=job):
        counts = Counter()
        removals = _group_removals_for(original, [u.user_id for u in undos])
        updates, records = [], []
        for undo in undos:
            if undo.reverts:
                final = {key: current[undo.user_id][key] for key in REVERTED_FIELDS}
                final.update({key: before for key, (_, before) in undo.reverts.items()})
                updates.append((undo.user_id, final))
            change = {key: [_logged_value(now), before] for key, (now, before) in undo.reverts.items()}
            if undo.user_id in removals:
                change.update(_group_change(removals[undo.user_id]))
            skipped = {key: [after, _logged_value(now)] for key, (after, now) in undo.skipped.items()}
            counts["reverted"] += len(undo.reverts)
            counts["skipped"] += len(undo.skipped)
            if change or skipped:
                counts["users"] += 1
                records.append(ImportChange(
                    job=job, user_id=undo.user_id, district_user_id=undo.district_user_id, changes=change, skipped=skipped,
                ))
        writers.update_users(updates)
        counts["group_removals"] += _remove_from_groups(removals)
        ImportChange.objects.bulk_create(records, batch_size=UNDO_BATCH)
        yield counts


def _undo_created_users(job: ImportJob, original: ImportJob):
    """Disable the users the import created; yields each batch's counts once written."""
    created = User.objects.filter(district_id=original.district_id, created_by_import=original).exclude(id__in=_logged(job))
    after_id = 0
    while True:
        batch = list(
            created.select_for_update().filter(id__gt=after_id)
            .order_by("id").values_list("id", "district_user_id", "is_active", *PROTECTED_COLUMNS)[:UNDO_BATCH]
        )
        if not batch:
            return
        counts = Counter()
        after_id = batch[-1][0]
        removals = _group_removals_for(original, [b[0] for b in batch])
        protected = {b[0] for b in batch if is_protected(**dict(zip(PROTECTED_COLUMNS, b[3:])))}
        to_disable = [b[0] for b in batch if b[2] and b[0] not in protected]
        counts["disabled"] += User.objects.filter(id__in=to_disable, is_active=True).exclude(protected_q()).update(is_active=False)
        records = []
        for user_id, district_user_id, active, *_ in batch:
            change = {ACTIVE_KEY: [ACTIVE, DISABLED]} if active and user_id not in protected else {}
            skipped = {ACTIVE_KEY: [DISABLED, ACTIVE + PROTECTED_NOTE]} if active and user_id in protected else {}
            counts["skipped"] += bool(skipped)
            if user_id in removals:
                change.update(_group_change(removals[user_id]))
            if change or skipped:
                records.append(ImportChange(job=job, user_id=user_id, district_user_id=district_user_id or "",
                                            changes=change, skipped=skipped))
        counts["users"] += len(records)
        counts["group_removals"] += _remove_from_groups(removals)
        ImportChange.objects.bulk_create(records, batch_size=UNDO_BATCH)
        yield counts


def _undo_other_group_additions(job: ImportJob, original: ImportJob):
    """Group additions of users the import neither created nor changed (an unchanged row put in the group)."""
    handled = Q(user__created_by_import=original) | Q(user_id__in=ImportChange.objects.filter(job=original).values("user_id"))
    after_user_id = 0
    while True:
        user_ids = list(
            _group_additions_present(original).exclude(handled).filter(user_id__gt=after_user_id)
            .order_by("user_id").values_list("user_id", flat=True).distinct()[:UNDO_BATCH]
        )
        if not user_ids:
            return
        after_user_id = user_ids[-1]
        removals = _group_removals_for(original, user_ids)
        district_ids = dict(User.objects.filter(id__in=user_ids).values_list("id", "district_user_id"))
        records = [
            ImportChange(job=job, user_id=user_id, district_user_id=district_ids.get(user_id) or "", changes=_group_change(groups))
            for user_id, groups in removals.items()
        ]
        counts = Counter(users=len(records), group_removals=_remove_from_groups(removals))
        ImportChange.objects.bulk_create(records, batch_size=UNDO_BATCH)
        yield counts
