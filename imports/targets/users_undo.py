"""Undo of an import into the users table: disable the users it created, put back the fields it
changed, take back its custom-group additions (imports/services/undo.py runs it a batch at a time).

Never reverted: a field changed again since the import (a later import or a hand edit), which
is reported as skipped with its current value, and passwords, whose old hash is not kept.
Created users are disabled, never deleted, so nothing a student did is lost. A protected account
(users.protection: made an administrator since, say) is never disabled or edited: it is listed as skipped.
"""
from collections import Counter
from dataclasses import dataclass, field

from django.apps import apps
from django.db.models import Exists, OuterRef, Q

from users.protection import PROTECTED_COLUMNS, is_protected, protected_q

from ..models import ImportChange, ImportGroupAddition, ImportJob
from ..types import CHANGE_HEADINGS, SPECS, get_spec
from . import base

UNDO_BATCH = 2000  # users looked at and written at a time
PREVIEW_ITEMS = 200  # lines of each list the preview shows; the counts are always whole
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


def _user():
    return apps.get_model("users.User")



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
        users = _user().objects.filter(district_id=original.district_id, id__in=user_ids)
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
    return _user().objects.filter(district_id=original.district_id, created_by_import=original, is_active=True)


def _created_to_disable(original: ImportJob):
    return _created_active(original).exclude(protected_q())


def _group_additions_present(original: ImportJob, user_ids=None):
    """The import's group additions whose membership still stands."""
    through = apps.get_model("users.CustomGroup").members.through
    additions = ImportGroupAddition.objects.filter(job=original).filter(
        Exists(through.objects.filter(customgroup_id=OuterRef("group_id"), user_id=OuterRef("user_id")))
    )
    if user_ids is not None:
        additions = additions.filter(user_id__in=user_ids)
    return additions


def _touched_users(original: ImportJob):
    return _user().objects.filter(district_id=original.district_id).filter(
        Q(created_by_import=original)
        | Q(id__in=ImportChange.objects.filter(job=original).values("user_id"))
        | Q(id__in=ImportGroupAddition.objects.filter(job=original).values("user_id"))
    )


def _school_labels(job: ImportJob) -> dict[int, str]:
    """School id -> "Name (SIS ID)", as imports.selectors.school_labels names them (not imported: it imports this package)."""
    return {s.id: str(s) for s in job.district.schools.only("id", "name", "sis_id")}


def undo_preview(*, job: ImportJob, limit: int = PREVIEW_ITEMS) -> UndoPreview:
    """What undoing the import would do now: whole counts, and the first `limit` lines of each list."""
    spec, schools = get_spec(job.import_type), _school_labels(job)

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
    return UndoPreview(
        counts=counts, disable=disable, reverts=reverts, skipped=skipped, passwords=passwords,
        group_removals=group_removals,
    )


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
    through = apps.get_model("users.CustomGroup").members.through
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
        base.update_rows(_user(), updates)
        counts["group_removals"] += _remove_from_groups(removals)
        ImportChange.objects.bulk_create(records, batch_size=UNDO_BATCH)
        yield counts


def _undo_created_users(job: ImportJob, original: ImportJob):
    """Disable the users the import created; yields each batch's counts once written."""
    created = _user().objects.filter(district_id=original.district_id, created_by_import=original).exclude(id__in=_logged(job))
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
        counts["disabled"] += _user().objects.filter(id__in=to_disable, is_active=True).exclude(protected_q()).update(is_active=False)
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
        district_ids = dict(_user().objects.filter(id__in=user_ids).values_list("id", "district_user_id"))
        records = [
            ImportChange(job=job, user_id=user_id, district_user_id=district_ids.get(user_id) or "", changes=_group_change(groups))
            for user_id, groups in removals.items()
        ]
        counts = Counter(users=len(records), group_removals=_remove_from_groups(removals))
        ImportChange.objects.bulk_create(records, batch_size=UNDO_BATCH)
        yield counts


def undo_batches(*, job: ImportJob, undo_job: ImportJob):
    """Every step's batches in turn; each yields its counts once written (the caller commits each)."""
    for step in (_undo_changed_users, _undo_created_users, _undo_other_group_additions):
        yield from step(undo_job, job)


def touched_count(*, job: ImportJob) -> int:
    return _touched_users(job).count()
