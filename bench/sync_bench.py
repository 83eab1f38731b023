"""Many districts' nightly syncs due at once: the total time and each district's wait for a worker.

    python bench/sync_bench.py [--database-url postgres://postgres@127.0.0.1:5432/classworks_sync_bench]
        [--districts 1000] [--users 1000] [--workers 2]

The database is dropped, created and migrated. Every district gets a drop-folder sync (User Data, full
roster) and a OneRoster zip of `users` students in its incoming folder, all due at the same moment.
Beat's dispatch (sync_due_dispatch) queues one task per district in fair order; `workers` processes
take them as Celery workers would and run each district's whole sync (read, validate, write, move the
upload). A district's wait is from the dispatch to the moment a worker starts it.
"""
import argparse
import multiprocessing
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.database import recreate_database  # noqa: E402




def _worker(work, results):
    import django

    django.setup()
    from sync import services

    while True:
        item = work.get()
        if item is None:
            return
        district_id, queued = item
        started = time.time()
        run = services.sync_district_run(district_id=district_id)
        results.put((district_id, queued, started, time.time(), run.status if run else "none",
                     (run.delta.get("user_data") or {}).get("added", 0) if run else 0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/classworks_sync_bench")
    parser.add_argument("--districts", type=int, default=1000)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    recreate_database(args.database_url)
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "classworks_import.settings.test")
    sync_root = tempfile.mkdtemp(prefix="sync-bench-")
    import django
    from django.conf import settings

    django.setup()
    settings.SYNC_ROOT = sync_root
    settings.SYNC_SETTLE_SECONDS = 0
    from django.core.management import call_command
    from django.db import connections
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    from sync import dropfolder, services, tasks
    from sync.models import SyncSettings
    from sync.tests.roster import roster, roster_zip
    from users.tests.factories import make_district, make_school

    setup = time.perf_counter()
    template = roster_zip(roster(args.users), Path(sync_root) / "template.zip")
    for n in range(args.districts):
        district = make_district(slug=f"bench-{n:04d}", name=f"Bench {n}")
        make_school(district, sis_id="101", name="Lincoln Elementary")
        services.sync_settings_update(district=district, source="folder", schedule_time=None, import_types=["user_data"],
                                      full_roster=True)
        shutil.copy(template, dropfolder.folders_ensure(district.slug) / "roster.zip")
    SyncSettings.objects.update(next_run_at=timezone.now())
    print(f"set up {args.districts:,} districts x {args.users:,} users in {time.perf_counter() - setup:.1f} s")

    work, results = multiprocessing.Queue(), multiprocessing.Queue()
    tasks.run_sync.delay = lambda district_id, *a: work.put((district_id, time.time()))
    connections.close_all()
    workers = [multiprocessing.Process(target=_worker, args=(work, results)) for _ in range(args.workers)]
    started = time.time()
    order = services.sync_due_dispatch()
    connections.close_all()
    for process in workers:
        process.start()
    rows = [results.get() for _ in order]
    for _ in workers:
        work.put(None)
    for process in workers:
        process.join()
    total = max(r[3] for r in rows) - started
    waits = sorted(r[2] - r[1] for r in rows)
    runs = [r[3] - r[2] for r in rows]
    statuses = {s: sum(1 for r in rows if r[4] == s) for s in {r[4] for r in rows}}
    added = sum(r[5] for r in rows)
    p95 = waits[min(len(waits) - 1, int(0.95 * len(waits)))]
    print(f"{args.districts:,} districts x {args.users:,} users, {args.workers} workers: total {total:.1f} s, "
          f"{added / total:,.0f} users/s; statuses {statuses}")
    print(f"wait for a worker: median {statistics.median(waits):.1f} s, p95 {p95:.1f} s, max {waits[-1]:.1f} s; "
          f"one district's sync: median {statistics.median(runs):.2f} s, max {max(runs):.2f} s")
    print(f"fair order: dispatched oldest-first, {len(order):,} tasks (one per district)")
    shutil.rmtree(sync_root, ignore_errors=True)


if __name__ == "__main__":
    main()
