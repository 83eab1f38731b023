"""The user export: one row per user of a district, in the layout of the User Data import file.

The columns are the User Data spec's fields (imports/types/), each written by its rule in the
file's spelling, with Username, Active and Custom Groups after the fields the export had first. CSV is written a row at a time, so a
large district never sits in memory; xlsx and json go through a tablib dataset.
"""

import csv
from collections.abc import Callable, Iterator
from typing import IO

from tablib import Dataset

from core.csv_safety import safe_cell
from imports.types import DEFAULT_TYPE, get_spec
from schools.models import District

from .models import User
from .selectors import user_export_list

FORMATS = ("csv", "xlsx", "json")
GROUP_SEPARATOR = ";"
# Rows fetched per query; each chunk prefetches its users' custom groups in one more query.
CHUNK_SIZE = 2000


def _flag(value: bool) -> str:
    return "Y" if value else "N"


# Columns the export has and the import file does not.
EXPORT_ONLY_COLUMNS: tuple[tuple[str, Callable[[User], str]], ...] = (
    ("Username", lambda user: user.username),
    ("Active", lambda user: _flag(user.is_active)),
    # .all() reads the prefetched, name-ordered groups: no query per user.
    ("Custom Groups", lambda user: GROUP_SEPARATOR.join(group.name for group in user.custom_groups.all())),
)


def _field_reader(field) -> Callable[[User], str]:
    """The field's stored value (or the attribute it names, e.g. school.sis_id) in the file's spelling."""
    path = (field.export_from or field.stored_column).split(".")
    to_text = field.rule.to_text

    def read(user: User) -> str:
        value = user
        for name in path:
            value = None if value is None else getattr(value, name)
        return to_text(value)

    return read


# The export's own columns follow the fields it had first; a field added since goes after them, so the
# columns a district's scripts read keep their positions.
FIELDS_BEFORE_EXPORT_ONLY_COLUMNS = (
    "first_name", "middle_name", "last_name", "district_id", "user_type", "grade", "email", "school_sis_id",
    "state_user_id", "alternate_user_id", "limited_english", "economically_disadvantaged",
)


def _columns() -> list[tuple[str, Callable[[User], str]]]:
    spec = get_spec(DEFAULT_TYPE)
    own = {heading for heading, _ in EXPORT_ONLY_COLUMNS}
    # A field whose heading is one of the export's own columns (Username) is shown there, once.
    fields = [f for f in spec.export_fields if f.heading not in own]
    first = [f for f in fields if f.key in FIELDS_BEFORE_EXPORT_ONLY_COLUMNS]
    later = [f for f in fields if f.key not in FIELDS_BEFORE_EXPORT_ONLY_COLUMNS]
    return (
        [(f.heading, _field_reader(f)) for f in first] + list(EXPORT_ONLY_COLUMNS)
        + [(f.heading, _field_reader(f)) for f in later]
    )


def user_export_headings() -> list[str]:
    """The export's column headings, in order."""
    return [heading for heading, _ in _columns()]


def user_export_rows(*, district: District) -> Iterator[list[str]]:
    """The district's users as rows of text, headings not included."""
    readers = [read for _, read in _columns()]
    # Since Django 4.1, iterator(chunk_size=...) honours prefetch_related chunk by chunk.
    for user in user_export_list(district=district).iterator(chunk_size=CHUNK_SIZE):
        yield [read(user) for read in readers]


def user_export_dataset(*, district: District, spreadsheet_safe: bool = False) -> Dataset:
    """The district's users as a tablib dataset; `spreadsheet_safe` neutralises formula-like cells."""
    dataset = Dataset(headers=user_export_headings())
    for row in user_export_rows(district=district):
        dataset.append([safe_cell(cell) for cell in row] if spreadsheet_safe else row)
    return dataset


def user_export_write_csv(*, district: District, stream: IO[str]) -> int:
    """Write the export as CSV to a text stream, a row at a time; returns the number of users."""
    writer = csv.writer(stream, lineterminator="\r\n")
    writer.writerow(user_export_headings())
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
