"""An admin session ends after 8 hours without a request and when the browser closes."""
import os
import secrets
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from unittest import mock

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from users.tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

EIGHT_HOURS = timedelta(hours=8)


def sign_in(client, user):
    response = client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    return response


def test_the_session_cookie_ends_when_the_browser_closes(client, district_admin):
    cookie = sign_in(client, district_admin).cookies[settings.SESSION_COOKIE_NAME]

    assert cookie.value
    assert not cookie["max-age"] and not cookie["expires"]  # a browser-session cookie

    # The cookie sent again when the expiry moves on (at most once a minute) is one too.
    with mock.patch("django.utils.timezone.now", return_value=timezone.now() + timedelta(minutes=2)):
        cookie = client.get(reverse("manage:home")).cookies[settings.SESSION_COOKIE_NAME]
    assert not cookie["max-age"] and not cookie["expires"]


def test_a_session_ends_after_eight_hours_idle_and_each_request_restarts_the_clock(client, district_admin):
    start = timezone.now()
    with mock.patch("django.utils.timezone.now", return_value=start):
        sign_in(client, district_admin)

    # Active: a request just before the 8 hours are up keeps the admin signed in...
    almost = start + EIGHT_HOURS - timedelta(minutes=1)
    with mock.patch("django.utils.timezone.now", return_value=almost):
        assert client.get(reverse("manage:schools")).status_code == 200

    # ...and the 8 hours count again from that request.
    with mock.patch("django.utils.timezone.now", return_value=almost + EIGHT_HOURS - timedelta(minutes=1)):
        assert client.get(reverse("manage:schools")).status_code == 200

    # Idle for just over 8 hours: signed out.
    idle = almost + EIGHT_HOURS - timedelta(minutes=1) + EIGHT_HOURS + timedelta(minutes=1)
    with mock.patch("django.utils.timezone.now", return_value=idle):
        response = client.get(reverse("manage:schools"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_production_settings_end_sessions_after_eight_hours_idle_and_at_browser_close():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "classworks_import.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "example.org",
    }
    script = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_AGE, s.SESSION_REFRESH_SECONDS, s.SESSION_EXPIRE_AT_BROWSER_CLOSE)"
    )

    result = subprocess.run(
        [sys.executable, "-c", script], cwd=Path(settings.BASE_DIR), env=env, capture_output=True, text=True, timeout=60,
    )

    assert result.stdout.split() == ["28800", "60", "True"], result.stderr
