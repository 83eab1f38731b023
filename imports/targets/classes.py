"""Where a Classes import writes: classes, their teachers and students, the change log and undo.

The only place that chooses between PostgreSQL (COPY) and the ORM (SQLite) for classes.
"""
import datetime
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from operator import itemgetter

from django.db import connection, transaction
from django.utils import timezone

from classes.models import ClassChange, ClassChangeKind, ClassStudent, ClassTeacher, RosterRole, SchoolClass
from users.models import User

from ..pipeline.class_rows import CLASS_COLUMNS, ClassPlan, ClassValues, Person
from .base import column_fingerprint, copy_rows

BATCH = 5000
ANALYZE_AFTER = 10_000  # enrollments added or removed: a bulk write


@dataclass
class StoredClasses:
    """The district's stored classes the file names, with their rosters."""

    classes: dict[str, tuple[int, tuple]] = field(default_factory=dict)  # SIS ID -> (id, CLASS_COLUMNS values)
    teachers: dict[int, dict[int, tuple[bool, int | None]]] = field(default_factory=dict)  # id -> {user: (primary, added by)}
    students: dict[int, dict[int, int | None]] = field(default_factory=dict)  # id -> {user: added by}
    enrollments_in_district: int = 0
    same_rosters: set[int] = field(default_factory=set)  # ids of classes whose roster is the file's (their members not read)


def roster_text(teachers: Iterable[int], students: Iterable[int]) -> str:
    """A roster as one text, "teacher ids|student ids" (each sorted, comma-joined): PostgreSQL writes the same for a stored one."""
    return ",".join(map(str, sorted(teachers))) + "|" + ",".join(map(str, sorted(students)))


class _PlanRosters(dict):
    """A plan's roster_text of each class, made when first asked for: only the stored classes are compared."""

    def __init__(self, plan: ClassPlan):
        super().__init__()
        self.plan = plan

    def __missing__(self, sis_id: str) -> str:
        text = self[sis_id] = roster_text(self.plan.teachers.get(sis_id, ()), self.plan.students.get(sis_id, ()))
        return text


# Each class's members of one role, as roster_text writes them, and how many (one query per table: no join between
# the two to go wrong). string_agg takes the ids in the subquery's order (the unique index's, so no sort); were it
# ever not to, a class's text would differ and its members would be read and compared one by one: slower, never wrong.
_MEMBERS_SQL = """
SELECT school_class_id, string_agg(user_id::text, ','), count(*) FROM (
    SELECT school_class_id, user_id FROM {table}
    WHERE school_class_id IN (SELECT id FROM classes_schoolclass WHERE district_id = %s) ORDER BY school_class_id, user_id
) members GROUP BY school_class_id
"""


@dataclass
class ClassChanges:
    new_classes: list[tuple[str, ClassValues]] = field(default_factory=list)
    updated_classes: list[tuple[int, str, dict]] = field(default_factory=list)  # (id, SIS ID, {column: [before, after]})
    add_teachers: list[tuple[str, int, bool]] = field(default_factory=list)  # (SIS ID, user id, primary)
    add_students: list[tuple[str, int]] = field(default_factory=list)
    remove_teachers: list[tuple[int, str, int, bool, int | None]] = field(default_factory=list)  # (class id, SIS ID, user, primary, added by)
    remove_students: list[tuple[int, str, int, int | None]] = field(default_factory=list)
    unchanged_classes: int = 0

    @property
    def removed(self) -> int:
        return len(self.remove_teachers) + len(self.remove_students)

    @property
    def added(self) -> int:
        return len(self.add_teachers) + len(self.add_students)

    def counts(self) -> dict:
        return {
            "classes_created": len(self.new_classes), "classes_updated": len(self.updated_classes),
            "classes_unchanged": self.unchanged_classes, "enrollments_added": self.added, "enrollments_removed": self.removed,
        }


def _rows(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _members(stored: StoredClasses, where: str, params: list, *, count: bool) -> None:
    """The members of the stored classes (those of stored.classes; with count, every enrollment of the district counted)."""
    ids = {class_id for class_id, _ in stored.classes.values()}
    for class_id, user_id, primary, added_by in _rows(
        "SELECT t.school_class_id, t.user_id, t.is_primary, t.added_by_import_id FROM classes_classteacher t "
        f"JOIN classes_schoolclass c ON c.id = t.school_class_id WHERE c.district_id = %s {where}", params,
    ):
        stored.enrollments_in_district += count
        if class_id in ids:
            stored.teachers.setdefault(class_id, {})[user_id] = (bool(primary), added_by)
    for class_id, user_id, added_by in _rows(
        "SELECT t.school_class_id, t.user_id, t.added_by_import_id FROM classes_classstudent t "
        f"JOIN classes_schoolclass c ON c.id = t.school_class_id WHERE c.district_id = %s {where}", params,
    ):
        stored.enrollments_in_district += count
        if class_id in ids:
            stored.students.setdefault(class_id, {})[user_id] = added_by


def _to_date(value):
    """A date column's value as read back (SQLite gives text)."""
    return datetime.date.fromisoformat(value) if isinstance(value, str) else value


class ClassesTarget:
    """Look-up by Class SIS ID, comparison, write, change log and undo for the Classes import type."""

    name = "classes"  # the Classes import type's key too: see own_run_target
    # Classes are not user rows: imports/services/classes.py runs the whole import (check, write, undo) through it.
    runs_whole_import = True

    # --- Look-up ---

    @staticmethod
    def people(*, district) -> dict[str, Person]:
        """The district's users by District ID, or by OneRoster sourcedId (enrollments.csv names users by it).

        The whole district in one query: the file is then read once, not once for its ids and again to check it.
        """
        rows = _rows(
            "SELECT district_user_id, oneroster_sourced_id, id, user_type, school_id FROM users_user WHERE district_id = %s",
            [district.id],
        )
        persons = list(map(itemgetter(slice(2, 5)), rows))  # (user id, user type, school id): a Person by position
        found: dict[str, tuple] = {}
        if any(map(itemgetter(1), rows)):  # a sourcedId names the first user that has it
            for (_, sourced_id, *_), person in zip(rows, persons):
                if sourced_id:
                    found.setdefault(sourced_id, person)
        # A District ID wins over another's sourcedId (the last user with it, as one by one).
        found.update(zip(map(itemgetter(0), rows), persons))
        found.pop(None, None)
        found.pop("", None)
        return found

    @staticmethod
    def people_version(*, district) -> str | None:
        """A digest of what people() reads (None off PostgreSQL): any user added, removed or changed changes it."""
        return column_fingerprint(User, district_id=district.id,
                                  columns=("id", "district_user_id", "oneroster_sourced_id", "user_type", "school"))

    @staticmethod
    def rosters(plan: ClassPlan) -> Mapping[str, str]:
        """The file's roster of each class, as lookup compares it with the stored one (made when first read)."""
        return _PlanRosters(plan)

    @staticmethod
    def lookup(*, district, keys: Iterable[str], rosters: Mapping[str, str] | None = None) -> StoredClasses:
        """The stored classes with these SIS IDs, and their rosters.

        rosters: the file's roster of each class (roster_text). On PostgreSQL a class whose stored roster is the same
        is only marked so (same_rosters): its members are not read, and compare finds nothing to add or remove.
        """
        wanted = set(keys)
        stored = StoredClasses()
        columns = ", ".join(f"c.{c}" for c in CLASS_COLUMNS)
        if connection.vendor == "postgresql" and rosters is not None:
            texts = {}
            for table in ("classes_classteacher", "classes_classstudent"):
                found = _rows(_MEMBERS_SQL.format(table=table), [district.id])
                stored.enrollments_in_district += sum(n for _, _, n in found)
                texts[table] = {class_id: ids for class_id, ids, _ in found}
            teachers, students = texts["classes_classteacher"], texts["classes_classstudent"]
            differ = []
            for row in _rows(f"SELECT c.id, c.sis_id, {columns} FROM classes_schoolclass c WHERE c.district_id = %s", [district.id]):
                if row[1] in wanted:
                    stored.classes[row[1]] = (row[0], row[2:])
                    if rosters[row[1]] == teachers.get(row[0], "") + "|" + students.get(row[0], ""):
                        stored.same_rosters.add(row[0])
                    else:
                        differ.append(row[0])
            if differ:
                _members(stored, "AND t.school_class_id = ANY(%s)", [district.id, differ], count=False)
            return stored
        for row in _rows(f"SELECT c.id, c.sis_id, {columns} FROM classes_schoolclass c WHERE c.district_id = %s", [district.id]):
            if row[1] in wanted:
                stored.classes[row[1]] = (row[0], tuple(_to_date(v) if c.startswith("term_") and c != "term_name" else v
                                                       for c, v in zip(CLASS_COLUMNS, row[2:])))
        _members(stored, "", [district.id], count=True)
        return stored

    # --- Comparison ---

    @staticmethod
    def compare(*, plan: ClassPlan, stored: StoredClasses, replace: bool) -> ClassChanges:
        """What writing the file would change. Replace removes members missing from the file, only in the file's classes."""
        changes = ClassChanges()
        for sis_id, values in plan.classes.items():
            teachers = plan.teachers.get(sis_id, {})
            students = plan.students.get(sis_id, set())
            found = stored.classes.get(sis_id)
            if found is None:
                changes.new_classes.append((sis_id, values))
                changes.add_teachers.extend((sis_id, u, p) for u, p in teachers.items())
                changes.add_students.extend((sis_id, u) for u in students)
                continue
            class_id, before = found
            after = values.stored()
            # A column the file leaves blank keeps what is stored (as the user import never erases on a blank).
            differs = {c: [b, a] for c, b, a in zip(CLASS_COLUMNS, before, after) if a not in ("", None) and a != b}
            if differs:
                changes.updated_classes.append((class_id, sis_id, differs))
            if class_id in stored.same_rosters:
                if not differs:
                    changes.unchanged_classes += 1
                continue
            stored_teachers = stored.teachers.get(class_id, {})
            stored_students = stored.students.get(class_id, {})
            has_primary = any(p for p, _ in stored_teachers.values())
            new_teachers = [(sis_id, u, p and not has_primary) for u, p in teachers.items() if u not in stored_teachers]
            new_students = [(sis_id, u) for u in students if u not in stored_students]
            changes.add_teachers.extend(new_teachers)
            changes.add_students.extend(new_students)
            removed = 0
            if replace:
                gone_t = [(class_id, sis_id, u, p, by) for u, (p, by) in stored_teachers.items() if u not in teachers]
                gone_s = [(class_id, sis_id, u, by) for u, by in stored_students.items() if u not in students]
                changes.remove_teachers.extend(gone_t)
                changes.remove_students.extend(gone_s)
                removed = len(gone_t) + len(gone_s)
            if not differs and not new_teachers and not new_students and not removed:
                changes.unchanged_classes += 1
        return changes

    # --- The write ---

    @classmethod
    def write(cls, *, job, changes: ClassChanges) -> dict:
        """Write the changes in one transaction, with their change log; returns the counts."""
        with transaction.atomic():
            ids = cls._insert_classes(job, changes.new_classes)
            cls._update_classes(changes.updated_classes)
            # The ids of the stored classes that get members (the new ones' are known).
            stored = ({s for s, *_ in changes.add_teachers} | {s for s, _ in changes.add_students}) - ids.keys()
            if stored:
                ids.update(dict(SchoolClass.objects.filter(district_id=job.district_id, sis_id__in=stored).values_list("sis_id", "id")))
            cls._insert_members(job, changes, ids)
            cls._remove_members(changes)
            cls.log_changes(job=job, changes=changes)
        if connection.vendor == "postgresql" and changes.added + changes.removed >= ANALYZE_AFTER:
            # After a bulk write the planner's statistics describe the tables before it until autovacuum's next round;
            # the next look-up (an import's comparison, the Classes tab) would be planned for nearly empty tables.
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE classes_schoolclass, classes_classteacher, classes_classstudent")
        return changes.counts()

    @staticmethod
    def _insert_classes(job, new_classes: list[tuple[str, ClassValues]]) -> dict[str, int]:
        if not new_classes:
            return {}
        now = timezone.now()
        if connection.vendor == "postgresql":
            columns = ("district_id", "sis_id", *CLASS_COLUMNS, "active", "created_by_import_id", "created_at", "updated_at")
            with connection.cursor() as cursor:
                copy_rows(cursor.cursor, "classes_schoolclass", columns,
                          [(job.district_id, sis_id, *v.stored(), True, job.id, now, now) for sis_id, v in new_classes])
        else:
            SchoolClass.objects.bulk_create([
                SchoolClass(district_id=job.district_id, sis_id=sis_id, created_by_import_id=job.id,
                            **dict(zip(CLASS_COLUMNS, v.stored()))) for sis_id, v in new_classes
            ], batch_size=BATCH)
        return dict(SchoolClass.objects.filter(district_id=job.district_id, created_by_import_id=job.id).values_list("sis_id", "id"))

    @staticmethod
    def _update_classes(updated: list[tuple[int, str, dict]]) -> None:
        if not updated:
            return
        now = timezone.now()
        # Grouped by the columns changed, so each UPDATE sets only those.
        by_columns: dict[tuple, list] = {}
        for class_id, _, differs in updated:
            obj = SchoolClass(id=class_id, updated_at=now, **{c: after for c, (_, after) in differs.items()})
            by_columns.setdefault(tuple(differs), []).append(obj)
        for columns, group in by_columns.items():
            SchoolClass.objects.bulk_update(group, [*columns, "updated_at"], batch_size=BATCH)

    @staticmethod
    def _insert_members(job, changes: ClassChanges, ids: dict[str, int]) -> None:
        # The members of a class this import creates need no mark of their own: its created_by_import says it
        # (an undo deletes the class with them), and a COPY without that foreign key is a third cheaper to check.
        created = {sis_id for sis_id, _ in changes.new_classes}
        if connection.vendor == "postgresql":
            # Ids and a flag only: each line is written whole, not value by value. A class's "id\t" and "\tmark" once each.
            head = {s: f"{class_id}\t" for s, class_id in ids.items()}
            tail = {s: "\t\\N\n" if s in created else f"\t{job.id}\n" for s in ids}
            if changes.add_teachers:
                _copy_lines("classes_classteacher", ("school_class_id", "user_id", "is_primary", "added_by_import_id"),
                            [f"{head[s]}{u}\t{'t' if p else 'f'}{tail[s]}" for s, u, p in changes.add_teachers])
            if changes.add_students:
                _copy_lines("classes_classstudent", ("school_class_id", "user_id", "added_by_import_id"),
                            [f"{head[s]}{u}{tail[s]}" for s, u in changes.add_students])
            return
        teachers = [(ids[s], u, p, None if s in created else job.id) for s, u, p in changes.add_teachers]
        students = [(ids[s], u, None if s in created else job.id) for s, u in changes.add_students]
        ClassTeacher.objects.bulk_create([
            ClassTeacher(school_class_id=c, user_id=u, is_primary=p, added_by_import_id=j) for c, u, p, j in teachers], batch_size=BATCH)
        ClassStudent.objects.bulk_create([
            ClassStudent(school_class_id=c, user_id=u, added_by_import_id=j) for c, u, j in students], batch_size=BATCH)

    @staticmethod
    def _remove_members(changes: ClassChanges) -> None:
        for model, pairs in (
            (ClassTeacher, [(c, u) for c, _, u, _, _ in changes.remove_teachers]),
            (ClassStudent, [(c, u) for c, _, u, _ in changes.remove_students]),
        ):
            by_class: dict[int, list[int]] = {}
            for class_id, user_id in pairs:
                by_class.setdefault(class_id, []).append(user_id)
            for class_id, users in by_class.items():
                model.objects.filter(school_class_id=class_id, user_id__in=users).delete()

    # --- Change log ---

    @staticmethod
    def log_changes(*, job, changes: ClassChanges) -> None:
        """What an undo cannot read back from the rows: each class's values before, and each removed member."""
        ids = [u for *_, u, _p, _b in changes.remove_teachers] + [u for _c, _s, u, _b in changes.remove_students]
        district_ids = dict(User.objects.filter(id__in=ids).values_list("id", "district_user_id")) if ids else {}
        log = [ClassChange(district_id=job.district_id, job=job, school_class_id=c, class_sis_id=s, kind=ClassChangeKind.UPDATED,
                           fields={k: [_json(b), _json(a)] for k, (b, a) in d.items()}) for c, s, d in changes.updated_classes]
        log += [ClassChange(district_id=job.district_id, job=job, school_class_id=c, class_sis_id=s, kind=ClassChangeKind.MEMBER_REMOVED,
                            user_id=u, district_user_id=district_ids.get(u) or "", role=RosterRole.TEACHER, is_primary=p,
                            added_by_import_id=by) for c, s, u, p, by in changes.remove_teachers]
        log += [ClassChange(district_id=job.district_id, job=job, school_class_id=c, class_sis_id=s, kind=ClassChangeKind.MEMBER_REMOVED,
                            user_id=u, district_user_id=district_ids.get(u) or "", role=RosterRole.STUDENT,
                            added_by_import_id=by) for c, s, u, by in changes.remove_students]
        ClassChange.objects.bulk_create(log, batch_size=BATCH)

    # --- Undo ---

    @staticmethod
    def undo(*, job, undo_job) -> dict:
        """Put the classes and rosters back as they were before `job`: its additions go, its removals and edits are reverted."""
        counts = {"enrollments_removed": 0, "enrollments_restored": 0, "classes_restored": 0, "classes_deleted": 0}
        with transaction.atomic():
            counts["enrollments_removed"] += ClassTeacher.objects.filter(added_by_import=job).exclude(school_class__created_by_import=job).delete()[0]
            counts["enrollments_removed"] += ClassStudent.objects.filter(added_by_import=job).exclude(school_class__created_by_import=job).delete()[0]
            created = SchoolClass.objects.filter(created_by_import=job)
            counts["classes_deleted"] = created.count()
            log = [ClassChange(district_id=job.district_id, job=undo_job, class_sis_id=sis_id, kind=ClassChangeKind.DELETED)
                   for sis_id in created.values_list("sis_id", flat=True)]
            created.delete()
            existing = set(SchoolClass.objects.filter(district_id=job.district_id).values_list("id", flat=True))
            users = set(User.objects.filter(district_id=job.district_id).values_list("id", flat=True))
            for change in job.class_changes.exclude(school_class=None).order_by("id"):
                if change.school_class_id not in existing:
                    continue
                if change.kind == ClassChangeKind.UPDATED:
                    values = {k: (_to_date(b) if k in ("term_start", "term_end") else b) for k, (b, _) in change.fields.items()}
                    SchoolClass.objects.filter(id=change.school_class_id).update(**values)
                    counts["classes_restored"] += 1
                    log.append(ClassChange(district_id=job.district_id, job=undo_job, school_class_id=change.school_class_id,
                                           class_sis_id=change.class_sis_id, kind=ClassChangeKind.UPDATED,
                                           fields={k: [a, b] for k, (b, a) in change.fields.items()}))
                elif change.kind == ClassChangeKind.MEMBER_REMOVED and change.user_id in users:
                    model = ClassTeacher if change.role == RosterRole.TEACHER else ClassStudent
                    extra = {"is_primary": change.is_primary} if model is ClassTeacher else {}
                    _, made = model.objects.get_or_create(school_class_id=change.school_class_id, user_id=change.user_id,
                                                          defaults={"added_by_import_id": change.added_by_import_id, **extra})
                    counts["enrollments_restored"] += made
                    if made:
                        log.append(ClassChange(district_id=job.district_id, job=undo_job, school_class_id=change.school_class_id,
                                               class_sis_id=change.class_sis_id, kind=ClassChangeKind.MEMBER_ADDED, user_id=change.user_id,
                                               district_user_id=change.district_user_id, role=change.role, is_primary=change.is_primary))
            ClassChange.objects.bulk_create(log, batch_size=BATCH)
        return counts


def _json(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


def _copy_lines(table: str, columns: tuple[str, ...], lines: list[str]) -> None:
    """COPY lines already in COPY's text format (PostgreSQL)."""
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", io.StringIO("".join(lines)))


