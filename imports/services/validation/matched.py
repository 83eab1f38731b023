"""A row that finds a user an earlier row already found (a type with two keys: a sourcedId and a District ID).

The row is an error that names the earlier row. Which users were found is one bit per user id, so memory
follows the range of ids (1 MB per 8 million), not the file: a dict of every user to its first row was
145 MB at a million rows. The first row itself is staged with the duplicate check's rows, and read back
once a batch, only for the users a row of that batch found again.
"""
from ...pipeline.classify import ExistingUser
from ...pipeline.issues import ERROR, Issue
from ...pipeline.masking import mask_issues
from .result import ERROR_SAME_USER

CODE = "same_user_twice"
SUGGESTION = "Each user must appear once. Remove one of the two rows."
_BLOCK_BITS = 16  # ids in blocks of 65,536 (8 KB): a district's users need not be one run of ids
_IN_BLOCK = (1 << _BLOCK_BITS) - 1


class MatchedUsers:
    """The users found so far in the file, and the errors of this batch's rows that found one again."""

    def __init__(self, staged):
        self._staged = staged  # the duplicate check's staging: first_rows(user ids)
        self._blocks: dict[int, bytearray] = {}
        self._pending: dict[tuple[str, int], tuple[int, str, str, str | None]] = {}

    def first(self, user_id: int) -> bool:
        """Whether no earlier row found this user; from now on one has."""
        block = self._blocks.get(user_id >> _BLOCK_BITS)
        if block is None:
            block = self._blocks[user_id >> _BLOCK_BITS] = bytearray(1 << (_BLOCK_BITS - 3))
        at, bit = (user_id & _IN_BLOCK) >> 3, 1 << (user_id & 7)
        if block[at] & bit:
            return False
        block[at] |= bit
        return True

    def again(self, row, existing: ExistingUser, labels: dict) -> list[Issue]:
        """The error of a row whose user an earlier row found: its message is written by complete()."""
        column = labels.get("district_id", "")
        self._pending[(row.file, row.row)] = (existing.id, existing.district_user_id, column, row.password)
        return [Issue(ERROR, CODE, "", SUGGESTION, row=row.row, column=column, field="district_id", file=row.file)]

    def complete(self, issues: list[Issue]) -> list[Issue]:
        """The batch's issues, each of again()'s errors naming the row that first found its user."""
        if not self._pending:
            return issues
        pending, self._pending = self._pending, {}
        firsts = self._staged.first_rows({user_id for user_id, _, _, _ in pending.values()})
        out = []
        for issue in issues:
            found = pending.get((issue.file, issue.row)) if issue.code == CODE else None
            if found is not None:
                user_id, district_id, column, password = found
                first_file, first_row = firsts[user_id]
                issue = Issue(
                    ERROR, CODE, ERROR_SAME_USER.format(file=first_file, row=first_row, district_id=district_id),
                    SUGGESTION, row=issue.row, column=column, field="district_id", file=issue.file,
                )
                issue = mask_issues([issue], (password,))[0]  # as the row's other issues are
            out.append(issue)
        return out
