"""Spreadsheet formula injection: a cell that a spreadsheet would run as a formula is made plain text.

Any file a district admin opens in Excel or Sheets (exports, error reports) passes its cells
through `safe_cell`. See OWASP "CSV Injection".
"""

# A spreadsheet treats a cell starting with one of these as a formula (or as a cell break).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> str:
    """Return the cell as text, with a leading `'` when a spreadsheet would read it as a formula."""
    if value is None:
        return ""
    text = str(value)
    if text.startswith(FORMULA_TRIGGERS):
        return "'" + text
    return text


class CommandLineWriter:
    """A csv writer's target that hands its complete lines to a management command's stdout (no added line endings)."""

    def __init__(self, out):
        self.out = out

    def write(self, text: str) -> None:
        self.out.write(text, ending="")
