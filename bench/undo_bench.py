"""How long an undo takes: the preview page's work and the undo job itself, on PostgreSQL, and what
recording the group additions adds to the import that a later undo needs.

    python bench/undo_bench.py --database-url postgres://postgres@127.0.0.1:5432/classworks_undo_bench \\
        [--created 20000] [--changed 20000] [--rounds 2]

The database is dropped, created and migrated. One district gets `changed` existing students; an
import creates `created` new ones, changes every existing one (last name and grade) and puts all
of them in a custom group; the same import runs in fresh districts with and without recording the
group additions, alternately, best of --rounds each. Then the last import is previewed and undone.
"""
import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.database import recreate_database  # noqa: E402




def _district(slug: str, changed: int):
    from users.models import User
    from users.tests.factories import make_custom_group, make_district, make_school

    district = make_district(slug=slug, name=slug, change_threshold_percent=100)
    school = make_school(district, sis_id="101", name="Lincoln")
    User.objects.bulk_create([
        User(district=district, username=f"{slug}.e{n}", district_user_id=f"E{n:06d}", first_name=f"Eve{n}",
             last_name=f"Before{n}", grade="3", school=school, user_type="student", password="!")
        for n in range(changed)
    ], batch_size=5000)
    return district, make_custom_group(district, name="Everyone")


def _import(district, group, folder: Path, created: int, changed: int):
    from imports.tests.factories import make_import_job, run_job, student, write_csv

    rows = [student(f"E{n:06d}", **{"First Name": f"Eve{n}", "Last Name": f"After{n}", "Grade": "4"}) for n in range(changed)]
    rows += [student(f"N{n:06d}", **{"First Name": f"New{n}", "Last Name": "Wrong"}) for n in range(created)]
    path = write_csv(folder / f"{district.slug}.csv", rows)
    job = make_import_job(district, [path], custom_group=group, group_members="all")
    started = time.perf_counter()
    job = run_job(job)
    return job, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/classworks_undo_bench")
    parser.add_argument("--created", type=int, default=20_000)
    parser.add_argument("--changed", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    recreate_database(args.database_url)
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "classworks_import.settings.test")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from imports.services import apply, runs, undo

    folder = Path(tempfile.mkdtemp(prefix="undo-bench-"))
    recorded = apply._record_group_additions
    plain, with_record = [], []
    # Alternated, best of `rounds` each: a shared machine's load moves more than the difference.
    for n in range(args.rounds):
        apply._record_group_additions = lambda job, user_ids: None
        plain.append(_import(*_district(f"without-record-{n}", args.changed), folder, args.created, args.changed)[1])
        apply._record_group_additions = recorded
        job, seconds = _import(*_district(f"with-record-{n}", args.changed), folder, args.created, args.changed)
        assert job.status == "completed", job.failure_reason
        with_record.append(seconds)
    plain_seconds, import_seconds = min(plain), min(with_record)

    started = time.perf_counter()
    preview = undo.import_undo_preview(job=job)
    preview_seconds = time.perf_counter() - started

    started = time.perf_counter()
    undo_job = undo.import_undo_request(job=job, dispatch=False)
    runs.import_job_run(job_id=undo_job.id, queue_emails=False)
    undo_seconds = time.perf_counter() - started
    undo_job.refresh_from_db()
    assert undo_job.status == "completed", undo_job.failure_reason

    print(f"import: {args.created:,} created + {args.changed:,} changed, all put in a group")
    print(f"  import without recording group additions  {plain_seconds:7.2f} s")
    print(f"  import recording group additions           {import_seconds:7.2f} s")
    print(f"undo preview (whole counts, first lines)      {preview_seconds:7.2f} s  {dict(preview.counts)}")
    print(f"undo job (request, claim, write, complete)    {undo_seconds:7.2f} s  {undo_job.counts}")


if __name__ == "__main__":
    main()
