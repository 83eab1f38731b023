"""School Mapping for a district with 2,000 schools and a file with 2,000 school values: page size, server
time and Chromium's time to render it.

    .venv/bin/python bench/school_mapping_bench.py [--database-url postgres://postgres@127.0.0.1:5432/cw_trust] \\
        [--schools 2000] [--values 2000] [--repeat 5]

The schools and the job's school values (ImportSchoolValue rows, as the background pass stores them)
are created in a new district; the page (200 values a page) is fetched through Django's test client,
signed in as its admin, --repeat times (median server time). The HTML is then loaded into Debian's
Chromium (Playwright) with page.set_content, timed until the load event, with a layout forced. The
district is deleted at the end.
"""
import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def render_seconds(html: str) -> float:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        started = time.perf_counter()
        page.set_content(html, wait_until="load")
        page.evaluate("document.body.getBoundingClientRect().height")  # force style and layout
        elapsed = time.perf_counter() - started
        browser.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/cw_trust"))
    parser.add_argument("--schools", type=int, default=2000)
    parser.add_argument("--values", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--selects", action="store_true", help="a <select> per line, as before, for comparison")
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = args.database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "classworks_import.settings.test"
    os.environ.setdefault("PRIVATE_STORAGE_ROOT", tempfile.mkdtemp(prefix="schools-bench-"))
    import django

    django.setup()
    from django.conf import settings

    settings.ALLOWED_HOSTS = ["testserver"]
    from django.core.management import call_command
    from django.test import Client
    from django.urls import reverse

    from imports.models import ImportJob, ImportSchoolValue, WizardStep
    from imports.services import jobs
    from imports.services.validation import school_values_key
    from schools.models import School
    from users.tests.factories import make_admin, make_district

    if args.selects:
        from imports.views import wizard

        wizard.SCHOOL_SELECT_MAX = 10**9
    call_command("migrate", verbosity=0)
    district = make_district()
    admin = make_admin(district)
    try:
        School.objects.bulk_create([School(district=district, name=f"Washington Elementary {n:04d}", sis_id=f"{n:05d}")
                                    for n in range(args.schools)])
        job = jobs.import_job_create(district=district, created_by=admin, description="bench", import_type="user_data")
        ImportSchoolValue.objects.bulk_create([ImportSchoolValue(job=job, position=i, value=f"Campus {i}", rows=10)
                                               for i in range(args.values)])
        ImportJob.objects.filter(id=job.id).update(step=WizardStep.MAP_SCHOOLS, field_mapping={"school_sis_id": "School"})
        job.refresh_from_db()
        ImportJob.objects.filter(id=job.id).update(school_values_key=school_values_key(job), validation_phase="")
        client = Client()
        client.force_login(admin)
        url = reverse("imports:schools", args=[job.number])
        times, html = [], ""
        for _ in range(args.repeat + 1):
            started = time.perf_counter()
            response = client.get(url)
            times.append(time.perf_counter() - started)
            html = response.content.decode()
        assert response.status_code == 200 and ("<select" if args.selects else "school-choices") in html, html[:500]
        print(f"School Mapping, {args.schools:,} schools, {args.values:,} values (200 a page): "
              f"{len(html.encode()) / 1024:,.0f} KiB of HTML, {html.count('<option'):,} options, "
              f"server median {statistics.median(times[1:]) * 1000:.0f} ms")
        try:
            print(f"    Chromium: loaded and laid out in {render_seconds(html):.2f} s")
        except Exception as exc:  # Playwright's 30 s timeout: the old page never finished
            print(f"    Chromium: not loaded within 30 s ({type(exc).__name__})")
    finally:
        ImportJob.objects.filter(district=district).delete()
        School.objects.filter(district=district).delete()
        district.delete()


if __name__ == "__main__":
    main()
