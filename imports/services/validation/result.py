"""The pass's result: counts, examples for the preview and the safety hold, and where problems are stored."""
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field



from ...models import ImportIssue, ImportJob
from ...pipeline.issues import Issue

BATCH_ROWS = 5000
COUNT_KEYS = ("rows", "new", "update", "unchanged", "conflict", "created", "updated", "errors", "warnings", "error_rows", "skipped")

IssueSink = Callable[[list[Issue]], None]


LARGEST_CHANGES_KEPT = 10
ERROR_SAME_USER = "This row finds the same user as {file} row {row} (District ID {district_id})."


@dataclass
class ValidationResult:
    counts: Counter = field(default_factory=Counter)
    conflict_example: dict | None = None
    # Safety hold: existing students affected per their current school, and a few examples.
    affected_by_school: Counter = field(default_factory=Counter)
    largest_changes: list = field(default_factory=list)
    duplicates: int = 0  # problems the within-file duplicate check found (a pure function of the rows)
    # Matched users with a file password who already sign in: "Also replace the passwords of N people".
    claimed_passwords: int = 0

    @property
    def has_errors(self) -> bool:
        return self.counts["errors"] > 0

    def result_counts(self) -> dict:
        """What a run under these options will report: the same keys a finished job records."""
        c = self.counts
        return {
            "rows": c["rows"], "created": c["created"], "updated": c["updated"],
            "unchanged": c["rows"] - c["error_rows"] - c["skipped"] - c["created"] - c["updated"],
            "skipped": c["skipped"], "conflicts": c["conflict"], "errors": c["errors"], "warnings": c["warnings"],
        }

    def summary(self) -> dict:
        return {
            "counts": {k: self.counts[k] for k in (*COUNT_KEYS, "mass_changed")},
            "conflict_example": self.conflict_example,
            "affected_by_school": {str(k): v for k, v in self.affected_by_school.items()},
            "largest_changes": self.largest_changes,
            "duplicates": self.duplicates,
            "claimed_passwords": self.claimed_passwords,
        }


def store_issues(job: ImportJob, sources, issues) -> None:
    file_ids = {s.info.name: s.file_id for s in sources}
    ImportIssue.objects.bulk_create(
        [
            ImportIssue(
                job=job, file_id=file_ids.get(i.file), row=i.row, column=i.column[:255], field=i.field,
                code=i.code, severity=i.severity, message=i.message, suggestion=i.suggestion,
            )
            for i in issues
        ],
        batch_size=2000,
    )
