"""How user rows reach the users table.

PostgreSQL: COPY new rows straight into users_user, and UPDATE ... FROM a COPY-loaded staging
table only where values differ. SQLite: bulk_create and plain UPDATEs, simpler and correct.
"""
import csv
import io
import re
import zlib
from functools import lru_cache
from operator import itemgetter

from django.db import connection

from users.models import User

_USERNAME_UNSAFE = re.compile(r"[^A-Za-z0-9.@+_-]")


@lru_cache(maxsize=None)
def _column_default(column: str):
    return User._meta.get_field(column).get_default  # called per row, so a default such as now() stays fresh


@lru_cache(maxsize=None)
def _model_defaults() -> tuple[dict, tuple]:
    """Every other column's default: COPY names its columns, and a column it leaves out gets NULL, not Django's default."""
    fields = [f for f in User._meta.concrete_fields if not f.primary_key and f.has_default()]
    static = {f.attname: f.get_default() for f in fields if not callable(f.default)}
    dynamic = tuple((f.attname, f.get_default) for f in fields if callable(f.default))
    return static, dynamic


def new_user(spec, values: dict, **engine) -> dict:
    """A new user's columns: what the engine sets (username, password, district, key...), the import type's
    insert defaults, and its record columns (a value not given takes the column's default)."""
    record = {column: _column_default(column)() if value is None else value for column, value in values.items()}
    static, dynamic = _model_defaults()
    user = {**static, **engine, **spec.insert_defaults, **record}
    for column, default in dynamic:
        if column not in user:
            user[column] = default()
    return user


class NewUsers:
    """New users as rows of values in one column order, without a dict per user: each row holds the
    values that differ between users, then `same`, the values every user of the batch shares.

    Indexing or iterating gives each user as a dict, as new_user makes them; a slice is NewUsers.
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
            return NewUsers(self.columns, self.rows[item], self.same)
        return dict(zip(self.columns, (*self.rows[item], *self.same)))


def new_users(spec, engine: tuple[str, ...], record: tuple[str, ...], rows, **constant) -> NewUsers:
    """The new users new_user would make, one per row, as NewUsers.

    Each row holds what the engine sets per user (named by `engine`), then its record values (named by
    `record`; None takes the column's default); `constant` is what the engine sets the same for all.
    Defaults are worked out once here; only a callable one is called per user.
    """
    static, dynamic = _model_defaults()
    # new_user's precedence: a record value, then the type's insert defaults, then the engine, then static defaults.
    keep = [
        i for i, c in enumerate(engine)
        if c not in record and c not in spec.insert_defaults and c not in engine[i + 1:]
    ] + list(range(len(engine), len(engine) + len(record)))
    given = tuple(engine[i] for i in keep if i < len(engine)) + tuple(record)
    constants = {k: v for k, v in {**static, **constant, **spec.insert_defaults}.items() if k not in given}
    calls = tuple((c, default) for c, default in dynamic if c not in given and c not in constants)
    fills, called = [None] * (len(given) - len(record)), set()  # what a None becomes: an engine value stays None
    for c in record:
        field = User._meta.get_field(c)
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
    return NewUsers((*given, *(c for c, _ in calls), *constants), out, tuple(constants.values()))


def _picker(positions: list[int]):
    if len(positions) == 1:
        return lambda row: (row[positions[0]],)
    return itemgetter(*positions)


def base_username(district_slug: str, district_user_id: str) -> str:
    """Stable: made once from the district and District ID, never changed by a later import."""
    return f"{district_slug}.{_USERNAME_UNSAFE.sub('_', district_user_id)}"[:150]


# COPY's text format. The fast way is the C csv writer: a backslash escapes a tab or backslash
# inside a value, which COPY reads back as the character itself. A line break inside a value
# needs COPY's own \\n or \\r, so a batch that has one is written the slow, exact way.
# NULL is a marker with control characters that no SIS value carries.
_NULL = "\x1fNULL\x1f"
_COPY_OPTIONS = "WITH (FORMAT text, NULL E'\\x1fNULL\\x1f')"


def _copy_text(value) -> str:
    if value is None:
        return _NULL
    if isinstance(value, bool):
        return "t" if value else "f"
    return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def copy_rows(cursor, table: str, columns, rows, same: tuple = ()) -> None:
    """COPY rows (sequences of values) into table's columns; None is NULL. `same`: values of the last
    columns, equal for every row, written out once (the csv writer's str() of a date or a bool is not free)."""
    rows = rows if isinstance(rows, list) else list(rows)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter="\t", quoting=csv.QUOTE_NONE, escapechar="\\", lineterminator="\n")
    writer.writerows([_NULL if v is None else v for v in row] for row in rows)
    text = buffer.getvalue()
    if "\r" in text or "\\\n" in text:
        text = "".join("\t".join(_copy_text(v) for v in (*row, *same)) + "\n" for row in rows)
    elif same:
        # Every "\n" ends a row here: a line break inside a value took the branch above.
        separator = "\t" if len(columns) > len(same) else ""
        text = text.replace("\n", separator + "\t".join(map(_copy_text, same)) + "\n")
    cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN {_COPY_OPTIONS}", io.StringIO(text))


def insert_users(new_users) -> None:
    """Insert users given as NewUsers, or as dicts with the same columns (made by new_user)."""
    if not new_users:
        return
    if connection.vendor == "postgresql":
        if not isinstance(new_users, NewUsers):
            columns = tuple(new_users[0])
            new_users = NewUsers(columns, [[u[c] for c in columns] for u in new_users])
        with connection.cursor() as cursor:
            copy_rows(cursor.cursor, User._meta.db_table, new_users.columns, new_users.rows, new_users.same)
        return
    User.objects.bulk_create([User(**u) for u in new_users], batch_size=500)


def update_users(updates: list[tuple[int, dict]]) -> int:
    """Write each user's final values (dicts with the same columns); PostgreSQL skips rows whose values do not differ."""
    if not updates:
        return 0
    if connection.vendor == "postgresql":
        table = User._meta.db_table
        cols = tuple(updates[0][1])
        with connection.cursor() as cursor:
            # Named by its columns: another import type updates other columns in the same session.
            staging = _staging_table(cols)
            cursor.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {staging} (id bigint PRIMARY KEY, "
                + ", ".join(f"{c} {User._meta.get_field(c).db_type(connection)}" for c in cols)
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
    for user_id, values in updates:
        written += User.objects.filter(id=user_id).update(**values)
    return written


def _staging_table(columns: tuple[str, ...]) -> str:
    return f"import_user_staging_{zlib.crc32(','.join(columns).encode()):08x}"


def set_passwords(hashes: list[tuple[int, str]]) -> None:
    if not hashes:
        return
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {User._meta.db_table} u SET password = v.hash FROM unnest(%s::bigint[], %s::varchar[]) AS v(id, hash) "
                "WHERE u.id = v.id",
                [[h[0] for h in hashes], [h[1] for h in hashes]],
            )
        return
    for user_id, encoded in hashes:
        User.objects.filter(id=user_id).update(password=encoded)


# Statistics that predate this share of the table's rows mislead the planner: taken while a district
# was small, they make a scan of the whole district look cheaper than the (district, District ID)
# index, and each batch of 5,000 look-ups then grows with the district (measured: 5.5 s instead of
# 0.02 s for the second batch of a fresh import).
STALE_SHARE = 0.5
STALE_MIN_ROWS = 2_000


def refresh_statistics_if_stale(*, written_since: int = 0) -> bool:
    """ANALYZE the users table when many rows changed since its last ANALYZE: `written_since` rows by this
    run (its own transaction's rows are not in the counters yet), or what PostgreSQL's counters say."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT greatest(c.reltuples, 0), coalesce(s.n_mod_since_analyze, 0) FROM pg_class c "
            "LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid WHERE c.oid = %s::regclass",
            [User._meta.db_table],
        )
        tuples, modified = cursor.fetchone()
        if max(modified, written_since) < max(STALE_MIN_ROWS, STALE_SHARE * tuples):
            return False
        cursor.execute(f"ANALYZE {User._meta.db_table}")
    return True


