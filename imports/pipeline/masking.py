"""What of a file row may be shown or written anywhere (reports, pages, messages): never a password.

A row whose cell count differs from the heading count has no trustworthy columns (a missing
cell slides a password into the next column), so the reader passes none of its cells on: only
its problem is given. Of a well-shaped row, the password columns are masked, and so is any
cell, or any text about the row, that holds one of the row's passwords.
"""
from collections.abc import Collection, Iterable
from dataclasses import replace

from .fields import normalize_heading
from .issues import Issue

HIDDEN = "••••••"
# A heading that holds one of these (normalised) names a secret whatever else it says: "Initial PWD", "Passcode 2".
SECRET_WORDS = ("password", "passwd", "passcode", "pwd")


def says_secret(label: str) -> bool:
    """A heading that names a secret by its words alone ("Password", "Initial PWD"), whatever the type."""
    heading = normalize_heading(label)
    return any(word in heading for word in SECRET_WORDS)


def is_password_heading(label: str | None, *, spec, field_mapping: dict) -> bool:
    """Whether a column's values are secret: the one matched to Password, a Password heading or alias,
    or any heading that says password. The one rule for every report, page and sample."""
    if not label:
        return False
    if spec.password_field and label == field_mapping.get(spec.password_field):
        return True
    return normalize_heading(label) in spec.secret_headings or says_secret(label)


def password_indexes(labels: list[str], *, spec, field_mapping: dict) -> set[int]:
    """The positions of the password columns among a file's column labels."""
    return {i for i, label in enumerate(labels) if is_password_heading(label, spec=spec, field_mapping=field_mapping)}


def row_passwords(cells: list[str], password_indexes: Iterable[int]) -> frozenset[str]:
    """The row's non-blank values in the password columns."""
    return frozenset(cells[i] for i in password_indexes if i < len(cells) and cells[i])


def shown_cells(cells: list[str], password_indexes: Collection[int]) -> list[str]:
    """The row's cells as they may be shown: password columns masked, and any cell equal to the row's password."""
    passwords = row_passwords(cells, password_indexes)
    return [HIDDEN if i in password_indexes or (cell and cell in passwords) else cell for i, cell in enumerate(cells)]


def mask_value(value, passwords: Collection[str]):
    """The value, or the mask when it is one of the row's passwords."""
    return HIDDEN if value and value in passwords else value


def mask_text(text: str, passwords: Collection[str]) -> str:
    """Text about a row (a message, a suggestion) with any of the row's passwords in it masked."""
    for password in passwords:
        if password and password in text:
            text = text.replace(password, HIDDEN)
    return text


def mask_issues(issues: list[Issue], passwords: Collection[str]) -> list[Issue]:
    """The row's issues with its passwords masked in their messages and suggestions."""
    if not any(passwords):
        return issues
    return [
        replace(i, message=mask_text(i.message, passwords), suggestion=mask_text(i.suggestion, passwords))
        if any(p and (p in i.message or p in i.suggestion) for p in passwords) else i
        for i in issues
    ]
