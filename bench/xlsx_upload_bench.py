"""A crafted xlsx upload: how long the web process takes to answer it, and how much it grows.

    .venv/bin/python bench/xlsx_upload_bench.py [--database-url postgres://postgres@127.0.0.1:5432/cw_trust]

Three workbooks of 2 data rows, written by imports/tests/trust/crafted_xlsx.py: the reproduction
(about 180 MiB of shared strings, refused), one just under both shared-strings caps (accepted), and
an ordinary one. Each is POSTed to the wizard's upload step through Django's test client, signed in
as a district admin; then Map Fields is fetched for an accepted one. RSS is /proc/self/statm, read
by a sampling thread every 10 ms; "grew" is its peak during the request minus its size just before.
"""
import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def measured(call):
    peak, done = [rss_mb()], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss_mb())
            time.sleep(0.01)

    before = rss_mb()
    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    started = time.perf_counter()
    result = call()
    elapsed = time.perf_counter() - started
    done.set()
    watcher.join()
    return result, elapsed, max(peak[0], rss_mb()) - before


def _inspect(reading, path):
    try:
        return reading.inspect_file(path, "roster.xlsx")
    except reading.FileReadError as exc:
        return exc


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/cw_trust"))
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = args.database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "classworks_import.settings.test"
    os.environ.setdefault("PRIVATE_STORAGE_ROOT", tempfile.mkdtemp(prefix="xlsx-bench-"))
    import django

    django.setup()
    from django.conf import settings

    settings.ALLOWED_HOSTS = ["testserver"]
    settings.CELERY_TASK_ALWAYS_EAGER = False  # the background pass is the worker's, not this process's
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command
    from django.test import Client, RequestFactory
    from django.test.client import ClientHandler
    from django.urls import reverse

    from imports.models import ImportJob
    from imports.pipeline import reading
    from imports.tests.trust.crafted_xlsx import write_xlsx
    from users.tests.factories import make_admin, make_district

    call_command("migrate", verbosity=0)
    district = make_district()
    admin = make_admin(district)
    client = Client()
    client.force_login(admin)
    header = ["First Name", "Last Name", "District ID", "User Type", "Grade", "Email Address", "School SIS ID"]
    rows = [header, ["Ada", "Lovelace", "1001", "Student", "5", "", "101"], ["Alan", "Turing", "1002", "Student", "6", "", "101"]]
    work = Path(tempfile.mkdtemp(prefix="xlsx-bench-files-"))
    under = reading.XLSX_MAX_SHARED_STRINGS - 100
    cases = [
        ("reproduction: 180 MiB of shared strings", dict(extra_strings=180 * 1024 * 1024 // 1000, string_bytes=980, noise=True)),
        (f"at the caps: {under:,} strings, ~{reading.XLSX_MAX_SHARED_STRINGS_BYTES >> 20} MiB",
         dict(extra_strings=under, string_bytes=reading.XLSX_MAX_SHARED_STRINGS_BYTES // reading.XLSX_MAX_SHARED_STRINGS - 26,
              noise=True)),
        ("ordinary: 2 rows", dict()),
    ]
    try:
        for label, options in cases:
            path = work / "roster.xlsx"
            write_xlsx(path, rows, **options)
            content = path.read_bytes()
            before = ImportJob.objects.filter(district=district).count()
            # The request is built before the measurement: the test client's own copy of the body is not the server's.
            environ = RequestFactory().post(
                reverse("imports:start"), {"import_type": "user_data", "files": SimpleUploadedFile("roster.xlsx", content)}).environ
            environ["HTTP_COOKIE"] = client.cookies.output(header="", sep="; ").strip()
            response, elapsed, grew = measured(lambda: ClientHandler(enforce_csrf_checks=False)(environ))
            _, reading_s, _ = measured(lambda: _inspect(reading, path))
            accepted = ImportJob.objects.filter(district=district).count() > before and response.status_code == 302
            print(f"{label}: {len(content) / 2**20:.1f} MiB file, {'accepted' if accepted else 'refused'} "
                  f"(HTTP {response.status_code}) in {elapsed:.2f} s (of which reading the workbook {reading_s:.2f} s), "
                  f"RSS grew {grew:.0f} MB")
            if accepted:
                job = ImportJob.objects.filter(district=district).latest("id")
                page, elapsed, grew = measured(lambda: client.get(reverse("imports:fields", args=[job.number])))
                print(f"    Map Fields: HTTP {page.status_code} in {elapsed:.3f} s, RSS grew {grew:.0f} MB")
    finally:
        ImportJob.objects.filter(district=district).delete()
        district.delete()


if __name__ == "__main__":
    main()
