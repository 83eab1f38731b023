"""The Users tab: list, search, filters, paging, the user page, edits, disable/enable and links."""
import html
import re

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from imports.pipeline import normalize
from imports.tests.factories import SCHOOL_SIS_ID, make_import_job, run_job, student, write_csv
from users import services, views
from users.models import AuditAction, AuditEvent, User, UserType
from users.selectors import USERS_PER_PAGE
from users.tests.factories import PASSWORD, make_admin, make_custom_group, make_district, make_school, make_staff, make_user

pytestmark = pytest.mark.django_db


def _text(response) -> str:
    return html.unescape(response.content.decode())


def _rows(response) -> list[str]:
    body = response.content.decode()
    table = body.split('id="users"', 1)[1].split("</table>", 1)[0]
    return [html.unescape(r) for r in re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]]


@pytest.fixture
def school(district):
    return make_school(district, name="Roosevelt HS", sis_id="301")


@pytest.fixture
def people(district, school):
    other_school = make_school(district, name="Oak Grove ES", sis_id="102")
    return {
        "ava": make_user(district, first_name="Ava", last_name="Martinez", district_user_id="000123", grade="5",
                         username="ava.m", email="ava.martinez@springfield.example", school=school),
        "liam": make_user(district, first_name="Liam", last_name="OConnor", district_user_id="000124", grade="K",
                          username="liam.o", email="liam@springfield.example", school=other_school),
        "maria": make_staff(district, first_name="Maria", last_name="Garcia", district_user_id="T1001",
                            username="mgarcia", email="maria.garcia@springfield.example", school=school),
        "gone": make_user(district, first_name="Noah", last_name="Smith", district_user_id="004501", grade="7",
                          username="noah.s", is_active=False, school=other_school),
    }


def test_the_users_tab_lists_every_column_and_only_this_district(district_admin_client, people, district):
    make_user(make_district(), first_name="Zed", last_name="Elsewhere", district_user_id="000123")
    response = district_admin_client.get(reverse("users:list"))
    assert response.status_code == 200
    rows = _rows(response)
    text = "\n".join(rows)
    assert "Elsewhere" not in text
    ava = next(r for r in rows if "Martinez" in r)
    for value in ("Martinez, Ava", "000123", "ava.m", "Student", "5", "Roosevelt HS", "Yes"):
        assert value in ava
    assert "Disabled" in next(r for r in rows if "Smith" in r)
    # Ordered by last name; the admin is listed too.
    names = [re.search(r">([^<>]+, [^<>]+)</a>", r).group(1) for r in rows]
    assert names == sorted(names, key=str.casefold)
    assert 'aria-current="page">Users</a>' in response.content.decode()


def test_search_is_the_first_get_form_with_q(district_admin_client):
    body = district_admin_client.get(reverse("users:list")).content.decode()
    forms = re.findall(r"<form\b[^>]*>.*?</form>", body, re.S)
    first_get = next(f for f in forms if 'method="get"' in f.split(">", 1)[0])
    assert 'name="q"' in first_get


@pytest.mark.parametrize("q, expected", [
    ("mart", {"Martinez"}),          # last name prefix, any case
    ("AVA", {"Martinez"}),           # first name
    ("ava martinez", {"Martinez"}),  # both names
    ("Martinez, Ava", {"Martinez"}),
    ("00012", {"Martinez", "OConnor"}),  # District ID prefix keeps its zeros
    ("T1001", {"Garcia"}),
    ("mgarc", {"Garcia"}),           # username
    ("liam@", {"OConnor"}),          # email
    ("zzz", set()),
    ("50%_", set()),                 # LIKE wildcards are matched literally
])
def test_search_by_name_district_id_username_or_email(district_admin_client, people, q, expected):
    rows = _rows(district_admin_client.get(reverse("users:list"), {"q": q}))
    found = {last for last in ("Martinez", "OConnor", "Garcia", "Smith", "Whitfield") if any(last in r for r in rows)}
    assert found == expected


@pytest.mark.parametrize("params, expected", [
    ({"user_type": "staff"}, {"Garcia", "Whitfield"}),
    ({"grade": "K"}, {"OConnor"}),
    ({"active": "no"}, {"Smith"}),
    ({"user_type": "student", "active": "yes"}, {"Martinez", "OConnor"}),
])
def test_filters_by_type_grade_and_active(district_admin_client, people, params, expected):
    rows = _rows(district_admin_client.get(reverse("users:list"), params))
    assert {last for last in ("Martinez", "OConnor", "Garcia", "Smith", "Whitfield") if any(last in r for r in rows)} == expected


def test_filter_by_school_and_a_foreign_school_id_is_ignored(district_admin_client, people, school):
    rows = _rows(district_admin_client.get(reverse("users:list"), {"school": school.id}))
    assert len(rows) == 2 and all("Roosevelt HS" in r for r in rows)
    foreign = make_school(make_district(), sis_id="X")
    response = district_admin_client.get(reverse("users:list"), {"school": foreign.id})
    assert response.status_code == 200
    assert len(_rows(response)) == 5  # an invalid choice filters nothing: 4 people and the admin


def test_the_list_is_paged_forward_and_back(district_admin_client, district):
    for n in range(USERS_PER_PAGE * 2 + 7):
        make_user(district, first_name=f"F{n:03d}", last_name="Pager", district_user_id=f"P{n:03d}")
    seen = []
    url = reverse("users:list") + "?q=pager"
    pages = []
    while url:
        response = district_admin_client.get(url)
        rows = _rows(response)
        pages.append(rows)
        seen += [re.search(r"Pager, (F\d+)", r).group(1) for r in rows]
        nxt = re.search(r'href="(\?[^"]*after=\d+)" rel="next"', response.content.decode())
        url = reverse("users:list") + html.unescape(nxt.group(1)) if nxt else None
    assert [len(p) for p in pages] == [USERS_PER_PAGE, USERS_PER_PAGE, 7]
    assert seen == [f"F{n:03d}" for n in range(USERS_PER_PAGE * 2 + 7)]
    prev = re.search(r'href="(\?[^"]*before=\d+)" rel="prev"', response.content.decode())
    back = district_admin_client.get(reverse("users:list") + html.unescape(prev.group(1)))
    assert _rows(back) == pages[1]
    assert "q=pager" in prev.group(1)


@pytest.fixture
def imported(district, district_admin, tmp_path):
    """Ava created by import 1 and changed by import 2 (grade 5 -> 6), and in a group."""
    make_school(district, sis_id=SCHOOL_SIS_ID, name="First Street ES")
    first = run_job(make_import_job(district, [write_csv(tmp_path / "a.csv", [student("000777", **{"First Name": "Ava"})])], created_by=district_admin))
    second = run_job(make_import_job(district, [write_csv(tmp_path / "b.csv", [student("000777", **{"First Name": "Ava", "Grade": "6"})])], created_by=district_admin))
    user = User.objects.get(district=district, district_user_id="000777")
    make_custom_group(district, name="Robotics Club", members=[user])
    return user, first, second


def test_the_user_page_shows_fields_imports_groups_and_records_the_view(district_admin_client, imported, district_admin):
    user, first, second = imported
    response = district_admin_client.get(reverse("users:detail", args=[user.pk]))
    assert response.status_code == 200
    text = _text(response)
    for value in ("000777", user.username, "First Street ES", "Robotics Club", "Grade"):
        assert value in text
    body = response.content.decode()
    assert f'href="{reverse("imports:detail", args=[first.number])}">Import {first.number}</a>' in body
    assert f'href="{reverse("imports:detail", args=[second.number])}">Import {second.number}</a>' in body
    history = text.split('id="user-history"', 1)[1]
    assert f"Changed by import {second.number}" in history and "5 → 6" in history
    assert f"Created by import {first.number}" in history
    event = AuditEvent.objects.get(action=AuditAction.VIEW_USER)
    assert (event.subject_user, event.actor, event.district) == (user, district_admin, user.district)


def _form(user, **changes) -> dict:
    from users.forms import UserEditForm

    data = UserEditForm.initial_for(user)
    data.update(changes)
    return data


def test_editing_a_grade_saves_it_and_shows_it_in_the_history(district_admin_client, people):
    ava = people["ava"]
    response = district_admin_client.post(reverse("users:edit", args=[ava.pk]), _form(ava, grade="06"))
    assert response.status_code == 302
    ava.refresh_from_db()
    assert ava.grade == "6"
    page = _text(district_admin_client.get(response["Location"]))
    assert "Saved Ava Martinez: Grade." in page
    assert "Edited a user: Grade" in page.split('id="user-history"', 1)[1]
    event = AuditEvent.objects.get(action=AuditAction.EDIT_USER)
    assert event.detail == {"fields": ["grade"]}


@pytest.mark.parametrize("changes, field_message", [
    ({"grade": "13"}, normalize.grade("13").message),
    ({"grade": "TK"}, normalize.grade("TK").suggestion),
    ({"first_name": ""}, "First Name is blank."),
    ({"email": "ava at school"}, normalize.email("ava at school").message),
    ({"district_id": "1.2E+05"}, normalize.district_id("1.2E+05").message),
    ({"district_id": "000124"}, services.ERROR_DISTRICT_ID_TAKEN.format(district_id="000124")),
    ({"user_type": "teacher"}, normalize.user_type("teacher").message),
    ({"school_sis_id": "999"}, 'School "999" is not matched to a school of the district.'),
    ({"last_name": "x" * 151}, "Last Name is 151 characters long; the limit is 150."),
])
def test_an_edit_follows_the_import_rules_and_messages(district_admin_client, people, changes, field_message):
    ava = people["ava"]
    before = User.objects.filter(pk=ava.pk).values().get()
    response = district_admin_client.post(reverse("users:edit", args=[ava.pk]), _form(ava, **changes))
    assert response.status_code == 200
    assert field_message in _text(response)
    assert User.objects.filter(pk=ava.pk).values().get() == before
    assert not AuditEvent.objects.filter(action=AuditAction.EDIT_USER).exists()


def test_a_staff_member_needs_an_email_and_a_student_a_grade(district_admin_client, people):
    maria, ava = people["maria"], people["ava"]
    response = district_admin_client.post(reverse("users:edit", args=[maria.pk]), _form(maria, email=""))
    assert "Email Address is blank for a staff member." in _text(response)
    response = district_admin_client.post(reverse("users:edit", args=[ava.pk]), _form(ava, grade=""))
    assert "Grade is blank for a student." in _text(response)


def test_a_blank_middle_name_clears_it_and_a_type_change_warns(district_admin_client, people):
    ava = people["ava"]
    User.objects.filter(pk=ava.pk).update(middle_name="Rose")
    ava.refresh_from_db()
    response = district_admin_client.post(
        reverse("users:edit", args=[ava.pk]), _form(ava, middle_name="", user_type="staff", grade=""), follow=True
    )
    ava.refresh_from_db()
    assert (ava.middle_name, ava.user_type, ava.grade) == ("", UserType.STAFF, "")
    assert "is a student in Classworks but a staff in the file" in _text(response)


def test_administrators_accounts_cannot_be_edited_disabled_or_sent_links(district_admin_client, district):
    other_admin = make_admin(district, first_name="Pat", email="pat@springfield.example")
    response = district_admin_client.get(reverse("users:edit", args=[other_admin.pk]), follow=True)
    assert services.ERROR_ADMIN_ACCOUNT in _text(response)
    assert 'name="first_name"' not in response.content.decode()
    district_admin_client.post(reverse("users:edit", args=[other_admin.pk]), _form(other_admin, email="evil@x.example"))
    district_admin_client.post(reverse("users:active", args=[other_admin.pk]), {"active": "0"})
    response = district_admin_client.post(reverse("users:password_link", args=[other_admin.pk]), follow=True)
    assert services.ERROR_ADMIN_ACCOUNT in _text(response)
    other_admin.refresh_from_db()
    assert other_admin.email == "pat@springfield.example" and other_admin.is_active
    assert mail.outbox == []


def test_a_changed_email_of_someone_who_signed_in_notifies_the_old_address(district_admin_client, people, django_capture_on_commit_callbacks):
    maria = people["maria"]
    User.objects.filter(pk=maria.pk).update(last_login=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        district_admin_client.post(reverse("users:edit", args=[maria.pk]), _form(maria, email="new.maria@springfield.example"))
    maria.refresh_from_db()
    assert maria.email == "new.maria@springfield.example"
    assert [m.to for m in mail.outbox] == [["maria.garcia@springfield.example"]]
    assert "was changed by Dana Whitfield" in mail.outbox[0].body
    assert "new.maria" not in mail.outbox[0].body


def test_a_changed_email_of_someone_who_never_signed_in_sends_nothing(district_admin_client, people, django_capture_on_commit_callbacks):
    maria = people["maria"]
    with django_capture_on_commit_callbacks(execute=True):
        district_admin_client.post(reverse("users:edit", args=[maria.pk]), _form(maria, email="new.maria@springfield.example"))
    assert mail.outbox == []


def test_a_staff_member_gets_a_working_set_password_link(district_admin_client, people):
    maria = people["maria"]
    response = district_admin_client.post(reverse("users:password_link", args=[maria.pk]), follow=True)
    assert views.LINK_SENT.format(name="Maria Garcia") in _text(response)
    (message,) = mail.outbox
    assert message.to == ["maria.garcia@springfield.example"]
    path = re.search(r"https?://[^/]+(/accounts/reset/\S+)", message.body).group(1)
    uid, token = path.rstrip("/").split("/")[-2:]
    assert default_token_generator.check_token(maria, token)
    assert "Sent a set-password link" in _text(district_admin_client.get(reverse("users:detail", args=[maria.pk])))


def test_no_link_goes_to_an_address_that_was_just_changed(district_admin_client, people, django_capture_on_commit_callbacks):
    maria = people["maria"]
    with django_capture_on_commit_callbacks(execute=True):
        district_admin_client.post(reverse("users:edit", args=[maria.pk]), _form(maria, email="attacker@elsewhere.example"))
    response = district_admin_client.post(reverse("users:password_link", args=[maria.pk]), follow=True)
    assert "so no set-password link goes to it" in _text(response)
    assert all("attacker@elsewhere.example" not in m.to for m in mail.outbox)
    assert not AuditEvent.objects.filter(action=AuditAction.SEND_PASSWORD_LINK).exists()


def test_an_address_changed_by_an_import_gets_no_link_either(district_admin_client, district, district_admin, tmp_path):
    make_school(district, sis_id=SCHOOL_SIS_ID)
    teacher = make_staff(district, district_user_id="T-9", email="old@springfield.example", password=None)
    from imports.tests.factories import staff
    run_job(make_import_job(district, [write_csv(tmp_path / "s.csv", [staff("T-9", **{"Email Address": "new@springfield.example"})])]))
    teacher.refresh_from_db()
    assert teacher.email == "new@springfield.example"
    mail.outbox.clear()
    response = district_admin_client.post(reverse("users:password_link", args=[teacher.pk]), follow=True)
    assert "so no set-password link goes to it" in _text(response)
    assert mail.outbox == []


def test_students_get_no_set_password_link(district_admin_client, people):
    response = district_admin_client.post(reverse("users:password_link", args=[people["ava"].pk]), follow=True)
    assert services.ERROR_LINK_STAFF_ONLY in _text(response)
    assert mail.outbox == []


def _sign_in(username: str) -> int:
    return Client().post(reverse("login"), {"username": username, "password": PASSWORD}).status_code


def test_a_disabled_user_cannot_sign_in_until_enabled(district_admin_client, people):
    maria = people["maria"]
    assert _sign_in(maria.username) == 302
    signed_in = Client()
    signed_in.force_login(maria)
    response = district_admin_client.post(reverse("users:active", args=[maria.pk]), {"active": "0"}, follow=True)
    assert views.DISABLED.format(name="Maria Garcia") in _text(response)
    assert _sign_in(maria.username) == 200  # the sign-in form again, with its error
    # An open session ends too: the next request is anonymous.
    assert signed_in.get(reverse("manage:home")).status_code == 302
    district_admin_client.post(reverse("users:active", args=[maria.pk]), {"active": "1"})
    assert _sign_in(maria.username) == 302
    actions = list(AuditEvent.objects.filter(subject_user=maria).values_list("action", flat=True))
    assert actions.count(AuditAction.DISABLE_USER) == 1 and actions.count(AuditAction.ENABLE_USER) == 1
    history = _text(district_admin_client.get(reverse("users:detail", args=[maria.pk]))).split('id="user-history"', 1)[1]
    assert "Disabled a user" in history and "Enabled a user" in history


def test_a_large_district_is_counted_only_up_to_the_cap(district_admin_client, district):
    from users.selectors import USER_COUNT_CAP

    User.objects.bulk_create([
        User(district=district, username=f"bulk{n}", first_name="Bulk", last_name=f"User{n:04d}", district_user_id=f"B{n:04d}", password="!")
        for n in range(USER_COUNT_CAP + 1)
    ])
    page = _text(district_admin_client.get(reverse("users:list")))
    assert f"more than {USER_COUNT_CAP:,} users" in page
    assert len(_rows(district_admin_client.get(reverse("users:list")))) == USERS_PER_PAGE
    assert "· 1 match" in _text(district_admin_client.get(reverse("users:list"), {"q": "B0007"}))
