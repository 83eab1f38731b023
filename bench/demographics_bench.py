"""Benchmark of the Student Demographics import beside its limit: a COPY of the same final rows into
users_user itself (foreign keys, indexes and the other districts' users beside them), rolled back.

    python bench/demographics_bench.py --database-url postgres://postgres@127.0.0.1:5432/cw_demographics_bench \\
        [--sizes 100000] [--other-users 1000000] [--seed 42] [--json bench/results-demographics.json]

The database is dropped, created and migrated (its name must contain "bench"). Users of other
districts are loaded with COPY, then one district per size with that many students (grade only).
The file is a district's first demographics load: Grade, Gender, Race and the five flags for every
student, so every row writes; 10% get another grade, and every fifth row leaves its flag cells
blank (= No). Measured, each in its own child process (so its peak RSS, VmHWM, is its own):

- validate: the wizard's Validate File pass (parse, look-ups, preview) on the stored job;
- run: what the worker does, runs.import_job_run (it validates again, then writes);
- unchanged: the same file again, which must write no user row;
- limit: COPY of the final rows of as many students into users_user, in a transaction rolled back;
  beside it, the bare UPDATE ... FROM a COPY-loaded staging table of the same rows (rolled back).

The whole product's time is validate + run (the run does not reuse the wizard's result).
"""
import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.database import recreate_database  # noqa: E402

HEADER = (
    "DistrictUserID", "Grade", "Gender", "Race", "Hispanic or Latino", "English Language Learner",
    "Special Education", "Economically Disadvantaged", "Migrant",
)
GRADES = ("PK", "K", *(str(n) for n in range(1, 13)))
RACES = ("Asian", "White", "Black or African American", "Hispanic/Latino", "Asian;White", "Two or more races")
FLAGS = ("hispanic_latino", "limited_english", "disabled", "economically_disadvantaged", "migrant")
RESULT = "BENCH-RESULT "


def _env(url: str, work: Path) -> dict:
    return {
        **os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "classworks_import.settings.base",
        "CLASSWORKS_VAR_DIR": str(work / "var"), "PRIVATE_STORAGE_ROOT": str(work / "private"),
        "SECRET_KEY": "bench-" + "x" * 60, "PYTHONPATH": str(ROOT),
    }




def _setup():
    import django

    django.setup()


def _student(district, n: int, *, prefix: str, grade: str, now) -> dict:
    from imports.services import writers
    from imports.types import USER_DATA

    return writers.new_user(
        USER_DATA, {"first_name": "Ada", "last_name": f"Student{n}", "user_type": "student", "grade": grade},
        username=f"{prefix}.{n:07d}", password="!unusable", district_id=district.id, district_user_id=f"{n:07d}",
        date_joined=now, email="",
    )


def seed(sizes: list[int], other_users: int, seed_value: int) -> None:
    """Other districts' users, then one district of students per size; all with COPY."""
    from django.db import connection
    from django.utils import timezone

    from imports.services import writers
    from schools.models import District

    rng, now = random.Random(seed_value), timezone.now()
    others = [District.objects.create(slug=f"other-{i}", name=f"Other {i}") for i in range(20)]
    per = other_users // len(others)
    for district in others:
        for start in range(0, per, 50_000):
            writers.insert_users([
                _student(district, n, prefix=district.slug, grade=rng.choice(GRADES), now=now)
                for n in range(start, min(per, start + 50_000))
            ])
    for size in sizes:
        district = District.objects.create(slug=f"bench-{size}", name=f"Bench {size}", change_threshold_percent=100)
        for start in range(0, size, 50_000):
            writers.insert_users([
                _student(district, n, prefix=district.slug, grade=rng.choice(GRADES), now=now)
                for n in range(start, min(size, start + 50_000))
            ])
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE users_user")


def write_file(path: Path, size: int, seed_value: int) -> None:
    from users.models import User

    rng = random.Random(seed_value + size)
    stored = dict(User.objects.filter(district__slug=f"bench-{size}").values_list("district_user_id", "grade"))
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(HEADER)
        for n in range(size):
            district_id = f"{n:07d}"
            grade = rng.choice(GRADES) if rng.random() < 0.10 else stored[district_id]
            if n % 5 == 0:
                flags = [""] * 5  # blank = No
            else:
                flags = ["Y" if rng.random() < 0.3 else "N" for _ in FLAGS]
            writer.writerow([district_id, grade, rng.choice("MF"), rng.choice(RACES), *flags])


def make_job(size: int, path: Path, *, submit: bool = False) -> int:
    """A job as the wizard leaves it after Map Fields; with submit, validated and submitted (due now, not dispatched)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from imports.pipeline.mapping import propose_field_mapping
    from imports.services import jobs
    from imports.services.sources import column_labels, sources_for_job
    from imports.types import get_spec_by_command_name
    from schools.models import District

    district = District.objects.get(slug=f"bench-{size}")
    spec = get_spec_by_command_name("demographics")
    job = jobs.import_job_create(district=district, import_type=spec.import_type, description=path.name)
    with path.open("rb") as fh:
        jobs.import_files_add(job=job, uploads=[SimpleUploadedFile(path.name, fh.read())])
    labels = column_labels(sources_for_job(job))
    mapping = propose_field_mapping(labels, has_header=True, spec=spec).matched
    jobs.import_job_set_field_mapping(job=job, field_mapping=mapping, fixed_values={}, column_labels=labels, confirm=True)
    if submit:
        from django.utils import timezone

        from imports.models import ImportJob
        from imports.services.apply import import_job_validate

        import_job_validate(job=job)
        jobs.import_job_submit(job=job, dispatch=False)
        ImportJob.objects.filter(id=job.id).update(run_after=timezone.now())
    return job.id


def child(what: str, arg: str) -> None:
    """One measured step in this process; prints its result as one JSON line."""
    _setup()
    from django.db import connection, transaction

    from imports.models import ImportJob
    from imports.services import runs, writers
    from imports.services.apply import import_job_validate
    from users.models import User

    out: dict = {}
    if what == "limit":
        size = int(arg)
        from schools.models import District

        source = District.objects.get(slug=f"bench-{size}")
        rows = list(User.objects.filter(district=source).order_by("id").values())
        with transaction.atomic():
            target = District.objects.create(slug=f"limit-{size}", name="limit")
            columns = [c for c in rows[0] if c != "id"]
            final = [[(target.id if c == "district_id" else f"limit.{r['username']}" if c == "username" else r[c]) for c in columns] for r in rows]
            start = time.perf_counter()
            with connection.cursor() as cursor:
                writers.copy_rows(cursor.cursor, User._meta.db_table, columns, final)
            out["seconds"] = time.perf_counter() - start
            transaction.set_rollback(True)
        # A second reference: the bare UPDATE ... FROM a COPY-loaded table of the type's columns, for the
        # same students, every row written (what any update of these rows costs), rolled back too.
        from imports.types import get_spec_by_command_name

        record = get_spec_by_command_name("demographics").record_columns
        with transaction.atomic(), connection.cursor() as cursor:
            start = time.perf_counter()
            cursor.execute(
                "CREATE TEMP TABLE bench_staging (id bigint PRIMARY KEY, "
                + ", ".join(f"{c} {User._meta.get_field(c).db_type(connection)}" for c in record) + ") ON COMMIT DROP"
            )
            writers.copy_rows(cursor.cursor, "bench_staging", ("id", *record), [[r["id"], *(r[c] for c in record)] for r in rows])
            cursor.execute(
                f"UPDATE users_user u SET {', '.join(f'{c} = s.{c}' for c in record)} FROM bench_staging s WHERE u.id = s.id"
            )
            out["update_seconds"] = time.perf_counter() - start
            transaction.set_rollback(True)
    else:
        job = ImportJob.objects.get(id=int(arg))
        before = _tuples_written()
        start = time.perf_counter()
        if what == "validate":
            import_job_validate(job=job)
            job.refresh_from_db()
            out["counts"] = job.validation_summary["counts"]
        else:
            runs.import_job_run(job_id=job.id, queue_emails=False)
            job.refresh_from_db()
            out["status"], out["counts"] = job.status, job.counts
        out["seconds"] = time.perf_counter() - start
        out["user_rows_written"] = _tuples_written() - before
    out["peak_rss_mb"] = _peak_rss_mb()
    print(RESULT + json.dumps(out, default=str))


def _peak_rss_mb() -> int:
    """This process's own peak RSS. Not ru_maxrss: Linux carries the parent's peak over the exec into it, so a
    child started after the parent had validated 1M rows reported the parent's peak (332 MB for the run)."""
    try:
        with open("/proc/self/status") as status:
            kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(kb / 1024)


def _tuples_written() -> int:
    """users_user rows inserted or updated, from PostgreSQL's own counters (flushed first)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")  # PostgreSQL 15+: this backend's counts now
        time.sleep(1.0)  # and the other backends' (flushed at least once a second)
        cursor.execute("SELECT n_tup_ins + n_tup_upd FROM pg_stat_user_tables WHERE relname = 'users_user'")
        return cursor.fetchone()[0]


def _measure(env: dict, what: str, arg) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, "--child", what, str(arg)], env=env, cwd=ROOT, capture_output=True, text=True,
    )
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith(RESULT)), None)
    if line is None:
        raise SystemExit(f"{what} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return json.loads(line[len(RESULT):])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/cw_demographics_bench")
    parser.add_argument("--sizes", default="100000")
    parser.add_argument("--other-users", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--json", metavar="PATH")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(*args.child)

    sizes = [int(s) for s in args.sizes.split(",")]
    work = Path(tempfile.mkdtemp(prefix="demographics-bench-"))
    env = _env(args.database_url, work)
    recreate_database(args.database_url)
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    os.environ.update(env)
    _setup()
    started = time.perf_counter()
    seed(sizes, args.other_users, args.seed)
    print(f"seeded {args.other_users:,} other users and {sum(sizes):,} students in {time.perf_counter() - started:.0f} s", flush=True)
    results = []
    for size in sizes:
        path = work / f"demographics-{size}.csv"
        write_file(path, size, args.seed)
        validate = _measure(env, "validate", make_job(size, path))
        run = _measure(env, "run", make_job(size, path, submit=True))
        unchanged = _measure(env, "run", make_job(size, path, submit=True))
        limit = _measure(env, "limit", size)
        product = validate["seconds"] + run["seconds"]
        result = {
            "rows": size, "validate_s": round(validate["seconds"], 2), "run_s": round(run["seconds"], 2),
            "product_s": round(product, 2), "limit_copy_s": round(limit["seconds"], 2),
            "run_over_limit": round(run["seconds"] / limit["seconds"], 2),
            "product_over_limit": round(product / limit["seconds"], 2),
            "updated": run["counts"]["updated"], "rows_written": run["user_rows_written"],
            "limit_update_s": round(limit["update_seconds"], 2), "run_over_update": round(run["seconds"] / limit["update_seconds"], 2),
            "unchanged_s": round(unchanged["seconds"], 2), "unchanged_over_limit": round(unchanged["seconds"] / limit["seconds"], 2),
            "unchanged_rows_written": unchanged["user_rows_written"],
            "peak_rss_mb": {"validate": validate["peak_rss_mb"], "run": run["peak_rss_mb"], "unchanged": unchanged["peak_rss_mb"]},
        }
        results.append(result)
        print(json.dumps(result), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"other_users": args.other_users, "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
