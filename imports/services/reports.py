"""The error report and the results report: CSVs safe to open in Excel."""
import csv
import io

from classworks_import.csv_safety import safe_cell
from users.models import User

from ..models import ImportChange, ImportIssue, ImportJob
from ..outcomes import SEVERITY_WORDS
from ..selectors import school_labels
from ..pipeline.masking import shown_cells
from ..pipeline.reading import iter_rows
from ..types import get_spec
from .sources import sources_for_job

ERROR_REPORT_EXTRA = ["Row", "Severity", "Field", "Problem", "Suggestion"]


def _writer(buffer):
    return csv.writer(buffer, lineterminator="\r\n")


def error_report_rows(job: ImportJob):
    """The original columns of each row with a problem, plus Row, Severity, Field, Problem, Suggestion."""
    issues: dict[tuple[int | None, int | None], list[ImportIssue]] = {}
    for issue in ImportIssue.objects.filter(job=job).order_by("file_id", "row", "id").iterator(chunk_size=5000):
        issues.setdefault((issue.file_id, issue.row), []).append(issue)
    sources = sources_for_job(job) if all(f.deleted_at is None for f in job.files.all()) else []
    labels = []
    for s in sources:
        labels += [c for c in s.info.column_labels if c not in labels]
    yield ["File", *labels, *ERROR_REPORT_EXTRA]
    for (file_id, row), found in issues.items():
        if row is None:
            for i in found:
                yield [i.file.original_name if i.file else "", *[""] * len(labels), "", SEVERITY_WORDS.get(i.severity, i.severity), i.field, i.message, i.suggestion]
    password_column = job.field_mapping.get(get_spec(job.import_type).password_field)
    for source in sources:
        # A report is mailed and shared: passwords never go in it (see pipeline/masking.py).
        password_indexes = {i for i, label in enumerate(source.info.column_labels) if label == password_column}
        for raw in iter_rows(source.path, source.info):
            found = issues.get((source.file_id, raw.row))
            if not found:
                continue
            by_label = dict(zip(source.info.column_labels, shown_cells(raw.cells, password_indexes)))
            cells = [by_label.get(label, "") for label in labels]
            for i in found:
                yield [source.info.name, *cells, raw.row, SEVERITY_WORDS.get(i.severity, i.severity), i.field, i.message, i.suggestion]


def results_report_rows(job: ImportJob):
    """One line per user the import created or changed."""
    yield ["Action", "District ID", "Username", "Field", "Before", "After"]
    created = User.objects.filter(created_by_import=job).values_list("district_user_id", "username").order_by("id")
    for district_user_id, username in created.iterator(chunk_size=5000):
        yield ["New", district_user_id, username, "", "", ""]
    spec, schools = get_spec(job.import_type), school_labels(district=job.district)
    changes = ImportChange.objects.filter(job=job).select_related("user").order_by("id")
    for change in changes.iterator(chunk_size=5000):
        for key, (before, after) in change.changes.items():
            yield [
                "Updated", change.district_user_id, change.user.username if change.user else "", spec.field_label(key),
                spec.display(key, before, schools=schools), spec.display(key, after, schools=schools),
            ]


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
