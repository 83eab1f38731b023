"""Correcting error rows on Validate File: the corrected data becomes a new version of the file.

The uploaded file is never rewritten. The corrected version is a CSV that repeats every record of
the file as it was, except the corrected rows, so row numbers stay the same. It belongs to the same
job, so Close X and retention delete it with the original. No rule is checked here: the caller
validates the job again through the same pipeline as any import.
"""
import csv
import hashlib
import io
import os
import tempfile
from contextlib import closing
from dataclasses import dataclass, field

from django.core.files import File
from django.core.paginator import Page, Paginator
from django.db import transaction
from django.db.models import Max

from ..models import ImportCodedValue, ImportFile, ImportIssue, ImportJob, Severity, WizardStep
from ..pipeline.masking import is_password_heading, password_indexes, row_passwords
from ..pipeline.reading import FileInfo, RawRow, iter_rows
from ..pipeline.reading import _xlsx_records  # the workbook's rows as read, blank ones included
from ..types import get_spec
from .jobs import ERROR_NOT_DRAFT, ImportError_, proposed_value_mapping
from .sources import current_files, file_info
from .validation.values import _unrecognised_parts

# Past this many rows with errors the page asks for a fixed file instead: retyping hundreds of
# rows in a browser is slower and riskier than fixing them in a spreadsheet.
FIX_ROWS_LIMIT = 50
FIX_ROWS_PER_PAGE = 10
# The cells as read are not the row's own (cut or padded, or unparsable): the row is retyped whole.
RETYPE_CODES = frozenset({"ragged_row", "bad_quote"})
# An unclosed quote swallowed the rest of the file: only a fixed file brings those rows back.
UNFIXABLE_CODES = frozenset({"unclosed_quote"})
CORRECTED_ENCODING = "utf-8-sig"  # a BOM, so Excel shows accented names correctly

ERROR_NOT_VALIDATED = "Validate the file before correcting its rows."
ERROR_TOO_MANY_ROWS = (
    "The file has {rows:,} rows with errors, more than the {limit} that can be corrected here. "
    "Fix them in your file and upload it again."
)
ERROR_UNREADABLE = "{name} can no longer be read, so its rows cannot be corrected here. Fix it and upload it again."


@dataclass
class EditorCell:
    name: str  # the form input's name
    key: str
    heading: str
    column: str
    value: str  # always "" for a password: it is never sent back to the browser
    issues: list = field(default_factory=list)  # this cell's problems, shown beside it
    secret: bool = False  # the type's password field, or a column under a password heading (pipeline/masking.py)

    @property
    def is_password(self) -> bool:
        return self.secret

    @property
    def width(self) -> int:
        """Characters the input shows: its value whole, within reason."""
        return min(max(len(self.value) + 2, 10), 40)


@dataclass
class EditorRow:
    file_id: int
    file_name: str
    row: int
    retype: bool
    cells: list[EditorCell]
    issues: list = field(default_factory=list)  # the row's problems that name no field shown

    @property
    def key(self) -> str:
        return row_key(self.file_id, self.row)

    @property
    def cells_to_fix_first(self) -> list[EditorCell]:
        """The cells with a problem first, then the others in the file's order."""
        return sorted(self.cells, key=lambda c: not c.issues)


@dataclass
class FixRowsEditor:
    error_rows: int = 0
    too_many: bool = False
    page: Page | None = None
    rows: list[EditorRow] = field(default_factory=list)
    unfixable: int = 0  # rows only a fixed file can repair

    @property
    def offered(self) -> bool:
        return bool(self.rows)

    @property
    def has_password(self) -> bool:
        return any(c.is_password for r in self.rows for c in r.cells)


def row_key(file_id: int, row: int) -> str:
    return f"{file_id}-{row}"


def cell_name(file_id: int, row: int, key: str) -> str:
    return f"fix-{file_id}-{row}-{key}"


def editable_columns(job: ImportJob, info: FileInfo) -> dict[str, str]:
    """{field key: column label} of the fields this file feeds, in the import's field order."""
    mapping = job.field_mapping
    return {
        f.key: mapping[f.key] for f in get_spec(job.import_type).fields
        if f.key in mapping and f.key not in job.fixed_values and mapping[f.key] in info.column_labels
    }


def _error_rows(job: ImportJob, files: dict[int, ImportFile]) -> tuple[list[tuple[int, int]], int]:
    """The (file id, row) of every row with an error, in file order, and how many cannot be fixed here."""
    found: dict[tuple[int, int], set[str]] = {}
    errors = ImportIssue.objects.filter(job=job, severity=Severity.ERROR, row__isnull=False, file_id__in=list(files))
    for file_id, row, code in errors.values_list("file_id", "row", "code"):
        found.setdefault((file_id, row), set()).add(code)
    fixable = [k for k, codes in found.items() if not codes & UNFIXABLE_CODES]
    fixable.sort(key=lambda k: (files[k[0]].position, k[0], k[1]))
    return fixable, len(found) - len(fixable)


def _check_correctable(job: ImportJob) -> None:
    if not job.is_draft:
        raise ImportError_(ERROR_NOT_DRAFT)
    if job.validated_at is None:
        raise ImportError_(ERROR_NOT_VALIDATED)
    error_rows = job.validation_summary.get("counts", {}).get("error_rows", 0)
    if error_rows > FIX_ROWS_LIMIT:
        raise ImportError_(ERROR_TOO_MANY_ROWS.format(rows=error_rows, limit=FIX_ROWS_LIMIT))


def _rows_at(import_file: ImportFile, info: FileInfo, rows: set[int]) -> dict[int, RawRow]:
    """The rows asked for, read from the top of the file up to the last of them."""
    found: dict[int, RawRow] = {}
    last = max(rows, default=0)
    with closing(iter_rows(import_file.stored.path, info)) as data:
        for raw in data:
            if raw.row in rows:
                found[raw.row] = raw
            if raw.row >= last:
                break
    return found


def _retype(raw: RawRow) -> bool:
    return raw.problem is not None and raw.problem.code in RETYPE_CODES


def fix_rows_editor(*, job: ImportJob, page_number=None) -> FixRowsEditor:
    """The error rows of one page, with the cells of their mapped fields and their problems."""
    if not job.is_draft or job.validated_at is None:
        return FixRowsEditor()
    error_rows = job.validation_summary.get("counts", {}).get("error_rows", 0)
    if not error_rows:
        return FixRowsEditor()
    if error_rows > FIX_ROWS_LIMIT:
        return FixRowsEditor(error_rows=error_rows, too_many=True)
    files = {f.id: f for f in current_files(job) if f.deleted_at is None}
    keys, unfixable = _error_rows(job, files)
    page = Paginator(keys, FIX_ROWS_PER_PAGE).get_page(page_number)
    editor = FixRowsEditor(error_rows=error_rows, page=page, unfixable=unfixable)
    wanted: dict[int, set[int]] = {}
    for file_id, row in page.object_list:
        wanted.setdefault(file_id, set()).add(row)
    issues: dict[tuple[int, int], list[ImportIssue]] = {}
    for file_id, rows in wanted.items():
        for issue in ImportIssue.objects.filter(job=job, file_id=file_id, row__in=rows).order_by("id"):
            issues.setdefault((file_id, issue.row), []).append(issue)
    read = {}
    fields = get_spec(job.import_type).by_key
    for file_id, rows in wanted.items():
        info = file_info(files[file_id])
        columns = editable_columns(job, info)
        index = {label: i for i, label in enumerate(info.column_labels)}
        for raw in _rows_at(files[file_id], info, rows).values():
            retype = _retype(raw)
            found = issues.get((file_id, raw.row), [])
            hidden = _password_values(job, info, raw)
            read[(file_id, raw.row)] = EditorRow(
                file_id=file_id, file_name=files[file_id].original_name, row=raw.row, retype=retype,
                issues=[i for i in found if i.field not in columns],
                cells=[
                    EditorCell(
                        name=cell_name(file_id, raw.row, key), key=key, heading=fields[key].heading,
                        column=label, value="" if retype or _secret(job, key, label) or raw.cells[index[label]] in hidden else raw.cells[index[label]],
                        issues=[i for i in found if i.field == key], secret=_secret(job, key, label),
                    )
                    for key, label in columns.items()
                ],
            )
    editor.rows = [read[k] for k in page.object_list if k in read]
    return editor


def import_rows_correct(*, job: ImportJob, corrections: dict[tuple[int, int], dict[str, str]]) -> int:
    """Keep the corrected rows as a new version of their file; returns how many rows changed.

    corrections is {(file id, row): {field key: typed value}}. Only rows that have an error can be
    corrected. A blank password keeps the file's (it is never shown); a retyped row starts blank.
    The caller validates the job again.
    """
    written: list[str] = []  # stored names of new versions, deleted again if the save fails
    try:
        with transaction.atomic():
            return _correct(job, corrections, written)
    except BaseException:
        for name in written:
            ImportFile._meta.get_field("stored").storage.delete(name)
        raise


def _correct(job: ImportJob, corrections: dict, written: list[str]) -> int:
    job = ImportJob.objects.select_for_update().get(id=job.id)
    _check_correctable(job)
    files = {f.id: f for f in current_files(job) if f.deleted_at is None}
    allowed = set(_error_rows(job, files)[0])
    by_file: dict[int, dict[int, dict[str, str]]] = {}
    for (file_id, row), values in corrections.items():
        if (file_id, row) in allowed:
            by_file.setdefault(file_id, {})[row] = values
    changed = sum(_correct_file(job, files[file_id], rows, written) for file_id, rows in by_file.items())
    if changed:
        _map_typed_values(job, [values for rows in by_file.values() for values in rows.values()])
        job.validated_at = None
        job.validation_summary = {}
        spec = get_spec(job.import_type)
        if spec.step_index(job.step) > spec.step_index(WizardStep.VALIDATE):
            job.step = WizardStep.VALIDATE  # the preview changed: Next is pressed again on the new counts
        job.save(update_fields=["validated_at", "validation_summary", "value_mapping", "step", "updated_at"])
    return changed


def _map_typed_values(job: ImportJob, typed: list[dict[str, str]]) -> None:
    """A coded value typed here is treated as one in the file: listed for value mapping, and mapped as proposed
    (the district's last choice, else the suggestion: "guardian" skips the row). A value with neither stays an error."""
    spec = get_spec(job.import_type)
    listed = set(job.coded_values.values_list("field_key", "value"))
    new: list[tuple[str, str]] = []
    for values in typed:
        for key, text in values.items():
            f = spec.by_key.get(key)
            if f is None or f.rule.coding is None or not text:
                continue
            for part in _unrecognised_parts(f.rule, text.strip()):
                if (key, part) not in listed:
                    listed.add((key, part))
                    new.append((key, part))
    if not new:
        return
    position = (job.coded_values.aggregate(n=Max("position"))["n"] or 0) + 1
    ImportCodedValue.objects.bulk_create([
        ImportCodedValue(job=job, position=position + i, field_key=key, value=value, rows=1) for i, (key, value) in enumerate(new)
    ])
    mapping = {key: dict(values) for key, values in job.value_mapping.items()}
    for key, values in proposed_value_mapping(job, new).items():
        for value, target in values.items():
            mapping.setdefault(key, {}).setdefault(value, target)
    job.value_mapping = mapping


def _secret(job: ImportJob, key: str, label: str) -> bool:
    spec = get_spec(job.import_type)
    return key == spec.password_field or is_password_heading(label, spec=spec, field_mapping=job.field_mapping)


def _password_values(job: ImportJob, info: FileInfo, raw: RawRow) -> frozenset[str]:
    """The row's passwords: cells equal to one are never sent to the browser (pipeline/masking.py)."""
    spec = get_spec(job.import_type)
    return row_passwords(raw.cells, password_indexes(info.column_labels, spec=spec, field_mapping=job.field_mapping))


def _corrected_cells(job: ImportJob, info: FileInfo, raw: RawRow, values: dict[str, str]) -> list[str] | None:
    """The row's new cells, or None when nothing was changed (or a retyped row was left blank)."""
    retype = _retype(raw)
    cells = [""] * len(info.column_labels) if retype else list(raw.cells)
    index = {label: i for i, label in enumerate(info.column_labels)}
    columns = editable_columns(job, info)
    hidden = set() if retype else _password_values(job, info, raw)
    for key, label in columns.items():
        value = values.get(key)
        if value is None or (not value and not retype and (_secret(job, key, label) or raw.cells[index[label]] in hidden)):
            continue  # not sent: kept; a cell that was never shown (a password) keeps the file's value
        cells[index[label]] = value
    if retype:
        return cells if any(cells) else None
    return cells if cells != raw.cells else None


def _correct_file(job: ImportJob, current: ImportFile, rows: dict[int, dict[str, str]], written: list[str]) -> int:
    info = file_info(current)
    try:
        read = _rows_at(current, info, set(rows))
    except UnicodeDecodeError:
        raise ImportError_(ERROR_UNREADABLE.format(name=current.original_name)) from None
    replacements = {}
    for row, values in rows.items():
        if row in read:
            cells = _corrected_cells(job, info, read[row], values)
            if cells is not None:
                replacements[row] = cells
    if replacements:
        _store_version(job, current, info, replacements, written)
    return len(replacements)


def _store_version(
    job: ImportJob, current: ImportFile, info: FileInfo, replacements: dict[int, list[str]], written: list[str],
) -> ImportFile:
    original = current.corrected_from or current
    version = ImportFile.objects.filter(corrected_from=original).first() or ImportFile(
        job=job, corrected_from=original, position=original.position
    )
    old_name = version.stored.name if version.pk else ""
    delimiter = info.delimiter or ","
    with tempfile.TemporaryDirectory(prefix="corrected-") as tmp:
        path = os.path.join(tmp, "corrected.csv")
        with open(path, "w", encoding=CORRECTED_ENCODING, newline="") as out:
            try:
                if info.file_format == "xlsx":
                    _copy_xlsx(current.stored.path, info, replacements, out)
                else:
                    _copy_csv(current.stored.path, info, replacements, out, delimiter)
            except UnicodeDecodeError:
                raise ImportError_(ERROR_UNREADABLE.format(name=current.original_name)) from None
        stem = os.path.splitext(original.original_name)[0]
        version.original_name = f"{stem[:200]} (corrected).csv"
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 16), b""):
                digest.update(chunk)
        version.sha256 = digest.hexdigest()
        version.size = os.path.getsize(path)
        version.encoding, version.delimiter, version.file_format = CORRECTED_ENCODING, delimiter, "csv"
        version.has_header, version.headers = info.has_header, list(info.headers)
        version.column_count = len(info.column_labels)
        version.row_count = current.row_count  # a corrected row is still one row: none added, none lost
        version.corrected_rows = sorted(set(version.corrected_rows or []) | set(replacements))
        with open(path, "rb") as fh:
            version.stored.save("corrected", File(fh), save=False)
        written.append(version.stored.name)
    storage = version.stored.storage
    version.save()
    if old_name:
        # The replaced version goes only once the new one is committed.
        transaction.on_commit(lambda: storage.delete(old_name))
    return version


class _LineTap:
    """The lines csv.reader takes, so that each record can be copied exactly as it was written."""

    def __init__(self, lines):
        self._lines = lines
        self.taken: list[str] = []

    def __iter__(self):
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.taken.append(line)
        return line


def _copy_csv(path, info: FileInfo, replacements: dict[int, list[str]], out, delimiter: str) -> None:
    """Every record as it was, rows counted as the reader counts them; corrected rows written anew."""
    with open(path, "rb") as raw, io.TextIOWrapper(raw, encoding=info.encoding, newline="") as text:
        tap = _LineTap(text)
        reader = csv.reader(tap, delimiter=delimiter, strict=True)
        row = 0
        while True:
            row += 1
            tap.taken = []
            try:
                next(reader)
            except StopIteration:
                out.write("".join(tap.taken))
                return
            except csv.Error:
                pass  # copied as it was: it stays an error unless it is corrected
            record = "".join(tap.taken)
            if row == 1:
                record = record.removeprefix("\ufeff")  # our own encoding writes the BOM
            cells = replacements.get(row)
            if cells is None:
                out.write(record)
            else:
                ending = record[len(record.rstrip("\r\n")):] or "\r\n"
                csv.writer(out, delimiter=delimiter, lineterminator=ending).writerow(cells)


def _copy_xlsx(path, info: FileInfo, replacements: dict[int, list[str]], out) -> None:
    """The workbook's first sheet as CSV, one record per sheet row (blank ones too, so row numbers stay)."""
    writer = csv.writer(out, lineterminator="\r\n")
    for row, cells, *_ in _xlsx_records(path, info.name):
        writer.writerow(replacements.get(row, cells))


def corrected_file_rows(import_file: ImportFile):
    """The records of a corrected version, for a download (the caller makes every cell formula-safe)."""
    with import_file.stored.open("rb") as raw, io.TextIOWrapper(raw, encoding=import_file.encoding, newline="") as text:
        yield from csv.reader(text, delimiter=import_file.delimiter or ",")
