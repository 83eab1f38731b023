"""One vocabulary across the wizard, the bar of rows by outcome, the hold card's rule, and the pages that ask first."""
import re

import pytest
from django.urls import reverse

from imports.models import ImportJob
from imports.services import emails
from imports.tests.factories import SCHOOL_SIS_ID, make_import_job, run_job, student, write_csv
from users.tests.factories import make_school, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_safety_hold")]
WORDS = ["Rows", "New", "Updated", "Unchanged", "Conflicts", "Skipped", "Errors", "Cautions"]


@pytest.fixture
def validated(district, district_admin, tmp_path):
    school = make_school(district, sis_id=SCHOOL_SIS_ID)
    make_user(district, district_user_id="1002", first_name="Old", last_name="Name", school=school)
    make_user(district, district_user_id="1003", first_name="Ada", last_name="Lovelace", school=school)
    path = write_csv(tmp_path / "roster.csv", [student("1001"), student("1002"), student("1003"), student("1004", Grade="13")])
    job = make_import_job(district, [path], created_by=district_admin)
    return job


def _words(page: str) -> list[str]:
    return re.findall(r"<dt>([^<]+)</dt><dd id=\"count-", page)


def test_validate_review_and_details_say_the_same_words(district_admin_client, validated):
    validate = district_admin_client.get(reverse("imports:validate", args=[validated.number])).content.decode()
    review = district_admin_client.get(reverse("imports:review", args=[validated.number])).content.decode()
    detail = district_admin_client.get(reverse("imports:detail", args=[validated.number]), follow=True).content.decode()
    assert _words(validate) == _words(review) == WORDS
    assert "<dt>Update</dt>" not in validate and "<dt>Conflict</dt>" not in validate
    assert 'id="count-new">1<' in validate and 'id="count-updated">1<' in validate
    assert 'id="count-unchanged">1<' in validate and 'id="count-errors">1<' in validate
    assert _words(detail) == WORDS


def test_the_bar_of_rows_by_outcome_is_drawn_server_side_with_numbers_beside(district_admin_client, validated):
    page = district_admin_client.get(reverse("imports:validate", args=[validated.number])).content.decode()
    bar = re.search(r'<svg class="outcome-bar".*?</svg>', page, re.S).group(0)
    assert 'aria-hidden="true"' in bar
    widths = [float(w) for w in re.findall(r'<rect x="[\d.]+" y="0" width="([\d.]+)"', bar)]
    assert widths == [250.0, 250.0, 250.0, 250.0]  # new, updated, unchanged, rows with errors: a quarter each
    legend = re.search(r'<ul class="outcome-legend".*?</ul>', page, re.S).group(0)
    assert "Rows with errors <strong>1</strong>" in legend


def test_a_caution_is_called_a_caution(district_admin_client, district, district_admin, tmp_path):
    make_school(district, sis_id=SCHOOL_SIS_ID)
    make_user(district, district_user_id="1001", first_name="Ada", last_name="Lovelace", email="ada@example.org")
    path = write_csv(tmp_path / "roster.csv", [student("1001"), student("1002", **{"Email Address": "ada@example.org"})])
    job = make_import_job(district, [path], created_by=district_admin)
    assert job.validation_summary["counts"]["warnings"] >= 1
    page = district_admin_client.get(reverse("imports:validate", args=[job.number])).content.decode()
    assert "&#9888; Caution" in page or "⚠ Caution" in page
    assert ">Warning<" not in page and "Warning</span>" not in page
    report = b"".join(district_admin_client.get(reverse("imports:error_report", args=[job.number])).streaming_content).decode("utf-8-sig")
    assert ",Caution," in report and ",Warning," not in report


def test_the_completion_email_uses_the_words(validated, mailoutbox, district, tmp_path, district_admin):
    path = write_csv(tmp_path / "ok.csv", [student("2001"), student("1003")])
    job = run_job(make_import_job(district, [path], created_by=district_admin, email_staff=False), queue_emails=True)
    emails.import_emails_send(job_id=job.id)
    body = mailoutbox[-1].body
    for word in WORDS:
        assert f"\n{word}: " in body


def test_no_hold_card_on_an_import_that_was_not_held(district_admin_client, validated, district, district_admin, tmp_path):
    path = write_csv(tmp_path / "ok.csv", [student("1003", **{"Last Name": "Byron"})])
    job = run_job(make_import_job(district, [path], created_by=district_admin))
    assert job.counts["updated"] == 1
    page = district_admin_client.get(reverse("imports:detail", args=[job.number])).content.decode()
    assert 'id="safety-hold"' not in page


def test_the_hold_card_states_the_rule_and_draws_the_share(district_admin_client, district, district_admin, tmp_path):
    district.change_threshold_percent = 20
    district.save()
    make_school(district, sis_id=SCHOOL_SIS_ID)
    for n in range(12):
        make_user(district, district_user_id=f"{3000 + n}", last_name="Before")
    path = write_csv(tmp_path / "all.csv", [student(f"{3000 + n}", **{"Last Name": "After"}) for n in range(12)])
    job = make_import_job(district, [path], created_by=district_admin)
    page = district_admin_client.get(reverse("imports:review", args=[job.number])).content.decode()
    card = page[page.index('id="safety-hold"'):]
    assert "at least 10 existing users" in card and "more than 20% of the district" in card
    assert "This import: 12 of 12 existing users (100.0%)" in card
    assert '<svg class="share-bar"' in card and "The limit: <strong>20.0%</strong>" in card


def test_a_demographics_import_shows_only_what_applies(district_admin_client, district, district_admin, tmp_path):
    make_user(district, district_user_id="1001")
    path = tmp_path / "demographics.csv"
    path.write_text("DistrictUserID,Grade\r\n1001,7\r\n")
    job = run_job(make_import_job(district, [path], created_by=district_admin, import_type="student_demographics"))
    page = district_admin_client.get(reverse("imports:detail", args=[job.number])).content.decode()
    for absent in ("Imported Record Wins", "<dt>Passwords</dt>", "<dt>Custom group</dt>", "<dt>Email staff</dt>"):
        assert absent not in page


def test_close_x_asks_on_a_page_before_closing(district_admin_client, validated):
    url = reverse("imports:close", args=[validated.number])
    page = district_admin_client.get(url).content.decode()
    assert f"Close import {validated.number}?" in page and "Close the import" in page
    assert ImportJob.objects.filter(id=validated.id).exists()
    district_admin_client.post(url)
    assert not ImportJob.objects.filter(id=validated.id).exists()


def test_the_step_bar_follows_the_chosen_type(district_admin_client):
    page = district_admin_client.get(reverse("imports:start")).content.decode()
    bars = dict(re.findall(r'<ol class="steps" data-type="(\w+)"[^>]*>(.*?)</ol>', page, re.S))
    assert "School Mapping" in bars["user_data"] and "Value Mapping" not in bars["user_data"]
    assert "Value Mapping" in bars["student_demographics"] and "School Mapping" not in bars["student_demographics"]
    chosen = district_admin_client.post(reverse("imports:start"), {"import_type": "student_demographics"}).content.decode()
    first = re.search(r'<ol class="steps" data-type="(\w+)"(?! hidden)[^>]*>', chosen)
    assert first.group(1) == "student_demographics" and 'data-type="student_demographics" aria-label="Steps">' in chosen


def test_every_change_link_on_review_opens_the_step_it_names(district_admin_client, validated):
    page = district_admin_client.get(reverse("imports:review", args=[validated.number])).content.decode()
    links = re.findall(r'<dt>([^<]+)</dt><dd[^>]*>.*?<a class="small" href="([^"]+)">change', page)
    steps = {"Fields": "fields", "Schools": "schools", "Conflicts": "actions"}
    assert {name for name, _ in links} == set(steps)
    for name, href in links:
        assert href == reverse(f"imports:{steps[name]}", args=[validated.number])


def test_a_new_custom_group_can_be_made_on_additional_actions(district_admin_client, validated, district):
    from users.models import CustomGroup
    from users.tests.factories import make_custom_group

    validated.step = "actions"
    validated.save()
    url = reverse("imports:actions", args=[validated.number])
    page = district_admin_client.get(url).content.decode()
    assert "Or make a new group named" in page
    form = {"conflict_policy": "imported", "password_policy": "keep", "group_members": "students"}
    district_admin_client.post(url, {**form, "new_group_name": "Robotics Club"})
    validated.refresh_from_db()
    assert validated.custom_group.name == "Robotics Club" and validated.custom_group.district == district
    make_custom_group(district, name="Chess")
    taken = district_admin_client.post(url, {**form, "new_group_name": "chess"}).content.decode()
    assert "chess" in taken.lower() and "alert-error" in taken
    assert CustomGroup.objects.filter(district=district, name__iexact="chess").count() == 1
