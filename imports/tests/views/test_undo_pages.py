"""The undo pages: a preview first, a confirmation form that starts it, and refusals as messages."""
import html

import pytest
from django.test import Client
from django.urls import reverse

from imports.models import ImportJob, ImportStatus
from imports.services import undo
from imports.tests.factories import make_import_job, run_job, student, write_csv
from users.models import User
from users.tests.factories import make_admin, make_district, make_school, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_safety_hold")]


@pytest.fixture
def imported(district, school, district_admin, tmp_path):
    make_user(district, district_user_id="E1", first_name="Ann", last_name="Old", grade="3", school=school, email="")
    rows = [student("E1", **{"First Name": "Ann", "Last Name": "New", "Grade": "3"}), student("N1", **{"First Name": "Nia"})]
    job = run_job(make_import_job(district, [write_csv(tmp_path / "r.csv", rows)], created_by=district_admin))
    assert job.status == ImportStatus.COMPLETED, job.failure_reason
    return job


def _text(response) -> str:
    return html.unescape(response.content.decode())


def test_the_details_page_offers_undo_and_the_preview_shows_what_it_will_do(district_admin_client, imported):
    detail = _text(district_admin_client.get(reverse("imports:detail", args=[imported.number])))
    assert "Undo this import" in detail
    assert reverse("imports:undo", args=[imported.number]) in detail

    response = district_admin_client.get(reverse("imports:undo", args=[imported.number]))
    page = _text(response)
    assert response.status_code == 200
    assert '<dd id="count-disabled">1</dd>' in page
    assert '<dd id="count-reverted">1</dd>' in page
    assert "Last Name" in page and "Old" in page and "N1" in page
    assert "Undo import 1</button>" in page
    # A GET changes nothing.
    assert User.objects.get(district_user_id="N1").is_active
    assert not ImportJob.objects.filter(undo_of=imported).exists()


def test_confirming_runs_the_undo_and_shows_it_in_history(district_admin_client, imported, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = district_admin_client.post(reverse("imports:undo", args=[imported.number]))
    started = ImportJob.objects.get(undo_of=imported)
    assert response.status_code == 302
    assert response["Location"] == reverse("imports:detail", args=[started.number])
    started.refresh_from_db()  # the task ran eagerly once the request committed
    assert started.status == ImportStatus.COMPLETED
    assert not User.objects.get(district_user_id="N1").is_active
    assert User.objects.get(district_user_id="E1").last_name == "Old"

    history = _text(district_admin_client.get(reverse("imports:history")))
    assert f"Undo of import {imported.number}" in history
    detail = _text(district_admin_client.get(reverse("imports:detail", args=[imported.number])))
    assert f'This import was undone by <a href="{reverse("imports:detail", args=[started.number])}">import {started.number}</a>' in detail
    assert "Undo this import" not in detail


def test_a_second_undo_is_refused_with_a_clear_message(district_admin_client, imported, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        district_admin_client.post(reverse("imports:undo", args=[imported.number]))
    first = ImportJob.objects.get(undo_of=imported)

    response = district_admin_client.post(reverse("imports:undo", args=[imported.number]), follow=True)

    expected = undo.ERROR_ALREADY_UNDONE.format(number=imported.number, undo_number=first.number, status="Completed")
    assert expected in _text(response)
    assert "Undo import 1</button>" not in _text(response)
    assert ImportJob.objects.filter(undo_of=imported).count() == 1


def test_undo_is_refused_while_another_import_runs(district_admin_client, imported, district, tmp_path):
    other = make_import_job(district, [write_csv(tmp_path / "o.csv", [student("O1")])])
    ImportJob.objects.filter(id=other.id).update(status=ImportStatus.RUNNING)

    response = district_admin_client.post(reverse("imports:undo", args=[imported.number]), follow=True)

    assert undo.ERROR_ANOTHER_RUNNING.format(running=other.number) in _text(response)
    assert not ImportJob.objects.filter(undo_of=imported).exists()
    assert User.objects.get(district_user_id="N1").is_active


def test_another_districts_admin_cannot_see_or_start_the_undo(imported):
    other = make_district(name="Shelbyville")
    make_school(other)
    client = Client()
    client.force_login(make_admin(other))
    assert client.get(reverse("imports:undo", args=[imported.number])).status_code == 404
    assert client.post(reverse("imports:undo", args=[imported.number])).status_code == 404
    assert not ImportJob.objects.filter(undo_of=imported).exists()


def test_the_details_of_an_undo_run_by_a_command_show_no_submitter(district_admin_client, imported):
    """A job without a submitting admin (manage.py without --as) still has a details page."""
    started = undo.import_undo_request(job=imported, dispatch=False)
    response = district_admin_client.get(reverse("imports:detail", args=[started.number]))
    assert response.status_code == 200
    assert "<dt>Submitted by</dt><dd>—" in _text(response)
    assert f"Undo of import {imported.number}" in _text(response)
