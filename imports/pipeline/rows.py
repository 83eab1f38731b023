"""Build one user row from the file's cells: apply the column plan, normalise, and report problems."""
from dataclasses import dataclass, field

from . import normalize
from .fields import FIELDS_BY_KEY
from .issues import ERROR, Issue

# Fields compared with, and written to, the user record. None in a row means "not given":
# a blank cell never erases a stored value.
RECORD_FIELDS = (
    "first_name", "middle_name", "last_name", "user_type", "grade", "email", "school_id",
    "state_user_id", "alternate_user_id", "limited_english", "economically_disadvantaged",
)
TEXT_FIELDS = ("first_name", "middle_name", "last_name", "state_user_id", "alternate_user_id")
# The users table's column sizes (users.User): a longer value would fail the write on PostgreSQL
# halfway through a run, so validation reports it instead.
MAX_LENGTHS = {
    "first_name": 150, "middle_name": 150, "last_name": 150, "state_user_id": 64, "alternate_user_id": 64,
    "district_id": 64, "email": 254,
}


@dataclass(slots=True)
class UserRow:
    file: str
    row: int
    district_id: str = ""
    values: dict = field(default_factory=dict)  # RECORD_FIELDS -> value, or None when not given
    password: str = ""
    school_value: str = ""
    issues: list[Issue] = field(default_factory=list)

    @property
    def has_error(self) -> bool:
        return any(i.is_error for i in self.issues)

    @property
    def is_student(self) -> bool:
        return self.values.get("user_type") == normalize.STUDENT

    @property
    def display_name(self) -> str:
        return " ".join(p for p in (self.values.get("first_name"), self.values.get("last_name")) if p)


class RowBuilder:
    """Applies one file's column plan and the school mapping to its raw rows."""

    def __init__(self, *, file_name: str, plan, school_mapping: dict[str, int]):
        self.file_name = file_name
        self.plan = plan
        self.school_mapping = school_mapping
        # key -> column index, or the fixed text; looked up once per cell on the hot path.
        self._sources: dict[str, int | str] = {**plan.indexes, **{k: v.strip() for k, v in plan.fixed.items()}}

    def _cell(self, cells: list[str], key: str) -> str | None:
        """The cell's text, the field's one value for every row, or None when the field is not mapped."""
        source = self._sources.get(key)
        if source is None:
            return None
        if isinstance(source, str):
            return source
        return cells[source].strip() if source < len(cells) else ""

    def _issue(self, row: int, key: str, code: str, message: str, suggestion: str = "") -> Issue:
        return Issue(
            ERROR, code, message, suggestion, row=row, column=self.plan.labels.get(key, ""),
            field=key, file=self.file_name,
        )

    def build(self, row: int, cells: list[str]) -> UserRow:
        out = UserRow(file=self.file_name, row=row)
        values = out.values
        issues = out.issues

        def check(key, result):
            if isinstance(result, normalize.Invalid):
                issues.append(self._issue(row, key, result.code, result.message, result.suggestion))
                return None
            return result

        for key in TEXT_FIELDS:
            text = self._cell(cells, key)
            values[key] = text or None
        for key in ("first_name", "last_name"):
            if not values[key]:
                heading = FIELDS_BY_KEY[key].heading
                issues.append(self._issue(row, key, f"{key}_required", f"{heading} is blank.", f"Every user needs a {heading}."))

        district_id = self._cell(cells, "district_id") or ""
        if not district_id:
            issues.append(self._issue(row, "district_id", "district_id_required", "District ID is blank.",
                                      "Every user needs the ID your SIS gives them."))
        out.district_id = check("district_id", normalize.district_id(district_id)) or "" if district_id else ""

        type_text = self._cell(cells, "user_type")
        if not type_text:
            issues.append(self._issue(row, "user_type", "user_type_required", "User Type is blank.",
                                      "Use 0 or Student for students, 1 or Staff for staff."))
            values["user_type"] = None
        else:
            values["user_type"] = check("user_type", normalize.user_type(type_text))

        grade_text = self._cell(cells, "grade")
        values["grade"] = None
        if values["user_type"] == normalize.STUDENT:
            if not grade_text:
                issues.append(self._issue(row, "grade", "grade_required", "Grade is blank for a student.",
                                          "Give every student a grade: Pre-K, K or 1-12."))
            else:
                values["grade"] = check("grade", normalize.grade(grade_text))

        email_text = self._cell(cells, "email")
        values["email"] = None
        if email_text:
            values["email"] = check("email", normalize.email(email_text))
        elif values["user_type"] == normalize.STAFF:
            issues.append(self._issue(row, "email", "email_required_for_staff", "Email Address is blank for a staff member.",
                                      "Staff sign in and get their login information by email: add their address."))

        for key in ("limited_english", "economically_disadvantaged"):
            text = self._cell(cells, key)
            values[key] = None if not text else check(key, normalize.flag(text))

        school_text = self._cell(cells, "school_sis_id") or ""
        out.school_value = school_text
        values["school_id"] = None
        if not school_text:
            issues.append(self._issue(row, "school_sis_id", "school_required", "School SIS ID is blank.",
                                      "Give every user the SIS ID/code of their school."))
        elif school_text in self.school_mapping:
            values["school_id"] = self.school_mapping[school_text]
        else:
            issues.append(self._issue(row, "school_sis_id", "school_unmapped",
                                      f'School "{school_text}" is not matched to a school of the district.',
                                      "Match it on the School Mapping step, or add the school under Manage Classworks → Schools."))

        for key, limit in MAX_LENGTHS.items():
            value = out.district_id if key == "district_id" else values.get(key)
            if value and len(value) > limit:
                heading = FIELDS_BY_KEY[key].heading
                issues.append(self._issue(row, key, "value_too_long",
                                          f"{heading} is {len(value)} characters long; the limit is {limit}.",
                                          f"Shorten the {heading}, or check that the column holds the right data."))

        out.password = self._cell(cells, "password") or ""
        return out
