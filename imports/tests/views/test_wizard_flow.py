"""One admin walks every wizard screen with the test client, submits, and the job runs."""
import datetime
import os

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from imports.models import ImportJob, ImportStatus
from users.models import User
from users.tests.factories import PASSWORD, make_admin, make_custom_group, make_district, make_school, make_user

# "Student Number" needs a manual Match; "LMS" is a school value matched by hand;
# the second student shares an email with the first (one warning).
FILE = (
    "First Name,Last Name,Student Number,User Type,Grade,Email Address,School SIS ID\r\n"
    "José,Núñez,000123,0,5,jn@example.org,101\r\n"
    "Zoë,Smith,000124,0,K,jn@example.org,LMS\r\n"
    "Ann,Teacher,T1,1,,ann@example.org,101\r\n"
).encode("utf-8")


@pytest.fixture
def district():
    d = make_district(timezone="America/Chicago")
    d.offpeak_start = datetime.time(0, 0)
    d.offpeak_end = datetime.time(0, 0)  # a zero-length window means "any time"
    d.save()
    return d


@pytest.fixture
def admin_client(client, district):
    admin = make_admin(district, username="dadmin")
    client.login(username="dadmin", password=PASSWORD)
    client.admin = admin
    return client


@pytest.mark.django_db(transaction=True)
def test_every_screen_then_history_and_details(admin_client, district):
    client = admin_client
    first = make_school(district, sis_id="101", name="First Street ES")
    lincoln = make_school(district, sis_id="201", name="Lincoln MS")
    group = make_custom_group(district, name="Robotics Club")
    make_user(district, district_user_id="000124", first_name="Zoe", last_name="Smith", grade="K", school=first)

    page = client.get(reverse("imports:start"))
    assert b"Upload File" in page.content and b"sample .csv" in page.content
    resp = client.post(reverse("imports:start"), {
        "import_type": "user_data", "description": "First Street ES Student File",
        "files": SimpleUploadedFile("students.csv", FILE, content_type="text/csv"),
    })
    job = ImportJob.objects.get(district=district)
    assert resp.status_code == 302
    assert resp["Location"] == reverse("imports:fields", args=[job.number])

    page = client.get(resp["Location"])
    text = page.content.decode()
    assert "District ID *" in text and "Student Number" in text and "000123" in text
    # Next is refused while District ID is unmatched.
    resp = client.post(reverse("imports:fields", args=[job.number]), {"action": "next"}, follow=True)
    assert "Match every required (*) field" in resp.content.decode()
    assert resp.redirect_chain[-1][0] == reverse("imports:fields", args=[job.number])
    client.post(reverse("imports:fields", args=[job.number]), {"action": "match", "field": "district_id", "column": "Student Number"})
    resp = client.post(reverse("imports:fields", args=[job.number]), {"action": "next"})
    assert resp["Location"] == reverse("imports:schools", args=[job.number])

    page = client.get(resp["Location"]).content.decode()
    assert "LMS" in page and "101" in page
    # Next is refused until LMS is mapped; 101 was pre-selected by its SIS ID.
    resp = client.post(reverse("imports:schools", args=[job.number]), {"school_0": str(first.id), "school_1": ""}, follow=True)
    assert "Choose a school for every value" in resp.content.decode()
    resp = client.post(reverse("imports:schools", args=[job.number]), {"school_0": str(first.id), "school_1": str(lincoln.id)})
    assert resp["Location"] == reverse("imports:validate", args=[job.number])

    page = client.get(resp["Location"]).content.decode()
    assert "same email address is on more than one row" in page
    assert "Download the error report" in page
    resp = client.post(reverse("imports:validate", args=[job.number]), {"action": "next"})
    assert resp["Location"] == reverse("imports:actions", args=[job.number])

    page = client.get(resp["Location"]).content.decode()
    assert "Imported Record Wins" in page and "Existing Record Wins" in page and "Maintain Password" in page
    assert "Zoë Smith in your file, Zoe Smith in Classworks: District ID 000124" in page
    resp = client.post(reverse("imports:actions", args=[job.number]), {
        "conflict_policy": "imported", "password_policy": "keep", "custom_group": str(group.id),
        "group_members": "students", "email_staff": "on",
    })
    assert resp["Location"] == reverse("imports:review", args=[job.number])

    page = client.get(resp["Location"]).content.decode()
    assert "Robotics Club" in page and "Imported Record Wins" in page and "Submit" in page
    assert 'id="count-new">2<' in page and 'id="count-updated">1<' in page

    resp = client.post(reverse("imports:review", args=[job.number]))
    assert resp["Location"] == reverse("imports:detail", args=[job.number])
    job.refresh_from_db()
    # The window is open, so the worker (eager in tests) ran it on commit.
    assert job.status == ImportStatus.COMPLETED_WITH_WARNINGS, job.failure_reason
    assert job.counts["created"] == 2 and job.counts["updated"] == 1
    assert User.objects.get(district=district, district_user_id="000124").first_name == "Zoë"
    assert set(group.members.values_list("district_user_id", flat=True)) == {"000123", "000124"}
    assert [m.to for m in mail.outbox if "login" in m.subject.lower()] == [["ann@example.org"]]
    assert [m.to for m in mail.outbox if "import" in m.subject.lower()] == [[client.admin.email]]

    history = client.get(reverse("imports:history")).content.decode()
    assert "First Street ES Student File" in history and "Completed with cautions" in history
    detail = client.get(reverse("imports:detail", args=[job.number])).content.decode()
    assert "students.csv" in detail and "Zoe" in detail and "Zoë" in detail  # before -> after
    original = client.get(reverse("imports:original_file", args=[job.number, job.files.get().id]))
    assert b"".join(original.streaming_content) == FILE
    assert original["Content-Disposition"].startswith("attachment")


# Validation is a task enqueued on commit (eager in tests): the test commits, as the app does.
@pytest.mark.django_db(transaction=True)
def test_going_back_and_changing_the_mapping_revalidates(admin_client, district):
    client = admin_client
    make_school(district, sis_id="101")
    make_school(district, sis_id="201")
    client.post(reverse("imports:start"), {"import_type": "user_data", "files": SimpleUploadedFile("s.csv", FILE)})
    job = ImportJob.objects.get(district=district)
    url = lambda step: reverse(f"imports:{step}", args=[job.number])  # noqa: E731
    client.post(url("fields"), {"action": "match", "field": "district_id", "column": "Student Number"})
    client.post(url("fields"), {"action": "next"})
    client.post(url("schools"), {"school_0": str(job.district.schools.get(sis_id="101").id), "school_1": str(job.district.schools.get(sis_id="201").id)})
    client.get(url("validate"))
    job.refresh_from_db()
    assert job.validated_at is not None and job.validation_summary["counts"]["errors"] == 0
    # Back to Map Fields: the choice is still there.
    assert "matched: Student Number" in client.get(url("fields")).content.decode()
    # Unmatch Grade and give every row the grade "13" instead: validation must run again and fail.
    client.post(url("fields"), {"action": "unmatch:grade"})
    client.post(url("fields"), {"action": "set_fixed:grade", "fixed_grade": "13"})
    job.refresh_from_db()
    assert job.validated_at is None and job.step == "fields"
    client.post(url("fields"), {"action": "next"})
    client.post(url("schools"), {"school_0": str(job.district.schools.get(sis_id="101").id), "school_1": str(job.district.schools.get(sis_id="201").id)})
    page = client.get(url("validate")).content.decode()
    assert "is not a grade" in page
    assert client.post(url("validate"), {"action": "next"}).status_code == 302
    job.refresh_from_db()
    assert job.step == "validate"  # errors block the way to Additional Actions


@pytest.mark.django_db
def test_close_x_deletes_the_draft_and_its_file(admin_client, district):
    client = admin_client
    client.post(reverse("imports:start"), {"import_type": "user_data", "files": SimpleUploadedFile("s.csv", FILE)})
    job = ImportJob.objects.get(district=district)
    stored = job.files.get().stored
    path = stored.path
    assert stored.storage.exists(stored.name)
    client.post(reverse("imports:close", args=[job.number]))
    assert not ImportJob.objects.filter(id=job.id).exists()
    assert not os.path.exists(path)


@pytest.mark.django_db(transaction=True)
def test_submit_twice_schedules_one_job(admin_client, district):
    client = admin_client
    district.offpeak_start, district.offpeak_end = datetime.time(20), datetime.time(6)
    district.save()
    make_school(district, sis_id="101")
    lms = make_school(district, sis_id="201")
    client.post(reverse("imports:start"), {"import_type": "user_data", "files": SimpleUploadedFile("s.csv", FILE)})
    job = ImportJob.objects.get(district=district)
    url = lambda step: reverse(f"imports:{step}", args=[job.number])  # noqa: E731
    client.post(url("fields"), {"action": "match", "field": "district_id", "column": "Student Number"})
    client.post(url("fields"), {"action": "next"})
    client.post(url("schools"), {"school_0": str(district.schools.get(sis_id="101").id), "school_1": str(lms.id)})
    client.get(url("validate"))
    client.post(url("validate"), {"action": "next"})
    client.post(url("actions"), {"conflict_policy": "imported", "password_policy": "keep", "group_members": "students"})
    client.get(url("review"))
    first = client.post(url("review"))
    second = client.post(url("review"))
    assert first.status_code == second.status_code == 302
    assert ImportJob.objects.filter(district=district).count() == 1
    job.refresh_from_db()
    assert job.status in (ImportStatus.SCHEDULED, ImportStatus.COMPLETED_WITH_WARNINGS)
    assert ImportJob.objects.filter(district=district, status=ImportStatus.SCHEDULED).count() <= 1


@pytest.mark.django_db
def test_an_alias_is_offered_as_a_suggestion_and_matched_in_one_click(admin_client, district):
    client = admin_client
    client.post(reverse("imports:start"), {"import_type": "user_data", "files": SimpleUploadedFile("s.csv", FILE)})
    job = ImportJob.objects.get(district=district)
    page = client.get(reverse("imports:fields", args=[job.number])).content.decode()
    assert "suggested: Student Number" in page
    job.refresh_from_db()
    assert "district_id" not in job.field_mapping  # a suggestion is not a silent match
    client.post(reverse("imports:fields", args=[job.number]), {"action": "suggest:district_id"})
    job.refresh_from_db()
    assert job.field_mapping["district_id"] == "Student Number"
