"""Shell pages: sign-in, 404, and the Content Security Policy (no inline script or style)."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from users.tests.factories import make_school

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<style\b|\sstyle=", re.IGNORECASE)


@pytest.mark.django_db
def test_sign_in_page(client):
    response = client.get(reverse("login"))

    page = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Sign in</h1>" in page
    assert 'name="username"' in page and 'name="password"' in page


@pytest.mark.django_db
def test_wrong_password_says_so(client, district_admin):
    response = client.post(reverse("login"), {"username": district_admin.username, "password": "nope"})

    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


@pytest.mark.django_db
def test_unknown_page_shows_plain_404(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


def test_pages_have_no_inline_script_or_style(client, district_admin_client, district):
    make_school(district)
    pages = [district_admin_client.get(reverse("manage:schools"))]
    client.logout()
    pages += [client.get(reverse("login")), client.get("/no-such-page/")]

    for response in pages:
        page = response.content.decode()
        assert "Content-Security-Policy" in response.headers
        assert not INLINE_SCRIPT.search(page), page
        assert not INLINE_STYLE.search(page), page
        assert "http://" not in page and "https://" not in page, "assets must be vendored, not from a CDN"


def test_stylesheet_defines_the_shared_classes():
    css = (Path(settings.BASE_DIR) / "static" / "css" / "app.css").read_text()
    for cls in (
        "btn",
        "btn-primary",
        "btn-secondary",
        "btn-danger",
        "card",
        "table",
        "table-wrap",
        "badge",
        "badge-warning",
        "badge-error",
        "alert",
        "alert-error",
        "alert-warning",
        "alert-success",
        "progress",
        "progress-bar",
        "steps",
        "current",
        "done",
        "two-col",
        "muted",
        "pagination",
    ):
        assert re.search(rf"\.{re.escape(cls)}\b", css), cls
