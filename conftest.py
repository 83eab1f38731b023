"""Project-wide pytest hooks.

Tests marked `services` or `browser` skip themselves when PostgreSQL, Redis, a worker or
Chromium is missing. On CI, REQUIRE_SERVICES=1 turns every such skip into a failure, so a
missing service can never make a green run that tested nothing.
"""

import os

import pytest

REQUIRED_MARKERS = ("services", "browser")


def _services_required() -> bool:
    return os.environ.get("REQUIRE_SERVICES") == "1"


def _required_marker(node) -> str | None:
    for name in REQUIRED_MARKERS:
        if node.get_closest_marker(name) is not None:
            return name
    return None


def _skip_reason(report) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2])
    return str(longrepr)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.skipped and _services_required() and not hasattr(report, "wasxfail"):
        marker = _required_marker(item)
        if marker:
            report.outcome = "failed"
            report.longrepr = f"REQUIRE_SERVICES=1 but this '{marker}' test was skipped: {_skip_reason(report)}"
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector):
    # A module marked `services`/`browser` that skips at import time (pytest.importorskip,
    # pytest.skip(allow_module_level=True)) is skipped during collection, not in a test.
    report = yield
    if report.skipped and _services_required() and isinstance(collector, pytest.Module):
        marker = _required_marker(collector)
        if marker is None and _module_mentions_marker(collector):
            marker = "services/browser"
        if marker:
            report.outcome = "failed"
            report.longrepr = f"REQUIRE_SERVICES=1 but this '{marker}' module was skipped: {_skip_reason(report)}"
    return report


def _module_mentions_marker(module) -> bool:
    # When the module skipped before its `pytestmark` was read, fall back to its source text.
    try:
        source = module.path.read_text(encoding="utf-8")
    except OSError:
        return False
    return any(f"pytest.mark.{name}" in source for name in REQUIRED_MARKERS)


# ---- Shared fixtures (factories live in users/tests/factories.py) ----


@pytest.fixture
def district(db):
    from users.tests.factories import make_district

    return make_district(name="Springfield Public Schools", slug="springfield")


@pytest.fixture
def district_admin(district):
    from users.tests.factories import make_admin

    return make_admin(district, username="admin.springfield", first_name="Dana", last_name="Whitfield")


@pytest.fixture
def district_admin_client(client, district_admin):
    """A test client signed in as the district's administrator."""
    client.force_login(district_admin)
    return client
