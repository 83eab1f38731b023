"""Time the error-row editor of Validate File on a large file: drawing one page of rows, and saving it.

    .venv/bin/python bench/fix_rows_bench.py --rows 100000

Runs on a throw-away SQLite database and storage folder under a temporary directory. The error
rows are the last ones of the file, the worst case: the editor reads the file down to them, and
a save copies every record into the corrected version.
"""
import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--errors", type=int, default=10, help="error rows, at the end of the file")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="fix_rows_bench-"))
    os.environ["DATABASE_URL"] = f"sqlite:///{work / 'db.sqlite3'}"
    os.environ["PRIVATE_STORAGE_ROOT"] = str(work / "private")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "classworks_import.settings.test")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    from imports.services import corrections
    from imports.services.apply import import_job_validate
    from imports.services.sources import sources_for_job
    from imports.tests.factories import SCHOOL_SIS_ID, make_import_job, student, write_csv
    from users.tests.factories import make_district, make_school

    district = make_district(name="Bench")
    make_school(district, sis_id=SCHOOL_SIS_ID)
    good = args.rows - args.errors
    rows = [student(str(100_000 + n)) for n in range(good)] + [
        student(str(900_000 + n), Grade="13") for n in range(args.errors)
    ]
    job = make_import_job(district, [write_csv(work / "big.csv", rows)])
    assert job.validation_summary["counts"]["error_rows"] == args.errors

    started = time.perf_counter()
    editor = corrections.fix_rows_editor(job=job)
    drawn = time.perf_counter() - started

    file_id = sources_for_job(job)[0].file_id
    fixes = {(file_id, r.row): {"grade": "5"} for r in editor.rows}
    started = time.perf_counter()
    changed = corrections.import_rows_correct(job=job, corrections=fixes)
    saved = time.perf_counter() - started
    started = time.perf_counter()
    import_job_validate(job=job)
    validated = time.perf_counter() - started
    job.refresh_from_db()

    print(f"rows={args.rows:,} error rows={args.errors} (last in the file)")
    print(f"editor page drawn:     {drawn:.2f} s ({len(editor.rows)} rows)")
    print(f"save (new version):    {saved:.2f} s ({changed} rows corrected)")
    print(f"validate again:        {validated:.2f} s (errors left: {job.validation_summary['counts']['errors']})")


if __name__ == "__main__":
    main()
