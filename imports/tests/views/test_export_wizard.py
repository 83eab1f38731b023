"""A whole School Data Sync v2.1 export folder, uploaded loose, through every wizard step."""
import datetime
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from imports.models import ImportJob, ImportStatus
from imports.services.sources import ImportOptions, sources_for_job
from imports.services.validation import file_value_counts
from imports.tests.fixtures import make_exports
from users.models import User, UserType
from users.tests.factories import PASSWORD, make_admin, make_district, make_school

EXPORT = Path(__file__).resolve().parent.parent / "fixtures" / "exports" / "sds_v21"


@pytest.fixture
def district():
    d = make_district(timezone="America/Chicago")
    d.offpeak_start = d.offpeak_end = datetime.time(0, 0)  # any time
    d.change_threshold_percent = 100
    d.save()
    make_school(d, sis_id="201", name="Maple Elementary")
    make_school(d, sis_id="202", name="Valley High")
    return d


@pytest.fixture
def admin_client(client, district):
    make_admin(district, username="dadmin")
    client.login(username="dadmin", password=PASSWORD)
    return client


def _folder() -> list[SimpleUploadedFile]:
    return [SimpleUploadedFile(p.name, p.read_bytes(), content_type="text/csv") for p in sorted(EXPORT.iterdir())]


@pytest.mark.django_db(transaction=True)
def test_a_loose_sds_v21_folder_walks_the_wizard_with_post_secondary_rows_skipped(admin_client, district):
    client = admin_client
    files = _folder()
    assert len(files) == 10  # more than the old limit of 5 files at a time

    resp = client.post(reverse("imports:start"), {"import_type": "user_data", "files": files})
    job = ImportJob.objects.get(district=district)
    url = lambda step: reverse(f"imports:{step}", args=[job.number])
    assert resp["Location"] == url("fields")
    page = client.get(url("fields")).content.decode()
    assert "School Data Sync v2.1 upload" in page
    assert "users.csv row 6: Gail Lee (guardians, parents or relatives)" in page
    assert "Email Address taken from the username for 1 staff." in page

    assert client.post(url("fields"), {"action": "next"})["Location"] == url("schools")
    page = client.get(url("schools")).content.decode()
    # The college's value, the post-secondary grade and the lecturer's role are each proposed as not K-12.
    assert page.count("Skip these rows (not K-12)") == 3
    values = list(file_value_counts(sources_for_job(job), ImportOptions.from_job(job), limit_schools=False)[0])
    by_sis_id = {s.sis_id: s.id for s in district.schools.all()}
    chosen = {f"school_{i}": str(by_sis_id[v]) for i, v in enumerate(values) if v in by_sis_id}
    assert client.post(url("schools"), chosen)["Location"] == url("validate")
    job.refresh_from_db()
    assert job.school_mapping["901"] == "skip"
    assert job.value_mapping == {"user_type": {"lecturer": "skip"}, "grade": {"PS1": "skip"}}

    client.get(url("validate"))
    job.refresh_from_db()
    assert job.validation_summary["counts"]["errors"] == 0, job.validation_summary
    assert job.validation_summary["counts"]["skipped"] == 2
    client.post(url("validate"), {"action": "next"})
    page = client.get(url("actions")).content.decode()
    assert "has no Password column" not in page
    client.post(url("actions"), {"conflict_policy": "imported", "password_policy": "keep", "group_members": "students"})
    page = client.get(url("review")).content.decode()
    assert page.count("skip these rows (not K-12)") == 3  # the college, PS1 and lecturer, each with its reason
    client.post(url("review"))

    job.refresh_from_db()
    assert job.status in (ImportStatus.COMPLETED, ImportStatus.COMPLETED_WITH_WARNINGS), job.failure_reason
    users = User.objects.filter(district=district, district_user_id__isnull=False).select_related("school")
    assert {u.district_user_id: ("student" if u.user_type == UserType.STUDENT else "staff", u.grade or "", u.school.sis_id)
            for u in users} == make_exports.K12
    assert users.get(district_user_id="ana").check_password(make_exports.PASSWORDS["ana"])


@pytest.mark.django_db
def test_the_upload_page_takes_a_folder_and_up_to_50_files(admin_client):
    page = admin_client.get(reverse("imports:start")).content.decode()
    assert 'name="files" id="id_folder" webkitdirectory multiple' in page
    assert "at most 50 files" in page


@pytest.mark.django_db
def test_a_folder_with_the_systems_hidden_files_is_read_without_them(admin_client, district):
    files = [*_folder(), SimpleUploadedFile(".DS_Store", b"\x00\x00\x00\x01Bud1"), SimpleUploadedFile("desktop.ini", b"[.ShellClassInfo]")]

    resp = admin_client.post(reverse("imports:start"), {"import_type": "user_data", "files": files})

    job = ImportJob.objects.get(district=district)
    assert resp["Location"] == reverse("imports:fields", args=[job.number])
    assert job.bundle_summary["label"] == "School Data Sync v2.1"
