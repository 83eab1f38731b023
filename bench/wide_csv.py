"""How long the upload takes to refuse a 100,000-column CSV (the column cap), and the peak memory.

    .venv/bin/python bench/wide_csv.py
"""
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "classworks_import.settings.test")

import django  # noqa: E402

django.setup()

from imports.pipeline.reading import FileReadError, inspect_file  # noqa: E402

COLUMNS = 100_000


def main() -> None:
    header = ",".join(f"C{i}" for i in range(COLUMNS))
    row = ",".join("x" for _ in range(COLUMNS))
    with tempfile.NamedTemporaryFile("wb", suffix=".csv", delete=False) as f:
        f.write(f"{header}\r\n{row}\r\n".encode())
        path = f.name
    try:
        started = time.perf_counter()
        try:
            inspect_file(path, "wide.csv")
            outcome = "read (the cap did not apply)"
        except FileReadError as exc:
            outcome = f"refused: {exc}"
        elapsed = time.perf_counter() - started
        size_kb = os.path.getsize(path) / 1024
    finally:
        os.unlink(path)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{COLUMNS:,} columns, {size_kb:,.0f} KB: {outcome}")
    print(f"time {elapsed:.3f} s, peak RSS {rss_mb:.0f} MB")


if __name__ == "__main__":
    main()
