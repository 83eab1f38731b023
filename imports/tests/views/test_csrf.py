"""Every state-changing wizard step refuses a POST without a CSRF token."""
import re

import pytest
from django.test import Client
from django.urls import reverse

from imports.models import ImportJob, ImportStatus
from imports.services import jobs
from imports.tests.factories import IN_WINDOW, SCHOOL_SIS_ID, make_import_job, student, write_csv
from users.tests.factories import make_admin, make_school

WIZARD_STEPS = ["start", "fields", "schools", "validate", "actions", "review", "close", "cancel"]


@pytest.fixture
def admin(district):
    return make_admin(district)


@pytest.fixture
def csrf_client(admin):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin)
    return client


@pytest.fixture
def draft(district, admin, tmp_path):
    """A draft on Review, so every step's URL is reachable."""
    make_school(district, sis_id=SCHOOL_SIS_ID)
    return make_import_job(district, [write_csv(tmp_path / "s.csv", [student()])], created_by=admin)


@pytest.fixture
def scheduled(district, admin, tmp_path):
    job = make_import_job(district, [write_csv(tmp_path / "t.csv", [student("2002")])], created_by=admin)
    return jobs.import_job_submit(job=job, now=IN_WINDOW, dispatch=False)


def _url(step: str, draft, scheduled) -> str:
    if step == "start":
        return reverse("imports:start")
    return reverse(f"imports:{step}", args=[(scheduled if step == "cancel" else draft).number])


@pytest.mark.django_db
@pytest.mark.parametrize("step", WIZARD_STEPS)
def test_a_post_without_a_token_is_refused(step, csrf_client, draft, scheduled):
    jobs_before = ImportJob.objects.count()
    response = csrf_client.post(_url(step, draft, scheduled), {"action": "next"})
    assert response.status_code == 403
    assert ImportJob.objects.count() == jobs_before
    draft.refresh_from_db()
    scheduled.refresh_from_db()
    assert draft.status == ImportStatus.DRAFT
    assert scheduled.status == ImportStatus.SCHEDULED


@pytest.mark.django_db
def test_the_same_post_with_the_pages_token_goes_through(csrf_client, draft):
    """The 403s above come from the missing token, not from the view."""
    page = csrf_client.get(reverse("imports:validate", args=[draft.number])).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = csrf_client.post(reverse("imports:close", args=[draft.number]), {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert not ImportJob.objects.filter(id=draft.id).exists()
