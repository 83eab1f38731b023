"""Forgot your password? in Chromium: the email, the set-password page, signing in, and a used link's message."""
import re

import pytest
from django.core import mail
from django.core.cache import cache

from imports.tests.browser.test_accessibility_browser import AXE, Audit
from users.tests.factories import make_district, make_staff

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.browser
NEW_PASSWORD = "Maple-Leaf-Sunrise-42"


def test_forgot_password_to_signed_in_and_a_used_link(page, transactional_db, browser_errors):
    cache.clear()
    district = make_district(name="Springfield Public Schools")
    make_staff(district, username="t.jones", first_name="Terry", email="terry.jones@springfield.example", password=None)
    page.context.add_init_script(path=str(AXE))
    audit = Audit(page)

    page.goto("/accounts/login/")
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page.get_by_role("heading", name="Forgot your password?")).to_be_visible()
    audit("forgot password")
    page.get_by_label("Email address").fill("terry.jones@springfield.example")
    page.get_by_role("button", name="Send the link").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    audit("check your email")

    (message,) = mail.outbox
    assert message.to == ["terry.jones@springfield.example"] and "t.jones" in message.body
    link = re.search(r"https?://[^/]+(/accounts/reset/\S+)", message.body).group(1)
    page.goto(link)
    expect(page.get_by_role("heading", name="Set your password")).to_be_visible()
    expect(page.locator("body")).not_to_contain_text("Django administration")
    audit("set your password")
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set password").click()
    expect(page.get_by_role("heading", name="Your password is set")).to_be_visible()
    audit("password set")

    page.get_by_role("link", name="Sign in").click()
    page.get_by_label("Username").fill("t.jones")
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    # A staff member is not an administrator: a page that says what they can do, not a 403.
    expect(page.get_by_role("heading", name="You are signed in, Terry")).to_be_visible()
    expect(page.locator("#signed-in")).to_contain_text("What you can do")
    audit("signed in as staff")
    page.get_by_role("button", name="Sign out").click()

    page.goto(link)
    expect(page.get_by_role("heading", name="This link no longer works")).to_be_visible()
    expect(page.locator("#link-used")).to_contain_text("used already, or it has expired")
    audit("used link")
    page.get_by_role("link", name="Send me a new link").click()
    expect(page.get_by_role("heading", name="Forgot your password?")).to_be_visible()
    assert audit.found == [], "\n".join(audit.found)
    assert browser_errors == []
