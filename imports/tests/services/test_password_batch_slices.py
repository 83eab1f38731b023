"""A password batch reads only its own rows of the stored files, not every row before them."""
import pytest
from django.contrib.auth.hashers import check_password

from imports.models import PasswordBatch
from imports.pipeline.rows import RowBuilder
from imports.services import jobs, passwords, runs
from imports.tests.factories import FULL_HEADER, IN_WINDOW, make_import_job, student, write_csv
from users.models import User

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_safety_hold")]
SECRET = "Str0ng-slice-Passw0rd!"


@pytest.fixture
def built_rows(monkeypatch):
    """District IDs of the rows built from the file, in order."""
    built, build = [], RowBuilder.build

    def counting(self, row, cells):
        user_row = build(self, row, cells)
        built.append(user_row.district_id)
        return user_row

    monkeypatch.setattr(RowBuilder, "build", counting)
    return built


@pytest.fixture
def job_with_batches(district, school, tmp_path, django_capture_on_commit_callbacks):
    """600 rows with passwords over two files, written by the run; the three batches not yet hashed."""
    assert passwords.HASH_BATCH_ROWS == 200
    rows = [student(f"S{n:03d}", Password=f"{SECRET}{n}") for n in range(600)]
    paths = [write_csv(tmp_path / "first.csv", rows[:300], header=FULL_HEADER),
             write_csv(tmp_path / "second.csv", rows[300:], header=FULL_HEADER)]
    job = jobs.import_job_submit(job=make_import_job(district, paths), now=IN_WINDOW, dispatch=False)
    with django_capture_on_commit_callbacks(execute=False):
        runs.import_job_run(job_id=job.id)  # as the worker does: the batches go to other workers
    assert sorted(PasswordBatch.objects.filter(job=job).values_list("start_index", flat=True)) == [0, 200, 400]
    return job


def _has_file_password(n: int) -> bool:
    return check_password(f"{SECRET}{n}", User.objects.get(district_user_id=f"S{n:03d}").password)


def test_the_last_batch_builds_only_rows_400_to_599_and_sets_their_passwords(job_with_batches, built_rows):
    batch = PasswordBatch.objects.get(job=job_with_batches, start_index=400)

    runs.password_batch_run(batch_id=batch.id)

    assert built_rows == [f"S{n:03d}" for n in range(400, 600)]  # rows 0-399 are not built again
    assert all(_has_file_password(n) for n in (400, 450, 599))
    assert not any(User.objects.get(district_user_id=f"S{n:03d}").has_usable_password() for n in (0, 250, 399))


def test_a_batch_that_crosses_into_the_next_file_reads_from_its_start_to_its_end(job_with_batches, built_rows):
    batch = PasswordBatch.objects.get(job=job_with_batches, start_index=200)

    runs.password_batch_run(batch_id=batch.id)

    # Rows 200-399: the last 100 of the first file and the first 100 of the second; one more row is
    # built to see that the slice has ended.
    assert built_rows[:200] == [f"S{n:03d}" for n in range(200, 400)] and len(built_rows) <= 201
    assert all(_has_file_password(n) for n in (200, 299, 300, 399))
    assert not User.objects.get(district_user_id="S400").has_usable_password()


def test_a_batch_planned_without_a_start_still_reads_from_the_top(job_with_batches, built_rows):
    batch = PasswordBatch.objects.get(job=job_with_batches, start_index=400)
    PasswordBatch.objects.filter(id=batch.id).update(start=None)  # planned by an earlier version

    runs.password_batch_run(batch_id=batch.id)

    assert built_rows[0] == "S000"
    assert all(_has_file_password(n) for n in (400, 599))
