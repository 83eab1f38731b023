"""Checks that need the whole file, not one row: duplicates within the file."""
from .issues import ERROR, WARNING, Issue


class DuplicateCheck:
    """Reports every row of a duplicated District ID (error) or email address (warning).

    Keeps one small entry per distinct value, so memory grows with the file's ids only.
    """

    def __init__(self):
        self._ids: dict[str, tuple[str, int, str]] = {}
        self._emails: dict[str, tuple[str, int, str]] = {}
        self._reported_first: set[tuple[str, int, str]] = set()

    def add(self, *, file: str, row: int, district_id: str, id_column: str, email: str | None, email_column: str) -> list[Issue]:
        issues: list[Issue] = []
        if district_id:
            issues += self._see(self._ids, district_id, (file, row, id_column), self._id_issue)
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
        return issues

    def finish(self) -> list[Issue]:
        """Nothing is left to report: this check reports as it goes."""
        return []

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
