"""A Student Demographics import runs through a real Celery worker against Redis and PostgreSQL."""
import pytest

from imports.models import ImportChange, ImportIssue, ImportStatus
from imports.services import jobs
from imports.tests.factories import csv_text, make_import_job
from imports.types.demographics import ERROR_NO_STUDENT
from users.models import User
from users.tests.factories import make_user

from .worker import job_settled, needs_services, sent_emails, wait_for

pytestmark = [pytest.mark.services, needs_services]
HEADER = ("DistrictUserID", "Grade", "Gender", "Race", "Hispanic or Latino", "Special Education", "Migrant")
STUDENTS = 100


def test_a_demographics_import_of_a_hundred_students_runs_in_the_worker(workers, broker, open_district, email_dir, tmp_path):
    district = open_district
    district.change_threshold_percent = 100
    district.save()
    school = district.schools.get()
    for n in range(1, STUDENTS + 1):
        make_user(district, district_user_id=f"{n:06d}", grade="3", school=school, hispanic_latino=True, disabled=True, migrant=True)
    before = {u["id"]: u for u in User.objects.values("id", "username", "password", "district_user_id", "first_name")}
    rows = [[f"{n:06d}", "4" if n % 2 else "", "M", "White", "" if n % 2 else "Y", "N", ""] for n in range(1, STUDENTS + 1)]
    bad = tmp_path / "bad.csv"
    bad.write_text(csv_text([*rows, ["unknown-1", "4", "", "", "", "", ""]], HEADER), encoding="utf-8")
    good = tmp_path / "demographics.csv"
    good.write_text(csv_text(rows, HEADER), encoding="utf-8")

    refused = make_import_job(district, [bad], created_by=district.admin, import_type="student_demographics")
    (error,) = ImportIssue.objects.filter(job=refused, severity="error")
    assert (error.row, error.message) == (STUDENTS + 2, ERROR_NO_STUDENT.format(district_id="unknown-1"))

    job = make_import_job(district, [good], created_by=district.admin, import_type="student_demographics")
    workers()
    job = jobs.import_job_submit(job=job)

    job = wait_for(lambda: job_settled(job.id, broker), message="the worker to run the demographics import")
    assert job.status == ImportStatus.COMPLETED, job.failure_reason
    assert (job.counts["created"], job.counts["updated"]) == (0, STUDENTS)
    odd, even = User.objects.get(district_user_id="000001"), User.objects.get(district_user_id="000002")
    assert (odd.grade, odd.gender, odd.race, odd.hispanic_latino, odd.disabled, odd.migrant) == ("4", "M", "White", False, False, False)
    assert (even.grade, even.hispanic_latino, even.migrant) == ("3", True, False)  # blank grade kept; blank flag = No
    assert {u["id"]: u for u in User.objects.values("id", "username", "password", "district_user_id", "first_name")} == before
    assert ImportChange.objects.filter(job=job).count() == STUDENTS
    [email] = [m for m in sent_emails(email_dir) if m["Subject"].startswith(f"Classworks import {job.number}:")]
    assert email["Subject"] == f"Classworks import {job.number}: Completed"
