"""A OneRoster 1.2 upload holding users and classes, through the wizard: Additional Actions offers its classes,
Review shows both sets of counts, and the run writes the classes after the users."""
import datetime
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from classes.tests.commands.test_import_classes import exported
from imports.models import ImportJob, ImportStatus
from imports.services.sources import ImportOptions, sources_for_job
from imports.services.validation import file_value_counts
from imports.tests.fixtures.make_bundles import EXPECTED_12_CLASSES
from users.tests.factories import PASSWORD, make_admin, make_district, make_school

FOLDER = Path(__file__).resolve().parents[3] / "imports" / "tests" / "fixtures" / "oneroster_12"


@pytest.fixture
def district():
    d = make_district(timezone="America/Chicago")
    d.offpeak_start = d.offpeak_end = datetime.time(0, 0)  # any time
    d.change_threshold_percent = 100
    d.save()
    make_school(d, sis_id="101", name="Lincoln ES")
    make_school(d, sis_id="102", name="Washington MS")
    return d


def _walk_to_actions(client, district):
    files = [SimpleUploadedFile(p.name, p.read_bytes(), content_type="text/csv") for p in sorted(FOLDER.iterdir())]
    client.post(reverse("imports:start"), {"import_type": "user_data", "files": files})
    job = ImportJob.objects.get(district=district)
    url = lambda step: reverse(f"imports:{step}", args=[job.number])  # noqa: E731
    client.post(url("fields"), {"action": "next"})
    values = list(file_value_counts(sources_for_job(job), ImportOptions.from_job(job), limit_schools=False)[0])
    by_sis_id = {s.sis_id: s.id for s in district.schools.all()}
    client.post(url("schools"), {f"school_{i}": str(by_sis_id[v]) for i, v in enumerate(values)})
    client.get(url("validate"))
    client.post(url("validate"), {"action": "next"})
    return job, url


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("ticked", [True, False], ids=["also-classes", "users-only"])
def test_the_wizard_offers_the_uploads_classes_and_writes_them_after_the_users(client, district, ticked):
    make_admin(district, username="dadmin")
    client.login(username="dadmin", password=PASSWORD)
    job, url = _walk_to_actions(client, district)

    page = client.get(url("actions")).content.decode()
    assert "Also import classes (2 classes, 6 enrollments)" in page
    body = {"conflict_policy": "imported", "password_policy": "keep", "group_members": "students"}
    client.post(url("actions"), {**body, "also_classes": "on"} if ticked else body)

    review = client.get(url("review")).content.decode()
    assert ('id="review-classes"' in review) is ticked
    client.post(url("review"))
    job.refresh_from_db()
    assert job.status in (ImportStatus.COMPLETED, ImportStatus.COMPLETED_WITH_WARNINGS), job.failure_reason
    assert exported(district) == (EXPECTED_12_CLASSES if ticked else [])
