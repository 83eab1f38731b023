"""Two imports of the same district never apply at once, across real PostgreSQL connections."""
import datetime
import os
import threading

import pytest
from django.db import connection
from django.utils import timezone

from imports.models import ImportJob, ImportStatus
from imports.services import jobs, runs
from imports.tests.factories import IN_WINDOW, SCHOOL_SIS_ID, make_import_job, student, write_csv
from users.models import User
from users.tests.factories import make_admin, make_district, make_school

pytestmark = [
    pytest.mark.services,
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith("postgres"),
        reason="needs DATABASE_URL=postgres://... (the district lock is a PostgreSQL advisory lock)",
    ),
]


class LockHolder(threading.Thread):
    """Holds the district's import lock on its own database connection until released."""

    def __init__(self, district_id: int):
        super().__init__(daemon=True)
        self.district_id = district_id
        self.acquired = None
        self.holding = threading.Event()
        self.release = threading.Event()

    def run(self):
        try:
            with runs.district_import_lock(self.district_id) as acquired:
                self.acquired = acquired
                self.holding.set()
                self.release.wait(timeout=60)
        finally:
            connection.close()  # this thread's own connection
            self.holding.set()


@pytest.fixture
def lock_holder():
    holders = []

    def hold(district_id: int) -> LockHolder:
        holder = LockHolder(district_id)
        holders.append(holder)
        holder.start()
        assert holder.holding.wait(timeout=10)
        return holder

    yield hold
    for holder in holders:
        holder.release.set()
        holder.join(timeout=10)


def test_a_job_waits_while_another_import_of_the_district_holds_the_lock(transactional_db, lock_holder, tmp_path):
    district = make_district()
    make_school(district, sis_id=SCHOOL_SIS_ID)
    rows = [student("1001"), student("1002")]
    job = make_import_job(district, [write_csv(tmp_path / "roster.csv", rows)], created_by=make_admin(district))
    jobs.import_job_submit(job=job, now=IN_WINDOW, dispatch=False)  # due since IN_WINDOW

    holder = lock_holder(district.id)
    assert holder.acquired is True
    runs.import_job_run(job_id=job.id, queue_emails=False)

    job.refresh_from_db()
    assert job.status == ImportStatus.SCHEDULED
    assert job.status_note == runs.WAITING_NOTE
    assert job.attempts == 0 and job.dispatched_at is None
    assert job.run_after > timezone.now()
    assert not User.objects.filter(district=district, created_by_import=job).exists()

    holder.release.set()
    holder.join(timeout=10)
    assert not holder.is_alive()
    # runs.LOCK_RETRY_DELAY later (backdated here) the job is due again and runs.
    ImportJob.objects.filter(id=job.id).update(run_after=timezone.now() - datetime.timedelta(seconds=1))
    runs.import_job_run(job_id=job.id, queue_emails=False)

    job.refresh_from_db()
    assert job.status == ImportStatus.COMPLETED, job.failure_reason
    assert job.status_note == "" and job.attempts == 1
    assert sorted(User.objects.filter(created_by_import=job).values_list("district_user_id", flat=True)) == ["1001", "1002"]


def test_the_lock_is_per_district(transactional_db, lock_holder, tmp_path):
    district, neighbour = make_district(), make_district()
    make_school(district, sis_id=SCHOOL_SIS_ID)
    job = make_import_job(district, [write_csv(tmp_path / "roster.csv", [student("1001")])])
    jobs.import_job_submit(job=job, now=IN_WINDOW, dispatch=False)

    lock_holder(neighbour.id)
    runs.import_job_run(job_id=job.id, queue_emails=False)

    job.refresh_from_db()
    assert job.status == ImportStatus.COMPLETED, job.failure_reason
