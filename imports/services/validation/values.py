"""One read of the files for School Mapping and value mapping: distinct school values and unrecognised coded values."""
from collections import Counter
from collections.abc import Callable

from ...models import ImportCodedValue, ImportFile, ImportJob, ImportSchoolValue
from ...pipeline.masking import password_indexes, row_passwords
from ...pipeline.normalize import Invalid
from ...pipeline.reading import iter_row_blocks
from ..sources import ImportOptions, Source, sources_for_job
from .result import BATCH_ROWS

MAX_SCHOOL_VALUES = 50_000
MAX_CODED_VALUES = 5_000  # per coded field
ERROR_TOO_MANY_SCHOOL_VALUES = (
    'The column "{column}" matched to School has more than {limit:,} different values. '
    "Check that School is matched to the right column."
)

def _unrecognised_parts(rule, value: str) -> list[str]:
    if not value:
        return []
    parts = value.split(rule.coding.separator) if rule.coding.separator else [value]
    return [w for w in (" ".join(p.split()) for p in parts) if w and rule.parse(w).__class__ is Invalid]


def file_value_counts_bounded(
    job: ImportJob, on_rows: Callable[[int], None] | None = None,
) -> tuple[dict[str, int] | str, dict[str, dict[str, int]]]:
    """The job's files' school values (or a message when there are too many) and unrecognised coded values."""
    return file_value_counts(
        sources_for_job(job), ImportOptions.from_job(job), rows_of=source_rows, total_rows=job.rows_total, on_rows=on_rows,
    )


def file_value_counts(
    sources: list[Source], options: ImportOptions, *, rows_of: Callable[[Source], int] = lambda source: 0,
    total_rows: int = 0, on_rows: Callable[[int], None] | None = None, limit_schools: bool = True,
) -> tuple[dict[str, int] | str, dict[str, dict[str, int]]]:
    """One read of the files: the School column's distinct values (with limit_schools, a message when
    there are too many), and each coded field's distinct values that its rule does not recognise, with
    their row counts. A value given for every row of a file counts rows_of(file) rows; a cell equal to
    the row's password is never listed."""
    spec = options.spec
    school_key = spec.lookup_field("schools")
    fixed = options.fixed_values.get(school_key) if school_key else None
    schools: dict[str, int] | str = {}
    if fixed is not None and fixed.strip():
        schools = {fixed.strip(): total_rows}
    coded: dict[str, dict[str, int]] = {f.key: {} for f in spec.coded_fields}
    verdicts: dict[tuple[str, str], tuple[str, ...]] = {}  # (field, cell) -> its unrecognised parts
    rows = 0
    for source in sources:
        plan = options.plan_for(source)
        index = plan.indexes.get(school_key) if fixed is None and school_key else None
        columns = [(f, plan.indexes[f.key]) for f in spec.coded_fields if f.key in plan.indexes]
        file_school = (plan.fixed.get(school_key) or "").strip() if fixed is None and school_key else ""
        if file_school and not isinstance(schools, str):  # one school for this file's rows
            schools[file_school] = schools.get(file_school, 0) + rows_of(source)
        for f in spec.coded_fields:  # one value for this file's rows that the rule does not know
            text = (plan.fixed.get(f.key) or "").strip()
            if text:
                for part in _unrecognised_parts(f.rule, text):
                    coded[f.key][part] = coded[f.key].get(part, 0) + rows_of(source)
        if index is None and not columns:
            continue
        # Every password column (pipeline/masking.py): a value equal to one of the row's is never listed,
        # and a column with a password heading is never listed at all.
        secret_indexes = password_indexes(source.info.column_labels, spec=spec, field_mapping=options.field_mapping)
        if index in secret_indexes:
            index = None
        columns = [(f, i) for f, i in columns if i not in secret_indexes]
        # A column at a time: each block's cells of a column are counted in one C loop (Counter), and each
        # distinct value is then judged once, in the order values first appear. Cells come as read (each
        # distinct value is stripped once below), but stripped where a password must be recognised.
        reported = rows
        for block in iter_row_blocks(source.path, source.info, strip=bool(secret_indexes)):
            rows += len(block.rows)
            secrets = [row_passwords(c, secret_indexes) for c in zip(*block.columns)] if secret_indexes else None
            if index is not None and not isinstance(schools, str):
                for value, n in _column_counts(block.columns[index], secrets).items():
                    value = value.strip()
                    if value:  # a password is never listed on School Mapping (left out by _column_counts)
                        schools[value] = schools.get(value, 0) + n
                        if limit_schools and len(schools) > MAX_SCHOOL_VALUES:
                            schools = ERROR_TOO_MANY_SCHOOL_VALUES.format(column=plan.labels[school_key], limit=MAX_SCHOOL_VALUES)
                            break
            for f, i in columns:
                found = coded[f.key]
                for value, n in _column_counts(block.columns[i], secrets).items():
                    value = value.strip()
                    if not value:
                        continue
                    parts = verdicts.get((f.key, value))
                    if parts is None:
                        parts = tuple(_unrecognised_parts(f.rule, value))
                        if len(verdicts) < MAX_CODED_VALUES * 4:
                            verdicts[(f.key, value)] = parts
                    for part in parts:
                        if part in found:
                            found[part] += n
                        elif len(found) < MAX_CODED_VALUES:  # beyond this, a value is not listed and stays an error
                            found[part] = n
            if on_rows is not None and rows - reported >= BATCH_ROWS:
                on_rows(rows)
                reported = rows
        if on_rows is not None and rows != reported:
            on_rows(rows)
    return schools, {k: v for k, v in coded.items() if v}


def _column_counts(column: tuple[str, ...], secrets: list | None) -> Counter:
    """How many rows of the block hold each text in this column; with secrets, a cell equal to its row's
    password is left out."""
    if secrets is not None:
        column = [v for v, secret in zip(column, secrets) if v.strip() not in secret]
    return Counter(column)


def source_rows(source) -> int:
    found = ImportFile.objects.filter(id=source.file_id).values_list("row_count", flat=True).first()
    return found or 0


def school_values_store(*, job: ImportJob, counts: dict[str, int], coded: dict[str, dict[str, int]] | None = None) -> None:
    """Replace the job's stored school values (at most MAX_SCHOOL_VALUES rows) and unrecognised coded values."""
    ImportSchoolValue.objects.filter(job=job).delete()
    ImportSchoolValue.objects.bulk_create(
        [ImportSchoolValue(job=job, position=i, value=value, rows=n) for i, (value, n) in enumerate(counts.items())],
        batch_size=2000,
    )
    ImportCodedValue.objects.filter(job=job).delete()
    ImportCodedValue.objects.bulk_create(
        [
            ImportCodedValue(job=job, position=i, field_key=key, value=value, rows=n)
            for i, (key, value, n) in enumerate((k, v, n) for k, values in (coded or {}).items() for v, n in values.items())
        ],
        batch_size=2000,
    )
