"""How user rows reach the users table: kept for callers of the earlier engine; the code lives in
imports/targets (base.py writes, users.py knows the users table)."""
from ..targets import base
from ..targets.base import STALE_MIN_ROWS, STALE_SHARE, NewRows, copy_rows  # noqa: F401
from ..targets.users import UsersTarget, base_username  # noqa: F401

NewUsers = NewRows


def _model():
    return UsersTarget().model


def new_user(spec, values: dict, **engine) -> dict:
    """A new user's columns, as the run makes them."""
    return base.new_record(_model(), spec.insert_defaults, values, **engine)


def new_users(spec, engine: tuple[str, ...], record: tuple[str, ...], rows, **constant) -> NewRows:
    """The new users new_user would make, one per row."""
    return base.new_records(_model(), spec.insert_defaults, engine, record, rows, **constant)


def insert_users(new_users) -> None:
    base.insert_rows(_model(), new_users)


def update_users(updates: list[tuple[int, dict]]) -> int:
    return base.update_rows(_model(), updates)


def set_passwords(hashes: list[tuple[int, str]]) -> None:
    UsersTarget().set_passwords(hashes)


def refresh_statistics_if_stale(*, written_since: int = 0) -> bool:
    return base.refresh_statistics_if_stale(_model(), written_since=written_since)
