"""Refusals: every refusal shown to a person is one type with a code, and a held or password-waiting run is a
result of import_job_apply, not an exception."""
import pytest
from django.core.management import CommandError, call_command

from imports.errors import Refusal
from imports.models import ImportStatus
from imports.services import apply, jobs, runs, safety
from imports.tests.factories import FULL_HEADER, IN_WINDOW, make_import_job, student, write_csv
from users.models import User
from users.tests.factories import make_user

pytestmark = pytest.mark.django_db


def _claimed(job):
    jobs.import_job_submit(job=job, now=IN_WINDOW, dispatch=False)
    return runs.import_job_claim(job_id=job.id)


def test_approving_an_import_that_is_not_on_hold_is_a_refusal_with_its_code(district, school, tmp_path):
    job = make_import_job(district, [write_csv(tmp_path / "r.csv", [student("1")])])

    with pytest.raises(Refusal) as refused:
        safety.import_job_approve(job=job)
    assert (refused.value.code, str(refused.value)) == ("not_on_hold", safety.ERROR_NOT_ON_HOLD)
    with pytest.raises(CommandError, match=safety.ERROR_NOT_ON_HOLD):
        call_command("discard_import", str(job.number), "--district", district.slug)


def test_a_held_run_is_a_result_and_writes_nothing(district, school, tmp_path):
    for n in range(1, 21):
        make_user(district, district_user_id=str(n), first_name="Same", last_name=f"Last{n}", grade="5", school=school, email="")
    rows = [student(str(n), **{"First Name": "Same", "Last Name": f"Last{n}"}) for n in range(1, 21)]
    job = _claimed(make_import_job(district, [write_csv(tmp_path / "r.csv", rows)]))
    User.objects.filter(district=district).update(last_name="Renamed since")  # the file now renames all 20

    result = apply.import_job_apply(job=job)

    assert result.outcome == apply.ApplyOutcome.HELD
    assert result.job.status == ImportStatus.ON_HOLD
    assert not result.job.changes.exists()


def test_a_run_whose_passwords_wait_for_hashing_says_so(district, school, tmp_path):
    job = _claimed(make_import_job(district, [write_csv(tmp_path / "r.csv", [student("1", Password="Tr0ub4dor&3-horse")], header=FULL_HEADER)]))

    result = apply.import_job_apply(job=job, hash_inline=False)

    assert result.outcome == apply.ApplyOutcome.PASSWORDS_PENDING
    assert result.job.status == ImportStatus.RUNNING and result.job.created_users.count() == 1


def test_a_file_that_no_longer_validates_is_a_refusal_that_fails_the_job(district, school, tmp_path):
    job = _claimed(make_import_job(district, [write_csv(tmp_path / "r.csv", [student("1")])]))
    school.delete()  # the mapped school is gone by the time the job runs

    with pytest.raises(Refusal) as refused:
        apply.import_job_apply(job=job)
    assert refused.value.code == "import_aborted"
