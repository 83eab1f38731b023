"""Beat dispatches due syncs, one task per district in fair order; one run at a time per district."""
import datetime
import queue
import threading
import time

import pytest
from django.utils import timezone

from imports.models import ImportJob, ImportStatus
from imports.services import jobs
from sync import services, tasks
from sync.models import SyncRunStatus, SyncSettings
from sync.tests.conftest import drop
from sync.tests.roster import roster
from users.tests.factories import make_district

pytestmark = pytest.mark.django_db


def _settings(district, **kw):
    return services.sync_settings_update(district=district, source="folder", schedule_time=datetime.time(22, 0),
                                         import_types=["user_data"], **kw)


def test_next_run_is_the_schedule_in_the_district_time_zone(district):
    now = datetime.datetime(2024, 1, 10, 12, 0, tzinfo=datetime.timezone.utc)  # 06:00 in Chicago
    cfg = services.sync_settings_update(district=district, source="folder", schedule_time=datetime.time(22, 0),
                                        import_types=["user_data"], now=now)
    assert cfg.next_run_at == datetime.datetime(2024, 1, 11, 4, 0, tzinfo=datetime.timezone.utc)  # 22:00 CST
    off = services.sync_settings_update(district=district, source="folder", schedule_time=None, import_types=["user_data"])
    assert off.next_run_at is None


def test_due_districts_are_dispatched_oldest_run_first_one_task_each(monkeypatch):
    sent = []
    monkeypatch.setattr(tasks.run_sync, "delay", lambda district_id, *a: sent.append(district_id))
    now = timezone.now()
    districts = [make_district() for _ in range(4)]
    for n, district in enumerate(districts):
        cfg = _settings(district)
        last = None if n == 2 else now - datetime.timedelta(days=n + 1)
        SyncSettings.objects.filter(id=cfg.id).update(next_run_at=now, last_run_at=last)
    not_due = _settings(make_district())
    SyncSettings.objects.filter(id=not_due.id).update(next_run_at=now + datetime.timedelta(hours=1))
    assert services.sync_due_dispatch(now=now) == [districts[i].id for i in (2, 3, 1, 0)]
    assert sent == [districts[i].id for i in (2, 3, 1, 0)]
    assert services.sync_due_dispatch(now=now) == []  # dispatched: not sent twice while queued
    assert services.sync_due_dispatch(now=now + services.REDISPATCH_AFTER + datetime.timedelta(seconds=1))  # a lost message is sent again


def test_a_district_whose_worker_died_mid_run_is_dispatched_again(monkeypatch):
    monkeypatch.setattr(tasks.run_sync, "delay", lambda district_id, *a: None)
    now = timezone.now()
    cfg = _settings(make_district())
    SyncSettings.objects.filter(id=cfg.id).update(next_run_at=now, running_since=now - datetime.timedelta(minutes=5))
    assert services.sync_due_dispatch(now=now) == []  # running: not twice at once
    later = now + services.RUN_STALE
    assert services.sync_due_dispatch(now=later) == [cfg.district_id]


def test_a_run_of_a_district_already_running_is_refused(district, school):
    cfg = _settings(district)
    SyncSettings.objects.filter(id=cfg.id).update(running_since=timezone.now())
    run = services.sync_run(district=district)
    assert run.status == SyncRunStatus.BUSY and run.message == services.ERROR_ALREADY_RUNNING


def test_a_sync_never_overlaps_a_manual_import_and_stays_due(district, school):
    cfg = _settings(district)
    due = timezone.now() - datetime.timedelta(minutes=1)
    SyncSettings.objects.filter(id=cfg.id).update(next_run_at=due)
    manual = jobs.import_job_create(district=district)
    ImportJob.objects.filter(id=manual.id).update(status=ImportStatus.RUNNING, heartbeat_at=timezone.now())
    drop(district, roster(5))
    run = services.sync_run(district=district)
    assert run.status == SyncRunStatus.BUSY and run.message == services.ERROR_IMPORT_RUNNING
    assert SyncSettings.objects.get(id=cfg.id).next_run_at == due  # tried again at the next dispatch
    assert not ImportJob.objects.filter(district=district, source="sync").exists()


def test_fifty_districts_due_at_once_on_two_workers_none_waits_behind_a_large_one(monkeypatch):
    """One large district (100x the others) is the oldest, so it is taken first: the second worker goes through
    the other 49 meanwhile, in fair order, and none of them waits for the large run to end."""
    now = timezone.now()
    districts = [make_district() for _ in range(50)]
    for n, district in enumerate(districts):
        cfg = _settings(district)
        SyncSettings.objects.filter(id=cfg.id).update(next_run_at=now, last_run_at=now - datetime.timedelta(days=50 - n))
    large = districts[0].id
    unit = 0.004
    work: queue.Queue = queue.Queue()
    monkeypatch.setattr(tasks.run_sync, "delay", lambda district_id, *a: work.put((district_id, time.monotonic())))
    timeline = {}

    def fake_run(*, district_id, trigger="schedule"):
        started = time.monotonic()
        time.sleep(unit * (100 if district_id == large else 1))
        timeline[district_id] = (started, time.monotonic())

    # The run's length is simulated (threads cannot share the test database); dispatch and the task are real.
    monkeypatch.setattr(services, "sync_district_run", fake_run)

    def worker():
        while True:
            try:
                district_id, _ = work.get_nowait()
            except queue.Empty:
                return
            tasks.run_sync(district_id)  # the task body, as a worker runs it

    order = services.sync_due_dispatch(now=now)
    assert order == [d.id for d in districts]  # oldest last run first
    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(timeline) == 50
    large_end = timeline[large][1]
    small_starts = sorted(start for district_id, (start, _) in timeline.items() if district_id != large)
    # Fair: the small districts start in dispatch order and none starts after the large run has ended.
    assert [d for d in order if d != large] == sorted((d for d in timeline if d != large), key=lambda d: timeline[d][0])
    assert all(start < large_end for start in small_starts)
