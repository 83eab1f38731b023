"""The Classes type through the wizard: Upload, Map Fields, School Mapping, Validate File, Additional Actions, Review."""
import datetime
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from classes.tests.commands.test_import_classes import EXPECTED_PLAIN, exported
from imports.models import ImportIssue, ImportJob, ImportStatus
from users.models import UserType
from users.tests.factories import PASSWORD, make_admin, make_district, make_school, make_user

PLAIN = Path(__file__).resolve().parent.parent / "fixtures" / "classes.csv"


@pytest.fixture
def district():
    d = make_district(timezone="America/Chicago")
    d.offpeak_start = d.offpeak_end = datetime.time(0, 0)  # any time
    d.save()
    schools = {"101": make_school(d, sis_id="101", name="Lincoln ES"), "102": make_school(d, sis_id="102", name="Washington MS")}
    for district_id, school in (("T-1", "101"), ("T-2", "102")):
        make_user(d, district_user_id=district_id, user_type=UserType.STAFF, school=schools[school])
    for district_id, school in (("S-1", "101"), ("S-2", "101"), ("S-3", "101"), ("S-4", "102")):
        make_user(d, district_user_id=district_id, school=schools[school])
    return d


def _walk(client, district, content: bytes, *, roster: str = "add"):
    client.post(reverse("imports:start"), {"import_type": "classes", "files": [SimpleUploadedFile("classes.csv", content)]})
    job = ImportJob.objects.filter(district=district).order_by("-number").first()
    url = lambda step: reverse(f"imports:{step}", args=[job.number])  # noqa: E731
    assert client.post(url("fields"), {"action": "next"})["Location"] == url("schools")
    page = client.get(url("schools")).content.decode()
    assert "101" in page and "102" in page
    by_sis_id = {s.sis_id: s.id for s in district.schools.all()}
    client.post(url("schools"), {"school_0": str(by_sis_id["101"]), "school_1": str(by_sis_id["102"])})
    client.get(url("validate"))
    job.refresh_from_db()
    return job, url


@pytest.mark.django_db(transaction=True)
def test_a_classes_file_walks_every_step_and_replace_removes_exactly_the_missing_student(client, district):
    make_admin(district, username="dadmin")
    client.login(username="dadmin", password=PASSWORD)
    job, url = _walk(client, district, PLAIN.read_bytes())
    assert job.validation_summary["counts"]["errors"] == 0, list(ImportIssue.objects.filter(job=job).values("message"))
    client.post(url("validate"), {"action": "next"})
    assert "Replace each class" in client.get(url("actions")).content.decode()
    client.post(url("actions"), {"roster_policy": "add"})
    review = client.get(url("review")).content.decode()
    assert '<dd id="review-enrollments-added">9</dd>' in review
    client.post(url("review"))
    job.refresh_from_db()
    assert job.status == ImportStatus.COMPLETED, job.failure_reason
    assert exported(district) == EXPECTED_PLAIN

    fewer = "\n".join(line for line in PLAIN.read_text().splitlines() if not line.startswith("READ5-B,Reading 5 B,101,S-2,"))
    job, url = _walk(client, district, fewer.encode())
    client.post(url("validate"), {"action": "next"})
    client.post(url("actions"), {"roster_policy": "replace"})
    review = client.get(url("review")).content.decode()
    assert '<dd id="review-enrollments-removed">1</dd>' in review
    client.post(url("review"))
    assert exported(district)[1] == ["READ5-B", "Reading 5 B", "101", "T-1;T-2", "S-3"]


@pytest.mark.django_db(transaction=True)
def test_validate_file_names_the_row_of_an_unknown_district_id(client, district):
    make_admin(district, username="dadmin")
    client.login(username="dadmin", password=PASSWORD)
    content = PLAIN.read_bytes() + b"SCI7,Science 7,102,NOBODY,student,,,\n"
    job, url = _walk(client, district, content)

    issue = ImportIssue.objects.get(job=job, code="unknown_person")
    assert (issue.row, issue.column, issue.severity) == (11, "District ID", "error")
    assert "There is no teacher or student with District ID NOBODY (row 11)." in client.get(url("validate")).content.decode()
