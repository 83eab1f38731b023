"""Checks that need the whole file, not one row: duplicates within the file."""
from .issues import ERROR, WARNING, Issue


class DuplicateCheck:
    """Reports every row of a duplicated District ID or username (error) or email address (warning).

    Keeps one small entry per distinct value, so memory grows with the file's ids only.
    """

    def __init__(self):
        self._ids: dict[str, tuple[str, int, str]] = {}
        self._usernames: dict[str, tuple[str, int, str]] = {}
        self._emails: dict[str, tuple[str, int, str]] = {}
        self._reported_first: set[tuple[str, int, str]] = set()
        self._tallies: dict[tuple[str, int], str] = {}  # how each row without an error so far was counted
        self._uncounted: list[str] = []

    def add(
        self, *, file: str, row: int, district_id: str, id_column: str, email: str | None, email_column: str,
        tally: str | None = None, username: str | None = None, username_column: str = "",
    ) -> list[Issue]:
        """Issues for this row, and for an earlier row now known to be its duplicate.

        tally says how this row was counted in the preview; when a later row turns it into an
        error, drain_uncounted() gives the tally back so the caller can take the count back.
        """
        issues: list[Issue] = []
        if tally is not None:
            self._tallies[(file, row)] = tally
        if district_id:
            issues += self._see(self._ids, district_id, (file, row, id_column), self._id_issue)
        if username:
            # Lower-cased, as sign-in and the stored usernames are compared.
            issues += self._see(self._usernames, username.lower(), (file, row, username_column), self._username_issue)
        if email:
            issues += self._see(self._emails, email.casefold(), (file, row, email_column), self._email_issue)
        return issues

    def _see(self, seen, key, where, make) -> list[Issue]:
        first = seen.get(key)
        if first is None:
            seen[key] = where
            return []
        issues = []
        if first not in self._reported_first:
            self._reported_first.add(first)
            issues.append(make(key, first, where))
        issues.append(make(key, where, first))
        if issues[-1].is_error:
            self._tallies.pop(where[:2], None)  # this row is an error now: the caller does not count it
            tally = self._tallies.pop(first[:2], None)  # the earlier row was counted: take it back
            if tally is not None:
                self._uncounted.append(tally)
        return issues

    def finish(self) -> list[Issue]:
        """Nothing is left to report: this check reports as it goes."""
        return []

    def drain_uncounted(self) -> list[str]:
        out, self._uncounted = self._uncounted, []
        return out

    @staticmethod
    def _username_issue(value, where, other) -> Issue:
        file, row, column = where
        return Issue(
            ERROR, "duplicate_username",
            f'Username "{value}" appears more than once in the file (also row {other[1]}).',
            "Each user needs their own username. Correct one of the rows, or leave it blank to have one made.",
            row=row, column=column, field="username", file=file,
        )

    @staticmethod
    def _id_issue(value, where, other) -> Issue:
        file, row, column = where
        return Issue(
            ERROR, "duplicate_district_id",
            f'District ID "{value}" appears more than once in the file (also row {other[1]}).',
            "Each user must appear once. Remove the extra row or correct the ID.",
            row=row, column=column, field="district_id", file=file,
        )

    @staticmethod
    def _email_issue(value, where, other) -> Issue:
        file, row, column = where
        return Issue(
            WARNING, "duplicate_email_in_file",
            f"The same email address is on more than one row (also row {other[1]}).",
            "Two people rarely share an address: check for a copy-and-paste mistake.",
            row=row, column=column, field="email", file=file,
        )
