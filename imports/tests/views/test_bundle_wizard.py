"""A OneRoster zip in the wizard: Map Fields and Review say what the upload holds, and the zip stays downloadable."""
import datetime
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from imports.models import BundleRole, ImportJob, ImportStatus
from imports.formats import common as bundles
from imports.services.sources import ImportOptions, sources_for_job
from imports.services.validation import file_value_counts
from imports.tests.fixtures import make_bundles
from users.models import User, UserType
from users.tests.factories import PASSWORD, make_admin, make_district, make_school

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
ZIP = (FIXTURES / "oneroster_11.zip").read_bytes()


@pytest.fixture
def district():
    d = make_district(timezone="America/Chicago")
    d.offpeak_start = d.offpeak_end = datetime.time(0, 0)  # any time
    d.change_threshold_percent = 100
    d.save()
    make_school(d, sis_id="101", name="Lincoln ES")
    make_school(d, sis_id="102", name="Washington MS")
    return d


@pytest.fixture
def admin_client(client, district):
    make_admin(district, username="dadmin")
    client.login(username="dadmin", password=PASSWORD)
    return client


def _upload(client, *files):
    return client.post(reverse("imports:start"), {"import_type": "user_data", "files": list(files)})


@pytest.mark.django_db(transaction=True)
def test_a_oneroster_zip_walks_the_wizard_and_imports_every_user(admin_client, district):
    client = admin_client
    resp = _upload(client, SimpleUploadedFile("roster.zip", ZIP, content_type="application/zip"))
    job = ImportJob.objects.get(district=district)
    url = lambda step: reverse(f"imports:{step}", args=[job.number])
    assert resp["Location"] == url("fields")

    page = client.get(url("fields")).content.decode()
    assert "OneRoster 1.1 upload" in page
    assert '<strong id="bundle-district-id">identifier</strong>' in page
    assert '<dd id="bundle-class-files">academicSessions.csv (recognised' in page
    assert "users.csv row 9: Gus Reyes (guardians, parents or relatives)" in page
    assert "imported into Lincoln Elementary (101), not Washington Middle (102)" in page
    assert "Still to match" not in page  # every required field is matched by the bundle's headings
    assert "matched: identifier" in page

    assert client.post(url("fields"), {"action": "next"})["Location"] == url("schools")
    values = list(file_value_counts(sources_for_job(job), ImportOptions.from_job(job), limit_schools=False)[0])
    by_sis_id = {s.sis_id: s.id for s in district.schools.all()}
    resp = client.post(url("schools"), {f"school_{i}": str(by_sis_id[v]) for i, v in enumerate(values)})
    assert resp["Location"] == url("validate")
    client.get(url("validate"))
    job.refresh_from_db()
    assert job.validation_summary["counts"]["errors"] == 0, job.validation_summary
    client.post(url("validate"), {"action": "next"})
    client.post(url("actions"), {"conflict_policy": "imported", "password_policy": "keep", "group_members": "students"})

    page = client.get(url("review")).content.decode()
    assert "1 marked tobedeleted, 1 with enabledUser false, 1 guardians, parents or relatives (3 rows)" in page
    client.post(url("review"))
    job.refresh_from_db()
    assert job.status in (ImportStatus.COMPLETED, ImportStatus.COMPLETED_WITH_WARNINGS), job.failure_reason
    users = {u.district_user_id: u for u in User.objects.filter(district=district, district_user_id__isnull=False)}
    assert {k: ("student" if u.user_type == UserType.STUDENT else "staff", u.grade or "", u.school.sis_id)
            for k, u in users.items()} == make_bundles.EXPECTED_11

    member = job.files.get(bundle_role=BundleRole.MEMBER)
    original = client.get(reverse("imports:original_file", args=[job.number, member.id]))
    assert b"".join(original.streaming_content) == ZIP


@pytest.mark.django_db
def test_the_admin_can_take_the_district_id_from_sourced_id_instead(admin_client, district):
    client = admin_client
    _upload(client, SimpleUploadedFile("roster.zip", ZIP))
    job = ImportJob.objects.get(district=district)

    client.post(reverse("imports:fields", args=[job.number]), {"action": "match", "field": "district_id", "column": "sourcedId"})

    job.refresh_from_db()
    assert job.field_mapping["district_id"] == "sourcedId"
    assert job.field_mapping["oneroster_sourced_id"] == "OneRoster sourcedId"


@pytest.mark.django_db
def test_loose_sds_files_are_read_as_one_upload(admin_client, district):
    client = admin_client
    files = [SimpleUploadedFile(p.name, p.read_bytes()) for p in sorted((FIXTURES / "sds_v1").iterdir()) if p.name != "Section.csv"]
    _upload(client, *files)
    job = ImportJob.objects.get(district=district)

    assert [s.info.name for s in sources_for_job(job)] == ["Student.csv", "Teacher.csv"]
    assert job.field_mapping["district_id"] == "District ID" and job.field_mapping["email"] == "Email Address"
    assert job.rows_total == 3 + 4  # the teacher listed for two schools is read once


@pytest.mark.django_db
@pytest.mark.parametrize("member, message", [
    ("../evil.csv", bundles.ERROR_UNSAFE_NAME.format(member="../evil.csv")),
])
def test_a_hostile_zip_is_refused_on_the_upload_step_naming_the_file(admin_client, district, member, message):
    data = make_bundles.zip_bytes({**make_bundles.oneroster_11(), member: b"x"})

    page = _upload(admin_client, SimpleUploadedFile("roster.zip", data)).content.decode()

    assert f"roster.zip: {message}".replace('"', "&quot;") in page
    assert not ImportJob.objects.exists()


@pytest.mark.django_db
def test_the_user_file_made_from_a_bundle_downloads_formula_safe(admin_client, district):
    members = make_bundles.oneroster_11()
    members["users.csv"] = members["users.csv"].replace(b",Ava,", b",=HYPERLINK(1),")
    _upload(admin_client, SimpleUploadedFile("roster.zip", make_bundles.zip_bytes(members)))
    job = ImportJob.objects.get(district=district)
    made = job.files.get(bundle_role=BundleRole.GENERATED)

    text = b"".join(admin_client.get(reverse("imports:original_file", args=[job.number, made.id])).streaming_content).decode()

    assert ",'=HYPERLINK(1)," in text
    assert ",=HYPERLINK" not in text
