"""Benchmark of the user import: our engine beside its limits (raw COPY, a bare csv.reader pass)
and beside the peer (django-import-export with its best settings), in one run.

    python bench/import_bench.py --database-url postgres://postgres@127.0.0.1:5432/classworks_bench \\
        --json bench/results.json [--sizes 10000,100000,1000000] [--seed 42] [--quick]

The database is dropped, created and migrated; 1,000,000 users of other districts are loaded
with COPY so the indexes are the size of a real installation's. Every measured run happens in
its own child process, so its peak RSS is its own. Our imports are `import_users FILE --district
SLUG --now`, and their product time is that whole process, from the file to committed users,
Django's start-up included; its validation pass and its run are timed inside it as well. The
validation scenario (`--dry-run`) and the peer are timed inside the child around the work only.
The run measures a copy of the source tree taken at its start, so edits made meanwhile do not
mix two versions of the engine. See bench/README.md for what each column means.
"""
import argparse
import csv
import datetime
import io
import json
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.database import recreate_database  # noqa: E402

SETTINGS_MODULE = "classworks_import.settings.base"
DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (10_000, 100_000)
PEER_SIZES = (10_000, 100_000)
MAP_FIELDS_SIZE = 100_000
OTHER_USERS = 1_000_000
OTHER_DISTRICTS = 50
SCHOOLS_PER_DISTRICT = 20
STAFF_SHARE = 0.10
NON_ASCII_SHARE = 0.05
CHANGED_SHARE = 0.10  # half change the last name, half the school
NEW_SHARE = 0.01
ERROR_SHARE = 0.005  # only in the validation-only files: half a bad grade, half a blank last name
RESULT_MARKER = "BENCH-RESULT "
# ANALYZE users_user after each run that wrote users (--no-analyze turns it off); see refresh_statistics.
analyze_between_runs = True
STATS_FLUSH_SECONDS = 1.0

HEADINGS = (
    "First Name", "Middle Name", "Last Name", "District ID", "User Type", "Grade", "Email Address",
    "School SIS ID", "State User ID", "Alternate User ID", "Limited English", "Economically Disadvantaged",
)
GRADES = ("PK", "K", *(str(n) for n in range(1, 13)))
FIRST_NAMES = (
    "Emma", "Liam", "Olivia", "Noah", "Ava", "Elijah", "Sophia", "James", "Isabella", "Benjamin", "Mia", "Lucas",
    "Charlotte", "Mason", "Amelia", "Ethan", "Harper", "Logan", "Evelyn", "Jacob", "Abigail", "Michael", "Emily",
    "Daniel", "Ella", "Henry", "Avery", "Jackson", "Scarlett", "Sebastian", "Grace", "Aiden", "Lily", "Matthew",
    "Aria", "Samuel", "Chloe", "David", "Layla", "Joseph", "Riley", "Carter", "Nora", "Owen", "Zoey", "Wyatt",
    "Hannah", "John", "Hazel", "Jack", "Ellie", "Luke", "Paisley", "Jayden", "Audrey", "Dylan", "Skylar", "Levi",
)
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson", "Taylor", "Thomas",
    "Moore", "Martin", "Jackson", "Thompson", "White", "Harris", "Clark", "Lewis", "Robinson", "Walker", "Young",
    "Allen", "King", "Wright", "Scott", "Hill", "Green", "Adams", "Baker", "Nelson", "Carter", "Mitchell",
    "Roberts", "Turner", "Phillips", "Campbell", "Parker", "Evans", "Edwards", "Collins", "Stewart", "Morris",
    "Rogers", "Reed", "Cook", "Morgan", "Bell", "Murphy", "Bailey", "Cooper", "Richardson", "Cox", "Howard",
)
NON_ASCII_FIRST = ("José", "Zoë", "François", "Renée", "Chloé", "Siân", "Łukasz", "Søren", "Björn", "Anaïs", "Íñigo", "Đức")
NON_ASCII_LAST = ("Ødegaard", "Nguyễn", "Müller", "García", "Núñez", "Dvořák", "Şahin", "Ångström", "Ólafsson", "Đặng", "Côté", "Brontë")


# --- The measured runs ----------------------------------------------------------------------


@dataclass
class Scenario:
    """One measured run: which engine imported which file into which district, and what it cost.

    kind is fresh (every row new), unchanged (the same file again), changed (10% of rows
    changed, 1% new), validate (parse, map, validate and preview only, on a file with 0.5%
    errors), or map_fields (the wizard's upload and Map Fields pages).
    """

    engine: str  # "ours" or "peer"
    kind: str
    size: int  # data rows of the district's base file
    district_slug: str
    file: str
    rows: int = 0  # data rows of the file this run read
    wall_s: float | None = None  # inside the child, around the work only (for ours: the whole command)
    wizard_s: float | None = None  # ours, imports: the command's validation pass (what Validate File runs)
    process_s: float | None = None  # the child's whole life, Django start-up included
    peak_rss_mb: float | None = None  # the child's own peak resident memory (VmHWM)
    copy_limit_s: float | None = None  # the limit: COPY of the district's final rows into users_user itself
    like_copy_s: float | None = None  # reference: the same COPY into an empty LIKE-copy of users_user
    csv_reader_s: float | None = None  # a bare csv.reader pass over the same file
    rows_written: int | None = None  # users_user inserts + updates + deletes, from pg_stat_user_tables
    tuples: dict = field(default_factory=dict)  # that figure split into ins / upd / del
    outcome: dict = field(default_factory=dict)  # what the engine reported: status and counts
    extra: dict = field(default_factory=dict)  # timings of the parts of a run (Map Fields: POST and GET)
    error: str = ""
    reused_wizard: bool | None = None  # the run took the command's pass as its check (did not validate again)

    @property
    def key(self) -> str:
        return f"{self.engine}:{self.kind}:{self.size}"

    @property
    def product_s(self) -> float | None:
        """The whole product's time, as the issue defines it: for our imports the whole `import_users --now`
        process, from the file to committed users, Django's start-up included; for validation and the peer,
        the work inside the process."""
        if self.wall_s is None:
            return None
        return self.process_s if self.engine == "ours" and self.kind in IMPORT_KINDS else self.wall_s

    @property
    def worker_s(self) -> float | None:
        """The run (what a worker does for a due job), inside import_users --now."""
        return self.extra.get("run_s") if self.engine == "ours" and self.kind in IMPORT_KINDS else None

    @property
    def rows_per_s(self) -> float | None:
        return self.rows / self.product_s if self.product_s else None

    def to_json(self) -> dict:
        return {**asdict(self), "key": self.key, "product_s": self.product_s, "rows_per_s": self.rows_per_s,
                "worker_s": self.worker_s}


IMPORT_KINDS = ("fresh", "unchanged", "changed")


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    return numerator / denominator if numerator is not None and denominator else None


def ratios(scenario: Scenario, by_key: dict[str, Scenario]) -> dict:
    """ours / limit, ours / LIKE COPY, ours / csv.reader and peer / ours for one of our runs (whole product's time)."""
    peer = by_key.get(f"peer:{scenario.kind}:{scenario.size}")
    return {
        "ours_over_limit": _ratio(scenario.product_s, scenario.copy_limit_s),
        "ours_over_like_copy": _ratio(scenario.product_s, scenario.like_copy_s),
        "ours_over_csv_reader": _ratio(scenario.product_s, scenario.csv_reader_s),
        "peer_over_ours": _ratio(peer.wall_s if peer else None, scenario.product_s),
    }


# --- Synthetic data ---------------------------------------------------------------------------


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower() or "x"


def _person(rng: random.Random, number: int, schools: list[str]) -> list[str]:
    """One row of a district's file, in HEADINGS order; number gives the District ID."""
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    if rng.random() < NON_ASCII_SHARE:
        if rng.random() < 0.5:
            first = rng.choice(NON_ASCII_FIRST)
        else:
            last = rng.choice(NON_ASCII_LAST)
    middle = rng.choice(FIRST_NAMES)[0] if rng.random() < 0.5 else ""
    district_id = f"{number:08d}"
    school = rng.choice(schools)
    limited_english = "Y" if rng.random() < 0.1 else "N"
    disadvantaged = "Y" if rng.random() < 0.4 else "N"
    if rng.random() < STAFF_SHARE:
        email = f"{_ascii(first)}.{_ascii(last)}.{district_id}@staff.bench.example"
        return [first, middle, last, district_id, "1", "", email, school, "", "", "N", "N"]
    state_id = str(rng.randrange(10**9, 10**10))
    alternate = f"A{number}" if rng.random() < 0.2 else ""
    return [first, middle, last, district_id, "0", rng.choice(GRADES), "", school, state_id, alternate,
            limited_english, disadvantaged]


def school_sis_ids() -> list[str]:
    return [f"SCH{n:03d}" for n in range(1, SCHOOLS_PER_DISTRICT + 1)]


def base_rows(size: int, seed: int):
    """The district's people, the same for a seed every time."""
    rng = random.Random(f"{seed}:people")
    schools = school_sis_ids()
    for number in range(1, size + 1):
        yield _person(rng, number, schools)


def changed_rows(size: int, seed: int):
    """The base file with 10% of rows changed (last name or school) and 1% new people at the end."""
    rng = random.Random(f"{seed}:{size}:changed")
    schools = school_sis_ids()
    for row in base_rows(size, seed):
        roll = rng.random()
        if roll < CHANGED_SHARE / 2:
            row[2] = rng.choice([n for n in LAST_NAMES if n != row[2]])
        elif roll < CHANGED_SHARE:
            row[7] = rng.choice([s for s in schools if s != row[7]])
        yield row
    newcomers = random.Random(f"{seed}:{size}:new")
    for number in range(size + 1, size + 1 + int(size * NEW_SHARE)):
        yield _person(newcomers, number, schools)


def rows_with_errors(size: int, seed: int):
    """The base file with 0.5% of rows broken: half a grade of 13, half a blank last name."""
    rng = random.Random(f"{seed}:{size}:errors")
    for row in base_rows(size, seed):
        roll = rng.random()
        if roll < ERROR_SHARE / 2 and row[4] == "0":
            row[5] = "13"
        elif roll < ERROR_SHARE:
            row[2] = ""
        yield row


def write_csv(path: Path, rows) -> int:
    count = 0
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADINGS)
        for row in rows:
            writer.writerow(row)
            count += 1
    return count


@dataclass
class BenchFiles:
    """The three files of one size; each written once per run from the seed."""

    base: Path
    changed: Path
    errors: Path
    rows: dict


def make_files(size: int, seed: int, folder: Path) -> BenchFiles:
    label = size_label(size)
    files = BenchFiles(folder / f"users-{label}.csv", folder / f"users-{label}-changed.csv",
                       folder / f"users-{label}-errors.csv", {})
    files.rows["base"] = write_csv(files.base, base_rows(size, seed))
    files.rows["changed"] = write_csv(files.changed, changed_rows(size, seed))
    files.rows["errors"] = write_csv(files.errors, rows_with_errors(size, seed))
    return files


def size_label(size: int) -> str:
    if size % 1_000_000 == 0:
        return f"{size // 1_000_000}m"
    if size % 1000 == 0:
        return f"{size // 1000}k"
    return str(size)


# --- Database and Django ------------------------------------------------------------------------




def child_environment(url: str, work_dir: Path) -> dict:
    """The environment of every Django process of the run: the bench database, files under work_dir."""
    return {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": SETTINGS_MODULE,
        "CLASSWORKS_VAR_DIR": str(work_dir / "var"),
        "PRIVATE_STORAGE_ROOT": str(work_dir / "private"),
        "ALLOWED_HOSTS": "testserver,localhost,127.0.0.1",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p),
    }


def migrate(env: dict) -> None:
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)


def setup_django(env: dict) -> None:
    os.environ.update(env)
    import django

    django.setup()


def load_other_users(count: int, seed: int) -> float:
    """COPY `count` users of other districts into users_user, then VACUUM ANALYZE; returns seconds."""
    from django.db import connection

    from schools.models import District

    started = time.perf_counter()
    districts = District.objects.bulk_create(
        [District(name=f"Other {n:02d}", slug=f"other-{n:02d}") for n in range(1, OTHER_DISTRICTS + 1)]
    )
    rng = random.Random(f"{seed}:others")
    columns = ("password", "is_superuser", "username", "first_name", "last_name", "email", "is_staff", "is_active",
               "date_joined", "district_id", "district_user_id", "user_type", "middle_name", "grade",
               "state_user_id", "alternate_user_id", "limited_english", "economically_disadvantaged",
               "is_district_admin", "prefix", "suffix", "gender", "hispanic_latino", "race", "disabled", "migrant",
               "oneroster_sourced_id")  # Django's defaults are not the database's: every NOT NULL column is given
    joined = datetime.datetime.now(datetime.timezone.utc).isoformat()
    per_district = -(-count // len(districts))
    buffer = io.StringIO()
    written = 0
    with connection.cursor() as cursor:
        for district in districts:
            for number in range(1, min(per_district, count - written) + 1):
                first, middle, last, district_id, user_type, grade, email, _, state, alt, lep, econ = _person(
                    rng, number, [""]
                )
                email = email.replace("@staff.bench.", f"@{district.slug}.")
                buffer.write("\t".join((
                    "!bench", "f", f"{district.slug}.{district_id}", first, last, email, "f", "t", joined,
                    str(district.id), district_id, "staff" if user_type == "1" else "student", middle, grade,
                    state, alt, "t" if lep == "Y" else "f", "t" if econ == "Y" else "f", "f",
                    "", "", "", "f", "", "f", "f", "",
                )) + "\n")
            written += min(per_district, count - written)
            buffer.seek(0)
            cursor.cursor.copy_expert(f"COPY users_user ({', '.join(columns)}) FROM STDIN", buffer)
            buffer = io.StringIO()
        cursor.execute("VACUUM ANALYZE users_user")
    return time.perf_counter() - started


def create_bench_district(slug: str):
    """A district with 20 schools whose off-peak window is always open, so a submitted job is due at once."""
    from schools.services import district_create, school_upsert

    district = district_create(slug=slug, name=f"Bench {slug}")
    district.offpeak_start = district.offpeak_end = datetime.time(0, 0)  # zero length: any time
    district.save()
    for sis_id in school_sis_ids():
        school_upsert(district=district, sis_id=sis_id, name=f"School {sis_id}")
    return district


# --- Figures taken in the parent ---------------------------------------------------------------


def csv_reader_seconds(path: Path) -> float:
    """A bare csv.reader pass: open, iterate every row, nothing else."""
    started = time.perf_counter()
    with open(path, newline="", encoding="utf-8") as fh:
        for _ in csv.reader(fh):
            pass
    return time.perf_counter() - started


LIMIT_DISTRICT_SLUG = "bench-limit"


def _own_connection():
    """A connection of its own, closed after use: a backend flushes its row counters as it exits,
    so a rolled-back COPY is never counted in the next run's "written"."""
    import psycopg2
    from django.db import connection

    own = psycopg2.connect(**connection.get_connection_params())
    own.autocommit = True
    return own


def copy_limits(district_id: int) -> tuple[float, float]:
    """The district's users, as the run left them, COPYed again; returns (into users_user, into a LIKE table).

    The limit: the same rows COPYed into users_user itself, beside every other district's users,
    with its indexes and its foreign keys checked (SET CONSTRAINTS ALL IMMEDIATE runs the deferred
    checks a commit would), in a transaction that is rolled back. They go into an empty district of
    their own with their usernames prefixed, so no unique key meets the originals. The reference:
    COPY into an empty `LIKE users_user INCLUDING ALL` table (no foreign keys, no other rows).
    Both dumps are taken first, untimed; a VACUUM afterwards, untimed, removes the rolled-back rows.
    """
    from schools.models import District

    limit_district = District.objects.get_or_create(slug=LIMIT_DISTRICT_SLUG, defaults={"name": "Bench limit"})[0]
    own = _own_connection()
    try:
        with own.cursor() as cursor:
            cursor.execute("SELECT column_name FROM information_schema.columns WHERE table_name = 'users_user' "
                           "AND column_name <> 'id' ORDER BY ordinal_position")
            columns = [r[0] for r in cursor.fetchall()]
            select = ", ".join(
                f"{int(limit_district.id)}" if c == "district_id" else "'limit.' || username" if c == "username" else c
                for c in columns
            )
            with tempfile.TemporaryFile() as same_rows, tempfile.TemporaryFile() as whole_rows:
                cursor.copy_expert(f"COPY (SELECT {select} FROM users_user WHERE district_id = {int(district_id)}) TO STDOUT", same_rows)
                cursor.copy_expert(f"COPY (SELECT * FROM users_user WHERE district_id = {int(district_id)}) TO STDOUT", whole_rows)
                same_rows.seek(0)
                whole_rows.seek(0)
                cursor.execute("BEGIN")
                started = time.perf_counter()
                cursor.copy_expert(f"COPY users_user ({', '.join(columns)}) FROM STDIN", same_rows)
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                limit_s = time.perf_counter() - started
                cursor.execute("ROLLBACK")
                cursor.execute("DROP TABLE IF EXISTS bench_limit")
                cursor.execute("CREATE TABLE bench_limit (LIKE users_user INCLUDING ALL)")
                started = time.perf_counter()
                cursor.copy_expert("COPY bench_limit FROM STDIN", whole_rows)  # autocommit: committed when it returns
                like_s = time.perf_counter() - started
                cursor.execute("DROP TABLE bench_limit")
            cursor.execute("VACUUM users_user")
    finally:
        own.close()
    return limit_s, like_s


def user_table_tuples() -> dict:
    """Cumulative inserts, updates and deletes of users_user, after the statistics have settled."""
    from django.db import connection

    time.sleep(STATS_FLUSH_SECONDS)  # an exited backend flushes its counts as it shuts down
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables WHERE relname = 'users_user'")
        ins, upd, dele = cursor.fetchone()
    return {"ins": ins, "upd": upd, "del": dele}


def refresh_statistics() -> None:
    """ANALYZE users_user, untimed, as autovacuum would have done before the district's next import.

    Without it (autovacuum off, as on some servers) the planner still believes a district that
    was just imported has no users, and look-ups scan the whole district per batch.
    """
    from django.db import connection

    if analyze_between_runs:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE users_user")


def tuples_delta(before: dict, after: dict) -> dict:
    return {k: after[k] - before[k] for k in before}


# --- Preparing our jobs -------------------------------------------------------------------------


def prepare_job(district, path: Path) -> tuple[int, float]:
    """A job submitted the way `import_users` does without --now: upload, map, validate, submit (no dispatch).

    Returns the job's id and the seconds the wizard's validation took (the Validate File step).
    """
    from django.core.files import File

    from imports.models import ImportStatus
    from imports.services import jobs
    from imports.services.apply import import_job_validate

    class PathUpload(File):
        def temporary_file_path(self):
            return self.file.name

    job = jobs.import_job_create(district=district, description=f"bench {path.name}")
    with open(path, "rb") as fh:
        jobs.import_files_add(job=job, uploads=[PathUpload(fh, name=path.name)])
    job.refresh_from_db()
    labels = list(job.files.get().headers)
    jobs.import_job_set_field_mapping(job=job, field_mapping=dict(job.field_mapping), fixed_values={},
                                      column_labels=labels, confirm=True)
    schools = dict(district.schools.values_list("sis_id", "id"))
    jobs.import_job_set_school_mapping(job=job, school_mapping=schools, file_values=list(schools))
    started = time.perf_counter()
    import_job_validate(job=job)
    wizard_s = time.perf_counter() - started
    job = jobs.import_job_submit(job=job, dispatch=False)
    if job.status != ImportStatus.SCHEDULED:
        raise RuntimeError(f"bench job {job.number} is {job.status}, not scheduled: {job.hold_summary}")
    return job.id, wizard_s


# --- Children -----------------------------------------------------------------------------------


def run_child(task: str, args: dict, env: dict, label: str) -> tuple[dict, float]:
    """Run one task in a fresh process; returns what it reported and the process's whole wall time.

    With --profile the child runs under pyinstrument and leaves <label>.txt in the profile folder.
    """
    command = [sys.executable, str(Path(__file__).resolve()), "--child", task, "--child-args", json.dumps(args)]
    if env.get("BENCH_PROFILE_DIR"):
        env = {**env, "BENCH_PROFILE": str(Path(env["BENCH_PROFILE_DIR"]) / f"{label.replace(':', '-')}.txt")}
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    process_s = time.perf_counter() - started
    lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT_MARKER)]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"child {task} exited {done.returncode}: {done.stderr.strip()[-1500:]}")
    report = json.loads(lines[-1][len(RESULT_MARKER):])
    report["stderr_tail"] = done.stderr[-2000:]  # the engine logs a failed run's exception type here
    return report, process_s


def child_main(task: str, args: dict) -> None:
    """Entry point of a child: start Django, time the task only, report with the process's peak RSS."""
    import django

    django.setup()
    from django.db import connection

    connection.ensure_connection()
    if task == "run_job":  # what a worker imports as it starts (its task modules), before any job arrives
        from classworks_import.celery import app

        app.loader.import_default_modules()
    profiler = _start_profiler(os.environ.get("BENCH_PROFILE"))
    started = time.perf_counter()
    report = CHILD_TASKS[task](**args)
    wall_s = time.perf_counter() - started
    if profiler is not None:
        profiler.stop()
        Path(os.environ["BENCH_PROFILE"]).write_text(profiler.output_text(unicode=True), encoding="utf-8")
    print(RESULT_MARKER + json.dumps({**report, "wall_s": wall_s, "peak_rss_mb": peak_rss_mb()}, default=str), flush=True)


def peak_rss_mb() -> float:
    """This process's own peak resident memory.

    Not ru_maxrss: on Linux a spawned child inherits its parent's high-water mark across
    fork and exec, so every child would report at least the parent's size. VmHWM belongs to
    the address space that exec created.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def _start_profiler(path: str | None):
    if not path:
        return None
    from pyinstrument import Profiler  # only with --profile: pip install pyinstrument

    profiler = Profiler(interval=0.005)
    profiler.start()
    return profiler


def child_run_job(job_id: int) -> dict:
    """What the worker does for a due job: claim, re-check the wizard's built rows, apply in committed chunks."""
    from imports.services import runs

    job = runs.import_job_run(job_id=job_id, queue_emails=False)
    if job is None:
        return {"outcome": {"status": "not claimed", "counts": {}, "failure": "the job was not due or not scheduled"}}
    return {"outcome": {"status": job.status, "counts": job.counts, "failure": job.failure_reason}}


def child_import_now(path: str, district: str) -> dict:
    """`manage.py import_users FILE --district … --now`: the whole product for an ops user, from the file to
    committed users. Its pass (validation and preview) and its run (the worker's part) are timed inside."""
    from django.core.management import call_command

    from imports.management.commands import import_users as command
    from imports.models import ImportJob

    timed, seen = {"pass_s": 0.0, "run_s": 0.0}, {}

    def timing(name, real):
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return real(*args, **kwargs)
            finally:
                timed[name] += time.perf_counter() - started
        return wrapper

    real_run = command.runs.import_job_run

    def run(*, job_id, **kwargs):
        seen["validated_at"] = ImportJob.objects.values_list("validated_at", flat=True).get(id=job_id)
        return real_run(job_id=job_id, **kwargs)

    command.validate_import = timing("pass_s", command.validate_import)
    command.runs.import_job_run = timing("run_s", run)
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_users", path, district=district, now=True, stdout=out, stderr=err)
    finally:
        command.runs.import_job_run = real_run
    job = ImportJob.objects.filter(district__slug=district).latest("id")
    return {
        "outcome": {"status": job.status, "counts": job.counts, "failure": job.failure_reason},
        "extra": {**timed, "run_checked_again": job.validated_at != seen.get("validated_at")},
    }


def child_dry_run(path: str, district: str) -> dict:
    """`manage.py import_users FILE --district … --dry-run`: parse, map, validate and preview, write nothing."""
    from django.core.management import call_command

    out, err = io.StringIO(), io.StringIO()
    with tempfile.NamedTemporaryFile(suffix=".json") as report:
        try:
            call_command("import_users", path, district=district, dry_run=True, report=report.name, stdout=out, stderr=err)
        except SystemExit:  # the command exits 1 when the file has errors, as these files do
            pass
        with open(report.name, encoding="utf-8") as fh:
            summary = json.load(fh)
    return {"outcome": {"status": summary["status"], "counts": summary["counts"]}}


def child_peer(path: str, district: str) -> dict:
    """django-import-export: load the file into a tablib Dataset and import it in one transaction."""
    import tablib

    from bench.peer_resource import PeerUserResource
    from schools.models import District

    resource_ = PeerUserResource(district=District.objects.get(slug=district))
    with open(path, encoding="utf-8", newline="") as fh:
        dataset = tablib.Dataset().load(fh.read(), format="csv")
    result = resource_.import_data(dataset, dry_run=False, use_transactions=True, raise_errors=False)
    failed = [str(e.error) for row in result.row_errors()[:3] for e in row[1]]
    failed += [str(r.error) for r in result.invalid_rows[:3]]
    return {"outcome": {"status": "errors" if failed or result.base_errors else "ok", "counts": dict(result.totals),
                        "errors": failed + [str(e.error) for e in result.base_errors[:3]]}}


MAP_FIELDS_GETS = 5


def child_map_fields(path: str, username: str) -> dict:
    """The wizard as an admin sees it: POST the file to Upload, then GET the Map Fields page."""
    from django.test import Client
    from django.urls import reverse

    from users.models import User

    client = Client()
    client.force_login(User.objects.get(username=username))
    started = time.perf_counter()
    with open(path, "rb") as fh:
        response = client.post(reverse("imports:start"), {"import_type": "user_data", "description": "bench", "files": fh})
    post_s = time.perf_counter() - started
    if response.status_code != 302:
        raise RuntimeError(f"upload answered {response.status_code}")
    # A page of about 40 ms: one GET's time is mostly the host's noise, so the median of five is the figure
    # (the first, what the admin waits for on arrival, is kept beside it).
    gets = []
    for _ in range(MAP_FIELDS_GETS):
        started = time.perf_counter()
        page = client.get(response["Location"])
        gets.append(time.perf_counter() - started)
        if page.status_code != 200:
            raise RuntimeError(f"Map Fields answered {page.status_code}")
    return {"extra": {"post_upload_s": post_s, "get_map_fields_s": statistics.median(gets),
                      "get_map_fields_first_s": gets[0], "page_bytes": len(page.content)},
            "outcome": {"status": "ok"}}


CHILD_TASKS = {"run_job": child_run_job, "import_now": child_import_now, "dry_run": child_dry_run, "peer": child_peer,
               "map_fields": child_map_fields}


# --- Scenarios ---------------------------------------------------------------------------------


def _record(scenario: Scenario, report: dict, process_s: float) -> Scenario:
    scenario.wall_s = report["wall_s"]
    scenario.peak_rss_mb = report["peak_rss_mb"]
    scenario.process_s = process_s
    scenario.outcome = report.get("outcome", {})
    scenario.extra = report.get("extra", {})
    return scenario


def run_ours(scenario: Scenario, district, env: dict) -> Scenario:
    """Our engine: `import_users --now` in a child (the whole product), then take COPY and csv.reader."""
    path = Path(scenario.file)
    before = user_table_tuples()
    report, process_s = run_child("import_now", {"path": str(path), "district": district.slug}, env, scenario.key)
    _record(scenario, report, process_s)
    scenario.wizard_s = scenario.extra.get("pass_s")
    # A run that validates again records when; one that took the command's pass leaves its time as it was.
    scenario.reused_wizard = not scenario.extra.get("run_checked_again", True)
    scenario.tuples = tuples_delta(before, user_table_tuples())
    scenario.rows_written = sum(scenario.tuples.values())
    scenario.copy_limit_s, scenario.like_copy_s = copy_limits(district.id)
    scenario.csv_reader_s = csv_reader_seconds(path)
    refresh_statistics()
    if scenario.outcome.get("status") not in ("completed", "completed_with_warnings"):
        scenario.error = f"job ended {scenario.outcome.get('status')}: {scenario.outcome.get('failure', '')}"
        scenario.extra["stderr_tail"] = report["stderr_tail"]
    return scenario


def run_validation(scenario: Scenario, env: dict, fresh: Scenario) -> Scenario:
    """Validation only, in a child, against the district as the earlier runs left it."""
    report, process_s = run_child("dry_run", {"path": scenario.file, "district": scenario.district_slug}, env, scenario.key)
    _record(scenario, report, process_s)
    scenario.csv_reader_s = csv_reader_seconds(Path(scenario.file))
    # Nothing is written: the fresh import's COPYs, for scale.
    scenario.copy_limit_s, scenario.like_copy_s = fresh.copy_limit_s, fresh.like_copy_s
    return scenario


def run_peer(scenario: Scenario, district, env: dict) -> Scenario:
    """The peer in a child against its own district; COPY and csv.reader as for ours."""
    before = user_table_tuples()
    report, process_s = run_child("peer", {"path": scenario.file, "district": scenario.district_slug}, env, scenario.key)
    _record(scenario, report, process_s)
    scenario.tuples = tuples_delta(before, user_table_tuples())
    scenario.rows_written = sum(scenario.tuples.values())
    scenario.copy_limit_s, scenario.like_copy_s = copy_limits(district.id)
    scenario.csv_reader_s = csv_reader_seconds(Path(scenario.file))
    refresh_statistics()
    if scenario.outcome.get("status") != "ok":
        scenario.error = "; ".join(scenario.outcome.get("errors", []))[:300]
    return scenario


def run_map_fields(scenario: Scenario, env: dict) -> Scenario:
    """Upload (inspect and count rows) and the Map Fields page, through Django's test Client."""
    from users.services import district_admin_create

    district = create_bench_district(scenario.district_slug)
    admin = district_admin_create(district=district, username=f"{district.slug}-admin", email="admin@bench.example")
    report, process_s = run_child("map_fields", {"path": scenario.file, "username": admin.username}, env, scenario.key)
    _record(scenario, report, process_s)
    scenario.csv_reader_s = csv_reader_seconds(Path(scenario.file))
    return scenario


def _attempt(runner, scenario: Scenario, *args) -> Scenario:
    """Run a scenario; a crash is recorded on it and the run goes on with the next."""
    print(f"  {scenario.engine:4} {scenario.kind:10} {size_label(scenario.size):>4} ...", end=" ", flush=True)
    try:
        runner(scenario, *args)
    except Exception as exc:  # the bench reports an engine failure instead of stopping
        scenario.error = f"{type(exc).__name__}: {exc}"
    print(f"{scenario.product_s or 0:8.2f} s" + (f"  ERROR {scenario.error.splitlines()[-1][:200]}" if scenario.error else ""),
          flush=True)
    return scenario


def run_size(size: int, files: BenchFiles, env: dict) -> list[Scenario]:
    """Every scenario of one size: ours fresh → unchanged → changed → validate, then the peer."""
    from schools.models import District

    label = size_label(size)
    district = create_bench_district(f"bench-{label}")
    done = []

    def ours(kind: str, path: Path, rows: int) -> Scenario:
        scenario = Scenario("ours", kind, size, district.slug, str(path), rows=rows)
        return _attempt(run_ours, scenario, District.objects.get(id=district.id), env)

    fresh = ours("fresh", files.base, files.rows["base"])
    done.append(fresh)
    if not fresh.error:
        done.append(ours("unchanged", files.base, files.rows["base"]))
        done.append(ours("changed", files.changed, files.rows["changed"]))
        validation = Scenario("ours", "validate", size, district.slug, str(files.errors), rows=files.rows["errors"])
        done.append(_attempt(run_validation, validation, env, fresh))
    if size in PEER_SIZES:
        peer_district = create_bench_district(f"bench-peer-{label}")
        for kind in ("fresh", "unchanged"):
            scenario = Scenario("peer", kind, size, peer_district.slug, str(files.base), rows=files.rows["base"])
            done.append(_attempt(run_peer, scenario, peer_district, env))
    return done


# --- Targets and report ---------------------------------------------------------------------


@dataclass
class Target:
    name: str
    limit: str
    value: str
    status: str  # PASS, MISS or n/a


def _fmt(value, digits: int = 2) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}"


def _check(name: str, limit: str, value: float | None, ok, *, measured: bool = True) -> Target:
    """PASS or MISS; n/a when not measured, or measured only at a smaller size than the target's."""
    if value is None:
        return Target(name, limit, "—", "n/a")
    if not measured:
        return Target(name, limit, _fmt(value), "n/a")
    return Target(name, limit, _fmt(value), "PASS" if ok(value) else "MISS")


def evaluate_targets(by_key: dict[str, Scenario]) -> list[Target]:
    """The agreed targets, each PASS, MISS, or n/a when the run did not measure it."""
    get = by_key.get
    top = max((s.size for s in by_key.values() if s.engine == "ours"), default=0)
    fresh_top, unchanged_top, validate_top = get(f"ours:fresh:{top}"), get(f"ours:unchanged:{top}"), get(f"ours:validate:{top}")
    targets = []
    at_1m = top >= 1_000_000
    label = size_label(top) if at_1m else f"{size_label(top)} (1M not run)"

    def value(s, attr):
        return getattr(s, attr) if s and not s.error else None

    fresh_ratio = _ratio(value(fresh_top, "product_s"), value(fresh_top, "copy_limit_s"))
    targets.append(_check(f"fresh {label}: import_users --now / COPY into users_user", "≤ 1.3", fresh_ratio,
                          lambda v: v <= 1.3, measured=at_1m))
    unchanged_ratio = _ratio(value(unchanged_top, "product_s"), value(unchanged_top, "copy_limit_s"))
    targets.append(_check(f"unchanged {label}: import_users --now / COPY into users_user", "≤ 0.25", unchanged_ratio,
                          lambda v: v <= 0.25, measured=at_1m))
    changed_top = get(f"ours:changed:{top}")
    changed_ratio = _ratio(value(changed_top, "product_s"), value(changed_top, "copy_limit_s"))
    targets.append(_check(f"10% changed {label}: import_users --now / COPY into users_user", "≤ 0.5", changed_ratio,
                          lambda v: v <= 0.5, measured=at_1m))
    for s in sorted((s for s in by_key.values() if s.engine == "ours" and s.kind == "unchanged"), key=lambda s: s.size):
        targets.append(_check(f"unchanged {size_label(s.size)}: user rows written", "= 0", s.rows_written, lambda v: v == 0))
    validate_ratio = _ratio(value(validate_top, "product_s"), value(validate_top, "csv_reader_s"))
    targets.append(_check(f"validate {label}: ours / csv.reader", "≤ 8", validate_ratio, lambda v: v <= 8, measured=at_1m))
    for kind, floor in (("fresh", 8), ("unchanged", 25)):
        ours_, peer = get(f"ours:{kind}:100000"), get(f"peer:{kind}:100000")
        targets.append(_check(f"{kind} 100k: peer / ours", f"≥ {floor}",
                              _ratio(value(peer, "wall_s"), value(ours_, "product_s")), lambda v, f=floor: v >= f))
    targets += _rss_targets(by_key)
    # The wizard's pages after the upload (which stores, hashes and counts the file) must not grow with it.
    small, big = get("ours:map_fields:100000"), get("ours:map_fields:1000000")
    get_s = lambda s: s.extra.get("get_map_fields_s") if s and not s.error else None  # noqa: E731
    targets.append(_check("Map Fields GET 1M / 100k", "≤ 1.25", _ratio(get_s(big), get_s(small)), lambda v: v <= 1.25))
    return targets


def _rss_targets(by_key: dict[str, Scenario]) -> list[Target]:
    targets = []
    for kind in ("fresh", "unchanged", "changed", "validate"):
        big, small = by_key.get(f"ours:{kind}:1000000"), by_key.get(f"ours:{kind}:100000")
        big_mb = big.peak_rss_mb if big and not big.error else None
        targets.append(_check(f"{kind} 1M: peak RSS MB", "≤ 300", big_mb, lambda v: v <= 300))
        growth = _ratio(big_mb, small.peak_rss_mb if small and not small.error else None)
        targets.append(_check(f"{kind} 1M: peak RSS / 100k", "≤ 1.25", growth, lambda v: v <= 1.25))
    return targets


COLUMNS = ("engine", "scenario", "size", "rows", "pass s", "worker s", "reused", "product s", "rows/s", "RSS MB",
           "limit s", "LIKE s", "csv s", "ours/limit", "ours/LIKE", "ours/csv", "peer/ours", "written")


def table_rows(scenarios: list[Scenario], by_key: dict[str, Scenario]) -> list[list[str]]:
    rows = []
    for s in scenarios:
        if s.kind == "map_fields":
            continue
        r = ratios(s, by_key) if s.engine == "ours" else {}
        rows.append([
            s.engine, s.kind, size_label(s.size), _fmt(s.rows), _fmt(s.wizard_s), _fmt(s.worker_s),
            {True: "yes", False: "no"}.get(s.reused_wizard, "—"), _fmt(s.product_s),
            _fmt(s.rows_per_s, 0), _fmt(s.peak_rss_mb, 0), _fmt(s.copy_limit_s), _fmt(s.like_copy_s),
            _fmt(s.csv_reader_s), _fmt(r.get("ours_over_limit")), _fmt(r.get("ours_over_like_copy")),
            _fmt(r.get("ours_over_csv_reader")), _fmt(r.get("peer_over_ours")),
            _fmt(s.rows_written) + (" !" if s.error else ""),
        ])
    return rows


def render_table(header, rows) -> str:
    """A plain-text table: the first two columns left-aligned, figures right-aligned."""
    widths = [max(len(str(x)) for x in column) for column in zip(header, *rows)]

    def line(cells) -> str:
        return "  ".join(str(c).rjust(w) if i > 1 else str(c).ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    return "\n".join([line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def print_report(scenarios: list[Scenario], targets: list[Target]) -> None:
    by_key = {s.key: s for s in scenarios}
    print()
    print(render_table(COLUMNS, table_rows(scenarios, by_key)))
    for s in scenarios:
        if s.kind == "map_fields" and not s.error:
            print(f"\nMap Fields, {_fmt(s.rows)} rows: upload POST {_fmt(s.extra['post_upload_s'])} s, "
                  f"Map Fields GET {_fmt(s.extra['get_map_fields_s'], 3)} s (median of {MAP_FIELDS_GETS}; the first "
                  f"{_fmt(s.extra.get('get_map_fields_first_s'), 3)} s), peak RSS {_fmt(s.peak_rss_mb, 0)} MB")
    errors = [s for s in scenarios if s.error]
    for s in errors:
        print(f"\n! {s.key}: {s.error}")
    print()
    print(render_table(("target", "limit", "value", "result"), [[t.name, t.limit, t.value, t.status] for t in targets]))


def environment() -> dict:
    from django.db import connection
    import django
    import import_export

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0]
        cursor.execute("SHOW autovacuum")
        autovacuum = cursor.fetchone()[0]
    return {"autovacuum": autovacuum, "python": platform.python_version(), "django": django.get_version(), "django_import_export": import_export.__version__,
            "postgresql": server, "cpus": os.cpu_count(), "machine": platform.machine(),
            "finished_at": datetime.datetime.now(datetime.timezone.utc).isoformat()}


def code_version() -> dict:
    """The commit measured, and whether the engine's files differed from it (read-only git calls)."""
    def git(*args):
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else None

    changed = git("status", "--porcelain", "--", "imports", "users", "schools", "classworks_import")
    return {"commit": git("rev-parse", "HEAD"), "engine_files_modified": bool(changed) if changed is not None else None}


# --- Command line -------------------------------------------------------------------------------


SNAPSHOT_IGNORE = shutil.ignore_patterns(".git", ".venv", "var", "__pycache__", ".pytest_cache", ".ruff_cache",
                                         ".hypothesis", "node_modules", "results*.json")


def rerun_from_snapshot(args, argv: list[str]) -> None:
    """Copy the source tree to WORK_DIR/code and run the benchmark from there (this call does not return).

    A run takes up to half an hour and the tree is edited meanwhile; a snapshot keeps every
    figure, and the migrations, of one version of the code.
    """
    snapshot = args.work_dir / "code"
    shutil.rmtree(snapshot, ignore_errors=True)
    shutil.copytree(ROOT, snapshot, ignore=SNAPSHOT_IGNORE)
    os.environ["BENCH_SOURCE"] = json.dumps({**code_version(), "snapshot_of": str(ROOT)})
    script = snapshot / "bench" / Path(__file__).name
    argv = [*argv, "--no-snapshot", "--json", str(args.json.resolve()), "--work-dir", str(args.work_dir.resolve())]
    os.execv(sys.executable, [sys.executable, str(script), *argv])


def hold_work_dir(work_dir: Path) -> None:
    """Refuse to start while another benchmark uses this work dir: it would drop the database under us.

    The lock is held until the process exits, and passes to the snapshot's run across exec.
    """
    import fcntl

    if os.environ.get("BENCH_LOCK_FD"):
        return
    work_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(work_dir / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise SystemExit(f"Another benchmark is running with {work_dir}; wait for it or pass another --work-dir and database.")
    os.set_inheritable(fd, True)
    os.environ["BENCH_LOCK_FD"] = str(fd)


def clear_work_dir(work_dir: Path) -> None:
    """Empty what an earlier run left, except the code snapshot this run may be running from."""
    for name in ("files", "private", "var", "profiles"):
        shutil.rmtree(work_dir / name, ignore_errors=True)
    (work_dir / "files").mkdir(parents=True)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/classworks_bench",
                        help="PostgreSQL database to (re)create; its name must contain 'bench'.")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results.json", help="Where to write every figure.")
    parser.add_argument("--sizes", help="Comma-separated file sizes in rows (default 10000,100000,1000000).")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--quick", action="store_true", help="Sizes 10k and 100k only: a smoke run of a few minutes.")
    parser.add_argument("--other-users", type=int, default=OTHER_USERS, help="Users of other districts loaded first.")
    parser.add_argument("--work-dir", type=Path, default=Path(tempfile.gettempdir()) / "classworks_bench",
                        help="Generated files and the import's stored uploads.")
    parser.add_argument("--profile", action="store_true",
                        help="Run each child under pyinstrument (slower); reports go to WORK_DIR/profiles/.")
    parser.add_argument("--no-analyze", action="store_true",
                        help="Do not ANALYZE users_user between runs: planner statistics stay as stale as autovacuum=off leaves them.")
    parser.add_argument("--no-snapshot", action="store_true",
                        help="Measure the working tree in place instead of a copy of it taken at the start.")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--child-args", default="{}", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.sizes:
        args.sizes = tuple(int(s) for s in args.sizes.split(","))
    else:
        args.sizes = QUICK_SIZES if args.quick else DEFAULT_SIZES
    return args


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.child:
        child_main(args.child, json.loads(args.child_args))
        return 0
    hold_work_dir(args.work_dir)
    if not args.no_snapshot:
        rerun_from_snapshot(args, argv)
    global analyze_between_runs
    analyze_between_runs = not args.no_analyze
    started = time.perf_counter()
    clear_work_dir(args.work_dir)
    env = child_environment(args.database_url, args.work_dir)
    if args.profile:
        (args.work_dir / "profiles").mkdir()
        env["BENCH_PROFILE_DIR"] = str(args.work_dir / "profiles")
    print(f"Database {urlsplit(args.database_url).path.lstrip('/')}: create and migrate", flush=True)
    recreate_database(args.database_url)
    migrate(env)
    setup_django(env)
    source = json.loads(os.environ.get("BENCH_SOURCE") or "null") or {**code_version(), "snapshot_of": None}
    print(f"Code: {source['commit']}{' with uncommitted engine changes' if source['engine_files_modified'] else ''}"
          + (f", snapshot in {ROOT}" if source["snapshot_of"] else ", measured in place"), flush=True)
    setup = {"other_users": args.other_users, "source": source}
    print(f"Loading {args.other_users:,} users of other districts (COPY)", flush=True)
    setup["other_users_load_s"] = load_other_users(args.other_users, args.seed)

    scenarios: list[Scenario] = []
    for size in sorted(args.sizes):
        print(f"Size {size_label(size)}: writing files", flush=True)
        files = make_files(size, args.seed, args.work_dir / "files")
        scenarios += run_size(size, files, env)
        if size >= MAP_FIELDS_SIZE:
            wizard = Scenario("ours", "map_fields", size, f"bench-wizard-{size_label(size)}", str(files.base), rows=files.rows["base"])
            scenarios.append(_attempt(run_map_fields, wizard, env))
    by_key = {s.key: s for s in scenarios}
    targets = evaluate_targets(by_key)
    print_report(scenarios, targets)
    setup["total_s"] = time.perf_counter() - started
    document = {
        "config": {"sizes": list(args.sizes), "seed": args.seed, "quick": args.quick, "analyze_between_runs": analyze_between_runs,
                   "database": urlsplit(args.database_url).path.lstrip("/")},
        "environment": environment(), "setup": setup,
        "scenarios": [{**s.to_json(), **({"ratios": ratios(s, by_key)} if s.engine == "ours" else {})} for s in scenarios],
        "targets": [asdict(t) for t in targets],
    }
    if not source["snapshot_of"] and code_version() != {k: source[k] for k in ("commit", "engine_files_modified")}:
        print("\n! The code changed while the benchmark ran in place: figures may mix two versions of the engine.")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"\nWrote {args.json} ({setup['total_s'] / 60:.1f} min)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
