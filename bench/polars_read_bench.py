"""The file reader against polars: read every row, the distinct values of the mapped-value columns, duplicate ids.

    .venv/bin/python bench/polars_read_bench.py --sizes 100000,1000000

Each measurement runs in a process of its own (wall time and its peak RSS, VmHWM), on the
benchmark's own synthetic file. "ours" is imports.pipeline.reading.iter_rows (what validation
reads through: encodings, CR-only line ends, ragged rows, cell limits) with the distinct values
and the duplicate count in Python dicts; "polars" is read_csv with every column as text, then
unique() per column and a group_by on the District ID; "polars lazy" is scan_csv with the
streaming engine for the same three answers.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
VALUE_COLUMNS = ("User Type", "Grade", "School SIS ID", "Limited English", "Economically Disadvantaged")
ID_COLUMN = "District ID"


def peak_rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def ours(path: str) -> dict:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "classworks_import.settings.test")
    import django

    django.setup()
    from imports.pipeline.reading import inspect_file, iter_rows

    started = time.perf_counter()
    info = inspect_file(path, Path(path).name)
    columns = [info.column_labels.index(c) for c in VALUE_COLUMNS]
    id_index = info.column_labels.index(ID_COLUMN)
    distinct = [dict() for _ in columns]
    ids: dict[str, int] = {}
    rows = 0
    for raw in iter_rows(path, info):
        rows += 1
        cells = raw.cells
        for seen, i in zip(distinct, columns):
            seen[cells[i]] = seen.get(cells[i], 0) + 1
        ids[cells[id_index]] = ids.get(cells[id_index], 0) + 1
    duplicated = sum(1 for n in ids.values() if n > 1)
    return {"rows": rows, "distinct": [len(d) for d in distinct], "duplicated": duplicated,
            "seconds": time.perf_counter() - started}


def polars_eager(path: str) -> dict:
    import polars as pl

    started = time.perf_counter()
    frame = pl.read_csv(path, infer_schema=False, encoding="utf8")
    distinct = [frame.get_column(c).unique().len() for c in VALUE_COLUMNS]
    duplicated = frame.group_by(ID_COLUMN).len().filter(pl.col("len") > 1).height
    return {"rows": frame.height, "distinct": distinct, "duplicated": duplicated, "seconds": time.perf_counter() - started}


def polars_lazy(path: str) -> dict:
    import polars as pl

    started = time.perf_counter()
    scan = pl.scan_csv(path, infer_schema=False)
    distinct = [scan.select(pl.col(c).n_unique()).collect(engine="streaming").item() for c in VALUE_COLUMNS]
    duplicated = (scan.group_by(ID_COLUMN).len().filter(pl.col("len") > 1).select(pl.len())
                  .collect(engine="streaming").item())
    rows = scan.select(pl.len()).collect(engine="streaming").item()
    return {"rows": rows, "distinct": distinct, "duplicated": duplicated, "seconds": time.perf_counter() - started}


MODES = {"ours": ours, "polars": polars_eager, "polars lazy": polars_lazy}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "PATH"))
    args = parser.parse_args()
    if args.child:
        result = MODES[args.child[0]](args.child[1])
        print(json.dumps({**result, "rss_mb": peak_rss_mb()}))
        return
    from bench.import_bench import base_rows, write_csv

    with tempfile.TemporaryDirectory() as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            path = Path(tmp) / f"users-{size}.csv"
            write_csv(path, base_rows(size, 42))
            for mode in MODES:
                out = subprocess.run([sys.executable, __file__, "--child", mode, str(path)], capture_output=True,
                                     text=True, check=True, cwd=ROOT)
                r = json.loads(out.stdout.strip().splitlines()[-1])
                print(f"{size:>9,} {mode:<12} {r['seconds']:7.2f} s  RSS {r['rss_mb']:6.0f} MB  rows {r['rows']:,} "
                      f"distinct {r['distinct']} duplicated ids {r['duplicated']}", flush=True)


if __name__ == "__main__":
    main()
