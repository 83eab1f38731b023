"""Read an uploaded SIS export (CSV in any encoding Excel writes, or .xlsx) as rows of text, streaming."""
import codecs
import csv
import datetime
import io
import os
import re
import zipfile
from array import array
from collections import Counter
from contextlib import closing
from dataclasses import dataclass, replace
from functools import lru_cache
from itertools import chain, islice
from typing import Iterator, Sequence

from ..errors import Refusal
from .encoding import EncodingProblem, detect_encoding
from .fields import is_known_heading
from .issues import ERROR, Issue
from .masking import says_secret

PREFIX_BYTES = 1 << 20
SAMPLE_ROW_COUNT = 5
DETECT_RECORDS = 50  # records of the prefix used to guess delimiter and header
SNIFF_CHARS = 64 * 1024
DELIMITERS = ",;\t"
# The csv module refuses fields over 131,072 characters; we want to report a long cell with its
# real length instead, while a runaway unclosed quote still stops at a bounded size.
FIELD_LIMIT = 4_000_000
XLSX_MAX_UNCOMPRESSED = 200 * 1024 * 1024
XLSX_MAX_RATIO = 100
XLSX_MAX_ROWS = 2_000_000
# One cap for both formats: a user list has a few dozen columns, and every column costs memory
# and page size on Map Fields.
MAX_COLUMNS = 500
XLSX_MAX_COLUMNS = MAX_COLUMNS
# openpyxl holds a workbook's whole shared-strings table in memory, parsed again at every open: 180 MB of
# it inside the size caps took 5 minutes and 2 GB. A user list this size has a few hundred thousand
# distinct texts; a larger one reads as CSV.
XLSX_MAX_SHARED_STRINGS_BYTES = 16 * 1024 * 1024
XLSX_MAX_SHARED_STRINGS = 400_000
XLSX_STORED_SAMPLE_ROWS = 20  # kept with an xlsx upload: Map Fields shows them without opening the workbook
_SHARED_STRINGS_TYPE = b"spreadsheetml.sharedStrings+xml"
_MAIN_NS = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_SHARED_STRING = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?si[\s/>]")

if csv.field_size_limit() < FIELD_LIMIT:
    csv.field_size_limit(FIELD_LIMIT)

_MAGIC = (
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "an image"),
    (b"\xff\xd8\xff", "an image"),
    (b"GIF8", "an image"),
    (b"II*\x00", "an image"),
    (b"MM\x00*", "an image"),
    (b"\xd0\xcf\x11\xe0", "an older Excel workbook (.xls) or other Office file"),
    (b"\x1f\x8b", "a compressed (gzip) file"),
    (b"Rar!", "a compressed (RAR) archive"),
    (b"7z\xbc\xaf", "a compressed (7-Zip) archive"),
    (b"{\\rtf", "a rich-text (RTF) document"),
)
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_NUMBER = re.compile(r"[+-]?\d+(?:[.,]\d+)?")
# Control characters no text file has; allowed are \t \n \r, \x0b \x0c (Excel's line break in a
# cell on some exports) and \x1a (the MS-DOS end-of-file mark).
_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x19\x1b-\x1f]")


class FileReadError(Refusal):
    """The whole file cannot be read. str(exc) is one clear sentence that names the file and the reason."""

    def __init__(self, file_name: str, reason: str, code: str):
        super().__init__(f"{file_name}: {reason}", code=code)
        self.file_name = file_name
        self.reason = reason
        self.code = code


@dataclass(frozen=True)
class FileInfo:
    """What inspect_file found out; iter_rows needs it to read the file."""

    name: str  # the uploaded file's name, for messages
    file_format: str  # "csv" or "xlsx"
    encoding: str  # Python codec for csv; "" for xlsx
    delimiter: str  # ",", ";" or "\t"; "" for xlsx
    has_header: bool
    headers: list[str]  # the header row as read (stripped), [] when there is none
    column_labels: list[str]  # headers (a blank one becomes "Column N"), or "Column 1", ... without a header
    sample_rows: list[list[str]]  # up to 5 first data rows (an xlsx: up to XLSX_STORED_SAMPLE_ROWS)
    row_count: int | None = None  # data rows, when inspecting counted them (an xlsx: read once, whole)


@dataclass(frozen=True)
class RowStart:
    """Where a data row begins, so a later reader can start there instead of at the top of the file."""

    row: int  # the spreadsheet row number of the record read next
    offset: int = 0  # CSV: the text stream's position (TextIOWrapper.tell()); xlsx: unused


@dataclass(slots=True)  # not frozen: made once per row, and a frozen init costs three times as much
class RawRow:
    """One data row: cells are stripped, one per column; a row with the wrong cell count has only blanks and its problem."""

    row: int  # the row number a spreadsheet shows: with a header the first data row is 2
    cells: list[str]
    problem: Issue | None = None  # an ERROR carrying file, row and column
    start: RowStart | None = None  # where this row begins, when iter_rows was asked to mark it


def inspect_file(path, name: str, *, has_header: bool | None = None) -> FileInfo:
    """Detect format, encoding, delimiter and header from a prefix of the file; raise FileReadError if unreadable."""
    with open(path, "rb") as f:
        head = f.read(PREFIX_BYTES)
    complete = len(head) == os.path.getsize(path)
    if not head.strip():
        raise FileReadError(name, "is empty: it has no data rows", "no_data_rows")
    if head.startswith(_ZIP_MAGIC):
        if name.lower().endswith(".xlsx"):
            return _inspect_xlsx(path, name, has_header)
        raise FileReadError(name, f"is not a CSV file (it looks like {_describe_zip(path)})", "binary_file")
    for magic, what in _MAGIC:
        if head.startswith(magic):
            raise FileReadError(name, f"is not a CSV file (it looks like {what})", "binary_file")
    if head.lstrip()[:14].lower().startswith((b"<!doctype html", b"<html")):
        raise FileReadError(name, "is not a CSV file (it looks like a web page)", "binary_file")
    try:
        encoding = detect_encoding(path, head)
    except EncodingProblem as exc:
        raise FileReadError(name, exc.reason, exc.code) from None
    text = codecs.getincrementaldecoder(encoding)("replace").decode(head, final=complete)
    controls = len(_CONTROLS.findall(text))
    if controls > 2 and controls * 100 > len(text):
        raise FileReadError(name, "is not a CSV file (it contains control characters, so it looks like a binary file)", "binary_file")
    if not complete:  # the last line of the prefix may be cut short
        text = text[: max(text.rfind("\n"), text.rfind("\r")) + 1]
        if not text:
            raise FileReadError(
                name, f"is too wide to read: its first line is longer than {PREFIX_BYTES >> 20} MiB "
                f"(the limit is {MAX_COLUMNS:,} columns)", "too_many_columns",
            )
    delimiter = _sniff_delimiter(text)
    records = _parse(text, delimiter)
    _check_column_count(name, records)
    return _finish(path, name, "csv", encoding, delimiter, records, has_header)


def _check_column_count(name: str, records: list[list[str]]) -> None:
    """Refuse a CSV wider than MAX_COLUMNS, as the xlsx reader does; Excel's empty padding cells do not count."""
    widest = 0
    for record in records:
        width = len(record)
        if width <= widest:
            continue
        while width > widest and not record[width - 1].strip():
            width -= 1
        widest = max(widest, width)
    if widest > MAX_COLUMNS:
        raise FileReadError(name, f"is too wide to read: it has {widest:,} columns and the limit is {MAX_COLUMNS:,}", "too_many_columns")


def iter_rows(path, info: FileInfo, *, max_cell_chars: int = 1000, start: RowStart | None = None,
              mark=None) -> Iterator[RawRow]:
    """Yield every data row (not the header, not blank lines), each with a row-level problem if it has one.

    start resumes reading at a row an earlier pass marked (the header is not read again);
    mark(n) -> bool asks for the start of the n-th data row yielded (from 0) as RawRow.start.
    """
    ordinal, header_pending = 0, info.has_header and start is None
    wants = None if mark is None else (lambda: not header_pending and mark(ordinal))
    if info.file_format == "xlsx":
        records = _xlsx_records(path, info.name, start, wants)
    else:
        records = _csv_records(path, info, start, wants)
    with closing(records):
        for row, cells, problem, here in records:
            if problem is not None:
                ordinal += 1
                yield RawRow(row, [""] * len(info.column_labels), _issue(info, row, *problem), here)
                continue
            if not any(cells):
                continue
            if header_pending:
                header_pending = False
                continue
            ordinal += 1
            raw = _check_shape(info, row, cells, max_cell_chars)
            yield raw if here is None else replace(raw, start=here)


def count_data_rows(path, info: FileInfo, *, up_to: int | None = None) -> int:
    """Count the data rows, streaming (with up_to, stop counting past that many). A CSV is counted by the
    bare csv reader (five times faster than reading its rows: the upload waits for it), falling back to
    the full reader at a quote problem."""
    header = 1 if info.has_header else 0
    stop = None if up_to is None else up_to + 1 + header
    if info.file_format == "csv":
        try:
            with open(path, "rb") as raw, io.TextIOWrapper(raw, encoding=info.encoding, newline="") as text:
                reader = csv.reader(text, delimiter=info.delimiter or ",", strict=True)
                rows = sum(1 for _ in islice((c for c in reader if any(c) and any(map(str.strip, c))), stop))
            return max(0, rows - header)
        except (csv.Error, UnicodeDecodeError):
            pass
    return sum(1 for _ in islice(iter_rows(path, info, max_cell_chars=FIELD_LIMIT), None if stop is None else stop - header))


# --- CSV ---------------------------------------------------------------------------------


def _csv_records(path, info: FileInfo, start: RowStart | None = None, wants=None):
    """Yield (row, stripped cells, problem, start) per CSV record; a record is one spreadsheet row.

    start is the record's RowStart when wants() asked for it before the record was read.
    """
    with open(path, "rb") as raw, io.TextIOWrapper(raw, encoding=info.encoding, newline="") as text:
        row = 0
        if start is not None:
            text.seek(start.offset)
            row = start.row - 1
        # tell() works between readline() calls, not while the wrapper is iterated; the csv reader
        # pulls exactly one record's lines at a time, so between records tell() is a record's start.
        reader = csv.reader(text if wants is None else iter(text.readline, ""), delimiter=info.delimiter or ",", strict=True)
        while True:
            row += 1
            here = RowStart(row, text.tell()) if wants is not None and wants() else None
            try:
                cells = next(reader)
            except StopIteration:
                return
            except UnicodeDecodeError:
                raise FileReadError(info.name, f"cannot be read as {info.encoding} text after row {row - 1}", "undecodable") from None
            except csv.Error as exc:
                problem = _quote_problem(exc, row)
                yield row, [], problem, here
                if problem[0] == "unclosed_quote":
                    return
                continue
            yield row, list(map(str.strip, cells)), None, here


def _quote_problem(exc: csv.Error, row: int) -> tuple[str, str, str]:
    """The problem of a record the csv reader refused: a quote never closed (the rest is unreadable) or misplaced."""
    if "unexpected end of data" in str(exc) or "field limit" in str(exc):
        return (
            "unclosed_quote",
            f"Row {row} has a quote (\") that is never closed, so the rest of the file cannot be read.",
            'Add the missing closing quote, or remove the stray quote.',
        )
    return (
        "bad_quote",
        f"Row {row} has a quote (\") in the wrong place.",
        'A value that starts with a quote must end with one; double any quote inside it ("").',
    )


# --- Blocks of rows, a column at a time ---------------------------------------------------

# Records read together; a longer block is slower (more rows alive at once for the GC to scan, less in cache).
BLOCK_RECORDS = 300


@dataclass(slots=True)
class RowBlock:
    """Consecutive data rows as iter_rows gives them, a column at a time: cells stripped, one tuple per column."""

    rows: Sequence[int]  # row numbers
    columns: list[tuple[str, ...]]  # one per column label; a row with a problem has blanks
    problems: dict[int, Issue]  # position in the block -> the row's problem


class _Unread:
    """In place of a record the csv reader refused."""

    __slots__ = ("error",)

    def __init__(self, error: Exception):
        self.error = error

    def __len__(self) -> int:  # never a row's width: a block holding one is read record by record
        return 0


def iter_row_blocks(path, info: FileInfo, *, max_cell_chars: int = 1000, size: int = BLOCK_RECORDS,
                    strip: bool = True) -> Iterator[RowBlock]:
    """iter_rows' rows and problems, a block at a time: a block of plain records (every one of the file's width,
    none blank, none too long) is split into columns at once; any other block is read record by record as
    iter_rows reads it. strip False leaves a plain block's cells as read, for a reader that strips each distinct
    text once itself."""
    width = len(info.column_labels)
    if info.file_format == "xlsx":
        rows = iter_rows(path, info, max_cell_chars=max_cell_chars)
        while batch := list(islice(rows, size)):
            yield _block_of(batch, width)
        return
    records = _csv_raw_records(path, info)
    row, header_pending = 0, info.has_header
    while batch := list(islice(records, size)):
        block = None if header_pending else _plain_block(batch, row, width, max_cell_chars, strip)
        if block is None:
            found = []
            header_pending = _read_one_by_one(info, batch, row, header_pending, max_cell_chars, found)
            block = _block_of(found, width)
        row += len(batch)
        if block.rows:
            yield block


def _csv_raw_records(path, info: FileInfo):
    """The csv reader's records as read (not stripped), an _Unread in place of one it refused."""
    with open(path, "rb") as raw, io.TextIOWrapper(raw, encoding=info.encoding, newline="") as text:
        reader = csv.reader(text, delimiter=info.delimiter or ",", strict=True)
        while True:
            try:
                yield from reader
                return
            except UnicodeDecodeError as exc:
                yield _Unread(exc)
                return
            except csv.Error as exc:
                yield _Unread(exc)
                if _quote_problem(exc, 0)[0] == "unclosed_quote":  # the rest of the file cannot be read
                    return


def _plain_block(batch: list, row: int, width: int, max_cell_chars: int, strip: bool = True) -> RowBlock | None:
    """The block when every record is a plain data row; None otherwise."""
    if set(map(len, batch)) != {width}:
        return None
    columns = list(zip(*batch))
    # As read: never shorter stripped. A whole record within the limit holds no cell beyond it (a third of the time).
    if max(map(len, map("".join, batch))) > max_cell_chars and max(max(map(len, c)) for c in columns) > max_cell_chars:
        return None
    first = tuple(map(str.strip, columns[0]))
    if "" in first and any(not any(map(str.strip, batch[i])) for i, text in enumerate(first) if not text):
        return None  # a blank row
    if strip:
        columns = [first, *(tuple(map(str.strip, column)) for column in columns[1:])]
    return RowBlock(range(row + 1, row + 1 + len(batch)), columns, {})


def _read_one_by_one(info: FileInfo, batch: list, row: int, header_pending: bool, max_cell_chars: int, found: list) -> bool:
    """iter_rows' reading of these records into found (RawRows); returns whether the header is still to come."""
    for row, record in enumerate(batch, row + 1):
        if record.__class__ is _Unread:
            if isinstance(record.error, UnicodeDecodeError):
                raise FileReadError(info.name, f"cannot be read as {info.encoding} text after row {row - 1}", "undecodable") from None
            found.append(RawRow(row, [""] * len(info.column_labels), _issue(info, row, *_quote_problem(record.error, row))))
            continue
        cells = list(map(str.strip, record))
        if not any(cells):
            continue
        if header_pending:
            header_pending = False
            continue
        found.append(_check_shape(info, row, cells, max_cell_chars))
    return header_pending


def _block_of(raws: list[RawRow], width: int) -> RowBlock:
    columns = list(zip(*(raw.cells for raw in raws))) if raws else []
    return RowBlock([raw.row for raw in raws], columns or [()] * width,
                    {i: raw.problem for i, raw in enumerate(raws) if raw.problem is not None})


def _sniff_delimiter(text: str) -> str:
    sample = text[:SNIFF_CHARS]
    scores = {d: _consistency(sample, d) for d in DELIMITERS}
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except Exception:  # the stdlib Sniffer is a heuristic that fails in several ways; we have a fallback
        sniffed = None
    if sniffed in scores and scores[sniffed][1] >= 2 and scores[sniffed][0] >= 0.8:
        return sniffed
    best = max(DELIMITERS, key=lambda d: scores[d])
    return best if scores[best][1] >= 2 else ","


def _consistency(sample: str, delimiter: str) -> tuple[float, int]:
    """(share of lines with the usual number of cells, that number) when split on `delimiter`."""
    lengths = [len(r) for r in _parse(sample, delimiter) if any(c.strip() for c in r)]
    if not lengths:
        return 0.0, 0
    width, count = Counter(lengths).most_common(1)[0]
    return count / len(lengths), width


def _parse(text: str, delimiter: str) -> list[list[str]]:
    records = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        for record in islice(reader, DETECT_RECORDS):
            records.append(record)
    except csv.Error:
        pass  # iter_rows reports it with its row number
    return records


# --- Header, shape -----------------------------------------------------------------------


def _finish(path, name, file_format, encoding, delimiter, records, has_header) -> FileInfo:
    info = _describe(name, file_format, encoding, delimiter, records, has_header)
    with closing(iter_rows(path, info)) as data:
        sample = [r.cells for r in islice(data, SAMPLE_ROW_COUNT)]
    if not sample:
        reason = "has a header row but no data rows" if info.has_header and any(any(r) for r in records) else "is empty: it has no data rows"
        raise FileReadError(name, reason, "no_data_rows")
    return replace(info, sample_rows=sample)


def _describe(name, file_format, encoding, delimiter, records, has_header) -> FileInfo:
    """The header (guessed when has_header is None) and the column labels, from the first records."""
    rows = [[c.strip() for c in r] for r in records]
    rows = [r for r in rows if any(r)]
    if has_header is None:
        has_header = bool(rows) and _looks_like_header(rows[0], rows[1:])
    headers: list[str] = []
    if has_header and rows:
        headers = rows[0]
        while headers and not headers[-1] and all(len(r) < len(headers) or not r[len(headers) - 1] for r in rows[1:]):
            headers = headers[:-1]  # Excel pads the header with empty cells
        _check_duplicates(name, headers)
        labels = [h or f"Column {i}" for i, h in enumerate(headers, 1)]
    else:
        widths = Counter(len(r) for r in rows).most_common()
        width = max((w for w, n in widths if n == widths[0][1]), default=1)
        labels = [f"Column {i}" for i in range(1, width + 1)]
    return FileInfo(name, file_format, encoding, delimiter, has_header, headers, labels, [])


def _looks_like_header(first: list[str], later: list[list[str]]) -> bool:
    if any(is_known_heading(c) for c in first):
        return True
    if any(_NUMBER.fullmatch(c) for c in first):
        return False
    for col in range(len(first)):
        values = [r[col] for r in later if col < len(r) and r[col]]
        if values and all(_NUMBER.fullmatch(v) for v in values):
            return True
    return False


def _check_duplicates(name: str, headers: list[str]) -> None:
    seen: dict[str, int] = {}
    for i, heading in enumerate(headers, 1):
        key = heading.casefold()
        if not key:
            continue
        if key in seen:
            raise FileReadError(
                name,
                f'has the heading "{heading}" twice (columns {seen[key]} and {i}); each column needs its own heading',
                "duplicate_heading",
            )
        seen[key] = i


def _check_shape(info: FileInfo, row: int, cells: list[str], max_cell_chars: int) -> RawRow:
    width = len(info.column_labels)
    if len(cells) == width and max(map(len, cells)) <= max_cell_chars:
        return RawRow(row, cells)  # the common case, kept cheap: this runs once per row
    if len(cells) > width and not any(cells[width:]) and not _has_secret_column(tuple(info.column_labels)):
        # Excel pads rows with empty cells. Not in a file with a password column: a cell inserted before the
        # password, in a row whose last cell is blank, looks the same, and would show the password in the next column.
        cells = cells[:width]
    if len(cells) < width and info.file_format == "xlsx":
        cells = cells + [""] * (width - len(cells))  # openpyxl leaves out trailing empty cells
    if len(cells) != width:
        count = len(cells) if len(cells) < width or not any(cells[width:]) else max(i for i, c in enumerate(cells, 1) if c)
        # Which cell belongs to which column is unknown (a missing cell slides a password into the
        # next column), so none of them is passed on: only the problem is.
        return RawRow(row, [""] * width, _issue(info, row, "ragged_row", f"Row {row} has {count} cells but the file has {width} columns.",
                                         "Check for a missing or extra delimiter, such as a comma inside a value that is not in quotes."))
    for i, cell in enumerate(cells):
        if len(cell) > max_cell_chars:
            label = info.column_labels[i]
            cells = cells[:i] + [cell[:max_cell_chars]] + cells[i + 1:]  # keep later steps' memory bounded
            message = f"Row {row}, column {label} is too long ({len(cell):,} characters; the limit is {max_cell_chars:,})."
            return RawRow(row, cells, _issue(info, row, "cell_too_long", message,
                                             "Check the value; a missing quote can merge many lines into one cell.", label))
    return RawRow(row, cells)


@lru_cache(maxsize=64)
def _has_secret_column(labels: tuple[str, ...]) -> bool:
    return any(says_secret(label) for label in labels)


def _issue(info: FileInfo, row: int, code: str, message: str, suggestion: str = "", column: str = "") -> Issue:
    return Issue(ERROR, code, message, suggestion, row=row, column=column, file=info.name)


# --- xlsx --------------------------------------------------------------------------------


def _describe_zip(path) -> str:
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
    except (zipfile.BadZipFile, OSError):
        return "a zip archive"
    if "xl/workbook.xml" in names:
        return "an Excel workbook"
    if "word/document.xml" in names:
        return "a Word document"
    return "a zip archive"


def _inspect_xlsx(path, name: str, has_header: bool | None) -> FileInfo:
    """Everything an upload needs from a workbook (header, samples, row count, width) in one read of it."""
    _check_zip_size(path, name)
    workbook = _open_workbook(path, name)
    try:
        sheet = _first_sheet(workbook, name)
        max_row, max_column = sheet.max_row or 0, sheet.max_column or 0  # from the sheet's declared dimension
        if max_row > XLSX_MAX_ROWS or max_column > XLSX_MAX_COLUMNS:
            raise FileReadError(
                name, f"is too large to read: its first sheet declares {max_row:,} rows and {max_column:,} columns", "xlsx_too_large"
            )
        rows = enumerate(sheet.iter_rows(values_only=True), 1)
        # A sheet without a <dimension> declares nothing: the width is counted from the rows read.
        records = [_xlsx_record(name, values) for _, values in islice(rows, DETECT_RECORDS)]
        info = _describe(name, "xlsx", "", "", records, has_header)
        data = _xlsx_data_rows(info, chain(enumerate(records, 1), ((n, _xlsx_record(name, v)) for n, v in rows)))
        sample, count = [], 0
        for raw in data:
            count += 1
            if count > XLSX_MAX_ROWS:
                raise FileReadError(name, f"is too large to read: its first sheet has more than {XLSX_MAX_ROWS:,} rows", "xlsx_too_large")
            if raw.problem is None and len(sample) < XLSX_STORED_SAMPLE_ROWS:
                sample.append(raw.cells)
    except FileReadError:
        raise
    except Exception:  # openpyxl raises many kinds of errors on damaged workbooks
        raise FileReadError(name, "is not a readable Excel workbook", "binary_file") from None
    finally:
        workbook.close()
    if not count:
        reason = "has a header row but no data rows" if info.has_header and records else "is empty: it has no data rows"
        raise FileReadError(name, reason, "no_data_rows")
    return replace(info, sample_rows=sample, row_count=count)


def _xlsx_record(name: str, values) -> list[str]:
    record = [_cell_text(v) for v in values]
    if len(record) > MAX_COLUMNS:
        _check_column_count(name, [record])
    return record


def _xlsx_data_rows(info: FileInfo, records):
    """The data rows of (row number, cells) records, as iter_rows gives them: blanks and the header left out."""
    header_pending = info.has_header
    for row, cells in records:
        if not any(cells):
            continue
        if header_pending:
            header_pending = False
            continue
        yield _check_shape(info, row, cells, 1000)


def _check_zip_size(path, name: str) -> None:
    try:
        with zipfile.ZipFile(path) as z:
            members = z.infolist()
    except (zipfile.BadZipFile, OSError):
        raise FileReadError(name, "is not a readable Excel workbook (the file is damaged)", "binary_file") from None
    total = sum(m.file_size for m in members)
    _check_shared_strings(path, name, members)
    ratio = total / max(1, sum(m.compress_size for m in members))
    # Tiny members compress extremely well in any workbook, so the ratio only counts for big ones.
    too_compressed = any(m.file_size > 1 << 20 and m.file_size > XLSX_MAX_RATIO * max(m.compress_size, 1) for m in members)
    if total > XLSX_MAX_UNCOMPRESSED or too_compressed:
        reason = f"is too large to read safely (it unpacks to {total / (1 << 20):,.0f} MiB, {ratio:,.0f} times its size)"
        raise FileReadError(name, reason, "xlsx_too_large")


def _shared_strings_parts(z: zipfile.ZipFile, members) -> list[zipfile.ZipInfo]:
    """The members holding shared strings: by the usual name, and any part [Content_Types].xml declares so."""
    parts = {m.filename for m in members if m.filename.lower().endswith("sharedstrings.xml")}
    types = next((m for m in members if m.filename == "[Content_Types].xml"), None)
    if types is not None and types.file_size <= 1 << 20:
        text = z.read(types)
        for match in re.finditer(rb"<Override\b[^>]*>", text):
            tag = match.group(0)
            part = re.search(rb'PartName="/?([^"]+)"', tag)
            if part and _SHARED_STRINGS_TYPE in tag:
                parts.add(part.group(1).decode("utf-8", "replace"))
    return [m for m in members if m.filename in parts]


def _check_shared_strings(path, name: str, members) -> None:
    """Refuse a workbook whose shared-strings table is too big to hold, by size and then by count (streamed)."""
    refusal = (
        "has too much text for an Excel workbook to be read safely ({what}, the limit is {limit}). "
        "Save it as CSV (in Excel: File > Save As > CSV UTF-8) and upload that"
    )
    with zipfile.ZipFile(path) as z:
        for part in _shared_strings_parts(z, members):
            if part.file_size > XLSX_MAX_SHARED_STRINGS_BYTES:
                what = f"its shared strings unpack to {part.file_size / (1 << 20):,.0f} MiB"
                raise FileReadError(name, refusal.format(what=what, limit=f"{XLSX_MAX_SHARED_STRINGS_BYTES >> 20} MiB"), "xlsx_too_large")
            count, tail = 0, b""
            with z.open(part) as stream:
                while chunk := stream.read(1 << 20):
                    text = tail + chunk
                    count += len(_SHARED_STRING.findall(text, 0, max(0, len(text) - 64)))
                    tail = text[max(0, len(text) - 64):]
                count += len(_SHARED_STRING.findall(tail))
            if count > XLSX_MAX_SHARED_STRINGS:
                what = f"it has {count:,} distinct texts"
                raise FileReadError(name, refusal.format(what=what, limit=f"{XLSX_MAX_SHARED_STRINGS:,}"), "xlsx_too_large")


class _SharedStrings:
    """A workbook's shared-strings table, each text parsed when a cell first asks for it.

    openpyxl parses the whole table at every open (45 µs a text here: 18 s for 400,000), so even a
    two-row workbook paid for every text in it. This finds where each text starts (a regex over
    the capped part) and parses only the ones the rows read use.
    """

    _END = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?si\s*>")

    def __init__(self, data: bytes):
        self._data = data
        self._starts = array("q", (m.start() for m in _SHARED_STRING.finditer(data)))
        self._texts: dict[int, str] = {}

    def __len__(self) -> int:
        return len(self._starts)

    def __getitem__(self, index: int) -> str:
        text = self._texts.get(index)
        if text is None:
            if not 0 <= index < len(self._starts):
                raise IndexError(index)
            text = self._texts[index] = self._parse(self._starts[index])
        return text

    def _parse(self, start: int) -> str:
        from openpyxl.cell.text import Text
        from openpyxl.xml.functions import fromstring

        opening = self._data[start:self._data.index(b">", start) + 1]
        if opening.endswith(b"/>"):
            return ""
        end = self._END.search(self._data, start)
        fragment = self._data[start:end.end() if end else len(self._data)]
        prefix = opening[1:opening.index(b"si")].rstrip(b":")
        # The fragment without the <sst> around it: declare its namespace again (as default and prefix).
        namespace = b'xmlns="%s"' % _MAIN_NS + (b' xmlns:%s="%s"' % (prefix, _MAIN_NS) if prefix else b"")
        head = len(opening) - (1 if opening.endswith(b">") else 0)
        element = fromstring(fragment[:head].rstrip(b">") + b" " + namespace + b">" + fragment[len(opening):])
        return Text.from_tree(element).content.replace("x005F_", "")


def _open_workbook(path, name: str):
    """The workbook, read-only, with its shared strings parsed on demand (_SharedStrings)."""
    from openpyxl.reader.excel import ExcelReader  # only xlsx uploads pay for the import
    from openpyxl.xml.constants import SHARED_STRINGS

    class Reader(ExcelReader):
        def read_strings(self):
            part = self.package.find(SHARED_STRINGS)
            if part is not None:  # capped in size and count by _check_shared_strings
                self.shared_strings = _SharedStrings(self.archive.read(part.PartName[1:]))

    try:
        # A file object, not the path: openpyxl judges a path by its extension, and stored uploads have none.
        reader = Reader(open(path, "rb"), read_only=True, data_only=True)  # noqa: SIM115
        reader.read()
        return reader.wb
    except Exception:  # openpyxl raises many kinds of errors on damaged workbooks
        raise FileReadError(name, "is not a readable Excel workbook", "binary_file") from None


def _first_sheet(workbook, name: str):
    if not workbook.worksheets:
        raise FileReadError(name, "has no worksheet to read", "no_data_rows")
    return workbook.worksheets[0]


def _xlsx_records(path, name: str, start: RowStart | None = None, wants=None):
    workbook = _open_workbook(path, name)
    first = start.row if start is not None else 1
    try:
        rows = _first_sheet(workbook, name).iter_rows(min_row=first, values_only=True)
        for row, values in enumerate(rows, first):
            # The XML before `first` is still parsed, but no cell of it is turned into text.
            here = RowStart(row) if wants is not None and wants() else None
            yield row, [_cell_text(v) for v in values], None, here
    except FileReadError:
        raise
    except Exception:  # openpyxl raises many kinds of errors on damaged workbooks
        raise FileReadError(name, "is not a readable Excel workbook", "binary_file") from None
    finally:
        workbook.close()


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat()
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    return str(value).strip()
