"""Every request of the import wizard, timed, with the process's RSS, for files that used to make them slow.

    .venv/bin/python bench/wizard_requests_bench.py            # 1M rows, 100,000 columns, 20,000 school values
    .venv/bin/python bench/wizard_requests_bench.py --rows 100000

Runs the views through Django's test client in this process, on a fresh SQLite database in /tmp
(or DATABASE_URL). The background passes a request starts (school values, validation) do not run
inside the request: they wait in a queue and are then run here as the worker would, timed on
their own lines ("worker"). For each request it prints the wall time, the RSS after it and the
peak RSS during it (VmHWM, reset before each request); the worker runs in a forked child. The upload POST stores the file: it is
the one request allowed to grow with the file.
"""
import argparse
import csv
import os
import sys
import time
from pathlib import Path

WORK = Path(os.environ.get("WIZARD_BENCH_DIR", "/tmp/wizard_bench"))
HEADER = ["First Name", "Last Name", "District ID", "User Type", "Grade", "Email Address", "School SIS ID"]
SCHOOLS = 20


def _setup_django() -> None:
    WORK.mkdir(parents=True, exist_ok=True)
    db = WORK / "db.sqlite3"
    if db.exists():
        db.unlink()
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{db}")
    os.environ.setdefault("PRIVATE_STORAGE_ROOT", str(WORK / "private"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "classworks_import.settings.local")
    os.environ["DJANGO_DEBUG"] = "0"  # with DEBUG on, every query's text is kept in memory
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _write_rows_file(path: Path, rows: int, school_values: int, *, bad_grade: bool = False) -> Path:
    if path.exists():
        return path
    with open(path, "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(HEADER)
        for i in range(rows):
            out.writerow([f"First{i % 977}", f"Last{i % 1009}", f"S{i:07d}", "Student", "13" if bad_grade else str(1 + i % 12),
                          f"s{i}@example.org", f"SCH-{i % school_values:05d}"])
    return path


def _write_wide_file(path: Path, columns: int) -> Path:
    if not path.exists():
        with open(path, "w", newline="", encoding="utf-8") as fh:
            out = csv.writer(fh)
            out.writerow(HEADER + [f"C{i}" for i in range(columns - len(HEADER))])
            for i in range(3):
                out.writerow(["A", "B", str(i), "Student", "5", "", "SCH-00000"] + ["x"] * (columns - len(HEADER)))
    return path


def _rss_mb() -> tuple[float, float]:
    """(current RSS, peak RSS since the last reset) in MB, from /proc/self/status."""
    fields = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0]) / 1024
    return fields["VmRSS"], fields["VmHWM"]


def _reset_peak() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")  # resets VmHWM (peak RSS) to the current RSS
    except OSError:
        pass


class Bench:
    def __init__(self, label: str):
        self.label = label
        self.lines = []

    def timed(self, name: str, call, *, exception: bool = False):
        _reset_peak()
        start = time.perf_counter()
        result = call()
        seconds = time.perf_counter() - start
        rss, peak = _rss_mb()
        status = getattr(result, "status_code", "")
        self.lines.append((self.label, name, status, seconds, rss, peak, exception))
        flag = " (upload: allowed to grow)" if exception else (" (worker)" if name.startswith("worker") else "")
        print(f"{self.label:<14} {name:<44} {status!s:>4} {seconds:8.3f} s  RSS {rss:6.0f} MB  peak {peak:6.0f} MB{flag}", flush=True)
        return result


def _walk(label: str, path: Path, *, search: str, remember_all: bool) -> list:
    from django.db import connections
    from django.test import Client
    from django.urls import reverse

    from imports import tasks
    from imports.models import DistrictImportMemory, ImportJob
    from imports.services import validation
    from users.tests.factories import make_admin, make_district, make_school

    queued: list[int] = []
    tasks.validate_draft.delay_on_commit = queued.append
    tasks.run_import.delay_on_commit = lambda job_id: None  # the bench stops at Submit
    tasks.purge_closed_draft.delay_on_commit = lambda job_id: None  # nothing reaches a broker

    district = make_district(name=f"Bench {label}")
    schools = [make_school(district, sis_id=f"SCH-{i:05d}", name=f"School {i}") for i in range(SCHOOLS)]
    admin = make_admin(district, username=f"bench-{label}")
    client = Client()
    client.force_login(admin)
    bench = Bench(label)
    url = lambda step, query="": reverse(f"imports:{step}", args=[job.number]) + query  # noqa: E731

    def worker():
        # In a child process, as on a real worker: its memory never counts towards the web process's RSS.
        connections.close_all()
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                for job_id in queued:
                    validation.import_job_validation_run(job_id=job_id)
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        queued.clear()
        if status:
            raise RuntimeError("the worker failed")

    bench.timed("GET  upload", lambda: client.get(reverse("imports:start")))
    with open(path, "rb") as fh:
        response = bench.timed("POST upload", lambda: client.post(
            reverse("imports:start"), {"import_type": "user_data", "files": fh}), exception=True)
    if response.status_code != 302:
        text = response.content.decode()
        start = text.find('class="field-error"')
        print(f"{label:<14} refused: {text[start:start + 200] if start >= 0 else text[:200]!r}")
        return bench.lines
    job = ImportJob.objects.filter(district=district).latest("id")
    bench.timed("GET  fields", lambda: client.get(url("fields")))
    bench.timed("POST fields unmatch grade", lambda: client.post(url("fields"), {"action": "unmatch:grade"}))
    bench.timed("POST fields match grade", lambda: client.post(url("fields"), {"action": "match", "field": "grade", "column": "Grade"}))
    bench.timed("POST fields next", lambda: client.post(url("fields"), {"action": "next"}))
    bench.timed("GET  schools (reading values)", lambda: client.get(url("schools")))
    bench.timed("GET  validation progress", lambda: client.get(reverse("imports:validation_progress", args=[job.number])))
    bench.timed("worker: read school values", worker)
    bench.timed("GET  schools page 1", lambda: client.get(url("schools")))
    last = max(1, -(-job.school_values.count() // 200))
    bench.timed(f"GET  schools last page ({last})", lambda: client.get(url("schools", f"?page={last}")))
    bench.timed(f"GET  schools ?q={search}", lambda: client.get(url("schools", f"?q={search}")))
    bench.timed("POST schools save page 1", lambda: client.post(url("schools"), {"page": "1", "action": "save:2", "school_0": str(schools[0].id)}))
    if remember_all:
        # Every value remembered from an earlier import, so Next can go on (the proposal fills the rest).
        values = list(job.school_values.values_list("value", flat=True))
        DistrictImportMemory.objects.update_or_create(
            district=district, defaults={"school_mapping": {v: schools[i % SCHOOLS].id for i, v in enumerate(values)}},
        )
    bench.timed("POST schools next", lambda: client.post(url("schools"), {"page": "1", "action": "next"}))
    bench.timed("GET  validate (validating)", lambda: client.get(url("validate")))
    bench.timed("worker: validate", worker)
    bench.timed("GET  validate (result)", lambda: client.get(url("validate")))
    counts = ImportJob.objects.get(id=job.id).validation_summary["counts"]
    last = max(1, -(-(counts["errors"] + counts["warnings"]) // 50))
    bench.timed(f"GET  validate last page of problems ({last})", lambda: client.get(url("validate", f"?page={last}")))
    bench.timed("POST validate next", lambda: client.post(url("validate"), {"action": "next"}))
    bench.timed("GET  actions", lambda: client.get(url("actions")))
    bench.timed("POST actions (new conflict choice)", lambda: client.post(url("actions"), {
        "conflict_policy": "existing", "password_policy": "keep", "group_members": "students"}))
    bench.timed("GET  review (validating)", lambda: client.get(url("review")))
    bench.timed("worker: validate again", worker)
    bench.timed("GET  review", lambda: client.get(url("review")))
    bench.timed("POST review (submit)", lambda: client.post(url("review")))
    # Close X: a draft that could not be submitted (every row an error) goes, however many problems it has.
    bench.timed("POST close", lambda: client.post(reverse("imports:close", args=[job.number])))
    return bench.lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--columns", type=int, default=100_000)
    parser.add_argument("--school-values", type=int, default=20_000)
    parser.add_argument("--only", choices=["rows", "columns", "schools", "errors"], action="append")
    args = parser.parse_args()
    _setup_django()
    # "errors": every row has a bad grade, so Validate File pages through as many problems as rows.
    only = set(args.only or ["rows", "columns", "schools"])
    lines = []
    if "rows" in only:
        path = _write_rows_file(WORK / f"rows_{args.rows}.csv", args.rows, SCHOOLS)
        lines += _walk(f"{args.rows:,} rows", path, search="SCH-0001", remember_all=False)
    if "columns" in only:
        path = _write_wide_file(WORK / f"columns_{args.columns}.csv", args.columns)
        lines += _walk(f"{args.columns:,} cols", path, search="SCH", remember_all=False)
    if "schools" in only:
        path = _write_rows_file(WORK / f"schools_{args.school_values}.csv", 5 * args.school_values, args.school_values)
        lines += _walk(f"{args.school_values:,} schools", path, search="SCH-1234", remember_all=True)
    if "errors" in only:
        path = _write_rows_file(WORK / f"errors_{args.rows}.csv", args.rows, SCHOOLS, bad_grade=True)
        lines += _walk(f"{args.rows:,} errors", path, search="SCH-0001", remember_all=False)
    requests = [line for line in lines if not line[6] and not line[1].startswith("worker")]
    if requests:
        slowest = max(requests, key=lambda line: line[3])
        print(f"\nslowest request (upload excluded): {slowest[0]} {slowest[1]} {slowest[3]:.3f} s; "
              f"highest peak RSS in a request: {max(line[5] for line in requests):.0f} MB")


if __name__ == "__main__":
    main()
