"""Trust, safety hold: a file that would rename or move a large part of the district waits On hold,
writes nothing, shows what it would change, and runs only once an administrator approves it."""
import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from imports.models import ImportChange, ImportStatus
from imports.services import jobs, runs, safety
from imports.tests.factories import IN_WINDOW, make_import_job, set_window_around_now, write_csv
from users.models import User
from users.tests.factories import make_school, make_user

pytestmark = pytest.mark.django_db

PER_SCHOOL = 30
MOVED = 20  # Lincoln students the wrong file puts in Washington
RENAMED = 10  # Washington students the wrong file gives another last name


@pytest.fixture
def lincoln(district):
    return make_school(district, sis_id="101", name="Lincoln Elementary")


@pytest.fixture
def washington(district):
    return make_school(district, sis_id="202", name="Washington Elementary")


@pytest.fixture
def students(district, lincoln, washington):
    """60 existing students, 30 in each school."""
    return [
        make_user(district, district_user_id=f"{n:04d}", first_name=f"First{n}", last_name=f"Last{n}", grade="5", email="",
                  school=lincoln if n <= PER_SCHOOL else washington)
        for n in range(1, 2 * PER_SCHOOL + 1)
    ]


def _row(user, *, school=None, last_name=None) -> dict:
    return {
        "First Name": user.first_name, "Last Name": last_name or user.last_name, "District ID": user.district_user_id,
        "User Type": "Student", "Grade": "5", "Email Address": "", "School SIS ID": (school or user.school).sis_id,
    }


def _wrong_year_file(path, students, washington):
    """Last year's roster: 20 of Lincoln's 30 students in Washington, 10 of Washington's 30 with other last names."""
    rows = []
    for n, user in enumerate(students, 1):
        if n <= MOVED:
            rows.append(_row(user, school=washington))
        elif PER_SCHOOL < n <= PER_SCHOOL + RENAMED:
            rows.append(_row(user, last_name=f"Formerly{n}"))
        else:
            rows.append(_row(user))
    return write_csv(path, rows)


def _one_change_file(path, students):
    return write_csv(path, [_row(u, last_name="Corrected") if n == 1 else _row(u) for n, u in enumerate(students, 1)])


def _snapshot(district):
    return sorted(User.objects.filter(district=district, district_user_id__isnull=False).values_list(
        "district_user_id", "first_name", "last_name", "school_id"))


@pytest.fixture
def open_window(district):
    """The district's off-peak window is open now: an approved or submitted job runs at once."""
    set_window_around_now(district, open_now=True)
    district.refresh_from_db()
    return district


@pytest.fixture
def wrong_year_job(district, district_admin, students, washington, open_window, tmp_path):
    """A draft at Review, made through the services, for the wrong school year's file."""
    return make_import_job(district, [_wrong_year_file(tmp_path / "roster_last_year.csv", students, washington)], created_by=district_admin)


def _held_job(district, district_admin, students, washington, tmp_path, name):
    job = make_import_job(district, [_wrong_year_file(tmp_path / name, students, washington)], created_by=district_admin)
    # Not handed to a worker: held by the submit itself, so the admin can decide before the window opens.
    job = jobs.import_job_submit(job=job, dispatch=False)
    assert job.status == ImportStatus.ON_HOLD
    return job


def _assert_shows_the_numbers(page: str):
    assert f"{MOVED + RENAMED} of {2 * PER_SCHOOL}" in page  # 30 of 60 existing users
    assert "Lincoln Elementary" in page and f"{MOVED} of {PER_SCHOOL}" in page
    assert "Largest changes" in page and "District ID 0001" in page


def test_a_wrong_school_year_file_is_held_at_submit_shown_and_runs_once_approved(
    district, district_admin, district_admin_client, wrong_year_job, washington, django_capture_on_commit_callbacks
):
    client, job = district_admin_client, wrong_year_job
    before = _snapshot(district)

    review = client.get(reverse("imports:review", args=[job.number])).content.decode()
    _assert_shows_the_numbers(review)

    with django_capture_on_commit_callbacks(execute=True):  # a worker would run anything handed to it
        response = client.post(reverse("imports:review", args=[job.number]))

    assert response["Location"] == reverse("imports:detail", args=[job.number])
    job.refresh_from_db()
    assert job.status == ImportStatus.ON_HOLD
    assert (job.hold_summary["changed"], job.hold_summary["existing_users"], job.hold_summary["hold"]) == (30, 60, True)
    assert _snapshot(district) == before
    assert not ImportChange.objects.filter(job=job).exists()
    assert runs.import_jobs_dispatch_due() == []  # the dispatcher leaves a held job alone
    detail = client.get(reverse("imports:detail", args=[job.number])).content.decode()
    _assert_shows_the_numbers(detail)
    assert "On hold" in detail and reverse("imports:approve", args=[job.number]) in detail

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("imports:approve", args=[job.number]))

    assert response["Location"] == reverse("imports:detail", args=[job.number])
    job.refresh_from_db()
    assert job.status == ImportStatus.COMPLETED, job.failure_reason
    assert (job.approved_by, job.counts["updated"]) == (district_admin, MOVED + RENAMED)
    assert User.objects.filter(district=district, school=washington).count() == PER_SCHOOL + MOVED
    assert User.objects.filter(district=district, last_name__startswith="Formerly").count() == RENAMED
    assert reverse("imports:approve", args=[job.number]) not in client.get(reverse("imports:detail", args=[job.number])).content.decode()


def test_the_admin_is_not_told_a_held_import_is_scheduled(wrong_year_job, district_admin_client):
    page = district_admin_client.post(reverse("imports:review", args=[wrong_year_job.number]), follow=True).content.decode()

    assert "On hold" in page
    assert "is scheduled" not in page


def test_the_largest_changes_name_the_schools(wrong_year_job, district_admin_client):
    page = district_admin_client.get(reverse("imports:review", args=[wrong_year_job.number])).content.decode()
    held = page[page.index('id="safety-hold"'):]

    assert "school_id" not in held
    assert "Lincoln Elementary (101) → Washington Elementary (202)" in held


def test_discard_leaves_the_job_discarded_and_every_user_as_it_was(
    district, district_admin, district_admin_client, students, washington, open_window, tmp_path,
    django_capture_on_commit_callbacks,
):
    job = _held_job(district, district_admin, students, washington, tmp_path, "wrong.csv")
    before = _snapshot(district)

    with django_capture_on_commit_callbacks(execute=True):
        response = district_admin_client.post(reverse("imports:discard", args=[job.number]))

    assert response["Location"] == reverse("imports:detail", args=[job.number])
    job.refresh_from_db()
    assert job.status == ImportStatus.DISCARDED and job.completed_at is not None
    assert _snapshot(district) == before
    assert runs.import_jobs_dispatch_due() == [] and runs.import_job_run(job_id=job.id) is None
    assert f'href="{reverse("imports:detail", args=[job.number])}"' in district_admin_client.get(reverse("imports:history")).content.decode()
    # Neither button works on it any more.
    district_admin_client.post(reverse("imports:approve", args=[job.number]))
    job.refresh_from_db()
    assert job.status == ImportStatus.DISCARDED and _snapshot(district) == before


def test_the_approve_and_discard_commands_do_the_same(
    district, district_admin, students, washington, open_window, tmp_path, django_capture_on_commit_callbacks
):
    approved = _held_job(district, district_admin, students, washington, tmp_path, "first.csv")
    discarded = _held_job(district, district_admin, students, washington, tmp_path, "second.csv")
    before = _snapshot(district)

    call_command("discard_import", discarded.number, district=district.slug, stdout=io.StringIO())

    discarded.refresh_from_db()
    assert discarded.status == ImportStatus.DISCARDED and _snapshot(district) == before

    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("approve_import", approved.number, district=district.slug, stdout=out)

    assert f"Import {approved.number} approved" in out.getvalue()
    approved.refresh_from_db()
    assert approved.status == ImportStatus.COMPLETED and approved.approved_at is not None
    assert User.objects.filter(district=district, school=washington).count() == PER_SCHOOL + MOVED
    with pytest.raises(CommandError, match=safety.ERROR_NOT_ON_HOLD):
        call_command("approve_import", approved.number, district=district.slug, stdout=io.StringIO())
    with pytest.raises(CommandError, match=safety.ERROR_NOT_ON_HOLD):
        call_command("discard_import", approved.number, district=district.slug, stdout=io.StringIO())


def test_a_normal_file_that_changes_one_user_is_not_held(district, district_admin, students, tmp_path):
    job = make_import_job(district, [_one_change_file(tmp_path / "roster.csv", students)], created_by=district_admin)

    job = jobs.import_job_submit(job=job, now=IN_WINDOW, dispatch=False)

    assert job.status == ImportStatus.SCHEDULED
    assert job.hold_summary["hold"] is False and job.hold_summary["changed"] == 1
    runs.import_job_run(job_id=job.id)
    job.refresh_from_db()
    assert (job.status, job.counts["updated"]) == (ImportStatus.COMPLETED, 1)
    assert User.objects.get(district=district, district_user_id="0001").last_name == "Corrected"


def test_a_job_that_passes_the_threshold_only_at_run_time_is_held_by_the_worker_unless_approved(
    district, district_admin, students, open_window, tmp_path, django_capture_on_commit_callbacks
):
    job = make_import_job(district, [_one_change_file(tmp_path / "roster.csv", students)], created_by=district_admin)
    job = jobs.import_job_submit(job=job, now=IN_WINDOW, dispatch=False)
    assert job.status == ImportStatus.SCHEDULED  # reviewed and submitted when it changed one user
    # Between review and run, another tool renames 30 students: the file would now rename them all back.
    renamed = [u.id for u in students[PER_SCHOOL:]]
    User.objects.filter(id__in=renamed).update(last_name="Renamed")
    before = _snapshot(district)

    runs.import_job_run(job_id=job.id)

    job.refresh_from_db()
    assert job.status == ImportStatus.ON_HOLD
    assert job.hold_summary["changed"] == PER_SCHOOL + 1 and job.hold_summary["hold"] is True
    assert _snapshot(district) == before and job.rows_committed == 0
    assert runs.import_jobs_dispatch_due() == []

    with django_capture_on_commit_callbacks(execute=True):
        safety.import_job_approve(job=job, approved_by=district_admin)

    job.refresh_from_db()
    assert job.status == ImportStatus.COMPLETED, job.failure_reason  # approved: the same check lets it through
    assert job.counts["updated"] == PER_SCHOOL + 1
    assert not User.objects.filter(id__in=renamed, last_name="Renamed").exists()
