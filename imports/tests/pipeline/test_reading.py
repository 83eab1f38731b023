"""Reading real SIS exports: encodings, line endings, delimiters, quoting, shape, wrong file types, xlsx."""
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imports.pipeline.encoding import plausibility
from imports.pipeline.reading import PREFIX_BYTES, FileInfo, FileReadError, count_data_rows, inspect_file, iter_rows
from imports.tests.fixtures.make_fixtures import (
    ENCODED,
    HEADER,
    ROWS,
    build_late_non_ascii,
    build_long_cell,
    csv_text,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def read(name: str, **kwargs) -> tuple[FileInfo, list]:
    path = FIXTURES / name
    info = inspect_file(path, name, **kwargs)
    return info, list(iter_rows(path, info))


def read_path(path: Path, **kwargs) -> tuple[FileInfo, list]:
    info = inspect_file(path, path.name, **kwargs)
    return info, list(iter_rows(path, info))


# --- encodings -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(ENCODED))
def test_every_encoding_excel_writes_reads_names_exactly(name):
    codec, delimiter, _newline, expected = ENCODED[name]
    info, rows = read(name)
    assert (info.file_format, info.encoding, info.delimiter, info.has_header) == ("csv", codec, delimiter, True)
    assert info.headers == HEADER
    assert info.column_labels == HEADER
    assert [r.cells for r in rows] == expected
    assert [r.row for r in rows] == list(range(2, 2 + len(expected)))
    assert all(r.problem is None for r in rows)
    assert info.sample_rows == expected[:5]


def test_cp437_fixture_leaves_out_what_cp437_cannot_hold_and_cp850_keeps_it():
    _, cp437_rows = read("cp437_msdos.csv")
    _, cp850_rows = read("cp850_msdos.csv")
    assert "Ødegaard" not in {r.cells[2] for r in cp437_rows}
    assert "Ødegaard" in {r.cells[2] for r in cp850_rows}


@pytest.mark.parametrize("encoding", ["utf-8", "cp1252", "mac_roman", "cp850", "cp437"])
def test_non_ascii_only_after_the_first_mebibyte(tmp_path, encoding):
    path = tmp_path / f"late_{encoding}.csv"
    build_late_non_ascii(path, encoding)
    assert path.stat().st_size > PREFIX_BYTES
    info, rows = read_path(path)
    assert info.encoding == encoding
    last_names = [r.cells[2] for r in rows if r.cells[0] != "Sam"]
    assert "Núñez" in last_names
    assert all(r.problem is None for r in rows)
    assert count_data_rows(path, info) == len(rows)


def test_utf8_character_split_by_the_prefix_boundary(tmp_path):
    head = (",".join(HEADER) + "\n").encode()
    filler = b"Sam,,Lee,200000,Student,3,sam@example.org,0042\n"
    body = head + filler * ((PREFIX_BYTES - len(head)) // len(filler) - 1)
    tail = b",,Lee,1,Student,3,x@example.org,0042\nRen"
    body += b"x" * (PREFIX_BYTES - 1 - len(body) - len(tail)) + tail  # "é" starts on the prefix's last byte
    body += "é,,Núñez,2,Student,3,rene@example.org,0042\n".encode()
    assert body[PREFIX_BYTES - 1 : PREFIX_BYTES + 1] == "é".encode()
    path = tmp_path / "split.csv"
    path.write_bytes(body)
    info, rows = read_path(path)
    assert info.encoding == "utf-8"
    assert rows[-1].cells[:3] == ["René", "", "Núñez"]


@pytest.mark.parametrize(
    "raw, codec",
    [
        ("José Núñez, Zoë, François, Ødegaard", "cp1252"),
        ("José Núñez, Zoë, François, Ødegaard", "mac_roman"),
        ("José Núñez, Zoë, François, Ødegaard", "cp850"),
        ("Zoë François", "cp850"),
        ("José Núñez", "cp437"),
        ("O’Brien", "cp1252"),
        ("JOSÉ NÚÑEZ", "cp1252"),
    ],
)
def test_plausibility_prefers_the_right_code_page(raw, codec):
    data = raw.encode(codec)
    right = plausibility(raw)
    for other in ("cp1252", "mac_roman", "cp850", "cp437"):
        decoded = data.decode(other, errors="replace")
        if decoded != raw:
            assert plausibility(decoded) < right, (other, decoded)


def test_utf8_marker_with_invalid_bytes_is_undecodable(tmp_path):
    path = tmp_path / "bad_bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + csv_text(ROWS[:2]).encode() + b"Jos\xe9,,N\xfa\xf1ez\n")
    with pytest.raises(FileReadError) as exc:
        inspect_file(path, "bad_bom.csv")
    assert exc.value.code == "undecodable"
    assert str(exc.value).startswith("bad_bom.csv: ")


def test_utf16_marker_with_a_cut_off_character_is_undecodable(tmp_path):
    path = tmp_path / "cut.txt"
    path.write_bytes(csv_text(ROWS[:2], "\t").encode("utf-16") + b"\x41")
    with pytest.raises(FileReadError) as exc:
        inspect_file(path, "cut.txt")
    assert exc.value.code == "undecodable"


# --- line endings, delimiters, quoting --------------------------------------------------------


@pytest.mark.parametrize("name", ["crlf.csv", "lf.csv", "cr_only.csv"])
def test_line_endings(name):
    info, rows = read(name)
    assert info.column_labels == HEADER
    assert [(r.row, r.cells) for r in rows] == [(2, ROWS[0]), (3, ROWS[1]), (4, ROWS[2])]


def test_delimiter_fallback_when_commas_sit_inside_semicolon_values(tmp_path):
    path = tmp_path / "semi.csv"
    rows = [["Sam", "Smith, Jr.", "100301", "0042"], ["Ana", "Lopez", "100302", "0042"], ["Ben", "Ortiz, III", "100303", "0042"]]
    path.write_text(csv_text(rows, ";", "\n", header=["First Name", "Last Name", "District ID", "School SIS ID"]))
    info, got = read_path(path)
    assert info.delimiter == ";"
    assert [r.cells for r in got] == rows


def test_quoted_fields_with_commas_and_newlines_keep_spreadsheet_row_numbers():
    _, rows = read("quoted.csv")
    assert [r.row for r in rows] == [2, 3, 4, 5, 6]
    assert rows[0].cells[2] == "Smith, Jr."
    assert rows[1].cells[7] == "Main Campus\r\nAnnex, Room 4"
    assert rows[2].cells[1] == 'Lee "Bud"'
    assert rows[3].cells[:3] == ["Cara\nJane", "", "Diaz"]
    assert rows[4].cells[0] == "Dev"
    assert all(r.problem is None for r in rows)


def test_unclosed_quote_names_the_row_where_it_began_and_stops():
    info, rows = read("unclosed_quote.csv")
    assert [r.row for r in rows] == [2, 3]
    problem = rows[1].problem
    assert (problem.code, problem.row, problem.file, problem.severity) == ("unclosed_quote", 3, "unclosed_quote.csv", "error")
    assert "Row 3" in problem.message
    assert rows[1].cells == [""] * len(info.column_labels)


def test_quote_in_the_wrong_place_is_a_row_problem_and_reading_goes_on(tmp_path):
    path = tmp_path / "stray.csv"
    path.write_text(",".join(HEADER) + "\n" + '"Bud" Smith,,Lee,1,Student,5,b@example.org,0042\n' + ",".join(ROWS[2]) + "\n")
    _, rows = read_path(path)
    assert [(r.row, r.problem and r.problem.code) for r in rows] == [(2, "bad_quote"), (3, None)]


# --- shape ---------------------------------------------------------------------------------------


def test_ragged_rows_but_excel_padding_is_fine():
    _, rows = read("ragged.csv")
    by_row = {r.row: r for r in rows}
    assert by_row[2].problem is None
    assert by_row[3].problem.code == "ragged_row"
    assert by_row[3].problem.message == "Row 3 has 9 cells but the file has 8 columns."
    assert by_row[4].problem is None and len(by_row[4].cells) == 8
    assert by_row[5].problem.message == "Row 5 has 7 cells but the file has 8 columns."
    assert (by_row[5].problem.row, by_row[5].problem.file) == (5, "ragged.csv")
    assert all(len(r.cells) == 8 for r in rows)


def test_blank_lines_are_skipped_but_still_counted_as_rows():
    _, rows = read("blank_lines.csv")
    assert [(r.row, r.cells[0]) for r in rows] == [(2, "Liam"), (5, "Noah")]


def test_a_200000_character_cell_is_reported_quickly(tmp_path):
    path = tmp_path / "long.csv"
    build_long_cell(path)
    started = time.perf_counter()
    info, rows = read_path(path)
    assert time.perf_counter() - started < 2
    problem = rows[1].problem
    assert problem.code == "cell_too_long"
    assert problem.message == "Row 3, column Middle Name is too long (200,000 characters; the limit is 1,000)."
    assert (problem.row, problem.column) == (3, "Middle Name")
    assert rows[0].problem is None and rows[2].problem is None
    assert info.sample_rows[0] == ROWS[0]


def test_duplicate_heading_names_the_heading():
    with pytest.raises(FileReadError) as exc:
        read("duplicate_heading.csv")
    assert exc.value.code == "duplicate_heading"
    assert "email address" in str(exc.value).lower()
    assert exc.value.file_name == "duplicate_heading.csv"


@pytest.mark.parametrize("name", ["empty.csv", "header_only.csv"])
def test_no_data_rows(name):
    with pytest.raises(FileReadError) as exc:
        read(name)
    assert exc.value.code == "no_data_rows"
    assert "no data rows" in exc.value.reason


# --- wrong file types ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, looks_like",
    [
        ("workbook_renamed.csv", "Excel workbook"),
        ("image.csv", "image"),
        ("roster.pdf", "PDF"),
        ("archive.csv", "zip archive"),
        ("utf16_no_bom.csv", "NUL"),
    ],
)
def test_wrong_file_types(name, looks_like):
    with pytest.raises(FileReadError) as exc:
        read(name)
    assert exc.value.code == "binary_file"
    assert looks_like in exc.value.reason
    assert str(exc.value) == f"{name}: {exc.value.reason}"


@pytest.mark.parametrize(
    "data, looks_like",
    [
        (bytes(range(1, 32)) * 40, "control characters"),
        (b"<!DOCTYPE html>\n<html><body>Session expired</body></html>\n", "web page"),
    ],
)
def test_other_files_that_are_not_csv(tmp_path, data, looks_like):
    path = tmp_path / "export.csv"
    path.write_bytes(data)
    with pytest.raises(FileReadError) as exc:
        inspect_file(path, "export.csv")
    assert (exc.value.code, looks_like in exc.value.reason) == ("binary_file", True)


@pytest.mark.parametrize(
    "name",
    ["workbook_renamed.csv", "image.csv", "roster.pdf", "archive.csv", "utf16_no_bom.csv", "empty.csv",
     "header_only.csv", "duplicate_heading.csv", "huge_dimension.xlsx", "zip_bomb.xlsx"],
)
def test_every_file_error_names_the_file(name):
    with pytest.raises(FileReadError) as exc:
        read(name)
    assert str(exc.value).startswith(f"{name}: ")
    assert exc.value.file_name == name


# --- headers -----------------------------------------------------------------------------------


def test_headerless_file_gets_column_labels_and_rows_from_1():
    info, rows = read("headerless.csv")
    assert info.has_header is False
    assert info.headers == []
    assert info.column_labels == [f"Column {i}" for i in range(1, 9)]
    assert [r.row for r in rows] == list(range(1, 9))
    assert rows[0].cells == ROWS[0]


def test_unknown_headings_above_numeric_columns_are_a_header():
    info, rows = read("unknown_header.csv")
    assert info.has_header is True
    assert info.headers == ["Nombre", "Apellido", "Numero", "Escuela"]
    assert rows[0].row == 2


def test_admin_says_no_header():
    info, rows = read("utf8.csv", has_header=False)
    assert info.column_labels == [f"Column {i}" for i in range(1, 9)]
    assert (rows[0].row, rows[0].cells) == (1, HEADER)
    assert count_data_rows(FIXTURES / "utf8.csv", info) == len(ROWS) + 1


@pytest.mark.parametrize("name", ["utf8.csv", "roster.xlsx"])
def test_a_count_up_to_a_bound_stops_one_row_past_it(name):
    """Enough to know a file is larger than the bound, without reading it all."""
    info = inspect_file(FIXTURES / name, name)
    total = count_data_rows(FIXTURES / name, info)

    assert total >= 3
    assert count_data_rows(FIXTURES / name, info, up_to=1) == 2
    assert count_data_rows(FIXTURES / name, info, up_to=total) == total


def test_admin_says_there_is_a_header():
    info, rows = read("headerless.csv", has_header=True)
    assert info.headers == ROWS[0]
    assert rows[0].row == 2


# --- xlsx ----------------------------------------------------------------------------------------


def test_xlsx_cells_become_text():
    info, rows = read("roster.xlsx")
    assert (info.file_format, info.encoding, info.delimiter, info.has_header) == ("xlsx", "", "", True)
    assert info.headers == HEADER + ["Entry Date"]
    assert [r.row for r in rows] == [2, 3, 5, 6]
    assert rows[0].cells == ["José", "", "Núñez", "100234", "Student", "5", "jose.nunez@example.org", "0042", "2024-08-26"]
    assert rows[1].cells[3] == "000235" and rows[1].cells[5] == "5" and rows[1].cells[8] == "2024-08-26"
    assert rows[2].cells[2] == "Ødegaard" and rows[2].cells[8] == "2024-09-03T08:30:00"
    assert rows[3].cells[5] == "" and len(rows[3].cells) == 9
    assert count_data_rows(FIXTURES / "roster.xlsx", info) == 4


@pytest.mark.parametrize("name", ["huge_dimension.xlsx", "zip_bomb.xlsx"])
def test_xlsx_too_large(name):
    with pytest.raises(FileReadError) as exc:
        read(name)
    assert exc.value.code == "xlsx_too_large"


def test_a_csv_named_xlsx_is_still_read_as_csv():
    info, rows = read("not_really.xlsx")
    assert info.file_format == "csv"
    assert [r.cells for r in rows] == ROWS


# --- never anything but FileReadError ----------------------------------------------------------


def _read_everything(data: bytes, name: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        try:
            info = inspect_file(path, name)
            rows = list(iter_rows(path, info))
            assert count_data_rows(path, info) == len(rows)
        except FileReadError as exc:
            assert str(exc).startswith(f"{name}: ")
            return
    numbers = [r.row for r in rows]
    assert numbers == sorted(set(numbers))
    assert all(len(r.cells) == len(info.column_labels) for r in rows)


FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(data=st.binary(max_size=3000), name=st.sampled_from(["upload.csv", "upload.txt", "upload.xlsx"]))
def test_random_bytes_only_raise_file_read_error(data, name):
    _read_everything(data, name)


_cell = st.one_of(
    st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=10),
    st.sampled_from(['"', '""', '"a,b"', ",", ";", "\t", "\r\n", "\r", "José", "Ødegaard", "  ", "First Name"]),
)


@FUZZ
@given(
    rows=st.lists(st.lists(_cell, min_size=1, max_size=6), max_size=8),
    delimiter=st.sampled_from([",", ";", "\t"]),
    newline=st.sampled_from(["\r\n", "\n", "\r"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252", "mac_roman", "cp850", "cp437"]),
)
def test_random_csv_text_only_raises_file_read_error(rows, delimiter, newline, encoding):
    text = "".join(delimiter.join(r) + newline for r in rows)
    _read_everything(text.encode(encoding, errors="replace"), "upload.csv")

