"""The error report and the results report: CSVs safe to open in Excel."""
import csv
import io

from core.csv_safety import safe_cell

from ..models import ImportChange, ImportIssue, ImportJob
from ..outcomes import SEVERITY_WORDS
from ..pipeline.masking import HIDDEN, is_password_heading, password_indexes, shown_cells
from ..selectors import school_labels
from ..pipeline.reading import iter_rows
from ..targets import get_target
from ..types import get_spec
from .sources import sources_for_job

ERROR_REPORT_EXTRA = ["Row", "Severity", "Field", "Problem", "Suggestion"]


def _writer(buffer):
    return csv.writer(buffer, lineterminator="\r\n")


ISSUE_CHUNK = 5000
_ISSUE_COLUMNS = ("row", "severity", "field", "message", "suggestion")


def error_report_rows(job: ImportJob):
    """The original columns of each row with a problem, plus Row, Severity, Field, Problem, Suggestion.

    Streams: issues are read in row order alongside the file, a chunk at a time, never all at once.
    """
    sources = sources_for_job(job) if all(f.deleted_at is None for f in job.files.all()) else []
    labels = []
    for s in sources:
        labels += [c for c in s.info.column_labels if c not in labels]
    yield ["File", *labels, *ERROR_REPORT_EXTRA]
    issues = ImportIssue.objects.filter(job=job)
    whole_file = issues.filter(row__isnull=True).order_by("file_id", "id").values_list("file__original_name", *_ISSUE_COLUMNS)
    for name, _, severity, field, message, suggestion in whole_file.iterator(chunk_size=ISSUE_CHUNK):
        yield [name or "", *[""] * len(labels), "", SEVERITY_WORDS.get(severity, severity), field, message, suggestion]
    spec = get_spec(job.import_type)
    for source in sources:
        # A report is mailed and shared: passwords never go in it (see pipeline/masking.py).
        secret = password_indexes(source.info.column_labels, spec=spec, field_mapping=job.field_mapping)
        found = issues.filter(file_id=source.file_id, row__isnull=False).order_by("row", "id").values_list(*_ISSUE_COLUMNS)
        pending = found.iterator(chunk_size=ISSUE_CHUNK)
        issue = next(pending, None)
        for raw in iter_rows(source.path, source.info):
            if issue is None:
                break  # the rest of the file has no problem: not read
            while issue is not None and issue[0] < raw.row:
                issue = next(pending, None)  # a row the file no longer has
            if issue is None or issue[0] != raw.row:
                continue
            by_label = dict(zip(source.info.column_labels, shown_cells(raw.cells, secret)))
            cells = [by_label.get(label, "") for label in labels]
            while issue is not None and issue[0] == raw.row:
                row, severity, field, message, suggestion = issue
                yield [source.info.name, *cells, row, SEVERITY_WORDS.get(severity, severity), field, message, suggestion]
                issue = next(pending, None)


def results_report_rows(job: ImportJob):
    """One line per user the import created or changed."""
    yield ["Action", "District ID", "Username", "Field", "Before", "After"]
    created = get_target(get_spec(job.import_type)).created(job=job)
    for district_user_id, username in created.iterator(chunk_size=5000):
        yield ["New", district_user_id, username, "", "", ""]
    spec, schools = get_spec(job.import_type), school_labels(district=job.district)
    # A field fed by a password heading (matched to another field by mistake) keeps its values private.
    secret = {key for key, label in job.field_mapping.items() if is_password_heading(label, spec=spec, field_mapping=job.field_mapping)}
    secret |= {spec.by_key[key].stored_column for key in secret if key in spec.by_key}
    changes = ImportChange.objects.filter(job=job).order_by("id").values_list("district_user_id", "user__username", "changes")
    for district_user_id, username, changed in changes.iterator(chunk_size=ISSUE_CHUNK):
        for key, (before, after) in changed.items():
            if key in secret and key != spec.password_field:
                before, after = HIDDEN if before else before, HIDDEN if after else after
            else:
                before, after = spec.display(key, before, schools=schools), spec.display(key, after, schools=schools)
            yield ["Updated", district_user_id, username or "", spec.field_label(key), before, after]


def csv_stream(rows):
    """Yield CSV text line by line, every cell neutralised against formula injection."""
    buffer = io.StringIO()
    writer = _writer(buffer)
    buffer.write("\ufeff")  # Excel reads UTF-8 correctly only with a BOM
    for row in rows:
        writer.writerow([safe_cell(c) for c in row])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
