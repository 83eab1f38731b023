"""The one target file: the rooms table, through the write target interface (imports/targets/base.py)."""
from collections import Counter

from imports.pipeline.classify import NEW, ExistingUser
from imports.targets import base, register_target

from .models import Room


@register_target
class RoomsTarget(base.WriteTarget):
    name = "test_rooms"

    @property
    def model(self):
        return Room

    def lookup(self, *, district, keys, columns=None):
        record = columns if columns is not None else self.spec.record_columns
        rows = base.rows_where_in(Room, district_id=district.id, column="code", values=keys, columns=("code", "id", *record))
        return {row[0]: ExistingUser(row[1], row[0], dict(zip(record, row[2:]))) for row in rows}

    def write(self, *, job, rows, options, counts: Counter, **kwargs) -> None:
        existing = self.lookup(district=job.district, keys=[r.district_id for r in rows])
        new, updates = [], []
        for row in rows:
            current = existing.get(row.district_id)
            outcome = self.compare(row, current, conflict_policy=options.conflicts, password_policy=options.password_policy)
            if outcome.kind == NEW:
                new.append({"district_id": job.district_id, "code": row.district_id, **{
                    k: v if v is not None else "" for k, v in row.values.items()}})
            elif outcome.changes:
                updates.append((current.id, {**current.values, **{k: after for k, (_, after) in outcome.changes.items()}}))
        base.insert_rows(Room, new)
        base.update_rows(Room, updates)
        counts["created"] += len(new)
        counts["updated"] += len(updates)

    def log_changes(self, *, job, changes) -> None:
        pass  # rooms keep no change log

    def undo(self, *, job, undo_job):
        return iter(())
