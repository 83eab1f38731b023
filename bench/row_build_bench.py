"""How fast the row builder turns read rows into user rows: the per-row part of validation, without a database.

    .venv/bin/python bench/row_build_bench.py --rows 100000 --repeat 3 [--block 300]

--block N builds the rows N at a time, a column at a time, as iter_user_rows does (RowBuilder.iter_block,
build_block's rows made as they are taken); without it, row by row with RowBuilder.build.
Prints the best of the repeats in rows per second. Run it on two commits to compare the row builder.
"""
import argparse
import csv
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "classworks_import.settings.test")

import django  # noqa: E402

django.setup()

from imports.pipeline.mapping import plan_columns, propose_field_mapping  # noqa: E402
from imports.pipeline.reading import inspect_file, iter_rows  # noqa: E402
from imports.pipeline.rows import RowBuilder  # noqa: E402
from imports.types import USER_DATA  # noqa: E402

HEADER = ["First Name", "Middle Name", "Last Name", "District ID", "User Type", "Grade", "Email Address",
          "School SIS ID", "State User ID", "Alternate User ID", "Limited English", "Economically Disadvantaged"]


def write_file(path: Path, rows: int) -> None:
    rng = random.Random(42)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        for n in range(rows):
            staff = n % 20 == 0
            writer.writerow([
                f"First{n}", "M" if n % 3 else "", f"Last{n}", f"{n:08d}", "1" if staff else "0",
                "" if staff else rng.choice(["K", "PK", "1", "5", "12", "07"]),
                f"u{n}@example.org" if staff or n % 2 else "", rng.choice(["101", "102", "103"]),
                f"S{n}", "", rng.choice(["Y", "N", ""]), rng.choice(["Yes", "No", ""]),
            ])


def build_all(path: Path, raws: list, block: int = 0) -> int:
    info = inspect_file(path, path.name)
    proposal = propose_field_mapping(info.column_labels, has_header=True, spec=USER_DATA)
    plan = plan_columns(info.column_labels, {**proposal.suggestions, **proposal.matched}, {}, spec=USER_DATA)
    builder = RowBuilder(file_name=path.name, plan=plan, school_mapping={"101": 1, "102": 2, "103": 3}, spec=USER_DATA)
    errors = 0
    if block:
        for at in range(0, len(raws), block):  # iter_block: build_block's rows, made as taken (as iter_user_rows does)
            pairs = [(raw.row, raw.cells) for raw in raws[at:at + block]]
            errors += sum(row.has_error for row in builder.iter_block(pairs))
        return errors
    for raw in raws:
        errors += builder.build(raw.row, raw.cells).has_error
    return errors


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--block", type=int, default=0, help="rows per build_block call (0: build, row by row)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "roster.csv"
        write_file(path, args.rows)
        raws = list(iter_rows(path, inspect_file(path, path.name)))  # read once: only the builder is timed
        best = float("inf")
        for _ in range(args.repeat):
            started = time.process_time()
            errors = build_all(path, raws, args.block)
            best = min(best, time.process_time() - started)
    how = f"iter_block, {args.block:,} rows a block" if args.block else "build, row by row"
    print(f"{how}: {args.rows:,} rows built in {best:.2f} s of CPU (best of {args.repeat}): "
          f"{args.rows / best:,.0f} rows/s ({errors} rows with errors)")


if __name__ == "__main__":
    main()
