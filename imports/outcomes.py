"""One vocabulary for what happens to a file's rows: the same words on Validate File, Review, details, reports and emails.

A preview (the validation summary) and a finished run store their counts under different keys; both are read here.
"""

# (key, word): the order of the counts and of the bar's parts.
WORDS = (
    ("rows", "Rows"), ("new", "New"), ("updated", "Updated"), ("unchanged", "Unchanged"), ("conflicts", "Conflicts"),
    ("skipped", "Skipped"), ("errors", "Errors"), ("cautions", "Cautions"),
)
WORD = dict(WORDS)
# The bar's parts divide the rows between them (a conflict is also an update or unchanged, so it is a number beside).
BAR_PARTS = (
    ("new", "New", "#1d5fbf"), ("updated", "Updated", "#7a4cc2"), ("unchanged", "Unchanged", "#8795a1"),
    ("skipped", "Skipped", "#b8860b"), ("error_rows", "Rows with errors", "#b42318"),
)
BAR_WIDTH = 1000


def outcome_counts(counts: dict, *, skipped: int = 0) -> dict:
    """Stored counts (a preview's or a run's) under the one vocabulary's keys, plus error_rows for the bar."""
    rows = counts.get("rows", 0) or 0
    new, updated = counts.get("created", 0) or 0, counts.get("updated", 0) or 0
    skipped = counts.get("skipped", skipped) or 0
    error_rows = counts.get("error_rows", 0) or 0
    return {
        "rows": rows, "new": new, "updated": updated, "unchanged": max(0, rows - new - updated - skipped - error_rows),
        "conflicts": counts.get("conflicts", counts.get("conflict", 0)) or 0, "skipped": skipped,
        "errors": counts.get("errors", 0) or 0, "cautions": counts.get("warnings", 0) or 0, "error_rows": error_rows,
    }


def outcome_bar(counts: dict) -> list[dict]:
    """The bar's parts: word, count, colour, and where each starts and how wide it is (of BAR_WIDTH)."""
    total = sum(counts.get(key, 0) for key, _, _ in BAR_PARTS)
    parts, x = [], 0.0
    for key, word, colour in BAR_PARTS:
        n = counts.get(key, 0)
        if not n:
            continue
        width = BAR_WIDTH * n / total
        parts.append({"key": key, "word": word, "count": n, "colour": colour, "x": round(x, 2), "width": round(width, 2)})
        x += width
    return parts

# An issue's kind, as the article words it: a warning is a "Caution".
SEVERITY_WORDS = {"error": "Error", "warning": "Caution"}
