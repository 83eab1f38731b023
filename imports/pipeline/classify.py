"""Decide what an import does to one user: where a conflict is decided."""
from dataclasses import dataclass, field
from itertools import compress, count, repeat
from operator import itemgetter, ne

from .issues import ERROR, WARNING, Issue
from .rows import UserRow

# Said of an account no import may change (users.protection decides which); it does not say why, so a
# file cannot probe who holds ops access.
ERROR_PROTECTED_ACCOUNT = "this District ID belongs to an account that imports cannot change"

NEW = "new"
UPDATE = "update"  # only blank stored fields are filled
UNCHANGED = "unchanged"
CONFLICT = "conflict"  # a stored non-blank value differs from the file

IMPORTED_WINS = "imported"
EXISTING_WINS = "existing"
FILE_WINS = "file"  # a type that offers no conflict choice: the file's value is written, and it is an update
PASSWORD_OVERWRITE = "overwrite"

# An import that could change an administrator's email could mail itself a set-password link for the account.
ADMIN_ACCOUNT = "District ID {district_id}: " + ERROR_PROTECTED_ACCOUNT + "."
ADMIN_ACCOUNT_SUGGESTION = "Remove this row from the file. To change this account's details, ask Classworks support."


class ExistingUser:
    """The stored values of a matched user, as plain data.

    A look-up gives the stored row as a tuple with its columns' positions (shared by every user it
    found): most rows are only compared, so the dict of values is made on first use.
    """

    __slots__ = ("id", "district_user_id", "protected", "_values", "_stored", "_positions")

    def __init__(self, id: int, district_user_id: str, values: dict | None = None, protected: bool = False, *,
                 stored: tuple = (), positions: dict[str, int] | None = None):
        self.id = id
        self.district_user_id = district_user_id
        self.protected = protected  # users.protection.is_protected: no import may touch it
        self._values = values
        self._stored = stored
        self._positions = positions

    @property
    def values(self) -> dict:
        """The type's record columns -> stored value."""
        if self._values is None:
            self._values = {column: self._stored[i] for column, i in self._positions.items()}
        return self._values

    def __eq__(self, other) -> bool:
        return isinstance(other, ExistingUser) and (self.id, self.district_user_id, self.protected, self.values) == (
            other.id, other.district_user_id, other.protected, other.values)

    def __repr__(self) -> str:
        return f"ExistingUser(id={self.id}, district_user_id={self.district_user_id!r}, protected={self.protected})"


@dataclass(slots=True)
class Outcome:
    kind: str  # NEW, UPDATE, UNCHANGED or CONFLICT
    changes: dict = field(default_factory=dict)  # field -> (before, after) that will be written
    conflicts: dict = field(default_factory=dict)  # field -> (stored, file) where they disagree
    set_password: bool = False

    @property
    def writes(self) -> bool:
        return self.kind == NEW or bool(self.changes) or self.set_password


def without_password(outcome: Outcome) -> Outcome:
    """The outcome with the file's password left unset (an account whose holder already signs in)."""
    kind = UNCHANGED if outcome.kind == UPDATE and not outcome.changes else outcome.kind
    return Outcome(kind, changes=outcome.changes, conflicts=outcome.conflicts, set_password=False)


def _blank(value) -> bool:
    return value is None or value == ""


def classify(row: UserRow, existing: ExistingUser | None, *, conflict_policy: str, password_policy: str) -> Outcome:
    """New, update, unchanged or conflict, and the changes the chosen options will write.

    A blank cell never erases a stored value. Imported Record Wins replaces differing values;
    Existing Record Wins only fills stored blanks; FILE_WINS (a type without the choice) writes
    every differing value as an update. Flags are never blank, so a differing flag
    is a conflict.
    """
    if existing is None:
        return Outcome(NEW, set_password=bool(row.password))
    if existing.protected:
        return Outcome(UNCHANGED)  # validation makes the row an error; a run writes nothing to it either way
    set_password = password_policy == PASSWORD_OVERWRITE and bool(row.password)
    if same_as_stored(row.values, existing):  # most rows of a re-import: the one statement of "the same"
        return Outcome(UPDATE if set_password else UNCHANGED, set_password=set_password)
    fills, conflicts = {}, {}
    for key, new in row.values.items():
        if _gives_nothing_new(new, existing.values.get(key)):
            continue
        old = existing.values.get(key)
        if _blank(old) and not isinstance(new, bool):  # a flag is never blank: a differing one is a conflict
            fills[key] = (old, new)
        else:
            conflicts[key] = (old, new)
    if conflict_policy == FILE_WINS:
        fills.update(conflicts)
        conflicts = {}
    changes = dict(fills)
    if conflict_policy == IMPORTED_WINS:
        changes.update(conflicts)
    kind = CONFLICT if conflicts else UPDATE if (fills or set_password) else UNCHANGED
    return Outcome(kind, changes=changes, conflicts=conflicts, set_password=set_password)


def protected_account_issues(row: UserRow, existing: ExistingUser | None, *, labels: dict[str, str]) -> list[Issue]:
    """An error for a row that matches an administrator or a superuser, whatever the options."""
    if existing is None or not existing.protected:
        return []
    return [Issue(
        ERROR, "admin_account", ADMIN_ACCOUNT.format(district_id=row.district_id), ADMIN_ACCOUNT_SUGGESTION,
        row=row.row, column=labels.get("district_id", ""), field="district_id", file=row.file,
    )]


def unmatched_key_issues(row: UserRow, existing: ExistingUser | None, *, unmatched, labels: dict[str, str]) -> list[Issue]:
    """For a type that only updates users (its spec's unmatched), the error for a row whose key finds no one."""
    if existing is not None or unmatched is None or not row.district_id:
        return []
    invalid = unmatched(row.district_id)
    return [Issue(
        ERROR, invalid.code, invalid.message, invalid.suggestion,
        row=row.row, column=labels.get("district_id", ""), field="district_id", file=row.file,
    )]


def existing_user_warnings(row: UserRow, existing: ExistingUser | None, *, labels: dict[str, str]) -> list[Issue]:
    """Warnings that need the stored record: a user type that would change."""
    if existing is None:
        return []
    new_type = row.values.get("user_type")
    old_type = existing.values.get("user_type")
    if new_type and old_type and new_type != old_type:
        return [Issue(
            WARNING, "user_type_change",
            f"District ID {row.district_id} is a {old_type} in Classworks but a {new_type} in the file.",
            "Check the User Type column: changing a student to staff (or back) changes what they can see.",
            row=row.row, column=labels.get("user_type", ""), field="user_type", file=row.file,
        )]
    return []


def _gives_nothing_new(new, old) -> bool:
    """A file value that changes nothing: blank (a blank never erases), or equal to the stored one."""
    return new is None or new == "" or new == old


def same_as_stored_block(names: list[str], columns: list, found: list[ExistingUser | None]) -> list[bool]:
    """same_as_stored for a block of rows a column at a time: names are the stored columns the rows give,
    columns their value vectors (None: no row gives it), found each row's stored record (None: no one,
    which is never the same). The per-value test is _gives_nothing_new, compared by C loops (operator.ne)
    because nearly every value of a re-import equals the stored one; only the differing ones are looked at."""
    same = [f is not None for f in found]
    if not any(same):
        return same
    if any(f is not None and f._values is not None for f in found):  # records given as dicts: one at a time
        values = [dict(zip(names, v)) for v in zip(*(c if c is not None else repeat(None) for c in columns))] \
            if columns else [{} for _ in found]
        return [f is not None and same_as_stored(v, f) for v, f in zip(values, found)]
    positions = next(f._positions for f in found if f is not None)
    width = max(positions.values(), default=0) + 1
    nobody = (None,) * width
    stored = [nobody if f is None else f._stored for f in found]
    for name, vector in zip(names, columns):
        if vector is None:
            continue
        at = positions.get(name)
        if at is None:  # a value the look-up did not fetch: only a blank changes nothing
            old = repeat(_NOT_STORED)
        else:
            old = map(itemgetter(at), stored)
        for i in compress(count(), map(ne, vector, old)):
            if not _gives_nothing_new(vector[i], _NOT_STORED if at is None else stored[i][at]):
                same[i] = False
    return same


_NOT_STORED = object()  # never equal to a file's value


def same_as_stored(values: dict, existing: ExistingUser) -> bool:
    """Every value the row gives changes nothing (_gives_nothing_new for each): classify's UNCHANGED."""
    if existing._values is not None:
        stored = existing._values
        return all(_gives_nothing_new(new, stored.get(key)) for key, new in values.items())
    row, positions = existing._stored, existing._positions  # a method call per value was most of this (measured)
    for key, new in values.items():
        if new is not None and new != "":  # _gives_nothing_new, inlined on the stored tuple
            i = positions.get(key)
            if i is None or new != row[i]:
                return False
    return True
