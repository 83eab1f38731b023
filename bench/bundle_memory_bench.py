"""Peak Python memory and time to turn a OneRoster 1.1 zip into the user file the import reads.

    .venv/bin/python bench/bundle_memory_bench.py [--rows 10000,40000,80000]

The zip's users.csv is unpacked to disk in chunks and read by the streaming reader, so the peak
(tracemalloc) should stay flat as the file grows; time is wall time with tracing on.
"""
import argparse
import csv
import io
import os
import sys
import tempfile
import time
import tracemalloc

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "classworks_import.settings.test")

import django

django.setup()

from imports.formats import open_bundle
from imports.tests.fixtures import make_bundles


def members(rows: int) -> dict[str, bytes]:
    out = make_bundles.oneroster_11()
    text = io.StringIO(newline="")
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(make_bundles.USERS_11_HEADER)
    for n in range(rows):
        writer.writerow([f"u-{n}", "active", make_bundles.MODIFIED, "true", "org-101", "student", f"user{n}", "",
                         "Given" * 4, "Family" * 4, "", f"S{n}", "", "", "", "", "05", ""])
    out["users.csv"] = text.getvalue().encode()
    del out["demographics.csv"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", default="10000,40000,80000")
    args = parser.parse_args()
    print("users\tusers.csv bytes\tpeak bytes\tseconds")
    for rows in (int(r) for r in args.rows.split(",")):
        data = members(rows)
        with tempfile.TemporaryDirectory() as workdir:
            path = os.path.join(workdir, "roster.zip")
            with open(path, "wb") as fh:
                fh.write(make_bundles.zip_bytes(data))
            started = time.perf_counter()
            tracemalloc.start()
            open_bundle([("roster.zip", path)], workdir)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            print(f"{rows}\t{len(data['users.csv'])}\t{peak}\t{time.perf_counter() - started:.2f}")


if __name__ == "__main__":
    main()
