# The browser fixtures of the import tests: one Chromium per module, a context per test, sign-in, screenshots.
from imports.tests.browser.conftest import browser, browser_errors, page, screenshot, sign_in  # noqa: F401
