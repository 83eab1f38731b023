"""Validate File: how long the administrator waits, from Next on School Mapping to the result on the page.

    .venv/bin/python bench/validate_file_bench.py \\
        --database-url postgres://postgres@127.0.0.1:5432/classworks_validate_bench \\
        --broker-url redis://127.0.0.1:6379/7 [--rows 100000] [--repeat 5] [--other-users 1000000] \\
        [--profile] [--py-spy PATH]

The product runs the pass the way this measures it. Next on School Mapping (a POST) records the
mapping and enqueues `imports.tasks.validate_draft` on commit; a Celery worker runs the pass
(imports/services/validation/background.py) and commits it with `validated_at`; the Validate File
page meanwhile shows its progress and wizard.js polls `validate/progress/` (0.5 s after the page
loads, then each wait 1.5 times longer up to 2 s), reloading the page once the pass has stopped. So the views run here through Django's test client (one request at
a time, as one browser sends them), and the pass runs in a real Celery worker
(`celery -A classworks_import worker --concurrency 2`, as the Procfile starts it but without its
`nice -n 10`, which only matters when the web processes compete for the cores) over the Redis
broker in --broker-url. The broker's database is purged before the run: give the bench one of its own.

What one run does (the database in --database-url is dropped, created and migrated; its name
must contain "bench"):
1. --other-users users of 50 other districts (COPY, then VACUUM ANALYZE, as bench/import_bench.py),
   a district with 20 schools and an always-open off-peak window, its administrator, and a
   --rows file of bench/import_bench.py's generator (its seed, headings and mix of rows).
2. fresh: the district has no users. --repeat times: upload the file, Next on Map Fields, wait for
   the school values, then Next on School Mapping, timed until Validate File shows the result.
3. The last fresh draft goes on through Additional Actions and Review (Submit) and the worker imports
   it; then `ANALYZE users_user` (what autovacuum would do before the district's next import).
4. unchanged: the same walk --repeat times with the same file; every row matches a stored user.
5. With --profile, one more pass of each case is run in this process under cProfile (the task's body,
   import_job_validation_run, with no broker): the top functions are printed and the stats written to
   WORK_DIR/profile-<case>.pstats. Its times are inflated by the profiler.
   With --py-spy PATH (`pip install py-spy`), one more walk of each case runs with py-spy sampling the
   worker (--idle, so waits on PostgreSQL count); the top functions inside the task's body are printed.
   Neither kind of profiled pass counts in the table.

The figures of a walk (seconds, all from the moment the Next POST is sent):
- shown: the result page has loaded in a browser that polls as wizard.js does (the page, then a
  poll 0.5 s after it loads, then 0.75, 1.1, 1.7 and 2 s after each answer, then the reload). The
  administrator's wait.
- done: the pass committed its result (the job's validated_at, stamped by the worker).
- picked up: the worker received the task (its log's "received" line); run: the task's own time
  (its "succeeded in" line). done − run − picked up is the claim and the commit's round trips.
- worker CPU: user + system time (/proc) the worker's processes used meanwhile. On a busy machine run
  grows and this does not: run − worker CPU is PostgreSQL's share (the worker waits on its answers)
  plus the wait for a core. (Celery's Django fix-up closes the worker's connection after every task,
  so each pass opens one: counted, as in production.)
- Next POST and result GET: the two requests' own times.
- load: the machine's 1-minute load average as Next is sent; the bench's own worker and PostgreSQL
  count in it, so it says how quiet the machine was only beside another run's figure.
The table shows each case's median of --repeat walks, its fastest and slowest; the JSON holds every walk.
"""
import argparse
import datetime
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import import_bench as ib  # noqa: E402
from bench.database import recreate_database  # noqa: E402

POLL_S = 2.0  # wizard.js's POLL_MS: the longest wait between polls
FIRST_POLL_S, POLL_GROWTH = 0.5, 1.5  # wizard.js's FIRST_MS and GROWTH
TARGET_S = 5.0  # issue 17: Validate File shows its result within 5 s of Next at 100k rows
WAIT_LIMIT_S = 600.0
WORKER_READY_S = 120.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
DISTRICT_SLUG = "bench-validate"
RECEIVED = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}): INFO/MainProcess\].*Task imports\.tasks\.validate_draft\[([0-9a-f-]+)\] received")
SUCCEEDED = re.compile(r"Task imports\.tasks\.validate_draft\[([0-9a-f-]+)\] succeeded in ([0-9.]+)s")


# --- CPU time ---


def _process_cpu(pid: int) -> float | None:
    """A process's CPU time so far (user + system), from /proc; None when it is gone or not readable."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            fields = fh.read().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


# --- The worker ------------------------------------------------------------------------------------


class Worker:
    """A real Celery worker, as the Procfile starts it, logging to a file this bench reads."""

    def __init__(self, env: dict, log: Path):
        self.log = log
        self.handle = open(log, "w", encoding="utf-8")
        command = [sys.executable, "-m", "celery", "-A", "classworks_import", "worker", "-l", "info",
                   "--concurrency", "2", "-n", "validate-bench@%h"]
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=self.handle, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + WORKER_READY_S
        while "ready." not in log.read_text(encoding="utf-8", errors="replace"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Celery worker did not start: {log.read_text()[-1500:]}")
            time.sleep(0.2)

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the worker and its pool processes have used so far."""
        total, pending = 0.0, [self.process.pid]
        while pending:
            pid = pending.pop()
            total += _process_cpu(pid) or 0.0
            try:
                with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as fh:
                    pending += [int(child) for child in fh.read().split()]
            except OSError:  # a process that has just exited
                pass
        return total

    def offset(self) -> int:
        return self.log.stat().st_size

    def validate_tasks(self, since: int) -> list[dict]:
        """The validate_draft tasks logged since this offset: when each was received, and how long it ran."""
        with open(self.log, encoding="utf-8", errors="replace") as fh:
            fh.seek(since)
            text = fh.read()
        tasks: dict[str, dict] = {}
        for line in text.splitlines():
            if found := RECEIVED.search(line):
                at = datetime.datetime.strptime(found.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()  # the worker's local time
                tasks.setdefault(found.group(2), {})["received_at"] = at
            elif found := SUCCEEDED.search(line):
                tasks.setdefault(found.group(1), {})["run_s"] = float(found.group(2))
        return list(tasks.values())

    def stop(self) -> None:
        self.process.terminate()  # warm shutdown: the worker finishes what it runs, then exits
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.handle.close()


# --- One walk through the wizard --------------------------------------------------------------------


def _wait(until, what: str, interval: float = 0.05, limit: float = WAIT_LIMIT_S):
    deadline = time.monotonic() + limit
    while not (value := until()):
        if time.monotonic() > deadline:
            raise RuntimeError(f"gave up waiting for {what}")
        time.sleep(interval)
    return value


def _timed(call):
    started = time.perf_counter()
    response = call()
    return response, time.perf_counter() - started


def _pending(response) -> bool:
    return b"data-validation-url" in response.content


def walk(client, district, path: Path, worker: Worker, case: str, sampler=None) -> tuple[dict, object]:
    """Upload, Map Fields, School Mapping, then Next: timed until Validate File shows the result, as in a browser.

    sampler, if given, is started just before Next and stopped once the result shows (a profiled walk)."""
    from django.urls import reverse

    from imports.models import ImportJob

    upload_started = time.perf_counter()
    with open(path, "rb") as fh:
        response = client.post(reverse("imports:start"), {"import_type": "user_data", "description": f"bench {case}", "files": fh})
    if response.status_code != 302:
        raise RuntimeError(f"the upload answered {response.status_code}")
    job = ImportJob.objects.filter(district=district).latest("id")
    url = lambda step: reverse(f"imports:{step}", args=[job.number])  # noqa: E731
    progress = reverse("imports:validation_progress", args=[job.number])
    upload_s = time.perf_counter() - upload_started
    client.get(url("fields"))
    response = client.post(url("fields"), {"action": "next"})
    if response.status_code != 302 or response["Location"] != url("schools"):
        raise RuntimeError(f"Next on Map Fields did not lead to School Mapping: {response.status_code}")
    started = time.perf_counter()
    client.get(url("schools"))  # the page waiting on the school values
    _wait(lambda: not client.get(progress).json()["running"], "the school values", interval=0.1)
    schools_s = time.perf_counter() - started
    page = client.get(url("schools"))
    if _pending(page):
        raise RuntimeError(f"School Mapping still waits after its pass: {ImportJob.objects.get(id=job.id).validation_error}")

    if sampler is not None:
        sampler.start()
    # Next on School Mapping: the clock starts as the POST is sent.
    load_1m = os.getloadavg()[0]  # the machine is shared: a busy one lengthens the pass
    since = worker.offset()
    cpu_before = worker.cpu_seconds()
    next_at = time.time()
    started = time.perf_counter()
    response = client.post(url("schools"), {"page": "1", "action": "next"})
    next_post_s = time.perf_counter() - started
    if response.status_code != 302 or response["Location"] != url("validate"):
        raise RuntimeError(f"Next on School Mapping did not lead to Validate File: {response.status_code} "
                           f"{response.get('Location')}")
    page, pending_get_s = _timed(lambda: client.get(url("validate")))
    polls = 0
    result_get_s = 0.0
    if _pending(page):
        # wizard.js: a poll 0.5 s after the page loads, each next wait 1.5 times longer up to 2 s; a reload
        # once the pass stopped.
        wait = FIRST_POLL_S
        while True:
            time.sleep(wait)
            wait = min(POLL_S, wait * POLL_GROWTH)
            polls += 1
            state = client.get(progress).json()
            if not state["running"]:
                break
            if time.perf_counter() - started > WAIT_LIMIT_S:
                raise RuntimeError("gave up waiting for Validate File")
        page, result_get_s = _timed(lambda: client.get(url("validate")))
    shown_s = time.perf_counter() - started
    worker_cpu_s = worker.cpu_seconds() - cpu_before
    if sampler is not None:
        sampler.stop()
    job = ImportJob.objects.get(id=job.id)
    if page.status_code != 200 or _pending(page) or job.validated_at is None:
        raise RuntimeError(f"Validate File shows no result: {page.status_code} {job.validation_error!r}")
    # The worker logs "succeeded" just after the commit the poll saw: give the line a moment to land.
    tasks = _wait(lambda: [t for t in worker.validate_tasks(since) if "run_s" in t], "the worker's log", limit=30)
    task = tasks[-1]
    counts = job.validation_summary.get("counts", {})
    figures = {
        "case": case, "job": job.number, "rows": counts.get("rows"),
        "shown_s": shown_s, "done_s": job.validated_at.timestamp() - next_at,
        "picked_up_s": task["received_at"] - next_at if "received_at" in task else None,
        "run_s": task.get("run_s"), "tasks": len(tasks), "worker_cpu_s": worker_cpu_s,
        "next_post_s": next_post_s, "pending_get_s": pending_get_s, "result_get_s": result_get_s, "polls": polls,
        "upload_s": upload_s, "school_values_s": schools_s,
        "counts": {k: counts.get(k, 0) for k in ("rows", "new", "update", "unchanged", "conflict", "errors", "warnings", "error_rows")},
        "page_bytes": len(page.content), "profiled": sampler is not None, "load_1m": load_1m,
    }
    return figures, job


def submit(client, job) -> None:
    """The draft on through Validate File, Additional Actions and Review; the worker imports it."""
    from django.urls import reverse

    from imports.models import ImportJob, ImportStatus
    from imports.services import safety

    url = lambda step: reverse(f"imports:{step}", args=[job.number])  # noqa: E731
    client.post(url("validate"), {"action": "next"})
    job.refresh_from_db()
    client.post(url("actions"), {  # as the form is offered: nothing changes, so the pass stands
        "conflict_policy": job.conflict_policy, "password_policy": job.password_policy, "group_members": job.group_members,
    })
    _wait(lambda: not _pending(client.get(url("review"))), "the Review page", interval=0.5)
    client.post(url("review"))
    job.refresh_from_db()
    if job.status == ImportStatus.ON_HOLD:
        safety.import_job_approve(job=job)
    done = (ImportStatus.COMPLETED, ImportStatus.COMPLETED_WITH_WARNINGS, ImportStatus.FAILED)
    status = _wait(lambda: ImportJob.objects.filter(id=job.id, status__in=done).values_list("status", flat=True).first(),
                   "the import", interval=0.5)
    if status == ImportStatus.FAILED:
        raise RuntimeError(f"the import failed: {ImportJob.objects.get(id=job.id).failure_reason}")


# --- Profile -------------------------------------------------------------------------------------------


def profile_pass(district, path: Path, work_dir: Path, case: str, top: int = 25) -> str:
    """One more pass of this case in this process under cProfile: the task's body, with no broker."""
    import cProfile
    import io
    import pstats
    from unittest import mock

    from django.core.files import File

    from imports.services import jobs, validation
    from imports.services.validation import background

    class PathUpload(File):
        def temporary_file_path(self):
            return self.file.name

    with mock.patch.object(background, "enqueue_on_commit", lambda name, object_id: None):
        job = jobs.import_job_create(district=district, description=f"bench profile {case}")
        with open(path, "rb") as fh:
            jobs.import_files_add(job=job, uploads=[PathUpload(fh, name=path.name)])
        job.refresh_from_db()
        jobs.import_job_set_field_mapping(job=job, field_mapping=dict(job.field_mapping), fixed_values={},
                                          column_labels=list(job.files.get().headers), confirm=True)
        schools = dict(district.schools.values_list("sis_id", "id"))
        jobs.import_job_set_school_mapping(job=job, school_mapping=schools, file_values=list(schools))
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.runcall(validation.import_job_validation_run, job_id=job.id)
    seconds = time.perf_counter() - started
    out = work_dir / f"profile-{case}.pstats"
    profiler.dump_stats(out)
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    return f"{case}: the pass under cProfile {seconds:.2f} s (stats in {out})\n{text.getvalue()}"


class PySpy:
    """py-spy sampling the worker and its pool processes (--idle: waits on PostgreSQL count) during one walk."""

    def __init__(self, executable: str, worker: Worker, work_dir: Path, case: str, top: int = 25):
        self.executable, self.worker, self.top = executable, worker, top
        self.raw, self.log = work_dir / f"py-spy-{case}.raw", work_dir / f"py-spy-{case}.log"
        self.case, self.process = case, None

    def start(self) -> None:
        command = [self.executable, "record", "--idle", "--subprocesses", "-r", "100", "-f", "raw",
                   "-o", str(self.raw), "--pid", str(self.worker.process.pid)]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=open(self.log, "w"))
        time.sleep(1.5)  # attached before the clock starts

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)  # py-spy writes its file on an interrupt
        self.process.wait(timeout=60)

    def report(self) -> str:
        """The samples inside the task's body only: the worker's idle main process and other pool process left out."""
        from bench.profile_run import summarise as summarise_stacks

        lines = []
        for line in self.raw.read_text().splitlines():
            at = line.find("import_job_validation_run")
            if at >= 0:  # the stack from the task's body down: the frames above it are in every sample
                lines.append(line[line.rfind(";", 0, at) + 1:])
        task = self.raw.with_name(f"{self.raw.stem}-pass.raw")
        task.write_text("\n".join(lines) + "\n")
        return f"{self.case}: the pass in the worker under py-spy (100 samples/s, --idle)\n" + summarise_stacks(task, self.top)


# --- Report ----------------------------------------------------------------------------------------------


COLUMNS = ("case", "rows", "walks", "shown s", "min", "max", "done s", "picked up s", "run s", "worker CPU s", "Next POST s",
           "result GET s", "polls", "upload s", "school values s", "load", "target", "result")


def _median(walks: list[dict], key: str):
    values = [w[key] for w in walks if w.get(key) is not None]
    return statistics.median(values) if values else None


def summarise(walks: list[dict]) -> list[dict]:
    cases = []
    for case in dict.fromkeys(w["case"] for w in walks):
        mine = [w for w in walks if w["case"] == case and not w["profiled"]]
        summary = {"case": case, "rows": mine[0]["rows"], "walks": len(mine),
                   "shown_min_s": min(w["shown_s"] for w in mine), "shown_max_s": max(w["shown_s"] for w in mine)}
        for key in ("shown_s", "done_s", "picked_up_s", "run_s", "worker_cpu_s", "next_post_s", "result_get_s", "polls", "upload_s",
                    "school_values_s", "load_1m"):
            summary[key] = _median(mine, key)
        summary["counts"] = mine[-1]["counts"]
        summary["target"] = f"≤ {TARGET_S:g}"
        summary["result"] = "PASS" if summary["shown_s"] <= TARGET_S else "MISS"
        cases.append(summary)
    return cases


def render(cases: list[dict]) -> str:
    fmt = lambda v, d=2: "—" if v is None else f"{v:,.{d}f}" if isinstance(v, float) else f"{v:,}"  # noqa: E731
    rows = [[c["case"], fmt(c["rows"]), fmt(c["walks"]), fmt(c["shown_s"]), fmt(c["shown_min_s"]), fmt(c["shown_max_s"]),
             fmt(c["done_s"]), fmt(c["picked_up_s"]), fmt(c["run_s"]), fmt(c["worker_cpu_s"]), fmt(c["next_post_s"], 3), fmt(c["result_get_s"], 3),
             fmt(c["polls"], 0), fmt(c["upload_s"]), fmt(c["school_values_s"]), fmt(c["load_1m"]), c["target"], c["result"]] for c in cases]
    return ib.render_table(COLUMNS, rows)


# --- Command line ----------------------------------------------------------------------------------------


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/classworks_validate_bench",
                        help="PostgreSQL database to (re)create; its name must contain 'bench'.")
    parser.add_argument("--broker-url", required=True,
                        help="Redis for the worker, e.g. redis://127.0.0.1:6379/7. Its queue is purged first: "
                             "give the bench a database no one else uses.")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5, help="Walks per case.")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--other-users", type=int, default=ib.OTHER_USERS, help="Users of other districts loaded first.")
    parser.add_argument("--work-dir", type=Path, default=Path(tempfile.gettempdir()) / "classworks_validate_bench")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results-validate-file.json")
    parser.add_argument("--profile", action="store_true", help="One more pass per case in this process under cProfile.")
    parser.add_argument("--py-spy", metavar="PATH", help="py-spy's executable: one more walk per case with the worker sampled.")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    ib.hold_work_dir(args.work_dir)
    ib.clear_work_dir(args.work_dir)
    started = time.perf_counter()
    env = {**ib.child_environment(args.database_url, args.work_dir), "CELERY_BROKER_URL": args.broker_url, "LOG_LEVEL": "INFO"}
    print(f"Database {urlsplit(args.database_url).path.lstrip('/')}: create and migrate", flush=True)
    recreate_database(args.database_url)
    ib.migrate(env)
    ib.setup_django(env)
    import logging

    logging.disable(logging.INFO)  # this process's request log: one line per poll
    from django.test import Client

    from classworks_import.celery import app
    from users.services import district_admin_create

    source = ib.code_version()
    print(f"Loading {args.other_users:,} users of other districts (COPY)", flush=True)
    setup = {"other_users": args.other_users, "other_users_load_s": ib.load_other_users(args.other_users, args.seed)}
    district = ib.create_bench_district(DISTRICT_SLUG)
    admin = district_admin_create(district=district, username=f"{DISTRICT_SLUG}-admin", email="admin@bench.example")
    path = args.work_dir / "files" / f"users-{ib.size_label(args.rows)}.csv"
    rows = ib.write_csv(path, ib.base_rows(args.rows, args.seed))
    app.control.purge()
    worker = Worker(env, args.work_dir / "worker.log")
    walks: list[dict] = []
    profiles = []
    try:
        client = Client()
        client.force_login(admin)
        for case in ("fresh", "unchanged"):
            jobs_of_case = []
            for n in range(args.repeat):
                print(f"  {case} {n + 1}/{args.repeat} ...", end=" ", flush=True)
                figures, job = walk(client, district, path, worker, case)
                walks.append(figures)
                jobs_of_case.append(job)
                print(f"shown {figures['shown_s']:.2f} s, done {figures['done_s']:.2f} s, "
                      f"task {figures['run_s'] or 0:.2f} s; {figures['counts']}", flush=True)
            if args.py_spy:
                spy = PySpy(args.py_spy, worker, args.work_dir, case)
                print(f"  {case}, under py-spy ...", end=" ", flush=True)
                figures, job = walk(client, district, path, worker, case, sampler=spy)
                walks.append(figures)
                jobs_of_case.append(job)
                print(f"task {figures['run_s']:.2f} s", flush=True)
                profiles.append(spy.report())
            if args.profile:
                profiles.append(profile_pass(district, path, args.work_dir, case))
            if case == "fresh":
                print("  importing the file (the last fresh draft: Submit, the worker runs it)", flush=True)
                import_started = time.perf_counter()
                submit(client, jobs_of_case[-1])
                setup["import_s"] = time.perf_counter() - import_started
                ib.refresh_statistics()  # as autovacuum would before the district's next import
    finally:
        worker.stop()
    cases = summarise(walks)
    print()
    print(render(cases))
    for text in profiles:
        print("\n" + text)
    setup["total_s"] = time.perf_counter() - started
    document = {
        "config": {"rows": rows, "repeat": args.repeat, "seed": args.seed, "poll_s": POLL_S, "target_s": TARGET_S,
                   "database": urlsplit(args.database_url).path.lstrip("/"), "worker_concurrency": 2},
        "environment": ib.environment(), "source": source, "setup": setup, "cases": cases, "walks": walks,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"\nWrote {args.json} ({setup['total_s'] / 60:.1f} min)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
