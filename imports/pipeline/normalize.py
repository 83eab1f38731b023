"""Turn one cell's text into the value we store, or say why it cannot be; a field's Rule says which."""
import datetime
import re
from collections.abc import Callable
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
# The everyday address (letters, digits, dots, _ + - before the @; a hostname with a letters-only TLD after it)
# is a strict subset of what EmailValidator accepts, and matched nine times faster: a district has 100,000s.
_PLAIN_EMAIL = re.compile(r"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}")


@dataclass(frozen=True, slots=True)
class Invalid:
    """A cell that cannot be used; the caller turns it into an Issue with row and column."""

    code: str
    message: str
    suggestion: str


@dataclass(frozen=True, slots=True)
class Doubtful:
    """A usable value the admin should look at: the row keeps the value and gets a warning."""

    value: object
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
    if len(value) <= 320 and _PLAIN_EMAIL.fullmatch(value):
        return value
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
    # Every id passes here once: the pattern only when the text has an exponent's "e" at all.
    if ("e" in value or "E" in value) and _EXCEL_SCIENTIFIC.match(value):
        return Invalid(
            "district_id_scientific",
            f'District ID "{value}" was turned into scientific notation by Excel, so its digits are lost.',
            "Export the file again from your SIS, or format the column as Text in Excel before saving.",
        )
    return value


def grade_display(value: str) -> str:
    return GRADE_DISPLAY.get(value, value)


_DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%m/%d/%y", "%Y%m%d", "%Y/%m/%d")


@lru_cache(maxsize=4096)
def date(text: str) -> datetime.date | Invalid:
    """ISO dates (2014-09-03), US dates (9/3/2014, 9/3/14) and SIS compact dates (20140903)."""
    value = text.strip()
    for form in _DATE_FORMATS:
        try:
            return datetime.datetime.strptime(value, form).date()
        except ValueError:
            continue
    return Invalid("invalid_date", f'"{value}" is not a date.', "Write dates as YYYY-MM-DD, for example 2014-09-03.")


# --- Demographics and sign-in ---

_EXCEL_EPOCH = datetime.date(1899, 12, 30)  # Excel's day 0, with its 1900 leap-year bug already allowed for
_EXCEL_SERIAL = re.compile(r"^\d{1,5}(\.0+)?$")
_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})$")
_DATE_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$")  # an xlsx date cell read as text
BIRTHDATE_YEARS_BACK = 100


@lru_cache(maxsize=4096)
def _birthdate_parts(value: str) -> tuple[datetime.date | None, bool]:
    """The date a birthdate cell names, and whether its day and month could be swapped."""
    if _EXCEL_SERIAL.match(value):
        days = int(float(value))
        return (_EXCEL_EPOCH + datetime.timedelta(days=days), False) if days > 0 else (None, False)
    stamp = _DATE_TIME.match(value)
    found = date(stamp.group(1) if stamp else value)
    if isinstance(found, Invalid):
        return None, False
    us = _US_DATE.match(value)
    # 4/2/2011 is April 2 in a US file and 4 February elsewhere; 4/4/2011 or 4/13/2011 reads one way only.
    ambiguous = bool(us) and us.group(1).lstrip("0") != us.group(2).lstrip("0") and int(us.group(2)) <= 12
    return found, ambiguous


def birthdate(text: str, today: datetime.date | None = None) -> datetime.date | Doubtful | Invalid:
    """ISO (2011-04-02), US (4/2/2011) and Excel serial (40635) dates; doubtful ones come with a warning."""
    value = text.strip()
    found, ambiguous = _birthdate_parts(value)
    if found is None:
        return Invalid(
            "invalid_birthdate", f'Birthdate "{value}" is not a date.',
            "Write dates as YYYY-MM-DD (2011-04-02) or M/D/YYYY (4/2/2011).",
        )
    today = today or datetime.date.today()
    if found > today:
        return Doubtful(found, "birthdate_future", f'Birthdate "{value}" is in the future.', "Check the year.")
    if found < today.replace(year=today.year - BIRTHDATE_YEARS_BACK, day=min(today.day, 28)):
        return Doubtful(
            found, "birthdate_too_old", f'Birthdate "{value}" is more than {BIRTHDATE_YEARS_BACK} years ago.',
            "Check the year: a spreadsheet may have turned a blank or a number into a date.",
        )
    if ambiguous:
        return Doubtful(
            found, "birthdate_ambiguous",
            f'Birthdate "{value}" could be read two ways; it was read as month/day/year: {found:%B} {found.day}, {found.year}.',
            "Write it as YYYY-MM-DD to be sure, e.g. " + found.isoformat() + ".",
        )
    return found


GENDERS = {
    "m": "M", "male": "M", "f": "F", "female": "F", "x": "X", "nonbinary": "X", "other": "X",
    "unspecified": "",  # OneRoster's "not given"
}


@lru_cache(maxsize=512)
def gender(text: str) -> str | Invalid:
    value = GENDERS.get(re.sub(r"[\s_\-]+", "", text).casefold())
    if value is None:
        return Invalid("invalid_gender", f'Gender "{text.strip()}" is not recognised.', "Use M, F or X (Male, Female, Non-binary).")
    return value


@lru_cache(maxsize=512)
def hispanic_latino(text: str) -> bool | Invalid:
    """A Y/N flag, or the words OneRoster and state reports use."""
    words = " ".join(text.split()).casefold()
    if words == "hispanic or latino":
        return True
    if words == "not hispanic or latino":
        return False
    return flag(text)


RACES = (
    "Hispanic/Latino", "American Indian or Alaska Native", "Asian", "Black or African American",
    "Native Hawaiian or Other Pacific Islander", "White", "Two or more races",
)
RACE_SEPARATOR = ";"
_RACE_BY_KEY = {r.casefold(): r for r in RACES}


@lru_cache(maxsize=512)
def race(text: str) -> str | Invalid:
    """One or more federal categories separated by ";", each kept (never folded), in the canonical spelling."""
    found: list[str] = []
    for part in text.split(RACE_SEPARATOR):
        words = " ".join(part.split())
        if not words:
            continue
        category = _RACE_BY_KEY.get(words.casefold())
        if category is None:
            return Invalid(
                "invalid_race", f'Race "{words}" is not one of the 7 federal categories.',
                "Use " + ", ".join(RACES) + "; separate several with ;.",
            )
        if category not in found:
            found.append(category)
    return RACE_SEPARATOR.join(found)


_USERNAME = re.compile(r"^[\w.@+-]+$")


def username(text: str) -> str | Invalid:
    value = text.strip()
    if not _USERNAME.match(value):
        return Invalid(
            "invalid_username", f'Username "{value}" has a character a username cannot have.',
            "Use letters, digits and . @ + - _ only, without spaces.",
        )
    return value


# --- The stored value written back in the file's spelling (the export, the sample file) ---

USER_TYPE_CODES = {STUDENT: "0", STAFF: "1"}


def as_text(value) -> str:
    return "" if value is None else str(value)


def flag_text(value) -> str:
    return "Y" if value else "N"


def user_type_text(value) -> str:
    return USER_TYPE_CODES.get(value, "")


def grade_text(value) -> str:
    return grade_display(value) if value else ""


def date_text(value) -> str:
    return value.isoformat()[:10] if value else ""


# --- Value mapping: what a coded field's unrecognised file values may stand for ---

SKIP = "skip"  # a value mapped to this: its rows are left out of the import, and counted, not errors
SKIP_LABEL = "Skip these rows"
SKIP_NOT_K12_LABEL = "Skip these rows (not K-12)"


@dataclass(frozen=True, slots=True)
class Coding:
    """A coded field: the Classworks values a file value can be mapped to, and a guess for a file's own code."""

    choices: tuple[tuple[str, str], ...]  # (text the field's parse recognises, label)
    suggest: Callable[[str], str | None]  # a file value -> one of the choices' texts, SKIP, or None (the admin chooses)
    separator: str = ""  # a cell holds several values (Race): each part is mapped on its own
    can_skip: bool = True  # "skip these rows" is offered
    not_k12: Callable[[str], bool] = lambda text: False  # a post-secondary value: its suggestion says so

    def skip_label(self, text: str) -> str:
        """How "skip these rows" reads for this file value: post-secondary values say why."""
        return SKIP_NOT_K12_LABEL if self.not_k12(text) else SKIP_LABEL


_ROLES = {
    "student": STUDENT, "teacher": STAFF, "administrator": STAFF, "aide": STAFF, "proctor": STAFF,
    "districtadministrator": STAFF, "siteadministrator": STAFF, "principal": STAFF, "faculty": STAFF,
    "guardian": SKIP, "parent": SKIP, "relative": SKIP,
    **dict.fromkeys((
        "systemadministrator", "counselor", "staff", "teacherassistant", "assistant", "paraprofessional",
        "specialservices", "advisor", "nurse", "officestaff", "itadmin", "substitute", "coach", "instructor",
        "occupationaltherapist", "physicaltherapist", "speechtherapist", "visiontherapist", "chair",
    ), STAFF),
}
# Post-secondary values (CEDS grades, SDS v2.1 roles): rows that are not K-12, suggested for skipping.
NOT_K12_ROLES = {"professor", "lecturer", "researcher", "adjunct"}
NOT_K12_GRADES = {"ps", "ps1", "ps2", "ps3", "ps4", "ug", "undergraduate", "graduate", "postgraduate", "postgraduatealumni"}
_CEDS_GRADES = {"it": "PK", "pr": "PK", "pk": "PK", "tk": "PK", "kg": "K"}
_FLAG_WORDS = {"y": "Y", "yes": "Y", "true": "Y", "1": "Y", "t": "Y", "n": "N", "no": "N", "false": "N", "0": "N", "f": "N"}


def key_of(text: str) -> str:
    return re.sub(r"[\s_\-.]+", "", text).casefold()


def suggest_user_type(text: str) -> str | None:
    """OneRoster and SDS roles: student; the staff roles; guardian, parent, relative and post-secondary roles are skipped."""
    key = key_of(text)
    return SKIP if key in NOT_K12_ROLES else _ROLES.get(key)


def role_not_k12(text: str) -> bool:
    return key_of(text) in NOT_K12_ROLES


def grade_not_k12(text: str) -> bool:
    return key_of(text) in NOT_K12_GRADES


def suggest_grade(text: str) -> str | None:
    """CEDS grade codes: IT, PR, PK, TK -> Pre-K; KG -> K; 01-12 -> 1-12; PS, UG -> skipped (not K-12); 13, Other -> the admin chooses."""
    key = key_of(text)
    if key in _CEDS_GRADES:
        return _CEDS_GRADES[key]
    if key in NOT_K12_GRADES:
        return SKIP
    return str(int(key)) if key.isdecimal() and 1 <= int(key) <= 12 else None


def suggest_flag(text: str) -> str | None:
    """Y/N, Yes/No, True/False, 1/0, T/F."""
    return _FLAG_WORDS.get(key_of(text))


def suggest_nothing(text: str) -> None:
    return None


USER_TYPE_CODES_MAP = Coding(((STUDENT, "Student"), (STAFF, "Staff")), suggest_user_type, not_k12=role_not_k12)
GRADE_CODES = Coding((("PK", "Pre-K"), ("K", "Kindergarten"), *((str(n), str(n)) for n in range(1, 13))), suggest_grade, not_k12=grade_not_k12)
FLAG_CODES = Coding((("Y", "Yes"), ("N", "No")), suggest_flag)
GENDER_CODES = Coding((("M", "Male"), ("F", "Female"), ("X", "Non-binary")), suggest_nothing)
RACE_CODES = Coding(tuple((r, r) for r in RACES), suggest_nothing, separator=RACE_SEPARATOR)


# --- Rules: what a field's cell must be, as data plus the small functions above ---

Condition = Callable[[dict], bool]  # called with the row's values built so far (fields earlier in the spec)


@dataclass(frozen=True, slots=True)
class Rule:
    """How one field's text becomes the stored value, and the stored value the file's text again.

    A blank cell is "not given" (None: a stored value is never erased) unless `blank` makes it
    an error, for the rows `required_if` picks (every row without it), or `blank_value` gives it a
    meaning. A field with no column at all is always "not given".
    """

    parse: Callable[[str], object] | None = None  # non-blank text -> value or Invalid; None keeps the text
    blank: Invalid | None = None
    required_if: Condition | None = None
    only_if: Condition | None = None  # the cell is read only for these rows; the others get None
    lookup: str = ""  # the text is looked up in this mapping the admin chose, e.g. "schools"
    unmatched: Callable[[str], Invalid] | None = None  # a looked-up text the mapping lacks
    max_length: int | None = None  # the stored column's size: longer fails the write on PostgreSQL
    to_text: Callable[[object], str] = as_text
    secret: bool = False  # a password: kept off the row's values, masked in samples and reports
    blank_value: object = None  # what a blank cell of a mapped column means, when not "not given" (False: blank = No)
    coding: Coding | None = None  # a coded field: unrecognised file values are mapped by the admin (value mapping)
    # The row values (stored columns of earlier fields) only_if / required_if look at: a column of rows is
    # converted once per distinct (text, those values), so a condition must declare everything it reads.
    reads: tuple[str, ...] = ()

    @property
    def conditional(self) -> bool:
        """Needed by some rows only: a file without the column is judged row by row."""
        return self.only_if is not None or self.required_if is not None


def text(max_length: int, *, blank: Invalid | None = None) -> Rule:
    return Rule(blank=blank, max_length=max_length)


def identifier(max_length: int, *, blank: Invalid) -> Rule:
    return Rule(parse=district_id, blank=blank, max_length=max_length)


def choice_of_user_type(*, blank: Invalid) -> Rule:
    return Rule(parse=user_type, blank=blank, to_text=user_type_text, coding=USER_TYPE_CODES_MAP)


def grade_level(*, blank: Invalid | None = None, only_if: Condition | None = None, reads: tuple[str, ...] = ()) -> Rule:
    return Rule(parse=grade, blank=blank, only_if=only_if, to_text=grade_text, coding=GRADE_CODES, reads=reads)


def email_address(max_length: int, *, blank: Invalid | None = None, required_if: Condition | None = None,
                  reads: tuple[str, ...] = ()) -> Rule:
    return Rule(parse=email, blank=blank, required_if=required_if, max_length=max_length, reads=reads)


def yes_no() -> Rule:
    return Rule(parse=flag, to_text=flag_text, coding=FLAG_CODES)


def calendar_date(*, blank: Invalid | None = None) -> Rule:
    return Rule(parse=date, blank=blank, to_text=date_text)


def birth_date() -> Rule:
    return Rule(parse=birthdate, to_text=date_text)


def choice_of_gender() -> Rule:
    return Rule(parse=gender, coding=GENDER_CODES)


def hispanic_or_latino() -> Rule:
    return Rule(parse=hispanic_latino, to_text=flag_text, coding=FLAG_CODES)


def races(max_length: int) -> Rule:
    return Rule(parse=race, max_length=max_length, coding=RACE_CODES)


def sign_in_name(max_length: int) -> Rule:
    return Rule(parse=username, max_length=max_length)


def looked_up(lookup: str, *, blank: Invalid, unmatched: Callable[[str], Invalid]) -> Rule:
    return Rule(lookup=lookup, blank=blank, unmatched=unmatched)


def password() -> Rule:
    return Rule(secret=True)
