"""The user export: one row per user of a district, in the same layout as the import file.

The columns come from a django-import-export resource. CSV is written a row at a time, so a
large district never sits in memory; xlsx and json go through a tablib dataset.
"""

import csv
from collections.abc import Iterator
from typing import IO

from import_export import resources
from import_export.fields import Field
from tablib import Dataset

from classworks_import.csv_safety import safe_cell
from schools.models import District

from .models import Grade, User, UserType
from .selectors import user_export_list

FORMATS = ("csv", "xlsx", "json")
# The file's User Type column uses the codes of the import file.
USER_TYPE_CODES = {UserType.STUDENT: "0", UserType.STAFF: "1"}
GROUP_SEPARATOR = ";"
# Rows fetched per query; each chunk prefetches its users' custom groups in one more query.
CHUNK_SIZE = 2000


def _flag(value: bool) -> str:
    return "Y" if value else "N"


def _text(value) -> str:
    return "" if value is None else str(value)


class UserExportResource(resources.ModelResource):
    """Export-only resource; every column is rendered as text."""

    first_name = Field(column_name="First Name")
    middle_name = Field(column_name="Middle Name")
    last_name = Field(column_name="Last Name")
    district_user_id = Field(column_name="District ID")
    user_type = Field(column_name="User Type")
    grade = Field(column_name="Grade")
    email = Field(column_name="Email Address")
    school_sis_id = Field(column_name="School SIS ID")
    state_user_id = Field(column_name="State User ID")
    alternate_user_id = Field(column_name="Alternate User ID")
    limited_english = Field(column_name="Limited English")
    economically_disadvantaged = Field(column_name="Economically Disadvantaged")
    username = Field(column_name="Username")
    is_active = Field(column_name="Active")
    custom_groups = Field(column_name="Custom Groups")

    class Meta:
        model = User
        fields = (
            "first_name",
            "middle_name",
            "last_name",
            "district_user_id",
            "user_type",
            "grade",
            "email",
            "school_sis_id",
            "state_user_id",
            "alternate_user_id",
            "limited_english",
            "economically_disadvantaged",
            "username",
            "is_active",
            "custom_groups",
        )
        export_order = fields
        chunk_size = CHUNK_SIZE

    def iter_queryset(self, queryset):
        # Since Django 4.1, iterator(chunk_size=...) honours prefetch_related chunk by chunk,
        # so there is no need for the library's paginated fallback (a COUNT and OFFSET pages).
        yield from queryset.iterator(chunk_size=self.get_chunk_size())

    def dehydrate_first_name(self, user: User) -> str:
        return user.first_name

    def dehydrate_middle_name(self, user: User) -> str:
        return user.middle_name

    def dehydrate_last_name(self, user: User) -> str:
        return user.last_name

    def dehydrate_district_user_id(self, user: User) -> str:
        return _text(user.district_user_id)

    def dehydrate_user_type(self, user: User) -> str:
        return USER_TYPE_CODES.get(user.user_type, "")

    def dehydrate_grade(self, user: User) -> str:
        # Labels are the file's spelling: "PK" is stored, "Pre-K" is written.
        return Grade(user.grade).label if user.grade else ""

    def dehydrate_email(self, user: User) -> str:
        return user.email

    def dehydrate_school_sis_id(self, user: User) -> str:
        return user.school.sis_id if user.school_id else ""

    def dehydrate_state_user_id(self, user: User) -> str:
        return user.state_user_id

    def dehydrate_alternate_user_id(self, user: User) -> str:
        return user.alternate_user_id

    def dehydrate_limited_english(self, user: User) -> str:
        return _flag(user.limited_english)

    def dehydrate_economically_disadvantaged(self, user: User) -> str:
        return _flag(user.economically_disadvantaged)

    def dehydrate_username(self, user: User) -> str:
        return user.username

    def dehydrate_is_active(self, user: User) -> str:
        return _flag(user.is_active)

    def dehydrate_custom_groups(self, user: User) -> str:
        # .all() reads the prefetched, name-ordered groups: no query per user.
        return GROUP_SEPARATOR.join(group.name for group in user.custom_groups.all())


USER_EXPORT_HEADINGS: tuple[str, ...] = tuple(UserExportResource().get_export_headers())


def user_export_rows(*, district: District) -> Iterator[list[str]]:
    """The district's users as rows of text, headings not included."""
    resource = UserExportResource()
    for user in resource.iter_queryset(user_export_list(district=district)):
        yield resource.export_resource(user)


def user_export_dataset(*, district: District, spreadsheet_safe: bool = False) -> Dataset:
    """The district's users as a tablib dataset; `spreadsheet_safe` neutralises formula-like cells."""
    dataset = Dataset(headers=list(USER_EXPORT_HEADINGS))
    for row in user_export_rows(district=district):
        dataset.append([safe_cell(cell) for cell in row] if spreadsheet_safe else row)
    return dataset


def user_export_write_csv(*, district: District, stream: IO[str]) -> int:
    """Write the export as CSV to a text stream, a row at a time; returns the number of users."""
    writer = csv.writer(stream, lineterminator="\r\n")
    writer.writerow(USER_EXPORT_HEADINGS)
    count = 0
    for row in user_export_rows(district=district):
        writer.writerow([safe_cell(cell) for cell in row])
        count += 1
    return count


def user_export_xlsx(*, district: District) -> bytes:
    """The export as an xlsx workbook; formula-like cells are stored as text, never as formulas."""
    return user_export_dataset(district=district, spreadsheet_safe=True).export("xlsx")


def user_export_json(*, district: District) -> str:
    """The export as a JSON list of objects keyed by heading; values exactly as stored."""
    return user_export_dataset(district=district).export("json")
