"""A signed-in admin's session is not written on every request, yet still ends 8 hours after the last one."""
from datetime import timedelta
from unittest import mock

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

pytestmark = pytest.mark.django_db


def session_writes(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return sum(1 for q in queries.captured_queries if "django_session" in q["sql"] and q["sql"].lstrip().upper().startswith(("UPDATE", "INSERT")))


def test_requests_within_a_minute_do_not_write_the_session_and_a_later_one_moves_the_expiry(district_admin_client):
    start = timezone.now()
    with mock.patch("django.utils.timezone.now", return_value=start):
        session_writes(district_admin_client, reverse("manage:schools"))
        expiry = Session.objects.get().expire_date

    with mock.patch("django.utils.timezone.now", return_value=start + timedelta(seconds=30)):
        assert session_writes(district_admin_client, reverse("manage:schools")) == 0
    assert Session.objects.get().expire_date == expiry

    later = start + timedelta(seconds=61)
    with mock.patch("django.utils.timezone.now", return_value=later):
        assert session_writes(district_admin_client, reverse("manage:schools")) == 1
    assert Session.objects.get().expire_date == later + timedelta(hours=8)


def test_a_request_without_a_session_creates_none(client):
    client.get(reverse("login"))

    assert not Session.objects.exists()
