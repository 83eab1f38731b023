"""`import_users --now` checks the file once: the run takes the command's own pass, as a run takes the wizard's
(PostgreSQL, where a run can tell that the district's users are as the pass found them)."""
import io

import pytest
from django.core.management import call_command
from django.db import connection

from imports.models import ImportJob, ImportStatus
from imports.tests.factories import student, write_csv
from users.models import User
from users.tests.factories import make_custom_group

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_safety_hold")]


@pytest.fixture(autouse=True)
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("a run takes a pass as its check only where the users' fingerprint is kept (PostgreSQL)")



def _import_now(path, district, *extra):
    call_command("import_users", str(path), "--district", district.slug, "--now", *extra,
                 stdout=io.StringIO(), stderr=io.StringIO())
    return ImportJob.objects.filter(district=district).latest("id")


def test_a_run_at_once_writes_what_the_commands_pass_found_without_checking_again(district, school, tmp_path, reads):
    path = write_csv(tmp_path / "roster.csv", [student(str(n), **{"Last Name": f"L{n}"}) for n in range(1, 6)])

    job = _import_now(path, district)

    assert job.status == ImportStatus.COMPLETED and job.counts["created"] == 5
    assert reads == ["roster.csv"]  # the command's pass; the run read nothing again
    assert sorted(User.objects.filter(district=district).exclude(district_user_id=None)
                  .values_list("last_name", flat=True)) == [f"L{n}" for n in range(1, 6)]


def test_a_re_import_writes_only_its_changed_row_and_reads_the_file_once(district, school, tmp_path, reads):
    rows = [student(str(n), **{"Last Name": f"L{n}"}) for n in range(1, 6)]
    _import_now(write_csv(tmp_path / "first.csv", rows), district)
    rows[1] = student("2", **{"Last Name": "Changed"})
    reads.clear()

    job = _import_now(write_csv(tmp_path / "second.csv", rows), district)

    assert job.status == ImportStatus.COMPLETED
    assert (job.counts["updated"], job.counts["unchanged"]) == (1, 4)
    assert reads == ["second.csv"]
    assert User.objects.get(district=district, district_user_id="2").last_name == "Changed"


def test_a_group_run_still_gets_every_row_when_the_command_checked_them_all(district, school, tmp_path, reads):
    rows = [student(str(n)) for n in range(1, 4)]
    _import_now(write_csv(tmp_path / "first.csv", rows), district)
    make_custom_group(district, name="Grade 5")
    reads.clear()

    job = _import_now(write_csv(tmp_path / "second.csv", rows + [student("4")]), district, "--group", "Grade 5")

    assert job.status == ImportStatus.COMPLETED
    assert reads == ["second.csv"]  # no row was left unmade for the group to miss: nothing to read again
    assert set(job.custom_group.members.values_list("district_user_id", flat=True)) == {"1", "2", "3", "4"}
