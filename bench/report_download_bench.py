"""errors.csv and results.csv at a million error rows: time to the first byte, the whole download, and
how much the process grows while it streams, on PostgreSQL.

    .venv/bin/python bench/report_download_bench.py \\
        [--database-url postgres://postgres@127.0.0.1:5432/cw_trust] [--rows 1000000] [--changes 200000]

A district, its admin and a finished job with a CSV of --rows rows are made, every row gets one
error (ImportIssue rows loaded with COPY) and --changes users an ImportChange; each report is then
fetched through Django's test client, signed in as the admin, reading the streamed body a chunk at
a time. RSS is the process's resident set (/proc/self/statm), sampled every 5,000 chunks; "grew" is
its peak during the download minus its size just before the request. The data is deleted at the end.
"""
import argparse
import io
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def fetch(client, url: str) -> dict:
    before = rss_mb()
    started = time.perf_counter()
    response = client.get(url)
    chunks = iter(response.streaming_content)
    first = next(chunks)
    first_byte = time.perf_counter() - started
    peak, size, n = rss_mb(), len(first), 1
    for chunk in chunks:
        size += len(chunk)
        n += 1
        if n % 5000 == 0:
            peak = max(peak, rss_mb())
    total = time.perf_counter() - started
    peak = max(peak, rss_mb())
    return {"first_byte_s": first_byte, "total_s": total, "mb": size / 2**20, "lines": n, "rss_before_mb": before,
            "rss_grew_mb": peak - before}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/cw_trust"))
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--changes", type=int, default=200_000)
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = args.database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "classworks_import.settings.test"
    os.environ.setdefault("PRIVATE_STORAGE_ROOT", tempfile.mkdtemp(prefix="report-bench-"))
    import django

    django.setup()
    from django.conf import settings

    settings.ALLOWED_HOSTS = ["testserver"]
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from imports.models import ImportChange, ImportFile, ImportIssue, ImportJob, ImportStatus
    from imports.services import jobs
    from users.models import User
    from users.tests.factories import make_admin, make_district

    call_command("migrate", verbosity=0)
    district = make_district()
    admin = make_admin(district)
    try:
        header = "First Name,Last Name,District ID,User Type,Grade,Email Address,School SIS ID\r\n"
        body = "".join(f"Ada,Lovelace,{i},Student,99,,101\r\n" for i in range(args.rows))
        job = jobs.import_job_create(district=district, created_by=admin, description="bench", import_type="user_data")
        jobs.import_files_add(job=job, uploads=[SimpleUploadedFile("roster.csv", (header + body).encode())])
        del body
        file = ImportFile.objects.get(job=job)
        ImportJob.objects.filter(id=job.id).update(
            status=ImportStatus.FAILED, field_mapping={"district_id": "District ID", "grade": "Grade"})
        issues = io.StringIO("".join(
            f"{job.id}\t{file.id}\t{row}\tGrade\terror\tinvalid_grade\tgrade\tGrade 99 is not a grade.\tGive a grade from PK to 12.\n"
            for row in range(2, args.rows + 2)
        ))
        for start in range(0, args.changes, 5000):
            User.objects.bulk_create([
                User(username=f"bench{job.id}_{i}", district=district, district_user_id=f"B{i}", user_type="student",
                     first_name="Ada", last_name="Lovelace", password="!", created_by_import_id=job.id)
                for i in range(start, min(start + 5000, args.changes))
            ])
        with connection.cursor() as cursor:
            cursor.copy_expert(
                f"COPY {ImportIssue._meta.db_table} (job_id, file_id, row, \"column\", severity, code, field, message, suggestion) "
                "FROM STDIN", issues)
            cursor.execute(
                f"INSERT INTO {ImportChange._meta.db_table} (job_id, user_id, district_user_id, changes, skipped, old_email_notified) "
                f"SELECT %s, id, district_user_id, '{{\"grade\": [\"4\", \"5\"]}}'::jsonb, '{{}}'::jsonb, false "
                f"FROM {User._meta.db_table} WHERE created_by_import_id = %s", [job.id, job.id])
            cursor.execute("ANALYZE")
        del issues
        client = Client()
        client.force_login(admin)
        for name in ("error_report", "results_report"):
            result = fetch(client, reverse(f"imports:{name}", args=[job.number]))
            print(f"{name}: error rows={args.rows:,}, changed users={args.changes:,}: first byte {result['first_byte_s']:.3f} s, whole {result['total_s']:.1f} s, "
                  f"{result['mb']:.0f} MB in {result['lines']:,} chunks, RSS {result['rss_before_mb']:.0f} MB before, "
                  f"grew {result['rss_grew_mb']:.1f} MB")
    finally:
        ImportChange.objects.filter(job__district=district).delete()
        User.objects.filter(district=district).delete()
        ImportJob.objects.filter(district=district).delete()
        district.delete()


if __name__ == "__main__":
    main()
