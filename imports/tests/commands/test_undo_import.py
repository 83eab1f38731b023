"""manage.py undo_import: asks nothing, --dry-run only shows, --now runs it here, a second undo fails."""
import io

import pytest
from django.core.management import CommandError, call_command

from imports.models import ImportJob, ImportStatus
from imports.tests.factories import make_import_job, run_job, student, write_csv
from users.models import User
from users.tests.factories import make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_safety_hold")]


@pytest.fixture
def imported(district, school, tmp_path):
    make_user(district, district_user_id="E1", first_name="Ann", last_name="Old", grade="3", school=school, email="")
    rows = [student("E1", **{"First Name": "Ann", "Last Name": "New", "Grade": "3"}), student("N1")]
    job = run_job(make_import_job(district, [write_csv(tmp_path / "r.csv", rows)]))
    assert job.status == ImportStatus.COMPLETED, job.failure_reason
    return job


def _undo(imported, *flags) -> str:
    out = io.StringIO()
    call_command("undo_import", str(imported.number), "--district", imported.district.slug, *flags, stdout=out)
    return out.getvalue()


def test_dry_run_prints_the_preview_and_changes_nothing(imported):
    out = _undo(imported, "--dry-run")
    assert "disable 1 user(s) the import created" in out
    assert "put back 1 field(s) of 1 user(s)" in out
    assert "revert   E1  Last Name: 'New' -> 'Old'" in out
    assert User.objects.get(district_user_id="N1").is_active
    assert not ImportJob.objects.filter(undo_of=imported).exists()


def test_now_runs_the_undo_in_this_process(imported):
    out = _undo(imported, "--now")
    undo_job = ImportJob.objects.get(undo_of=imported)
    assert f"Import {undo_job.number} (undo of import {imported.number}): Completed" in out
    assert not User.objects.get(district_user_id="N1").is_active
    assert User.objects.get(district_user_id="E1").last_name == "Old"


def test_a_second_undo_exits_non_zero_saying_it_was_already_undone(imported):
    _undo(imported, "--now")
    with pytest.raises(CommandError, match=f"Import {imported.number} was already undone"):
        _undo(imported, "--now")
    with pytest.raises(CommandError, match="already undone"):
        _undo(imported, "--dry-run")


def test_an_unknown_import_is_an_error(imported):
    with pytest.raises(CommandError, match="No import 99"):
        call_command("undo_import", "99", "--district", imported.district.slug)
