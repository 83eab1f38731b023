"""A reader can start again at a row an earlier pass marked, in every format and encoding we read."""
from pathlib import Path

import pytest

from imports.pipeline.reading import inspect_file, iter_rows

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
FILES = ["utf8.csv", "utf8_bom.csv", "cp1252.csv", "mac_roman.csv", "cr_only.csv", "crlf.csv", "blank_lines.csv",
         "quoted.csv", "ragged.csv", "semicolon_utf8_bom.csv", "tab_separated.tsv", "utf16_unicode_text.txt",
         "headerless.csv", "roster.xlsx"]


@pytest.mark.parametrize("name", FILES)
def test_reading_from_a_marked_row_gives_the_same_rows_as_reading_from_the_top(name):
    path = FIXTURES / name
    info = inspect_file(path, name)
    everything = list(iter_rows(path, info, mark=lambda n: True))
    assert everything and all(raw.start is not None for raw in everything)

    for n, raw in enumerate(everything):
        resumed = list(iter_rows(path, info, start=raw.start))
        assert [(r.row, r.cells, r.problem) for r in resumed] == [(r.row, r.cells, r.problem) for r in everything[n:]]


def test_without_marks_rows_carry_no_start_and_read_as_before():
    path = FIXTURES / "utf8.csv"
    info = inspect_file(path, "utf8.csv")
    plain = list(iter_rows(path, info))
    assert all(raw.start is None for raw in plain)
    assert [r.cells for r in plain] == [r.cells for r in iter_rows(path, info, mark=lambda n: n % 2 == 0)]
