"""Duplicates within the file, found one way at every size and on every database: each value that must not
repeat goes to a temporary table with its row, a column at a time, and one GROUP BY at the end finds every
row of every duplicate.

Memory stays flat however large the file is (at a million rows a dict of every key was about 200 MB, and
the values kept as polars columns about 35 MB, which broke the import's bound on memory). Only the values
given are staged, a line each, made a column at a time with the file, tally and column written once a
run: 1.8 s at a million District IDs, where a line of every column for every row took 3.4 s. The
messages are DuplicateCheck's (imports/pipeline/checks.py). A row may also carry the id of the user it
was the first to find (a type with two keys): first_rows reads that row back for the row that finds the
same user again (validation/matched.py).
"""
import uuid
from itertools import compress, groupby

from django.db import connection

from ..pipeline.checks import DuplicateCheck
from ..pipeline.issues import Issue
from ..targets.base import stage_columns

FLUSH_ROWS = 20_000  # rows kept before they are staged
FIRST_ROWS_CHUNK = 500  # user ids asked for in one statement

# The checked columns, in the order of their number in the table: (name, message, whether a repeat makes
# the row an error, so its count is taken back).
_CHECKED = (
    ("district_user_id", DuplicateCheck._id_issue, True),
    ("username", DuplicateCheck._username_issue, True),
    ("email", DuplicateCheck._email_issue, False),
)
_KEY = 0  # the District ID's number: its lines also carry the user a row was the first to find


class StagedDuplicateCheck:
    def __init__(self, *, search: bool = True):
        self.table = f"import_dups_{uuid.uuid4().hex[:12]}"
        # Without search (rows an earlier pass found free of duplicates), only the first rows of users are kept.
        self.search = search
        self._indexed = False
        self._files: dict[str, int] = {}
        self._where: dict[int, tuple[str, str, str, str]] = {}  # file number -> (file, id, email, username column)
        self._tallies: dict[str | None, int | None] = {None: None}  # how a row was counted -> its small number
        # (column number, file number, tally, with users) -> the values, rows (and users) kept for it
        self._kept: dict[tuple, tuple[list, ...]] = {}
        self._pending = 0
        self._uncounted: list[str] = []
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TEMP TABLE {self.table} (value text, file_no int, row_no int, tally smallint, "
                "user_id bigint, kind smallint)"
            )

    def add(
        self, *, file: str, row: int, district_id: str, id_column: str, email: str | None, email_column: str,
        tally: str | None = None, username: str | None = None, username_column: str = "", user_id: int | None = None,
    ) -> list[Issue]:
        """Stage one row; user_id is the user it is the first row to find, if any (see first_rows). Its
        duplicates are reported by finish()."""
        self.add_many(file=file, rows=[row], district_ids=[district_id], id_column=id_column, emails=[email],
                      email_column=email_column, tally=tally, usernames=[username], username_column=username_column,
                      user_ids=None if user_id is None else [user_id])
        return []

    def add_many(self, *, file: str, rows: list[int], district_ids: list[str], id_column: str, emails, email_column: str,
                 tally: str | None, usernames, username_column: str = "", user_ids=None) -> None:
        """add() for a run of rows of one file with the same tally (the screen's unchanged rows)."""
        file_no = self._file_no(file, id_column, email_column, username_column)
        code = self._tallies.get(tally)
        if code is None and tally is not None:
            code = self._tallies[tally] = len(self._tallies)
        if self.search:
            self._keep(_KEY, file_no, code, rows, district_ids, user_ids)
            # As sign-in compares them: usernames lower-cased, addresses case-folded.
            if any(usernames):
                self._keep(1, file_no, code, rows, [u.lower() if u else u for u in usernames])
            if any(emails):
                self._keep(2, file_no, code, rows, [e.casefold() if e else e for e in emails])
        elif user_ids is not None:
            self._keep(_KEY, file_no, code, rows, [""] * len(rows), user_ids)
        self._pending += len(rows)
        if self._pending >= FLUSH_ROWS:
            self._flush()

    def _keep(self, kind: int, file_no: int, code: int | None, rows: list[int], values: list, users=None) -> None:
        """A column's given values (and, for the key, the users rows were the first to find) with their rows."""
        if users is None:
            given = list(map(bool, values))
            if not all(given):
                values, rows = list(compress(values, given)), list(compress(rows, given))
        else:
            given = [bool(v) or u is not None for v, u in zip(values, users)]
            values, rows, users = ([v or None for v in compress(values, given)], list(compress(rows, given)),
                                   list(compress(users, given)))
        if rows:
            given = (values, rows) if users is None else (values, rows, users)
            kept = self._kept.setdefault((kind, file_no, code, users is not None), tuple([] for _ in given))
            for vector, more in zip(kept, given):
                vector.extend(more)

    def _file_no(self, file: str, id_column: str, email_column: str, username_column: str) -> int:
        file_no = self._files.get(file)
        if file_no is None:
            file_no = self._files[file] = len(self._files)
            self._where[file_no] = (file, id_column, email_column, username_column)
        return file_no

    def _flush(self) -> None:
        # A run of one file, tally and column shares those: they are written once, not on every line.
        for (kind, file_no, code, with_users), vectors in self._kept.items():
            columns = ("value", "row_no", *(("user_id",) if with_users else ()), "file_no", "tally", "kind")
            stage_columns(self.table, columns, list(vectors), same=(file_no, code, kind))
        self._kept = {}
        self._pending = 0

    def first_rows(self, user_ids) -> dict[int, tuple[str, int]]:
        """User id -> (file, row) of the row staged as the first to find that user."""
        self._flush()
        found: dict[int, tuple[str, int]] = {}
        ids = sorted(user_ids)
        with connection.cursor() as cursor:
            if not self._indexed:  # only a file that finds a user twice pays for the index
                cursor.execute(f"CREATE INDEX {self.table}_user ON {self.table} (user_id)")
                self._indexed = True
            for at in range(0, len(ids), FIRST_ROWS_CHUNK):
                chunk = ids[at:at + FIRST_ROWS_CHUNK]
                cursor.execute(
                    f"SELECT user_id, file_no, row_no FROM {self.table} WHERE user_id IN ({', '.join(['%s'] * len(chunk))}) "
                    f"ORDER BY file_no, row_no", chunk,
                )
                for user_id, file_no, row in cursor.fetchall():
                    found.setdefault(user_id, (self._where[file_no][0], row))
        return found

    def finish(self) -> list[Issue]:
        """Every row of every duplicated District ID or username (error) and email address (warning)."""
        self._flush()
        issues: list[Issue] = []
        with connection.cursor() as cursor:
            if not self.search:
                cursor.execute(f"DROP TABLE IF EXISTS {self.table}")
                return issues
            # One GROUP BY for every column; the rows whose counts are taken back (District ID or username)
            # come with the duplicates themselves.
            cursor.execute(
                f"SELECT t.kind, t.value, t.file_no, t.row_no, t.tally FROM {self.table} t JOIN "
                f"(SELECT kind, value FROM {self.table} WHERE value IS NOT NULL GROUP BY kind, value HAVING count(*) > 1) d "
                f"ON d.kind = t.kind AND d.value = t.value ORDER BY t.kind, t.value, t.file_no, t.row_no"
            )
            tally_names = {code: tally for tally, code in self._tallies.items()}
            uncounted: dict[tuple[int, int], str] = {}  # once a row, however many of its columns repeat
            for (kind, value), rows in groupby(cursor.fetchall(), key=lambda r: r[:2]):
                column, make, refused = _CHECKED[kind]
                rows = list(rows)
                places = [self._place(f, r, column) for _, _, f, r, _ in rows]
                first = places[0]
                issues.append(make(value, first, places[1]))
                issues += [make(value, place, first) for place in places[1:]]
                if refused:
                    uncounted.update(((f, r), tally_names[code]) for _, _, f, r, code in rows if code is not None)
            self._uncounted += list(uncounted.values())
            cursor.execute(f"DROP TABLE IF EXISTS {self.table}")
        return issues

    def drain_uncounted(self) -> list[str]:
        out, self._uncounted = self._uncounted, []
        return out

    def _place(self, file_no: int, row: int, column: str) -> tuple[str, int, str]:
        file, id_column, email_column, username_column = self._where[file_no]
        return file, row, {"district_user_id": id_column, "username": username_column}.get(column, email_column)


def duplicate_check() -> StagedDuplicateCheck:
    """The file's duplicate check: one way at every size."""
    return StagedDuplicateCheck()
