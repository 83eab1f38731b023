"""The browser fixtures of the import tests (Chromium, live server, screenshots), shared here."""
from imports.tests.browser.conftest import browser, browser_errors, page, screenshot, sign_in  # noqa: F401
