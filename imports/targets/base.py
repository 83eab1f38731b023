"""What an import type writes to, and the one place that chooses how rows reach the database.

A write target is a class with a `name` (what an ImportSpec's `target` says) made for one
import type: `TargetClass(spec)`. The engine (services, tasks, views, commands) calls only
the methods below and names no model and no field; everything that knows the stored table
lives in the target's module.

    lookup(*, district, keys, columns=None) -> {key: ExistingUser}
        the stored records the file's keys find (the type's match key, e.g. District ID).
    compare(row, existing, *, conflict_policy, password_policy) -> Outcome
        what writing the row would change (new / update / unchanged / conflict).
    write(*, job, rows, options, counts, **kwargs) -> None
        write one batch inside the caller's transaction; a re-run decides every write again.
    log_changes(*, job, changes) -> None
        record what was changed, for Import History's change log and for undo.
    undo(*, job, undo_job) -> iterator of Counter
        put back what `job` did, a committed batch at a time, logging to `undo_job`.

A new type with a new table (for example classes) adds `imports/targets/<name>.py` with a
subclass, and a line in `imports/targets/__init__.py`. The other methods of WriteTarget have
defaults that suit a target without checks of its own.

How rows are written: PostgreSQL loads them with COPY and changes them with UPDATE ... FROM a
COPY-loaded staging table; SQLite (tests, the embedded default) uses the ORM. The helpers at the
bottom of this module are the only code of the product that asks `connection.vendor`.
"""
import datetime
import io
import json
import sys
import threading
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from decimal import Decimal
from functools import lru_cache, partial
from operator import itemgetter

from django.apps import apps
from django.db import connection, connections
from django.db.models.functions import Lower

from ..pipeline.classify import ExistingUser, Outcome, classify
from ..pipeline.issues import Issue

LOOKUP_BATCH = 5000


class WriteTarget:
    """The interface every target implements; see the module's docstring."""

    name: str = ""
    model_label: str = ""  # "app_label.Model" of the stored records

    def __init__(self, spec=None):
        self.spec = spec

    @property
    def model(self):
        return apps.get_model(self.model_label)

    # --- Reading what is stored ---

    def lookup(self, *, district, keys: list[str], columns: tuple[str, ...] | None = None) -> dict[str, ExistingUser]:
        raise NotImplementedError

    def look_ahead(self) -> "LookAhead":
        """Where the screen asks the next block's look-up while it compares this one."""
        return LookAhead()

    def compare(self, row, existing: ExistingUser | None, *, conflict_policy: str, password_policy: str) -> Outcome:
        """What writing the row would change: the same decision for the preview and the run."""
        return classify(row, existing, conflict_policy=conflict_policy, password_policy=password_policy)

    @property
    def settles_unchanged(self) -> bool:
        """Whether validation may count a row that matches its stored record and changes nothing without making
        it (validation/screen.py): when classify decides."""
        return type(self).compare is WriteTarget.compare

    # --- Validation's hooks (defaults: nothing beyond the type's own rules) ---

    def checks(self, *, district, columns: tuple[str, ...] | None = None) -> "RowChecks":
        """The per-batch look-ups and checks that need the stored records (owners of a value, ...)."""
        return RowChecks(self, district, columns)

    def compared_columns(self, given_keys: set[str]) -> tuple[str, ...]:
        """The stored columns a row giving these field keys is compared on (with those the checks read)."""
        spec = self.spec
        return tuple(
            f.stored_column for f in spec.record_fields
            if f.key in given_keys or any(p in given_keys for p in spec.parts_of(f.key))
            or f.required  # a required field blank in the file is no error when it is stored
        )

    def outside_match_only(self, *, district, keys: list[str]) -> dict[str, dict]:
        """Keys that find a record the type's match_only leaves out -> its match_only values (none by default)."""
        return {}

    def signed_in_count(self, ids: set[int]) -> int:
        """How many of these records' holders have signed in (the preview's claimed passwords; none by default)."""
        return 0

    def fingerprint(self, *, district, columns: tuple[str, ...]) -> str | None:
        """A digest of these stored columns of the district's records (None: not available here)."""
        return column_fingerprint(self.model, district_id=district.id, columns=columns)

    def fingerprint_columns(self, given_keys: set[str]) -> tuple[str, ...]:
        return ("id", *self.compared_columns(given_keys))

    def fingerprint_covers(self, given_keys: set[str]) -> bool:
        """Whether the district's fingerprint covers every check of rows giving these fields."""
        return True

    # Besides the key: the field whose repeat within a file is a warning, and the one whose repeat is an error.
    unique_in_file: tuple[str | None, str | None] = (None, None)

    def hold_counts(self, *, district, summary: dict) -> tuple[int, dict[int, int]]:
        """The district's records the safety hold compares against, and per school (none by default)."""
        return self.model.objects.filter(district=district).count(), {}

    def preview_name(self, existing: ExistingUser) -> str:
        return ""

    def hold_group(self, existing: ExistingUser):
        """The group (a school) a held change counts towards, or None."""
        return None

    # --- Writing ---

    def write(self, *, job, rows, options, counts: Counter, **kwargs) -> None:
        raise NotImplementedError

    def log_changes(self, *, job, changes) -> None:
        raise NotImplementedError

    def undo(self, *, job, undo_job) -> Iterator[Counter]:
        raise NotImplementedError

    def refresh_statistics(self, *, written_since: int = 0) -> bool:
        return refresh_statistics_if_stale(self.model, written_since=written_since)


class RowChecks:
    """Per batch of rows: what the target looked up, and the issues only the stored records show."""

    def __init__(self, target: WriteTarget, district, columns):
        self.target, self.district, self.columns = target, district, columns
        self.users: dict[str, ExistingUser] = {}
        self._known: dict[str, ExistingUser | None] = {}  # keys the screen already looked up, until loaded

    def remember(self, keys, found: dict[str, ExistingUser]) -> None:
        """What the screen's look-up found for keys it leaves to the checks: load() does not ask again."""
        for key in keys:
            if key:
                self._known[key] = found.get(key)

    def load(self, rows) -> None:
        self.target.refresh_statistics()
        keys = [r.district_id for r in rows if r.district_id]
        known = self._known
        missing = [k for k in keys if k not in known] if known else keys
        users = self.target.lookup(district=self.district, keys=missing, columns=self.columns) if missing else {}
        if known:
            for key in keys:
                if key in known:
                    stored = known.pop(key)
                    if stored is not None:
                        users[key] = stored
        self.users = users

    def forget(self, keys) -> None:
        """Drop what the screen found for these keys (rows in error are never loaded): memory stays a batch's."""
        if self._known:
            for key in keys:
                self._known.pop(key, None)

    def issues(self, row, existing, labels: dict) -> list[Issue]:
        return []

    def silent_when_same(self, values: dict[str, list], n: int) -> list[bool]:
        """For n rows that match their stored, unprotected record and change nothing (values: stored column ->
        the rows' values, or None), whether issues() would say nothing of each."""
        return [True] * n


# --- How rows reach the database: the one place that asks which database this is ---------------

def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


class LookAhead:
    """Look-ups asked before their result is wanted. On PostgreSQL, outside a transaction, a thread with a
    connection of its own (opened at the first ask) runs each while the caller goes on: the server works on
    the other core, and most of a re-import's look-up is waiting for it. Inside a transaction another
    connection could not see its uncommitted rows, and SQLite gains nothing, so there each runs when its
    result is first wanted."""

    # A thread whose answer has come waits for the other to let the interpreter go: up to the switch
    # interval (5 ms) a look-up. Shorter while a pass runs, the caller waited a fifth as long on them and a
    # re-import of a million unchanged rows took 2.4 s less (measured). Process-wide: put back when the
    # last of the process's look-ahead threads ends (two passes may overlap in a threaded worker).
    SWITCH_INTERVAL_S = 0.0005
    _live = 0
    _interval_before = None
    _live_lock = threading.Lock()

    def __init__(self):
        self._pool = None
        self._threaded = is_postgresql() and not connection.in_atomic_block

    def ask(self, fn: Callable, /, **kwargs) -> Callable[[], object]:
        """fn(**kwargs), run now on the thread or later here; call what this returns for its result."""
        if not self._threaded:
            return partial(fn, **kwargs)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="look-ahead")
            with LookAhead._live_lock:
                if LookAhead._live == 0:
                    LookAhead._interval_before = sys.getswitchinterval()
                    sys.setswitchinterval(min(LookAhead._interval_before, self.SWITCH_INTERVAL_S))
                LookAhead._live += 1
        return self._pool.submit(fn, **kwargs).result

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        try:
            pool.submit(connections.close_all).result()  # on the thread: its own connection
        finally:
            pool.shutdown()
            with LookAhead._live_lock:
                LookAhead._live -= 1
                if LookAhead._live == 0:
                    sys.setswitchinterval(LookAhead._interval_before)


# COPY's text format, built a column at a time: a column of plain text (no backslash, tab or line
# break in any value), of booleans, numbers or dates is made by C loops; any other column is written
# value by value with COPY's own escapes. About 1.7 times faster than the csv writer it replaces.
# NULL is a marker with control characters that no SIS value carries.
_NULL = "\x1fNULL\x1f"
_COPY_OPTIONS = "WITH (FORMAT text, NULL E'\\x1fNULL\\x1f')"
_NONE = type(None)
_PLAIN_TEXT = frozenset({str})
_TEXT_OR_NULL = frozenset({str, _NONE})
_BOOLEANS = frozenset({bool, _NONE})
_BOOLEAN_TEXT = {True: "t", False: "f", None: _NULL}
_STR_PLAIN = frozenset({int, datetime.date, datetime.datetime, Decimal})  # str() never holds a tab, backslash or line break


def _copy_text(value) -> str:
    if value is None:
        return _NULL
    if isinstance(value, bool):
        return "t" if value else "f"
    return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _copy_column(values: tuple) -> list | tuple:
    """One column's values as COPY text."""
    kinds = frozenset(map(type, values))
    if kinds <= _TEXT_OR_NULL:
        if kinds == {_NONE}:
            return [_NULL] * len(values)
        texts = values if kinds == _PLAIN_TEXT else [_NULL if v is None else v for v in values]
        joined = "\x00".join(texts)
        if "\\" not in joined and "\t" not in joined and "\n" not in joined and "\r" not in joined:
            return texts
    elif kinds <= _BOOLEANS:
        return list(map(_BOOLEAN_TEXT.__getitem__, values))
    elif kinds <= _STR_PLAIN:
        return list(map(str, values))
    elif kinds - {_NONE} <= _STR_PLAIN:
        return [_NULL if v is None else str(v) for v in values]
    return [_copy_text(v) for v in values]


def copy_text(rows, same: tuple = ()) -> str:
    """Rows (sequences of values; None is NULL) as COPY's text, each followed by `same`, the values of
    the last columns that every row shares (written out once)."""
    rows = rows if isinstance(rows, list) else list(rows)
    if not rows:
        return ""
    if not rows[0]:  # every column is in `same`
        return ("\t".join(map(_copy_text, same)) + "\n") * len(rows)
    return _columns_text(list(zip(*rows)), same)


def _columns_text(vectors: list, same: tuple) -> str:
    """Rows given a column at a time (then `same`, written out once) as COPY's text."""
    end = "".join("\t" + _copy_text(v) for v in same) + "\n"
    return end.join(map("\t".join, zip(*map(_copy_column, vectors)))) + end


def copy_rows(cursor, table: str, columns, rows, same: tuple = ()) -> None:
    """COPY rows (sequences of values) into table's columns; None is NULL. `same`: values of the last
    columns, equal for every row, written out once."""
    _copy(cursor, table, columns, copy_text(rows, same))


def _copy(cursor, table: str, columns, text: str) -> None:
    if text:
        cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN {_COPY_OPTIONS}", io.StringIO(text))


def stage_columns(table: str, columns: tuple[str, ...], vectors: list, same: tuple = ()) -> None:
    """Load rows given a column at a time (equal-length vectors, then `same`: the last columns' values, equal
    for every row) into a staging table of the engine's own: COPY on PostgreSQL, INSERT elsewhere."""
    if not vectors or not len(vectors[0]):
        return
    with connection.cursor() as cursor:
        if is_postgresql():
            _copy(cursor.cursor, table, columns, _columns_text(vectors, same))
        else:
            cursor.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})",
                [(*row, *same) for row in zip(*vectors)],
            )


class NewRows:
    """New records as rows of values in one column order, without a dict per record: each row holds the
    values that differ between records, then `same`, the values every record of the batch shares.

    Indexing or iterating gives each record as a dict; a slice is NewRows.
    """

    __slots__ = ("columns", "rows", "same")

    def __init__(self, columns: tuple[str, ...], rows: list[list], same: tuple = ()):
        self.columns = columns
        self.rows = rows
        self.same = same

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self):
        columns, same = self.columns, self.same
        return (dict(zip(columns, (*row, *same))) for row in self.rows)

    def __getitem__(self, item):
        if isinstance(item, slice):
            return NewRows(self.columns, self.rows[item], self.same)
        return dict(zip(self.columns, (*self.rows[item], *self.same)))


def insert_rows(model, new_rows) -> None:
    """Insert records given as NewRows, or as dicts with the same columns."""
    if not new_rows:
        return
    if is_postgresql():
        if not isinstance(new_rows, NewRows):
            columns = tuple(new_rows[0])
            new_rows = NewRows(columns, [[u[c] for c in columns] for u in new_rows])
        with connection.cursor() as cursor:
            copy_rows(cursor.cursor, model._meta.db_table, new_rows.columns, new_rows.rows, new_rows.same)
        return
    model.objects.bulk_create([model(**u) for u in new_rows], batch_size=500)


def insert_values(model, columns: tuple[str, ...], rows: list) -> None:
    """Insert records given as plain values of these fields (attnames), in list order, the other fields at their
    defaults: COPY on PostgreSQL, with no model instance made (making and preparing ImportChange instances took
    about 40 s of CPU for a million changes, as much as the UPDATE itself); bulk_create elsewhere."""
    if not rows:
        return
    if not is_postgresql():
        model.objects.bulk_create([model(**dict(zip(columns, row))) for row in rows], batch_size=2000)
        return
    fields = {f.attname: f for f in model._meta.concrete_fields if not f.primary_key}
    given = [fields[c] for c in columns]
    for at, field in enumerate(given):
        if field.get_internal_type() == "JSONField":  # its adapter is not text: COPY takes the JSON itself
            dumps, encoder = json.dumps, field.encoder
            rows = [(*row[:at], None if row[at] is None else dumps(row[at], cls=encoder), *row[at + 1:]) for row in rows]
    rest = [f for f in fields.values() if f.attname not in columns]
    same = tuple(_prepared(f, f.get_default()) for f in rest)
    with connection.cursor() as cursor:
        copy_rows(cursor.cursor, model._meta.db_table, [f.column for f in given + rest], rows, same=same)


def _prepared(field, value):
    if value is None:
        return None
    if field.get_internal_type() == "JSONField":
        return json.dumps(value, cls=field.encoder)
    return field.get_db_prep_save(value, connection)


def update_rows(model, updates: list[tuple[int, dict]]) -> int:
    """Write each record's final values (dicts with the same columns); PostgreSQL skips rows whose values do not differ."""
    if not updates:
        return 0
    if is_postgresql():
        table = model._meta.db_table
        cols = tuple(updates[0][1])
        with connection.cursor() as cursor:
            # Named by its columns: another import type updates other columns in the same session.
            staging = _staging_table(table, cols)
            cursor.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {staging} (id bigint PRIMARY KEY, "
                + ", ".join(f"{c} {model._meta.get_field(c).db_type(connection)}" for c in cols)
                + ") ON COMMIT DELETE ROWS"
            )
            cursor.execute(f"TRUNCATE {staging}")
            copy_rows(cursor.cursor, staging, ("id", *cols), ([uid, *(vals[c] for c in cols)] for uid, vals in updates))
            sets = ", ".join(f"{c} = s.{c}" for c in cols)
            cursor.execute(
                f"UPDATE {table} u SET {sets} FROM {staging} s WHERE u.id = s.id "
                f"AND ({', '.join('u.' + c for c in cols)}) IS DISTINCT FROM ({', '.join('s.' + c for c in cols)})"
            )
            return cursor.rowcount
    written = 0
    for record_id, values in updates:
        written += model.objects.filter(id=record_id).update(**values)
    return written


def _staging_table(table: str, columns: tuple[str, ...]) -> str:
    prefix = "import_user_staging" if table == "users_user" else f"import_{table}_staging"
    return f"{prefix}_{zlib.crc32(','.join(columns).encode()):08x}"


def set_column(model, column: str, values: list[tuple[int, str]]) -> None:
    """Set one text column of each record (id, value)."""
    if not values:
        return
    if is_postgresql():
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {model._meta.db_table} u SET {column} = v.value "
                "FROM unnest(%s::bigint[], %s::varchar[]) AS v(id, value) WHERE u.id = v.id",
                [[v[0] for v in values], [v[1] for v in values]],
            )
        return
    for record_id, value in values:
        model.objects.filter(id=record_id).update(**{column: value})


def insert_links(model, *, constant: dict, column: str, ids: list[int]) -> None:
    """Rows of a link table: the constant columns, and one row per id in `column`; existing ones are kept."""
    if not ids:
        return
    if is_postgresql():
        # One statement for the batch: bulk_create's model objects cost 0.3 s per 5,000 rows (measured).
        names = [model._meta.get_field(k).column for k in constant]
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {model._meta.db_table} ({', '.join(names)}, {model._meta.get_field(column).column}) "
                f"SELECT {', '.join(['%s'] * len(names))}, unnest(%s::bigint[]) ON CONFLICT DO NOTHING",
                [*constant.values(), ids],
            )
        return
    model.objects.bulk_create([model(**constant, **{column: i}) for i in ids], ignore_conflicts=True, batch_size=2000)


def rows_where_in(model, *, district_id: int, column: str, values: list, columns: tuple[str, ...],
                  expression: str | None = None) -> Iterator[tuple]:
    """Rows (these columns) of the district's records whose column is one of values, a batch at a time.
    `expression` (PostgreSQL only, e.g. "lower(u.email)") compares a computed value instead."""
    if is_postgresql():
        values = sorted(set(values))  # probes in key order share index pages (a tenth faster for a shuffled file)
    columns_of_u = tuple(c if "(" in c else f"u.{c}" for c in columns)
    for start in range(0, len(values), LOOKUP_BATCH):
        batch = values[start:start + LOOKUP_BATCH]
        if is_postgresql():
            shaped = _dense(batch) if expression is None else None
            if shaped is not None:
                found = _district_rows_between(model, district_id=district_id, column=column, keys=batch, columns=columns_of_u)
                if found is not None:
                    yield from found[0]
                    batch = _left_to_probe(batch, found[1], shaped)
                    if not batch:
                        continue
            yield from _district_rows_matching(model, district_id=district_id, match=expression or f"u.{column}", keys=batch,
                                               columns=columns_of_u)
        else:
            yield from model.objects.filter(district_id=district_id, **{f"{column}__in": batch}).values_list(*columns)


def _dense(keys: list[str]) -> tuple[int, int] | None:
    """For sorted keys that look like a run of a file sorted by its key (00001200 to 00003199, S-1200 to
    S-3199: the first and last share a prefix, then digits of one length at most twice as many apart as
    there are keys), the run's shape: (the prefix's length, the keys' length); None for any other keys.
    Only then is a range worth asking for; what the range finds is checked either way."""
    if len(keys) < 2:
        return None
    first, last = keys[0], keys[-1]
    if not isinstance(first, str) or len(first) != len(last):
        return None
    at = 0
    while at < len(first) and first[at] == last[at]:
        at += 1
    low, high = first[at:], last[at:]
    if not (low.isascii() and low.isdigit() and high.isascii() and high.isdigit() and int(high) - int(low) < 2 * len(keys)):
        return None
    return at, len(first)


def _left_to_probe(keys: list[str], found: set, shape: tuple[int, int]) -> list[str]:
    """The sorted keys a whole range missed that still need a probe. A key of the run's shape (its prefix, which
    every key between the first and last shares, then ASCII digits to the same length) is ordered by its digits
    in every collation, so the range would have held it: it is new. Any other key may sort elsewhere."""
    if len(found) == len(keys):  # found holds only keys: every one (a re-import's usual range)
        return []
    at, width = shape
    missed = [k for k in keys if k not in found]
    if missed and "".join(missed).isascii():
        return [k for k in missed if len(k) != width or not k[at:].isdigit()]
    return [k for k in missed if len(k) != width or not (k[at:].isascii() and k[at:].isdigit())]


def _district_rows_between(model, *, district_id: int, column: str, keys: list[str], columns: tuple[str, ...]):
    """PostgreSQL: the district's rows whose column lies between the first and last of the sorted keys and
    is one of them, as (rows, the keys found); None when the range holds more than twice as many rows as
    keys (a file in no useful order). One index range scan instead of a probe per key: about 2.5 times
    faster for a re-import of a file in key order. A key of the run's shape that the range missed is new;
    any other key it missed (another collation may order it elsewhere) is for the caller to probe. Joined
    as _district_rows_matching is, for the same reason: a district the statistics think small must not
    make the district index look cheap."""
    limit = 2 * len(keys)
    keyed = columns[0] == f"u.{column}"  # the caller's first column is the key: not fetched twice, rows not sliced
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT m.* FROM unnest(%s::bigint[], %s::text[], %s::text[]) AS k(district_id, low, high) "
            f"CROSS JOIN LATERAL (SELECT {'' if keyed else f'u.{column}, '}{', '.join(columns)} FROM {model._meta.db_table} u "
            f"WHERE u.district_id = k.district_id AND u.{column} >= k.low AND u.{column} <= k.high "
            f"LIMIT %s OFFSET 0) AS m",
            [[district_id], [keys[0]], [keys[-1]], limit + 1],
        )
        held = _held_in_range(cursor.fetchall(), keys, limit)
    if held is None or keyed:
        return held
    return [row[1:] for row in held[0]], held[1]


def _district_rows_matching(model, *, district_id: int, match: str, keys: list[str], columns: tuple[str, ...]) -> list[tuple]:
    """PostgreSQL: the district's rows whose `match` expression equals one of keys, one index probe per key.

    Not `district_id = <id> AND key = ANY(<literals>)`: when the statistics think the district
    small (taken before its first import, say), PostgreSQL plans that on the district index and
    reads the whole district for every batch. Here the keys are (district, key) pairs joined one
    at a time (OFFSET 0 keeps the subquery from being flattened), so the district is a join value
    that no statistic of one district can make look cheap, and each pair is one probe of the
    (district, key) index.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT m.* FROM unnest(array_fill(%s::bigint, ARRAY[%s]), %s::text[]) AS k(district_id, key) "
            f"CROSS JOIN LATERAL (SELECT {', '.join(columns)} FROM {model._meta.db_table} u "
            f"WHERE u.district_id = k.district_id AND {match} = k.key OFFSET 0) AS m",
            [district_id, len(keys), keys],
        )
        return cursor.fetchall()


def rows_where_lower_in(model, *, column: str, values: Iterable[str], columns: tuple[str, ...]) -> Iterator[tuple]:
    """Rows of every district whose lower-cased column is one of values (lower-cased), a batch at a time;
    the first of `columns` is given as the lower-cased value. On PostgreSQL a run of one shape (the usernames
    made for a district's new users: district.00001200 to district.00003199) is read as one range, as
    rows_where_in reads District IDs."""
    values = sorted(set(values))
    for start in range(0, len(values), LOOKUP_BATCH):
        batch = values[start:start + LOOKUP_BATCH]
        if is_postgresql():
            shaped = _dense(batch)
            if shaped is not None:
                found = _lower_rows_between(model, column=column, keys=batch, columns=columns)
                if found is not None:
                    yield from found[0]
                    batch = _left_to_probe(batch, found[1], shaped)
                    if not batch:
                        continue
            yield from _lower_rows_matching(model, column=column, keys=batch, columns=columns)
        else:
            yield from (
                model.objects.annotate(_ci=Lower(column)).filter(_ci__in=batch).values_list("_ci", *columns[1:])
            )


def _lower_rows_between(model, *, column: str, keys: list[str], columns: tuple[str, ...]):
    """PostgreSQL: rows whose lower-cased column lies between the first and last of the sorted keys and is one
    of them, as (rows, the keys found); None when the range holds more than twice as many rows as keys."""
    limit = 2 * len(keys)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT lower({column}), {', '.join(columns[1:])} FROM {model._meta.db_table} "
            f"WHERE lower({column}) >= %s AND lower({column}) <= %s LIMIT %s",
            [keys[0], keys[-1], limit + 1],
        )
        return _held_in_range(cursor.fetchall(), keys, limit)


def _held_in_range(rows: list[tuple], keys: list[str], limit: int):
    """A range's rows (each its key first) that hold one of the keys, and those keys; None when the range was
    cut short at the limit, so a key it missed may still be stored."""
    if len(rows) > limit:
        return None
    wanted = set(keys)
    rows = [row for row in rows if row[0] in wanted]
    return rows, {row[0] for row in rows}


def _lower_rows_matching(model, *, column: str, keys: list[str], columns: tuple[str, ...]) -> list[tuple]:
    """PostgreSQL: rows whose lower-cased column is one of keys (one probe of the lower-cased index each)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT lower({column}), {', '.join(columns[1:])} FROM {model._meta.db_table} WHERE lower({column}) = ANY(%s)",
            [keys],
        )
        return cursor.fetchall()


def column_fingerprint(model, *, district_id: int, columns: tuple[str, ...]) -> str | None:
    """A digest of these columns of the district's records: any insert, delete or change of one of them
    changes it, even inside one transaction. A 64-bit hash of each record (with its id) summed exactly: no
    sort and no district-long string. hash_record_extended (PostgreSQL 14+) hashes each column by its type,
    with no text made (at a million users: 0.42 s; 0.65 s with a second hash, which a change that must
    also pass apply's own check against the stored record does not need; 1.35 s for each record's text).
    None off PostgreSQL, where a run always checks again."""
    if not is_postgresql():
        return None
    fields = ", ".join(model._meta.get_field(c).column if c != "id" else "id" for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*), sum(hash_record_extended(ROW({fields}), 0)) FROM {model._meta.db_table} WHERE district_id = %s",
            [district_id],
        )
        count, digest = cursor.fetchone()
    return f"{count}:{digest or 0}"


# Statistics that predate this share of the table's rows mislead the planner: taken while a district
# was small, they make a scan of the whole district look cheaper than the (district, key) index, and
# each batch of 5,000 look-ups then grows with the district (measured: 5.5 s instead of 0.02 s for the
# second batch of a fresh import).
STALE_SHARE = 0.5
STALE_MIN_ROWS = 2_000


def refresh_statistics_if_stale(model, *, written_since: int = 0) -> bool:
    """ANALYZE the table when many rows changed since its last ANALYZE: `written_since` rows by this run
    (its own transaction's rows are not in the counters yet), or what PostgreSQL's counters say."""
    if not is_postgresql():
        return False
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT greatest(c.reltuples, 0), coalesce(s.n_mod_since_analyze, 0) FROM pg_class c "
            "LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid WHERE c.oid = %s::regclass",
            [table],
        )
        tuples, modified = cursor.fetchone()
        if max(modified, written_since) < max(STALE_MIN_ROWS, STALE_SHARE * tuples):
            return False
        cursor.execute(f"ANALYZE {table}")
    return True


_LOCK_NAMESPACE = 7201


@contextmanager
def district_lock(district_id: int):
    """Only one import of a district writes at a time (a session advisory lock on PostgreSQL; SQLite
    serialises writers itself). Yields False when another holds it."""
    if not is_postgresql():
        yield True
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [_LOCK_NAMESPACE, district_id])
        acquired = cursor.fetchone()[0]
    try:
        yield acquired
    finally:
        if acquired:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [_LOCK_NAMESPACE, district_id])


# Model defaults, worked out once per model: COPY names its columns, and a column it leaves out gets
# NULL, not Django's default.

@lru_cache(maxsize=None)
def column_default(model, column: str):
    return model._meta.get_field(column).get_default  # called per row, so a default such as now() stays fresh


@lru_cache(maxsize=None)
def model_defaults(model) -> tuple[dict, tuple]:
    fields = [f for f in model._meta.concrete_fields if not f.primary_key and f.has_default()]
    static = {f.attname: f.get_default() for f in fields if not callable(f.default)}
    dynamic = tuple((f.attname, f.get_default) for f in fields if callable(f.default))
    return static, dynamic


def new_record(model, insert_defaults: dict, values: dict, **engine) -> dict:
    """A new record's columns: what the engine sets, the type's insert defaults, and its record columns
    (a value not given takes the column's default)."""
    record = {column: column_default(model, column)() if value is None else value for column, value in values.items()}
    static, dynamic = model_defaults(model)
    out = {**static, **engine, **insert_defaults, **record}
    for column, default in dynamic:
        if column not in out:
            out[column] = default()
    return out


def new_records(model, insert_defaults: dict, engine: tuple[str, ...], record: tuple[str, ...], rows: Iterable,
                **constant) -> NewRows:
    """The new records new_record would make, one per row, as NewRows.

    Each row holds what the engine sets per record (named by `engine`), then its record values (named by
    `record`; None takes the column's default); `constant` is what the engine sets the same for all.
    Defaults are worked out once here; only a callable one is called per record.
    """
    static, dynamic = model_defaults(model)
    # new_record's precedence: a record value, then the type's insert defaults, then the engine, then static defaults.
    keep = [
        i for i, c in enumerate(engine)
        if c not in record and c not in insert_defaults and c not in engine[i + 1:]
    ] + list(range(len(engine), len(engine) + len(record)))
    given = tuple(engine[i] for i in keep if i < len(engine)) + tuple(record)
    constants = {k: v for k, v in {**static, **constant, **insert_defaults}.items() if k not in given}
    calls = tuple((c, default) for c, default in dynamic if c not in given and c not in constants)
    fills, called = [None] * (len(given) - len(record)), set()  # what a None becomes: an engine value stays None
    for c in record:
        field = model._meta.get_field(c)
        if field.has_default() and callable(field.default):
            called.add(len(fills))
            fills.append(field.get_default)
        else:
            fills.append(field.get_default())
    pick = None if len(keep) == len(engine) + len(record) else _picker(keep)
    out = []
    for row in rows:
        if pick is not None:
            row = pick(row)
        if called:
            values = [
                (fill() if i in called else fill) if value is None else value
                for i, (value, fill) in enumerate(zip(row, fills))
            ]
        else:
            values = [fill if value is None else value for value, fill in zip(row, fills)]
        if calls:
            values.extend(default() for _, default in calls)
        out.append(values)
    return NewRows((*given, *(c for c, _ in calls), *constants), out, tuple(constants.values()))


def _picker(positions: list[int]):
    if len(positions) == 1:
        return lambda row: (row[positions[0]],)
    return itemgetter(*positions)


def values_getter(columns: tuple[str, ...]):
    """A function giving a dict's values of these keys as a tuple (itemgetter, but always a tuple)."""
    if len(columns) >= 2:
        return itemgetter(*columns)
    return lambda values: tuple(values[c] for c in columns)
