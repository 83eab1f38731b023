"""Duplicates within the file, found one way at every size and on every database: the keys go to a
temporary table a batch at a time, and one GROUP BY at the end finds every row of every duplicate.

Memory stays flat however large the file is (an in-memory dict of every key was about 200 MB at a
million rows); the messages are DuplicateCheck's (imports/pipeline/checks.py). A row may also carry the
id of the user it was the first to find (a type with two keys): first_rows reads that row back for the
row that finds the same user again (validation/matched.py).
"""
import uuid
from itertools import groupby, repeat

from django.db import connection

from ..pipeline.checks import DuplicateCheck
from ..pipeline.issues import Issue
from ..targets.base import stage_rows

FLUSH_ROWS = 5000
_COLUMNS = ("file_no", "row_no", "district_user_id", "email", "tally", "username", "user_id")
FIRST_ROWS_CHUNK = 500  # user ids asked for in one statement


class StagedDuplicateCheck:
    def __init__(self, *, search: bool = True):
        self.table = f"import_dups_{uuid.uuid4().hex[:12]}"
        # Without search (rows an earlier pass found free of duplicates), only the first rows of users are kept.
        self.search = search
        self._indexed = False
        self._files: dict[str, int] = {}
        self._where: dict[int, tuple[str, str, str, str]] = {}  # file number -> (file, id, email, username column)
        self._buffer: list[tuple] = []
        self._uncounted: list[str] = []
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TEMP TABLE {self.table} (file_no int, row_no int, district_user_id text, email text, tally text, "
                "username text, user_id bigint)"
            )

    def add(
        self, *, file: str, row: int, district_id: str, id_column: str, email: str | None, email_column: str,
        tally: str | None = None, username: str | None = None, username_column: str = "", user_id: int | None = None,
    ) -> list[Issue]:
        """Stage one row; user_id is the user it is the first row to find, if any (see first_rows)."""
        if user_id is not None or (self.search and (district_id or email or username)):
            file_no = self._file_no(file, id_column, email_column, username_column)
            self._buffer.append(_staged(file_no, row, district_id, email, tally, username, user_id))
            if len(self._buffer) >= FLUSH_ROWS:
                self._flush()
        return []

    def add_many(self, *, file: str, rows: list[int], district_ids: list[str], id_column: str, emails, email_column: str,
                 tally: str, usernames, username_column: str = "", user_ids=None) -> None:
        """add() for a run of rows of one file with the same tally (the screen's unchanged rows)."""
        file_no = self._file_no(file, id_column, email_column, username_column)
        search = self.search
        self._buffer += [
            _staged(file_no, row, key, email, tally, username, user_id)
            for row, key, email, username, user_id in zip(rows, district_ids, emails, usernames, user_ids or repeat(None))
            if user_id is not None or (search and (key or email or username))
        ]
        if len(self._buffer) >= FLUSH_ROWS:
            self._flush()

    def _file_no(self, file: str, id_column: str, email_column: str, username_column: str) -> int:
        file_no = self._files.get(file)
        if file_no is None:
            file_no = self._files[file] = len(self._files)
            self._where[file_no] = (file, id_column, email_column, username_column)
        return file_no

    def _flush(self) -> None:
        if self._buffer:
            stage_rows(self.table, _COLUMNS, self._buffer)
            self._buffer = []

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
            checks = (
                ("district_user_id", DuplicateCheck._id_issue), ("username", DuplicateCheck._username_issue),
                ("email", DuplicateCheck._email_issue),
            )
            # Rows counted in the preview that are duplicates after all (District ID or username): their
            # counts are taken back. Read with the duplicates themselves, not by grouping the table again.
            uncounted: dict[tuple[int, int], str] = {}
            for column, make in checks:
                cursor.execute(
                    f"SELECT {column}, file_no, row_no, tally FROM {self.table} WHERE {column} IN "
                    f"(SELECT {column} FROM {self.table} WHERE {column} IS NOT NULL GROUP BY {column} HAVING count(*) > 1) "
                    f"ORDER BY {column}, file_no, row_no"
                )
                for value, rows in groupby(cursor.fetchall(), key=lambda r: r[0]):
                    rows = list(rows)
                    places = [self._place(f, r, column) for _, f, r, _ in rows]
                    first = places[0]
                    issues.append(make(value, first, places[1]))
                    issues += [make(value, place, first) for place in places[1:]]
                    if column != "email":
                        uncounted.update(((f, r), tally) for _, f, r, tally in rows if tally is not None)
            self._uncounted += list(uncounted.values())
            cursor.execute(f"DROP TABLE IF EXISTS {self.table}")
        return issues

    def drain_uncounted(self) -> list[str]:
        out, self._uncounted = self._uncounted, []
        return out

    def _place(self, file_no: int, row: int, column: str) -> tuple[str, int, str]:
        file, id_column, email_column, username_column = self._where[file_no]
        return file, row, {"district_user_id": id_column, "username": username_column}.get(column, email_column)


def _staged(file_no: int, row: int, district_id: str, email: str | None, tally: str | None, username: str | None,
            user_id: int | None) -> tuple:
    """One row as the staging table holds it: addresses and usernames compared as sign-in compares them."""
    return (file_no, row, district_id or None, email.casefold() if email else None, tally,
            username.lower() if username else None, user_id)


def duplicate_check(expected_rows: int | None = None) -> StagedDuplicateCheck:
    """The file's duplicate check (expected_rows is no longer needed: one way at every size)."""
    return StagedDuplicateCheck()
