"""The files of an import as a stream of built user rows."""
from collections.abc import Iterator
from dataclasses import dataclass, field

from ..models import BundleRole, ImportFile, ImportJob
from ..pipeline.classify import FILE_WINS
from ..pipeline.issues import ERROR, Issue
from ..pipeline.mapping import fixed_for_file, plan_columns
from ..pipeline.masking import HIDDEN, shown_cells
from ..pipeline.normalize import SKIP
from ..pipeline.reading import FileInfo, RawRow, RowStart, iter_row_blocks, iter_rows
from ..pipeline.rows import RowBuilder, UserRow
from ..types import USER_DATA, ImportSpec, get_spec

NEW_SCHOOL = -1  # the school id of a value whose school is created when the import is submitted
SAMPLE_ROWS = 20  # Map Fields samples come from the top of each file only


@dataclass(frozen=True)
class Source:
    path: str
    info: FileInfo
    file_id: int | None = None
    upload_name: str = ""  # the name per-file settings use: the uploaded file's, also for its corrected version

    @property
    def settings_name(self) -> str:
        return self.upload_name or self.info.name


@dataclass(frozen=True)
class StreamStart:
    """Where the job's row stream can be entered again: the row's index in it, its file, and where it begins there."""

    index: int
    file_id: int | None
    row: RowStart

    def to_json(self) -> dict:
        # The offset is a TextIOWrapper cookie, wider than 64 bits for some encodings: kept as text.
        return {"index": self.index, "file_id": self.file_id, "row": self.row.row, "offset": str(self.row.offset)}

    @classmethod
    def from_json(cls, data: dict) -> "StreamStart":
        return cls(data["index"], data["file_id"], RowStart(data["row"], int(data["offset"])))


@dataclass
class ImportOptions:
    field_mapping: dict = field(default_factory=dict)
    fixed_values: dict = field(default_factory=dict)
    file_fixed_values: dict = field(default_factory=dict)  # file name -> {field key: value}, for that file's rows
    school_mapping: dict = field(default_factory=dict)  # file value -> school id
    value_mapping: dict = field(default_factory=dict)  # coded field key -> {file value: Classworks value or "skip"}
    conflict_policy: str = "imported"
    password_policy: str = "keep"
    spec: ImportSpec = USER_DATA  # the import type's declaration

    @property
    def conflicts(self) -> str:
        """The conflict policy rows are classified under: the chosen one, when the type offers the choice."""
        return self.conflict_policy if "conflict_policy" in self.spec.options else FILE_WINS

    @classmethod
    def from_job(cls, job: ImportJob) -> "ImportOptions":
        # Only schools the district still has: one deleted after the mapping was chosen makes its
        # rows school_unmapped when the job re-validates, instead of a broken foreign key.
        schools = set(job.district.schools.values_list("id", flat=True))
        return cls(
            field_mapping=dict(job.field_mapping),
            fixed_values=dict(job.fixed_values),
            file_fixed_values={name: dict(values) for name, values in job.file_fixed_values.items()},
            school_mapping={
                **{k: int(v) for k, v in job.school_mapping.items() if str(v).isdigit() and int(v) in schools},
                **{k: SKIP for k, v in job.school_mapping.items() if v == SKIP},
                # A school to be created on submit counts as matched until then (a placeholder id).
                **{k: NEW_SCHOOL for k in job.new_schools},
            },
            value_mapping={k: dict(v) for k, v in job.value_mapping.items()},
            conflict_policy=job.conflict_policy,
            password_policy=job.password_policy,
            spec=get_spec(job.import_type),
        )


    def fixed_for(self, source: "Source") -> dict:
        """The one-value fields of one file."""
        return fixed_for_file(self.fixed_values, self.file_fixed_values, source.settings_name)

    def plan_for(self, source: "Source"):
        """Where each field of this file comes from."""
        return plan_columns(source.info.column_labels, self.field_mapping, self.fixed_for(source), self.spec)


def file_info(import_file: ImportFile) -> FileInfo:
    labels = import_file.headers if import_file.has_header else [f"Column {i}" for i in range(1, import_file.column_count + 1)]
    return FileInfo(
        name=import_file.original_name,
        file_format=import_file.file_format,
        encoding=import_file.encoding,
        delimiter=import_file.delimiter,
        has_header=import_file.has_header,
        headers=list(import_file.headers) if import_file.has_header else [],
        column_labels=list(labels),
        sample_rows=list(import_file.sample_rows or []),
    )


def _current_and_uploaded(job: ImportJob) -> list[tuple[ImportFile, ImportFile]]:
    # A OneRoster or SDS upload is read through the user files made from it, never directly.
    files = [f for f in job.files.all() if f.bundle_role != BundleRole.MEMBER]
    corrected = {f.corrected_from_id: f for f in files if f.corrected_from_id}
    return [(corrected.get(f.id, f), f) for f in files if not f.corrected_from_id]


def current_files(job: ImportJob) -> list[ImportFile]:
    """Each uploaded file, or its corrected version when rows were corrected on Validate File."""
    return [current for current, _ in _current_and_uploaded(job)]


def sources_for_job(job: ImportJob) -> list[Source]:
    return [
        Source(path=f.stored.path, info=file_info(f), file_id=f.id, upload_name=uploaded.original_name)
        for f, uploaded in _current_and_uploaded(job)
    ]


def column_labels(sources: list[Source]) -> list[str]:
    """Every column label across the files, in first-seen order."""
    seen: dict[str, None] = {}
    for source in sources:
        for label in source.info.column_labels:
            seen.setdefault(label, None)
    return list(seen)


def missing_column_issues(sources: list[Source], options: ImportOptions) -> list[Issue]:
    """A mapped required column that one of several files lacks."""
    issues = []
    for source in sources:
        plan = options.plan_for(source)
        for key in plan.missing:
            heading = options.spec.heading(key)
            issues.append(Issue(
                ERROR, "missing_column",
                f'{source.info.name} has no column "{options.field_mapping[key]}" for {heading}.',
                f"Match {heading} to a column this file has, or give it one value for every row.",
                field=key, file=source.info.name,
            ))
    return issues


def iter_user_rows(sources: list[Source], options: ImportOptions, *, start: StreamStart | None = None,
                   starts: dict | None = None, every: int = 0, keep_skipped: bool = False,
                   block_rows: int | None = None) -> Iterator[tuple[Source, UserRow]]:
    """Every data row of every file, built and normalised, in a stable order (resume relies on it).

    Rows are read and built block_rows at a time (BLOCK_ROWS when not given); a reader that stops
    early, such as a password batch at its slice's end, takes 1 so that no row past it is built.

    start enters the stream at a row an earlier pass recorded: the rows before it are not read
    again. With `starts`, every `every`-th row's StreamStart is recorded there, by its index.
    Rows the value mapping skips are left out, unless keep_skipped (validation counts them).
    """
    index = start.index if start is not None else 0
    skipping = start is not None
    block_rows = block_rows or BLOCK_ROWS
    for source in sources:
        if skipping and source.file_id != start.file_id:
            continue
        plan = options.plan_for(source)
        builder = RowBuilder(
            file_name=source.info.name, plan=plan, school_mapping=options.school_mapping, spec=options.spec,
            value_mapping=options.value_mapping,
        )
        mark = None
        if starts is not None and every:
            mark = lambda n, first=index: (first + n) % every == 0  # noqa: E731
        rows = iter_rows(source.path, source.info, start=start.row if skipping else None, mark=mark)
        while True:
            raws, error = _take(rows, block_rows)
            good = [(raw.row, raw.cells) for raw in raws if raw.problem is None]
            # A column at a time: each distinct value converted once.
            built = builder.iter_block(good) if len(good) > 1 else iter([builder.build(*pair) for pair in good])
            for raw in raws:
                if raw.problem is not None:
                    row = UserRow(file=source.info.name, row=raw.row, issues=[raw.problem])
                else:
                    row = next(built)
                    if row.skipped and not keep_skipped:  # "skip these rows" (value mapping): never written
                        continue
                if raw.start is not None:
                    starts[index] = StreamStart(index, source.file_id, raw.start)
                index += 1
                yield source, row
            if error is not None:
                raise error
            if not raws:
                break
        skipping = False


# Rows read ahead and built together: enough for a column's few values (user type, grade, school) to repeat.
# A longer block only keeps more rows alive at once, which the GC then scans (read and built, 300 was the fastest).
BLOCK_ROWS = 300


def _take(rows: Iterator, size: int) -> tuple[list, Exception | None]:
    """Up to `size` rows, and the read error that cut them short: raised after these rows, as when
    rows were taken one at a time."""
    taken = []
    try:
        for raw in rows:
            taken.append(raw)
            if len(taken) == size:
                break
    except Exception as exc:  # raised again by the caller, after the rows before it
        return taken, exc
    return taken, None


SAMPLE_COLUMNS = 500  # and this many columns: a 100,000-column page would be megabytes


def column_samples(sources: list[Source], limit: int = 3, hidden: set[str] = frozenset()) -> dict[str, list[str]]:
    """The first few non-blank values of each column, from the first SAMPLE_ROWS rows and SAMPLE_COLUMNS columns.

    Columns in `hidden` (the one matched to Password) show a mask, never their values, and so
    does any cell equal to a password on its row; a row with a problem shows nothing.
    """
    samples: dict[str, list[str]] = {}
    for source in sources:
        labels = source.info.column_labels
        password_indexes = {i for i, label in enumerate(labels) if label in hidden}
        labels = labels[:SAMPLE_COLUMNS]
        # An xlsx's rows were kept at upload: opening the workbook is for the worker, not for a page view.
        kept = source.info.file_format == "xlsx" and source.info.sample_rows
        rows = (RawRow(0, cells) for cells in source.info.sample_rows) if kept else iter_rows(source.path, source.info)
        for n, raw in enumerate(rows):
            if n >= SAMPLE_ROWS:
                break
            if raw.problem is not None:
                continue
            for label, value, shown in zip(labels, raw.cells, shown_cells(raw.cells, password_indexes)):
                bucket = samples.setdefault(label, [])
                if value and len(bucket) < limit:
                    bucket.append(shown if shown == HIDDEN else shown[:40])
    return samples
