"""Problems found in a file, with the row and column a spreadsheet would show."""
from dataclasses import dataclass

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Issue:
    severity: str  # ERROR blocks the import, WARNING lets it go on
    code: str  # stable, for tests, reports and grouping
    message: str
    suggestion: str = ""
    row: int | None = None  # spreadsheet row: with a header the first data row is 2
    column: str = ""  # the file's column label (heading, or "Column N")
    field: str = ""  # the product field key
    file: str = ""  # the uploaded file's name

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def as_dict(self) -> dict:
        return {
            "file": self.file,
            "row": self.row,
            "column": self.column,
            "field": self.field,
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "suggestion": self.suggestion,
        }
