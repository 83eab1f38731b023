"""Time the wizard's value-reading pass (school values + unrecognised coded values) on a generated file.

Usage: .venv/bin/python bench/value_pass.py [ROWS]   (SQLite, in a throwaway test database)
"""
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "classworks_import.settings.test")
import django  # noqa: E402

django.setup()
from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from django.test.utils import setup_test_environment, get_runner  # noqa: E402
from django.conf import settings  # noqa: E402


def main(rows: int) -> None:
    setup_test_environment()
    runner = get_runner(settings)(verbosity=0)
    old = runner.setup_databases()
    try:
        from imports.services import jobs, validation
        from users.tests.factories import make_district

        roles = ["student", "teacher", "guardian", "Student", "aide"]
        grades = ["KG", "01", "5", "13", "PK", "12"]
        lines = ["First Name,Last Name,District ID,User Type,Grade,Email Address,School SIS ID,Migrant,Race\r\n"]
        lines += [
            f"A,B,{i},{roles[i % 5]},{grades[i % 6]},,S-{i % 40},{'YTN'[i % 3]},Asian;White\r\n" for i in range(rows)
        ]
        district = make_district()
        job = jobs.import_job_create(district=district)
        jobs.import_files_add(job=job, uploads=[SimpleUploadedFile("big.csv", "".join(lines).encode())])
        job.refresh_from_db()
        start = time.perf_counter()
        schools, coded = validation.file_value_counts_bounded(job)
        took = time.perf_counter() - start
        print(f"{rows:,} rows: {took:.2f} s ({rows / took:,.0f} rows/s); {len(schools)} school values; "
              f"coded listed: { {k: len(v) for k, v in coded.items()} }")
    finally:
        runner.teardown_databases(old)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
