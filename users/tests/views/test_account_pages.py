"""Forgot your password?, the set-password link, where staff land after sign-in, and the error pages."""
import re

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import override_settings
from django.urls import reverse

from users import accounts
from users.tests.factories import PASSWORD, make_staff, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_throttle():
    cache.clear()
    yield
    cache.clear()


def _link(message) -> str:
    return re.search(r"https?://[^/]+(/accounts/reset/\S+)", message.body).group(1)


def test_sign_in_offers_forgot_your_password(client):
    html = client.get(reverse("login")).content.decode()
    assert 'href="/accounts/password/reset/"' in html and "Forgot your password?" in html


def test_forgot_password_is_in_the_product_look_not_the_ops_admin(client):
    html = client.get(reverse("password_reset")).content.decode()
    assert "Django administration" not in html and "ops-admin" not in html
    assert "Manage Classworks" not in html and "Forgot your password?" in html


def test_a_known_and_an_unknown_address_get_the_same_answer(client, district):
    make_staff(district, email="teacher@springfield.example", password=None)
    known = client.post(reverse("password_reset"), {"email": "Teacher@springfield.example"}, follow=True)
    unknown = client.post(reverse("password_reset"), {"email": "nobody@springfield.example"}, follow=True)
    assert known.redirect_chain == unknown.redirect_chain == [(reverse("password_reset_done"), 302)]
    assert known.content == unknown.content
    (message,) = mail.outbox  # an account without a usable password (set up by an import) gets one too
    assert message.to == ["teacher@springfield.example"]


def test_students_get_no_link(client, district):
    make_user(district, email="kid@springfield.example")
    client.post(reverse("password_reset"), {"email": "kid@springfield.example"})
    assert mail.outbox == []


def test_requests_are_throttled_per_address(client, district):
    make_staff(district, email="teacher@springfield.example")
    for _ in range(accounts.RESET_LIMIT_PER_ADDRESS + 2):
        response = client.post(reverse("password_reset"), {"email": "teacher@springfield.example"})
        assert response.status_code == 302  # the same answer, throttled or not
    assert len(mail.outbox) == accounts.RESET_LIMIT_PER_ADDRESS


def test_the_link_sets_the_password_and_a_used_link_says_what_to_do(client, district):
    teacher = make_staff(district, email="teacher@springfield.example", password=None)
    client.post(reverse("password_reset"), {"email": "teacher@springfield.example"})
    link = _link(mail.outbox[0])
    form = client.get(link, follow=True)
    html = form.content.decode()
    assert "Set your password" in html and "Django administration" not in html
    done = client.post(form.redirect_chain[-1][0], {"new_password1": "Correct-Horse-9", "new_password2": "Correct-Horse-9"}, follow=True)
    assert "Your password is set" in done.content.decode()
    teacher.refresh_from_db()
    assert teacher.check_password("Correct-Horse-9")
    again = client.get(link, follow=True).content.decode()
    assert "This link no longer works" in again
    assert "used already, or it has expired" in again and reverse("password_reset") in again
    assert "Please request a new password reset" not in again


def test_a_district_admin_may_reset_their_own_password(client, district_admin):
    client.post(reverse("password_reset"), {"email": district_admin.email})
    assert [m.to for m in mail.outbox] == [[district_admin.email]]


def test_a_staff_member_who_signs_in_sees_what_they_can_do(client, district):
    teacher = make_staff(district, username="t.jones")
    client.post(reverse("login"), {"username": "t.jones", "password": PASSWORD})
    response = client.get(reverse("manage:home"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "What you can do" in html and "t.jones" in html and "Forgot your password?" in html
    assert teacher.username in html


def test_the_403_page_has_a_way_back(client, district):
    make_staff(district, username="t.jones")
    client.post(reverse("login"), {"username": "t.jones", "password": PASSWORD})
    response = client.get(reverse("imports:history"))
    assert response.status_code == 403
    assert 'href="/manage/"' in response.content.decode()


@override_settings(DEBUG=True)
def test_a_404_under_debug_is_the_product_page_with_a_way_back(district_admin_client):
    response = district_admin_client.get("/imports/999999/")
    html = response.content.decode()
    assert response.status_code == 404
    assert "Page not found" in html and "Back to Import History" in html and "technical_404" not in html
    unknown_url = district_admin_client.get("/no-such-page/")
    assert unknown_url.status_code == 404 and "Back to Import History" in unknown_url.content.decode()
