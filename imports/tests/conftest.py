"""Fixtures shared by the import tests (district and district_admin come from the root conftest)."""
import pytest

from imports.services import sources
from imports.tests.factories import SCHOOL_SIS_ID
from users.tests.factories import make_school


@pytest.fixture
def school(district):
    return make_school(district, sis_id=SCHOOL_SIS_ID, name="Lincoln Elementary")


@pytest.fixture
def no_safety_hold(district):
    """Let a test change every existing user without the import waiting for an admin's approval."""
    district.change_threshold_percent = 100
    district.save(update_fields=["change_threshold_percent"])
    return district


@pytest.fixture
def reads(monkeypatch):
    """The passes that read a file's rows from its start (file names, in order)."""
    opened = []

    def counting(real):
        def read(path, info, *args, **kwargs):
            opened.append(info.name)
            return real(path, info, *args, **kwargs)
        return read

    monkeypatch.setattr(sources, "iter_rows", counting(sources.iter_rows))
    monkeypatch.setattr(sources, "iter_row_blocks", counting(sources.iter_row_blocks))
    return opened
