"""The product's import fields: key, heading, whether a column is required, and known aliases."""
import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Field:
    key: str
    heading: str
    required: bool = False  # must be matched to a column or given one value for the whole file
    aliases: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.heading} *" if self.required else self.heading


FIELDS: tuple[Field, ...] = (
    Field("first_name", "First Name", True, ("givenName", "First", "FirstName", "Student First Name", "Legal First Name", "fname")),
    Field("middle_name", "Middle Name", False, ("middleName", "Middle", "Middle Initial", "MI")),
    Field("last_name", "Last Name", True, ("familyName", "Last", "Surname", "Student Last Name", "Legal Last Name", "lname")),
    Field("district_id", "District ID", True, ("identifier", "sourcedId", "Student ID", "Staff ID", "Student Number", "Local ID", "User ID", "SIS ID", "Student_Number", "Employee ID")),
    Field("user_type", "User Type", True, ("role", "Type", "Role Type", "User Role")),
    Field("grade", "Grade", True, ("grades", "Grade Level", "Grade_Level", "Current Grade")),
    Field("email", "Email Address", True, ("email", "E-mail", "Email Address", "Student Email", "Staff Email", "Mail")),
    Field("school_sis_id", "School SIS ID", True, ("orgSourcedIds", "School", "School ID", "School Code", "Building Code", "Building", "School Number", "SchoolID", "Campus")),
    Field("state_user_id", "State User ID", False, ("State ID", "State Student ID", "SSID", "stateId")),
    Field("alternate_user_id", "Alternate User ID", False, ("Alternate ID", "Alt ID", "Other ID")),
    Field("limited_english", "Limited English", False, ("LEP", "ELL", "English Learner", "Limited English Proficient")),
    Field("economically_disadvantaged", "Economically Disadvantaged", False, ("Econ Disadvantaged", "FRL", "Free Reduced Lunch", "Economically Disadvantaged Flag")),
    Field("password", "Password", False, ("pwd", "Initial Password")),
)
FIELDS_BY_KEY: dict[str, Field] = {f.key: f for f in FIELDS}
REQUIRED_KEYS: tuple[str, ...] = tuple(f.key for f in FIELDS if f.required)
SAMPLE_HEADINGS: tuple[str, ...] = tuple(f.heading for f in FIELDS)

_SEPARATORS = re.compile(r"[\s_\-]+")


def normalize_heading(text: str) -> str:
    """Compare headings ignoring case, spaces, `_` and `-` (and a trailing `*`)."""
    return _SEPARATORS.sub("", text.strip().rstrip("*").strip()).casefold()


HEADING_TO_KEY: dict[str, str] = {normalize_heading(f.heading): f.key for f in FIELDS}
ALIAS_TO_KEY: dict[str, str] = {
    normalize_heading(alias): f.key
    for f in FIELDS
    for alias in f.aliases
    if normalize_heading(alias) not in HEADING_TO_KEY
}


def is_known_heading(text: str) -> bool:
    """True when a cell reads like one of our headings or a known alias (used to detect a header row)."""
    norm = normalize_heading(text)
    return bool(norm) and (norm in HEADING_TO_KEY or norm in ALIAS_TO_KEY)
