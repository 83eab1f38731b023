"""Round three, item 9: uniqueness races never answer 500 and never meet a unique violation (whose
message would put the key, a student's value, in the database server's log).

Each test makes both sides pass their check before either writes, as two requests or two workers at
the same moment would: a barrier in front of the write. Without the locks both reach it and the
second write violates the constraint; with them the second waits, and its check sees the first.
"""
import os
import threading

import pytest
from django.db import connection

from imports.models import ImportStatus
from imports.services import runs, writers
from imports.services import jobs
from imports.tests.factories import IN_WINDOW, SCHOOL_SIS_ID, make_import_job, student, write_csv
from users import services
from users.models import User
from users.tests.factories import make_admin, make_district, make_school, make_user

pytestmark = [
    pytest.mark.services,
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith("postgres"),
        reason="needs DATABASE_URL=postgres://... (two connections writing at once)",
    ),
]

BARRIER_WAIT = 3  # seconds a side waits for the other at the write before going on alone


def _run_both(*calls):
    """Run the calls in two threads, each on its own connection; their results or exceptions."""
    results = [None, None]

    def run(i, call):
        try:
            results[i] = call()
        except Exception as exc:  # the test looks at what each side got
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def _meet_before(monkeypatch, owner, name):
    """Make owner.name wait (up to BARRIER_WAIT) until the other side reaches it too."""
    barrier = threading.Barrier(2)
    real = getattr(owner, name)

    def waiting(*args, **kwargs):
        try:
            barrier.wait(timeout=BARRIER_WAIT)
        except threading.BrokenBarrierError:
            pass
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, waiting)


def test_two_users_tab_edits_giving_one_district_id_at_once(transactional_db, monkeypatch):
    district = make_district()
    first, second = make_user(district, district_user_id="A-1"), make_user(district, district_user_id="A-2")
    _meet_before(monkeypatch, User, "save")

    results = _run_both(
        lambda: services.user_update(user=User.objects.get(pk=first.pk), values={"district_user_id": "S-777"}),
        lambda: services.user_update(user=User.objects.get(pk=second.pk), values={"district_user_id": "S-777"}),
    )

    refused = [r for r in results if isinstance(r, services.UserError)]
    saved = [r for r in results if r == ["district_user_id"]]
    assert len(saved) == 1 and len(refused) == 1, results
    assert refused[0].code == "district_id_taken"
    assert User.objects.filter(district=district, district_user_id="S-777").count() == 1


def test_two_districts_importing_one_new_username_at_once(transactional_db, monkeypatch, tmp_path):
    header = ("First Name", "Last Name", "District ID", "User Type", "Grade", "Email Address", "School SIS ID", "Username")
    submitted = []
    for n in (1, 2):
        district = make_district()
        district.change_threshold_percent = 100
        district.save(update_fields=["change_threshold_percent"])
        make_school(district, sis_id=SCHOOL_SIS_ID)
        rows = [student(f"{n}00{i}") for i in range(3)] + [student(f"{n}999", Username="shared.name")]
        path = write_csv(tmp_path / f"roster{n}.csv", rows, header=header)
        job = make_import_job(district, [path], created_by=make_admin(district))
        assert job.validation_summary["counts"]["errors"] == 0
        jobs.import_job_submit(job=job, now=IN_WINDOW, dispatch=False)
        submitted.append(job)
    _meet_before(monkeypatch, writers, "insert_users")

    _run_both(*[lambda job=job: runs.import_job_run(job_id=job.id, queue_emails=False) for job in submitted])

    for job in submitted:
        job.refresh_from_db()
    assert [j.status for j in submitted].count(ImportStatus.FAILED) == 0, [j.failure_reason for j in submitted]
    assert User.objects.filter(username__iexact="shared.name").count() == 1
    winner = User.objects.get(username__iexact="shared.name").district_id
    [loser] = [j for j in submitted if j.district_id != winner]
    assert loser.status == ImportStatus.COMPLETED_WITH_WARNINGS and loser.counts["created"] == 3
    [issue] = loser.issues.filter(code="username_taken")
    assert issue.message == 'Username "shared.name" is not available.' and issue.row == 5
