"""Web capacity under settings.production: admins browse the main pages, with and without an import running.

    .venv/bin/python bench/load_bench.py \\
        [--database-url postgres://postgres@127.0.0.1:5432/cw_load_bench] [--broker-url redis://127.0.0.1:6379/11] \\
        [--admins 10] [--clients 10,30] [--seconds 20] [--users 20000] [--import-rows 20000] [--json PATH]

What it does, in order:
1. Drops and recreates the database, migrates it and runs collectstatic with settings.production,
   as the README's deploy steps do.
2. Loads one district ("bench") with --users users (COPY), 60 schools and --admins district admins,
   and a second district ("imports") that the imports write into, so the browsed district stays
   the same size throughout.
3. Starts the documented web server (`gunicorn -c gunicorn.conf.py`, its default workers and threads
   for this machine unless WEB_CONCURRENCY / GUNICORN_THREADS are set) on a free port.
4. For each client count, twice: without an import, then with imports running back to back
   (`manage.py import_users FILE --district imports --now`, each a fresh file of --import-rows
   new users: the same work a worker does). Each client signs in as one of the admins (its own
   session, as behind a proxy: X-Forwarded-Proto https), then loops over the main pages (Schools,
   Users, a Users search, Groups, Import History) for --seconds after a 2 s warm-up.
5. Prints req/s, p50/p95/p99 latency and errors (any answer but 200, or no answer) per setting,
   and how long one import took alone and under each load; --json writes the same.

The load generator runs on the same machine (threads in this process), so on a small machine it
takes CPU from the server: the figures are a floor. The database is dropped at the end unless --keep.
"""
import argparse
import csv
import http.client
import json
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench.database import drop_database, recreate_database  # noqa: E402
from users_list_bench import load_users  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/cw_load_bench"
HOST = "import.bench.example"
PASSWORD = "Bench-load-password-7431"
PAGES = ("/manage/schools/", "/manage/users/", "/manage/users/?q=smi", "/manage/groups/", "/imports/")
IMPORT_HEADER = ["First Name", "Last Name", "District ID", "User Type", "Grade", "Email Address", "School SIS ID"]
SCHOOLS = 60


@dataclass
class Client:
    """One browser: its own connection (kept alive) and cookies."""

    port: int
    cookies: dict[str, str] = field(default_factory=dict)
    conn: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body: str | None = None, headers: dict | None = None):
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        all_headers = {"Host": HOST, "X-Forwarded-Proto": "https", **(headers or {})}
        if self.cookies:
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            self.conn.request(method, path, body=body, headers=all_headers)
            response = self.conn.getresponse()
            content = response.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = None
            raise
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return response.status, content

    def sign_in(self, username: str) -> None:
        status, html = self.request("GET", "/accounts/login/")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1).decode()
        body = urlencode({"csrfmiddlewaretoken": token, "username": username, "password": PASSWORD})
        status, _ = self.request("POST", "/accounts/login/", body, {
            "Content-Type": "application/x-www-form-urlencoded", "Referer": f"https://{HOST}/accounts/login/",
            "Origin": f"https://{HOST}",
        })
        if status != 302 or "sessionid" not in self.cookies:
            raise SystemExit(f"Sign-in of {username} failed with {status}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def browse(clients: list[Client], seconds: float) -> dict:
    """Every client loops over PAGES for `seconds`; returns req/s, latency percentiles and errors."""
    latencies: list[float] = []
    by_page: dict[str, list[float]] = {page: [] for page in PAGES}
    errors: Counter = Counter()
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def run(index: int, client: Client) -> None:
        mine, pages, failed, n = [], [], Counter(), index
        while time.monotonic() < deadline:
            page = PAGES[n % len(PAGES)]
            n += 1
            started = time.perf_counter()
            try:
                status, _ = client.request("GET", page)
            except (OSError, http.client.HTTPException):
                status = None
            mine.append((time.perf_counter() - started) * 1000)
            pages.append(page)
            if status != 200:
                failed[f"{page} {status or 'no answer'}"] += 1
        with lock:
            latencies.extend(mine)
            for page, ms in zip(pages, mine):
                by_page[page].append(ms)
            errors.update(failed)

    started = time.monotonic()
    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    return {
        "requests": len(latencies), "req_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(percentile(latencies, 0.50), 1), "p95_ms": round(percentile(latencies, 0.95), 1),
        "p99_ms": round(percentile(latencies, 0.99), 1), "errors": sum(errors.values()), "error_kinds": dict(errors),
        "p50_ms_by_page": {page: round(percentile(values, 0.50), 1) for page, values in by_page.items()},
        # Other work on a shared machine shows here: the 1-minute load average as the window ended.
        "load_average": round(os.getloadavg()[0], 1),
    }


class Imports:
    """Imports into the "imports" district, back to back, in a process of their own, until stopped."""

    def __init__(self, env: dict, work: Path, rows: int):
        self.env, self.work, self.rows = env, work, rows
        self.durations: list[float] = []
        self.failures = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._batch = 0

    def _file(self) -> Path:
        self._batch += 1
        path = self.work / f"import-{self._batch}.csv"
        with open(path, "w", newline="", encoding="utf-8") as fh:
            out = csv.writer(fh)
            out.writerow(IMPORT_HEADER)
            for i in range(self.rows):
                out.writerow([f"First{i % 977}", f"Last{i % 1009}", f"B{self._batch:03d}{i:07d}", "Student",
                              str(1 + i % 12), "", f"{i % SCHOOLS:03d}"])
        return path

    def run_one(self) -> float:
        path = self._file()
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "manage.py", "import_users", str(path), "--district", "imports", "--now"],
            cwd=ROOT, env=self.env, capture_output=True, text=True,
        )
        seconds = time.perf_counter() - started
        path.unlink()
        if result.returncode != 0:
            self.failures += 1
            print(f"import failed ({result.returncode}): {result.stderr[-2000:]}", file=sys.stderr)
        return seconds

    def start(self) -> None:
        self.durations = []
        self._stop.clear()

        def loop():
            while not self._stop.is_set():
                self.durations.append(self.run_one())

        self._thread = threading.Thread(target=loop)
        self._thread.start()

    def stop(self) -> None:
        """Wait for the import in flight to finish (its time counts: it ran under load most of the way)."""
        self._stop.set()
        self._thread.join()


def setup_data(env: dict, args) -> None:
    """Migrate, collect static files, then load the two districts in this process."""
    for command in (["migrate", "--noinput", "-v0"], ["collectstatic", "--noinput", "-v0"]):
        subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True)
    os.environ.update(env)
    import django

    django.setup()
    from schools.models import District, School
    from users.models import User

    district = District.objects.create(slug="bench", name="Bench Unified", timezone="America/Chicago")
    schools = [School.objects.create(district=district, sis_id=f"{n:03d}", name=f"School {n:03d}") for n in range(SCHOOLS)]
    seconds = load_users(district=district, schools=schools, count=args.users, seed=42)
    print(f"loaded {args.users:,} users in {seconds:.1f} s")
    for n in range(args.admins):
        User.objects.create_user(
            username=f"bench.admin{n}", password=PASSWORD, district=district, is_district_admin=True,
            first_name="Bench", last_name=f"Admin{n}", email=f"admin{n}@bench.example",
        )
    other = District.objects.create(slug="imports", name="Imports Unified", timezone="America/Chicago")
    for n in range(SCHOOLS):
        School.objects.create(district=other, sis_id=f"{n:03d}", name=f"School {n:03d}")
    from django.db import connections

    connections.close_all()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--broker-url", default=os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/11"))
    parser.add_argument("--admins", type=int, default=10)
    parser.add_argument("--clients", default="10,30", help="Comma-separated client counts.")
    parser.add_argument("--seconds", type=float, default=20.0, help="Length of each measured window.")
    parser.add_argument("--users", type=int, default=20_000, help="Users in the browsed district.")
    parser.add_argument("--import-rows", type=int, default=20_000)
    parser.add_argument("--no-import", action="store_true", help="Measure only without an import.")
    parser.add_argument("--conn-max-age", help="CONN_MAX_AGE for the web server (default: production's).")
    parser.add_argument("--json", help="Write the results here.")
    parser.add_argument("--keep", action="store_true", help="Keep the database afterwards.")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="classworks-load-"))
    env = {
        **os.environ, "DJANGO_SETTINGS_MODULE": "classworks_import.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": HOST, "DATABASE_URL": args.database_url,
        "CELERY_BROKER_URL": args.broker_url, "CLASSWORKS_VAR_DIR": str(work), "PRIVATE_STORAGE_ROOT": str(work / "private"),
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend", "LOG_LEVEL": "WARNING",
    }
    if args.conn_max_age is not None:
        env["CONN_MAX_AGE"] = args.conn_max_age
    recreate_database(args.database_url)
    server = None
    results = {"machine": f"{os.cpu_count()} cores", "users": args.users, "admins": args.admins,
               "web_concurrency": os.environ.get("WEB_CONCURRENCY", "default"),
               "gunicorn_threads": os.environ.get("GUNICORN_THREADS", "default"),
               "conn_max_age": args.conn_max_age or "production default",
               "seconds": args.seconds, "import_rows": args.import_rows, "runs": []}
    try:
        setup_data(env, args)
        imports = Imports(env, work, args.import_rows)
        if not args.no_import:
            results["import_alone_s"] = round(imports.run_one(), 1)
            print(f"one import of {args.import_rows:,} rows, no web load: {results['import_alone_s']} s")

        port = free_port()
        server = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py"], cwd=ROOT,
            env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}"}, stdout=subprocess.DEVNULL, stderr=open(work / "gunicorn.log", "wb"),
            start_new_session=True,
        )
        probe = Client(port)
        for _ in range(100):
            try:
                if probe.request("GET", "/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        print(f"{'clients':>7} {'import':>6} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'errors':>6} {'import s':>8} {'load':>5}")
        for count in [int(c) for c in args.clients.split(",")]:
            clients = [Client(port) for _ in range(count)]
            for n, client in enumerate(clients):
                client.sign_in(f"bench.admin{n % args.admins}")
            browse(clients, 2.0)  # warm-up: connections, caches; not counted
            for with_import in ([False] if args.no_import else [False, True]):
                if with_import:
                    imports.start()
                row = {"clients": count, "import": with_import, **browse(clients, args.seconds)}
                if with_import:
                    imports.stop()
                    row["import_s"] = round(statistics.mean(imports.durations), 1)
                    row["imports"] = len(imports.durations)
                results["runs"].append(row)
                print(f"{count:7d} {'yes' if with_import else 'no':>6} {row['req_per_s']:7.1f} {row['p50_ms']:7.1f} "
                      f"{row['p95_ms']:7.1f} {row['p99_ms']:7.1f} {row['errors']:6d} "
                      f"{row.get('import_s', '—')!s:>8} {row['load_average']:5.1f}  {row['error_kinds'] or ''}")
            for client in clients:
                if client.conn:
                    client.conn.close()
        results["import_failures"] = imports.failures
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        if not args.keep:
            drop_database(args.database_url)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
