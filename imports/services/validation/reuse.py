"""The rows a pass built and its verdicts, kept for the run so it neither reads the file nor checks again
when nothing they depend on changed."""
import hashlib
import json
import os
import pickle
import secrets
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import repeat

from django.core.files.storage import storages

from schools.models import District

from ...models import ImportJob
from ...pipeline.classify import Outcome
from ...targets import get_target
from ...types import USER_DATA
from ...pipeline.rows import UserRow
from ..sources import ImportOptions, Source
from .result import ValidationResult
from .checking import _given_keys
from .screen import Settled

# --- The built rows, kept for the run -------------------------------------------------------------
# Validation stores every row as the rules built it (values and the problems found in its cells),
# before anything is looked up. The run then classifies these rows against the users as they are
# by then, instead of reading and building the file again. Everything that looks at the database
# (users, usernames, emails, duplicates) runs again in the run; only reading and the rules do not.
# Never for a file with a Password column: a password does not rest on disk in clear text.

BUILT_ROWS_DIR = "built_rows"
BUILT_ROWS_BLOCK = 2000  # rows per pickle: one dump per row cost a tenth of an unchanged run
_UNBOUND_KEY = "0" * 64  # as long as a built_rows_key
BUILT_ROWS_FORMAT = 3  # in the key: rows kept in another layout are never read, the file is


def built_rows_key(job: ImportJob, sources: list[Source], options: ImportOptions) -> str:
    """What the built rows depend on: the pass, the file versions, the mapping and the schools that still exist."""
    data = [
        BUILT_ROWS_FORMAT, job.validation_generation, job.import_type, [(s.file_id, s.path) for s in sources], options.field_mapping,
        options.fixed_values, options.file_fixed_values, sorted(options.school_mapping.items()), options.value_mapping,
    ]
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def _built_rows_name(job_id: int) -> str:
    return f"{BUILT_ROWS_DIR}/job-{job_id}.pickle"


class BuiltRows:
    """Records the (source, built row) pairs of a pass to a file of its own, as they stream past."""

    def __init__(self, job: ImportJob | None, sources: list[Source], options: ImportOptions, *, district=None):
        """For a job, or (job None) for a job `import_users` makes once the pass found no error: adopt() binds it."""
        self.job, self.sources, self.options = job, sources, options
        self.enabled = not any(options.spec.password_field in _given(options, s) for s in sources)
        self._file = None
        self.partial = False  # some rows were settled unchanged (screen.py) and are not kept
        if self.enabled:
            storage = storages["private"]
            name = _built_rows_name(job.id) if job is not None else f"{BUILT_ROWS_DIR}/unbound-{secrets.token_hex(8)}.pickle"
            self.path = storage.path(name)
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            self._temp = f"{self.path}.{secrets.token_hex(8)}"
            self._file = open(self._temp, "wb")
            self._pickler = pickle.Pickler(self._file, protocol=pickle.HIGHEST_PROTOCOL)
            # Read back first: a file another pass replaced is never taken for this one. Unbound, a stand-in of
            # the same length (a sha256 in hex), written over by adopt().
            self.key = built_rows_key(job, sources, options) if job is not None else _UNBOUND_KEY
            self._pickler.dump(self.key)
            self._pickler.clear_memo()  # each dump is read by an unpickler of its own, whose memo starts empty
            # Taken before the pass reads any user: a change made while it runs is seen by the run.
            district = job.district if job is not None else district
            self.users = users_fingerprint(district, fingerprint_columns(sources, options), options.spec)
            self.marks = bytearray()

    def record(self, pairs: Iterable):
        """Pass the pairs through, writing each one down first (before validation adds its own problems)."""
        if self._file is None:
            yield from pairs
            return
        numbers = {id(s): n for n, s in enumerate(self.sources)}
        dump, clear = self._pickler.dump, self._pickler.clear_memo
        block = []
        for item in pairs:
            if item.__class__ is Settled:  # rows the pass never made: their place is kept, not their values
                block.append((numbers[id(item.source)], len(item)))
                self.partial = True
                yield item
                continue
            source, row = item
            block.append((numbers[id(source)], row.file, row.row, row.district_id, row.values, list(row.issues), row.skipped))
            if len(block) >= BUILT_ROWS_BLOCK:
                dump(block)
                clear()  # the memo would otherwise keep every row in memory
                block = []
            yield source, row
        if block:
            dump(block)
            clear()

    def mark(self, position: int, outcome: Outcome, rows: int = 1) -> None:
        """The pass's verdict on the rows from this position on: valid, and whether the run writes them."""
        if self._file is None:
            return
        marks, end = self.marks, position + rows
        if len(marks) < end:
            marks.extend(bytes(end - len(marks)))
        mark = MARK_WRITES if outcome.writes else MARK_VALID
        if rows == 1:
            marks[position] = mark
        else:  # a run of settled rows: one call, not one a row (a third of a second at a million)
            marks[position:end] = bytes((mark,)) * rows

    def keep(self) -> str:
        """Put the finished recording in place; returns its key for the job ("" when nothing was recorded)."""
        if self._file is None:
            return ""
        self._file.close()
        os.replace(self._temp, self.path)
        self._file = None
        if self.partial:
            open(_partial_path(self.path), "wb").close()
        elif os.path.exists(_partial_path(self.path)):
            os.remove(_partial_path(self.path))
        if self.users is not None:
            temp = f"{self.path}.{secrets.token_hex(8)}"
            with open(temp, "wb") as fh:
                pickle.dump((self.key, _verdicts_made_under(self.options, self.users), bytes(self.marks)), fh,
                            protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(temp, _verdicts_path(self.path))
        return self.key

    def adopt(self, job: ImportJob, sources: list[Source], options: ImportOptions) -> str:
        """Bind an unbound recording to the job made from the same files and choices, and keep it; returns the
        job's built_rows_key, or "" (and the recording is dropped) when the job's files or choices would build
        other rows (a new school, made only when the job is submitted, has no id yet during the pass)."""
        if self._file is None:
            return ""
        key = built_rows_key(job, sources, options)
        same = (key == built_rows_key(job, sources, self.options)
                and [s.info.name for s in sources] == [s.info.name for s in self.sources])
        if not same:
            self.discard()
            return ""
        self._file.flush()
        head = pickle.dumps(key, protocol=pickle.HIGHEST_PROTOCOL)
        if len(head) != len(pickle.dumps(_UNBOUND_KEY, protocol=pickle.HIGHEST_PROTOCOL)):
            self.discard()
            return ""
        self._file.seek(0)
        self._file.write(head)
        self.job, self.sources, self.key = job, sources, key
        self.path = storages["private"].path(_built_rows_name(job.id))
        return self.keep()

    def discard(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
            if os.path.exists(self._temp):
                os.remove(self._temp)


# --- The pass's verdicts, reused when nothing they depend on changed ---------------------------------
# With the rows, a pass keeps its verdict on each (valid, and whether the run writes it) and a
# fingerprint of the district's users (the columns its checks read) taken before it read them. A run that finds the same rows, the
# same options and the same fingerprint has nothing to check again: it writes the rows the pass said
# write, and every write is still decided against the stored user inside its chunk (apply.py).
# PostgreSQL only (its md5 and string_agg): on SQLite a run always checks again.

MARK_VALID, MARK_WRITES = 1, 2  # a byte per row; 0: an error or a skipped row


def fingerprint_columns(sources: list[Source], options: ImportOptions) -> tuple[str, ...]:
    """Every stored column a pass's verdicts depend on (the target says which)."""
    return get_target(options.spec).fingerprint_columns(_given_keys(sources, options))


def users_fingerprint(district: District, columns: tuple[str, ...], spec=None) -> str | None:
    """A digest of these columns of the district's stored records (None where a run always checks again)."""
    return get_target(spec or USER_DATA).fingerprint(district=district, columns=columns)


def _verdicts_path(path: str) -> str:
    return f"{path}.verdicts"


def _partial_path(path: str) -> str:
    """Present when the kept rows leave out those the pass settled unchanged: they serve only a run that
    writes the changed rows, never one that needs every valid row or checks the rows again."""
    return f"{path}.partial"


def _verdicts_made_under(options: ImportOptions, users: str | None) -> dict:
    """What the verdicts depend on beyond the rows: the users as they were, and the options that decide a write."""
    return {"users": users, "conflicts": options.conflicts, "passwords": options.password_policy}


@dataclass
class ReusedPass:
    """The wizard's pass, taken as the run's check: its counts, and the rows it said the run writes."""

    result: ValidationResult
    rows: Iterable  # (source, row) pairs, as kept
    marks: bytes

    def rows_to_write(self, *, every_valid_row: bool):
        """The rows the run writes (every valid row when group members or login emails need them all),
        numbered among the valid rows as a spool numbers them."""
        marks, index, wanted = self.marks, -1, MARK_VALID if every_valid_row else MARK_WRITES
        if not self.count(every_valid_row=every_valid_row):  # an unchanged file: not even read back
            self.rows.close()
            return
        for position, (_, row) in enumerate(self.rows):
            mark = marks[position] if position < len(marks) else 0
            if not mark:
                continue
            index += 1
            if mark >= wanted:
                row.index = index
                yield row

    def count(self, *, every_valid_row: bool) -> int:
        marks = self.marks
        return len(marks) - marks.count(0) if every_valid_row else marks.count(MARK_WRITES)


def built_pass_reusable(*, job: ImportJob, sources: list[Source], options: ImportOptions,
                        every_valid_row: bool = False) -> ReusedPass | None:
    """The wizard's pass when the run can take it as is: same rows, options and users, no error, and no field
    the fingerprint does not cover (a username is unique across every district, beyond the district's users).
    A run that needs every valid row cannot take a pass that left its unchanged rows unmade."""
    summary = job.validation_summary or {}
    if not summary.get("counts") or summary["counts"].get("errors"):
        return None
    target = get_target(options.spec)
    if not all(target.fingerprint_covers(_given(options, s)) for s in sources):
        return None
    if every_valid_row and os.path.exists(_partial_path(storages["private"].path(_built_rows_name(job.id)))):
        return None
    rows = built_rows_current(job=job, sources=sources, options=options, partial=True)
    if rows is None:
        return None
    path = _verdicts_path(storages["private"].path(_built_rows_name(job.id)))
    if not os.path.exists(path):
        rows.close()
        return None
    with open(path, "rb") as fh:
        key, made_under, marks = pickle.load(fh)
    users = users_fingerprint(job.district, fingerprint_columns(sources, options), options.spec)
    if users is None or key != job.built_rows_key or made_under != _verdicts_made_under(options, users):
        rows.close()
        return None
    result = ValidationResult(counts=Counter(summary["counts"]), duplicates=summary.get("duplicates", 0))
    return ReusedPass(result=result, rows=rows, marks=marks)


def _given(options: ImportOptions, source: Source) -> set[str]:
    plan = options.plan_for(source)
    return {*plan.indexes, *plan.fixed}


def built_rows_current(*, job: ImportJob, sources: list[Source], options: ImportOptions, partial: bool = False):
    """The stored built rows as (source, row) pairs, or None when they were made from other choices or files,
    or (unless partial) leave out the rows the pass settled unchanged: those come as (source, None)."""
    if not job.built_rows_key or job.built_rows_key != built_rows_key(job, sources, options):
        return None
    path = storages["private"].path(_built_rows_name(job.id))
    if not os.path.exists(path) or (not partial and os.path.exists(_partial_path(path))):
        return None
    with open(path, "rb") as fh:
        if pickle.load(fh) != job.built_rows_key:
            return None
    return _read_built_rows(path, sources)


def _read_built_rows(path: str, sources: list[Source]):
    with open(path, "rb") as fh:
        load = pickle.load
        load(fh)  # the key
        while True:
            try:
                # One load a block: one Unpickler for the stream would keep every row in its memo.
                block = load(fh)
            except EOFError:
                return
            for kept in block:
                if len(kept) == 2:  # a run of settled rows: their places, for the verdicts' positions
                    yield from repeat((sources[kept[0]], None), kept[1])
                    continue
                number, file, row, district_id, values, issues, skipped = kept
                yield sources[number], UserRow(file=file, row=row, district_id=district_id, values=values, issues=issues,
                                               skipped=skipped)


def built_verdicts_delete(*, job: ImportJob) -> None:
    """The pass's verdicts no longer go with the job's stored summary and problems (a run checked again)."""
    path = _verdicts_path(storages["private"].path(_built_rows_name(job.id)))
    if os.path.exists(path):
        os.remove(path)


def built_rows_delete(*, job: ImportJob) -> None:
    """The stored built rows go with the job's files (and once a run has used them)."""
    path = storages["private"].path(_built_rows_name(job.id))
    for kept in (path, _verdicts_path(path), _partial_path(path)):
        if os.path.exists(kept):
            os.remove(kept)
    ImportJob.objects.filter(id=job.id).exclude(built_rows_key="").update(built_rows_key="")
