"""Turn one cell's text into the value we store, or say why it cannot be."""
import re
from dataclasses import dataclass
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator

STUDENT = "student"
STAFF = "staff"

GRADE_ALIASES = {
    "prek": "PK", "pk": "PK", "prekindergarten": "PK", "p": None,
    "k": "K", "kg": "K", "kindergarten": "K",
}
GRADE_DISPLAY = {"PK": "Pre-K"}
TRUE_WORDS = {"y", "yes", "1", "true"}
FALSE_WORDS = {"n", "no", "0", "false", ""}
_EXCEL_SCIENTIFIC = re.compile(r"^[+-]?\d+(\.\d+)?e[+-]?\d+$", re.IGNORECASE)
_email_validator = EmailValidator()


@dataclass(frozen=True, slots=True)
class Invalid:
    """A cell that cannot be used; the caller turns it into an Issue with row and column."""

    code: str
    message: str
    suggestion: str


@lru_cache(maxsize=512)
def user_type(text: str) -> str | Invalid:
    value = text.strip().casefold()
    if value in ("0", STUDENT):
        return STUDENT
    if value in ("1", STAFF):
        return STAFF
    return Invalid(
        "invalid_user_type",
        f'User Type "{text}" is not recognised.',
        "Use 0 or Student for students, 1 or Staff for staff.",
    )


@lru_cache(maxsize=512)
def grade(text: str) -> str | Invalid:
    """Pre-K spellings -> "PK", kindergarten spellings -> "K", 1-12 with or without a leading zero."""
    raw = text.strip()
    key = re.sub(r"[\s_\-.]+", "", raw).casefold()
    # Numbers keep their dots: "1.2" is not grade 12. isdecimal, not isdigit: int() refuses "²".
    number = int(raw) if raw.isdecimal() else None
    if GRADE_ALIASES.get(key):
        return GRADE_ALIASES[key]
    if number is not None and 1 <= number <= 12:
        return str(number)
    if key in ("tk", "transitionalkindergarten"):
        suggestion = "Transitional kindergarten is not a grade here: use Pre-K or K."
    elif number == 0:
        suggestion = "Grade 0 is usually kindergarten: use K."
    elif number is not None and number > 12:
        suggestion = f"Grades go up to 12. Check the row: {raw} may be an age or a graduation year."
    else:
        suggestion = "Use Pre-K, K, or a number from 1 to 12."
    return Invalid("invalid_grade", f'Grade "{raw}" is not a grade.', suggestion)


@lru_cache(maxsize=512)
def flag(text: str) -> bool | Invalid:
    value = text.strip().casefold()
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    return Invalid(
        "invalid_flag", f'"{text}" is not Yes or No.', "Use Y or N (Yes/No, 1/0 and True/False also work)."
    )


def email(text: str) -> str | Invalid:
    value = text.strip()
    try:
        _email_validator(value)
    except ValidationError:
        return Invalid(
            "invalid_email",
            f'"{value}" is not a valid email address.',
            "Check for spaces, a missing @ or a missing domain such as .org.",
        )
    return value


def district_id(text: str) -> str | Invalid:
    value = text.strip()
    if _EXCEL_SCIENTIFIC.match(value):
        return Invalid(
            "district_id_scientific",
            f'District ID "{value}" was turned into scientific notation by Excel, so its digits are lost.',
            "Export the file again from your SIS, or format the column as Text in Excel before saving.",
        )
    return value


def grade_display(value: str) -> str:
    return GRADE_DISPLAY.get(value, value)
