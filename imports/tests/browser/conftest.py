"""Playwright (sync API) on Debian's Chromium against pytest-django's live server.

One browser per module keeps the run fast; every test gets its own context, so cookies never
leak between tests. Screenshots of every screen go to var/screenshots/ under the project root,
and the folder is named once at the end of the run.
"""
import os
from pathlib import Path

import pytest
from django.conf import settings

from users.tests.factories import PASSWORD

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOT_DIR = Path(settings.BASE_DIR) / "var" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
# Long enough for a slow CI machine; history.js polls every 2 s.
TIMEOUT_MS = 15_000

_saved: list[Path] = []


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    sync_api.expect.set_options(timeout=TIMEOUT_MS)
    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls would
    # otherwise be refused as "async unsafe".
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        playwright = sync_api.sync_playwright().start()
        try:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                yield chromium
            finally:
                chromium.close()
        finally:
            playwright.stop()


@pytest.fixture
def browser_errors():
    """What the browser reported as broken: console errors (a CSP refusal among them) and script errors."""
    return []


@pytest.fixture
def page(browser, live_server, transactional_db, browser_errors):
    context = browser.new_context(viewport=DESKTOP, accept_downloads=True, base_url=live_server.url)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.on("console", lambda message: browser_errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: browser_errors.append(str(error)))
    yield page
    context.close()


@pytest.fixture
def screenshot():
    """shot(page, "walk-01-login"): a full-page PNG of what the browser shows now.

    With phone=True the same page is also taken at phone width, as "<name>-phone.png".
    """
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)

    def shot(page, name: str, *, phone: bool = False) -> Path:
        path = SCREENSHOT_DIR / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        _saved.append(path)
        if phone:
            page.set_viewport_size(PHONE)
            phone_path = SCREENSHOT_DIR / f"{name}-phone.png"
            page.screenshot(path=str(phone_path), full_page=True)
            _saved.append(phone_path)
            page.set_viewport_size(DESKTOP)
        return path

    return shot


@pytest.fixture
def sign_in(page):
    """sign_in(username): the sign-in page, filled and sent; lands on Import History."""

    def go(username: str, password: str = PASSWORD) -> None:
        page.goto("/accounts/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/imports/")

    return go


def pytest_terminal_summary(terminalreporter):
    if _saved:
        terminalreporter.write_line(f"Browser screenshots ({len(_saved)}): {SCREENSHOT_DIR}")
