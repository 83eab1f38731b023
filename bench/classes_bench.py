"""Benchmark of the Classes import beside its limit: a COPY of the same classes and enrollments into the
classes tables (their keys, indexes and foreign keys), rolled back; and the Classes tab's list.

    python bench/classes_bench.py --database-url postgres://postgres@127.0.0.1:5432/cw_classes_bench \\
        [--enrollments 1000000] [--classes 30000] [--list-classes 100000] [--json bench/results-classes.json]

The database is dropped, created and migrated (its name must contain "bench"). One district gets the
teachers and students (each student in about six classes, one teacher per class); the file has one
row per enrollment (Class SIS ID, Class Name, School SIS ID, District ID, Role). Measured, each in
its own child process (so its peak RSS is its own):

- fresh: the whole `import_users --type classes FILE --district SLUG --now`, from the file to committed rows;
- unchanged: the same command again, which must write no row (PostgreSQL's counters for the classes tables);
- limit: COPY of the final classes, then of their teachers and students, their foreign keys checked, rolled back;
- list: the Classes tab's first page and a search, for a district with --list-classes classes (median of 5).
"""
import argparse
import csv
import io
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.database import recreate_database  # noqa: E402

RESULT = "BENCH-RESULT "
HEADER = ("Class SIS ID", "Class Name", "School SIS ID", "District ID", "Role")
SCHOOLS = 20
CLASSES_PER_STUDENT = 6
CLASSES_PER_TEACHER = 5
TABLES = ("classes_schoolclass", "classes_classteacher", "classes_classstudent")


def _env(url: str, work: Path) -> dict:
    return {
        **os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "classworks_import.settings.base",
        "CLASSWORKS_VAR_DIR": str(work / "var"), "PRIVATE_STORAGE_ROOT": str(work / "private"),
        "SECRET_KEY": "bench-" + "x" * 60, "PYTHONPATH": str(ROOT), "ALLOWED_HOSTS": "testserver",
    }




def _setup():
    import django

    django.setup()


def _copy(cursor, table: str, columns, rows) -> None:
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join(r"\N" if v is None else str(v) for v in row) + "\n")
    buffer.seek(0)
    cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", buffer)


def seed(enrollments: int, classes: int, list_classes: int) -> dict:
    """The district's schools, teachers and students (COPY), and a second district with list_classes classes."""
    from django.db import connection
    from django.utils import timezone

    from imports.services import writers
    from imports.types import USER_DATA
    from schools.models import District, School

    now = timezone.now()
    district = District.objects.create(slug="bench-classes", name="Bench classes", change_threshold_percent=100)
    schools = [School.objects.create(district=district, sis_id=f"S{n:02d}", name=f"School {n}") for n in range(SCHOOLS)]
    per_class = max(1, enrollments // classes - 1)  # students per class, beside its teacher
    students = max(1, classes * per_class // CLASSES_PER_STUDENT)
    teachers = max(1, classes // CLASSES_PER_TEACHER)

    def user(n: int, kind: str) -> dict:
        values = {"first_name": "Ada", "last_name": f"{kind}{n}", "user_type": "student" if kind == "S" else "staff",
                  "grade": "5" if kind == "S" else "", "school_id": schools[n % SCHOOLS].id}
        return writers.new_user(USER_DATA, values, username=f"{kind.lower()}.{n:07d}", password="!unusable",
                                district_id=district.id, district_user_id=f"{kind}{n:07d}", date_joined=now, email="")

    for kind, count in (("T", teachers), ("S", students)):
        for start in range(0, count, 50_000):
            writers.insert_users([user(n, kind) for n in range(start, min(count, start + 50_000))])
    other = District.objects.create(slug="bench-list", name="Bench list")
    school = School.objects.create(district=other, sis_id="L1", name="List school")
    with connection.cursor() as cursor:
        _copy(cursor.cursor, "classes_schoolclass",
              ("district_id", "school_id", "sis_id", "name", "course_name", "course_number", "subject", "term_name", "active",
               "created_at", "updated_at"),
              ((other.id, school.id, f"L{n:07d}", f"Class {n:07d}", "", "", "", "", "t", now.isoformat(), now.isoformat())
               for n in range(list_classes)))
        cursor.execute("VACUUM ANALYZE")
    return {"students": students, "teachers": teachers, "per_class": per_class}


def write_file(path: Path, classes: int, shape: dict, seed_value: int) -> int:
    rng = random.Random(seed_value)
    rows = 0
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(HEADER)
        for c in range(classes):
            teacher = c % shape["teachers"]
            k = teacher % SCHOOLS
            school = f"S{k:02d}"
            writer.writerow([f"C{c:06d}", f"Class {c}", school, f"T{teacher:07d}", "teacher"])
            # The class's students are of its school (student n is in school n % SCHOOLS).
            same_school = range(k, shape["students"], SCHOOLS)
            for s in rng.sample(same_school, min(shape["per_class"], len(same_school))):
                writer.writerow([f"C{c:06d}", f"Class {c}", school, f"S{s:07d}", "student"])
            rows += 1 + min(shape["per_class"], len(same_school))
    return rows


def _rows_written() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")
        time.sleep(1.0)
        cursor.execute("SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_user_tables WHERE relname = ANY(%s)",
                       [list(TABLES)])
        return int(cursor.fetchone()[0])


def child(what: str, arg: str) -> None:
    """One measured step in this process; prints its result as one JSON line."""
    _setup()
    from django.db import connection, transaction

    out: dict = {}
    if what == "import":
        from django.core.management import call_command

        before = _rows_written()
        start = time.perf_counter()
        call_command("import_users", "--type", "classes", arg, "--district", "bench-classes", "--now", stdout=io.StringIO())
        out["seconds"] = time.perf_counter() - start
        out["rows_written"] = _rows_written() - before
    elif what == "limit":
        out["seconds"] = _limit(Path(arg), connection, transaction)
    elif what == "list":
        out.update(_list())
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(RESULT + json.dumps(out, default=str))


def _limit(path: Path, connection, transaction) -> float:
    """COPY the file's final classes and enrollments (the ids of its people already known), rolled back."""
    from django.utils import timezone

    from schools.models import District
    from users.models import User

    district = District.objects.get(slug="bench-classes")
    people = dict(User.objects.filter(district=district).values_list("district_user_id", "id"))
    schools = dict(district.schools.values_list("sis_id", "id"))
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))[1:]
    classes = {r[0]: (r[1], schools[r[2]]) for r in rows}
    now = timezone.now().isoformat()
    with transaction.atomic():
        start = time.perf_counter()
        with connection.cursor() as cursor:
            _copy(cursor.cursor, "classes_schoolclass",
                  ("district_id", "school_id", "sis_id", "name", "course_name", "course_number", "subject", "term_name", "active",
                   "created_at", "updated_at"),
                  ((district.id, school, sis_id, name, "", "", "", "", "t", now, now) for sis_id, (name, school) in classes.items()))
            cursor.execute("SELECT sis_id, id FROM classes_schoolclass WHERE district_id = %s", [district.id])
            ids = dict(cursor.fetchall())
            _copy(cursor.cursor, "classes_classteacher", ("school_class_id", "user_id", "is_primary"),
                  ((ids[r[0]], people[r[3]], "t") for r in rows if r[4] == "teacher"))
            _copy(cursor.cursor, "classes_classstudent", ("school_class_id", "user_id"),
                  ((ids[r[0]], people[r[3]]) for r in rows if r[4] == "student"))
            # Django's foreign keys are checked at commit (DEFERRABLE INITIALLY DEFERRED): check them now, as a commit would.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        seconds = time.perf_counter() - start
        transaction.set_rollback(True)
    return seconds


def _list() -> dict:
    from django.test import Client
    from django.urls import reverse

    from schools.models import District
    from users.tests.factories import make_admin

    from users.models import User

    district = District.objects.get(slug="bench-list")
    admin = User.objects.filter(district=district, is_district_admin=True).first() or make_admin(district, username="bench.list.admin")
    client = Client()
    client.force_login(admin)
    out = {}
    for label, params in (("first_page", {}), ("search", {"q": "Class 0050"})):
        times = []
        for _ in range(5):
            start = time.perf_counter()
            response = client.get(reverse("classes:list"), params)
            times.append(time.perf_counter() - start)
            assert response.status_code == 200
        out[f"{label}_ms"] = round(1000 * statistics.median(times), 1)
    return out


def _measure(env: dict, what: str, arg) -> dict:
    done = subprocess.run([sys.executable, __file__, "--child", what, str(arg)], env=env, cwd=ROOT, capture_output=True, text=True)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith(RESULT)), None)
    if line is None:
        raise SystemExit(f"{what} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return json.loads(line[len(RESULT):])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/cw_classes_bench")
    parser.add_argument("--enrollments", type=int, default=1_000_000)
    parser.add_argument("--classes", type=int, default=30_000)
    parser.add_argument("--list-classes", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--json", metavar="PATH")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(*args.child)

    work = Path(tempfile.mkdtemp(prefix="classes-bench-"))
    env = _env(args.database_url, work)
    recreate_database(args.database_url)
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    os.environ.update(env)
    _setup()
    started = time.perf_counter()
    shape = seed(args.enrollments, args.classes, args.list_classes)
    path = work / "classes.csv"
    rows = write_file(path, args.classes, shape, args.seed)
    print(f"seeded {shape['teachers']:,} teachers, {shape['students']:,} students, {args.list_classes:,} listed classes; "
          f"file of {rows:,} enrollments in {time.perf_counter() - started:.0f} s", flush=True)
    limit = _measure(env, "limit", path)
    fresh = _measure(env, "import", path)
    unchanged = _measure(env, "import", path)
    listing = _measure(env, "list", "-")
    result = {
        "enrollments": rows, "classes": args.classes, "limit_copy_s": round(limit["seconds"], 2),
        "fresh_s": round(fresh["seconds"], 2), "fresh_over_limit": round(fresh["seconds"] / limit["seconds"], 2),
        "fresh_rows_written": fresh["rows_written"],
        "unchanged_s": round(unchanged["seconds"], 2), "unchanged_over_limit": round(unchanged["seconds"] / limit["seconds"], 2),
        "unchanged_rows_written": unchanged["rows_written"],
        "list_classes": args.list_classes, "list_first_page_ms": listing["first_page_ms"], "list_search_ms": listing["search_ms"],
        "peak_rss_mb": {"fresh": fresh["peak_rss_mb"], "unchanged": unchanged["peak_rss_mb"]},
    }
    print(json.dumps(result), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
