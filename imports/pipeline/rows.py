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
    password_deferred: bool = False  # hashed later by a PasswordBatch task
    index: int = -1  # position among the job's valid rows, from 0 (password batches refer to it)

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

    def _texts(self, cells: list[str]) -> dict[str, str]:
        """Every mapped field's text for one row, in one pass (the hot path of validation)."""
        n = len(cells)
        return {
            key: source if source.__class__ is str else (cells[source].strip() if source < n else "")
            for key, source in self._sources.items()
        }

    def _check(self, issues: list, row: int, key: str, result):
        if result.__class__ is normalize.Invalid:
            issues.append(self._issue(row, key, result.code, result.message, result.suggestion))
            return None
        return result

    def build(self, row: int, cells: list[str]) -> UserRow:
        out = UserRow(file=self.file_name, row=row)
        values = out.values
        issues = out.issues
        check = self._check
        text = self._texts(cells).get

        for key in TEXT_FIELDS:
            values[key] = text(key) or None
        for key in ("first_name", "last_name"):
            if not values[key]:
                heading = FIELDS_BY_KEY[key].heading
                issues.append(self._issue(row, key, f"{key}_required", f"{heading} is blank.", f"Every user needs a {heading}."))

        district_id = text("district_id") or ""
        if not district_id:
            issues.append(self._issue(row, "district_id", "district_id_required", "District ID is blank.",
                                      "Every user needs the ID your SIS gives them."))
        out.district_id = (check(issues, row, "district_id", normalize.district_id(district_id)) or "") if district_id else ""

        type_text = text("user_type")
        if not type_text:
            issues.append(self._issue(row, "user_type", "user_type_required", "User Type is blank.",
                                      "Use 0 or Student for students, 1 or Staff for staff."))
            user_type = None
        else:
            user_type = check(issues, row, "user_type", normalize.user_type(type_text))
        values["user_type"] = user_type

        values["grade"] = None
        if user_type == normalize.STUDENT:
            grade_text = text("grade")
            if not grade_text:
                issues.append(self._issue(row, "grade", "grade_required", "Grade is blank for a student.",
                                          "Give every student a grade: Pre-K, K or 1-12."))
            else:
                values["grade"] = check(issues, row, "grade", normalize.grade(grade_text))

        email_text = text("email")
        values["email"] = None
        if email_text:
            values["email"] = check(issues, row, "email", normalize.email(email_text))
        elif user_type == normalize.STAFF:
            issues.append(self._issue(row, "email", "email_required_for_staff", "Email Address is blank for a staff member.",
                                      "Staff sign in and get their login information by email: add their address."))

        for key in ("limited_english", "economically_disadvantaged"):
            flag_text = text(key)
            values[key] = check(issues, row, key, normalize.flag(flag_text)) if flag_text else None

        school_text = text("school_sis_id") or ""
        out.school_value = school_text
        school_id = self.school_mapping.get(school_text) if school_text else None
        values["school_id"] = school_id
        if not school_text:
            issues.append(self._issue(row, "school_sis_id", "school_required", "School SIS ID is blank.",
                                      "Give every user the SIS ID/code of their school."))
        elif school_id is None:
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

        out.password = text("password") or ""
        return out
