"""Where a conflict is decided: new, update, unchanged or conflict, and what each option writes."""
import pytest

from imports.pipeline.classify import (
    CONFLICT, EXISTING_WINS, IMPORTED_WINS, NEW, PASSWORD_OVERWRITE, UNCHANGED, UPDATE, ExistingUser, classify,
    existing_user_warnings,
)
from imports.pipeline.rows import UserRow
from imports.types import USER_DATA

RECORD_FIELDS = USER_DATA.record_columns

MAINTAIN = "keep"
STORED = {
    "first_name": "Ada", "middle_name": "", "last_name": "Lovelace", "user_type": "student", "grade": "5",
    "email": "", "school_id": 1, "state_user_id": "IL-9", "alternate_user_id": "", "limited_english": False,
    "economically_disadvantaged": True,
}


def _row(password="", **values) -> UserRow:
    """A file row equal to STORED, except the given values (None = the cell was blank)."""
    merged = {**STORED, "middle_name": None, "email": None, "alternate_user_id": None, **values}
    return UserRow(file="roster.csv", row=2, district_id="1001", values=merged, password=password)


def _existing(**values) -> ExistingUser:
    return ExistingUser(id=10, district_user_id="1001", values={**STORED, **values})


def _classify(row, existing, conflict=IMPORTED_WINS, password=MAINTAIN):
    return classify(row, existing, conflict_policy=conflict, password_policy=password)


def test_a_district_id_not_stored_is_new():
    outcome = _classify(_row(), None)

    assert outcome.kind == NEW and outcome.writes


@pytest.mark.parametrize("conflict", [IMPORTED_WINS, EXISTING_WINS])
def test_the_same_values_are_unchanged_and_write_nothing(conflict):
    outcome = _classify(_row(), _existing(), conflict)

    assert outcome.kind == UNCHANGED
    assert outcome.changes == {} and not outcome.writes


@pytest.mark.parametrize("conflict", [IMPORTED_WINS, EXISTING_WINS])
def test_a_stored_blank_is_filled_under_either_policy(conflict):
    outcome = _classify(_row(email="ada@example.org", middle_name="Byron"), _existing(), conflict)

    assert outcome.kind == UPDATE
    assert outcome.changes == {"email": ("", "ada@example.org"), "middle_name": ("", "Byron")}


def test_imported_record_wins_replaces_differing_values():
    outcome = _classify(_row(last_name="King", grade="6", school_id=2, email="ada@example.org"), _existing())

    assert outcome.kind == CONFLICT
    assert outcome.conflicts == {"last_name": ("Lovelace", "King"), "grade": ("5", "6"), "school_id": (1, 2)}
    assert outcome.changes == {**outcome.conflicts, "email": ("", "ada@example.org")}


def test_existing_record_wins_keeps_stored_values_and_fills_blanks_only():
    outcome = _classify(_row(last_name="King", grade="6", email="ada@example.org"), _existing(), EXISTING_WINS)

    assert outcome.kind == CONFLICT
    assert outcome.conflicts == {"last_name": ("Lovelace", "King"), "grade": ("5", "6")}
    assert outcome.changes == {"email": ("", "ada@example.org")}


def test_existing_record_wins_with_only_conflicts_writes_nothing():
    outcome = _classify(_row(last_name="King"), _existing(), EXISTING_WINS)

    assert outcome.kind == CONFLICT and not outcome.writes


@pytest.mark.parametrize("conflict", [IMPORTED_WINS, EXISTING_WINS])
def test_a_blank_cell_never_erases_a_stored_value(conflict):
    blanks = {key: None for key in RECORD_FIELDS}
    stored = _existing(email="ada@example.org", middle_name="Byron", alternate_user_id="A-1", limited_english=True)

    outcome = _classify(_row(**blanks), stored, conflict)

    assert outcome.kind == UNCHANGED
    assert outcome.changes == {}


def test_a_differing_flag_is_a_conflict_not_a_fill():
    # False is a stored value, not a blank: Existing Record Wins keeps it.
    imported = _classify(_row(limited_english=True), _existing(limited_english=False), IMPORTED_WINS)
    existing = _classify(_row(limited_english=True), _existing(limited_english=False), EXISTING_WINS)

    assert imported.kind == existing.kind == CONFLICT
    assert imported.changes == {"limited_english": (False, True)}
    assert existing.changes == {}


def test_maintain_password_never_sets_an_existing_users_password():
    outcome = _classify(_row(password="Tr0ub4dor&3-horse"), _existing())

    assert not outcome.set_password
    assert outcome.kind == UNCHANGED


def test_overwrite_password_sets_it_from_the_file():
    outcome = _classify(_row(password="Tr0ub4dor&3-horse"), _existing(), password=PASSWORD_OVERWRITE)

    assert outcome.set_password
    assert outcome.kind == UPDATE and outcome.writes


def test_overwrite_password_with_a_blank_cell_keeps_the_password():
    outcome = _classify(_row(password=""), _existing(), password=PASSWORD_OVERWRITE)

    assert not outcome.set_password
    assert outcome.kind == UNCHANGED


@pytest.mark.parametrize(("password", "expected"), [("Tr0ub4dor&3-horse", True), ("", False)])
def test_a_new_user_takes_the_file_password_under_either_policy(password, expected):
    for policy in (MAINTAIN, PASSWORD_OVERWRITE):
        assert _classify(_row(password=password), None, password=policy).set_password is expected


def test_a_user_type_that_would_change_is_a_warning():
    [issue] = existing_user_warnings(_row(user_type="staff"), _existing(), labels={"user_type": "Role"})

    assert (issue.code, issue.severity, issue.row, issue.column) == ("user_type_change", "warning", 2, "Role")


def test_no_user_type_warning_for_new_users_or_the_same_type():
    assert existing_user_warnings(_row(user_type="staff"), None, labels={}) == []
    assert existing_user_warnings(_row(), _existing(), labels={}) == []
