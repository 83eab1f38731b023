"""Fixtures shared by the import tests (district and district_admin come from the root conftest)."""
import pytest

from imports.tests.factories import SCHOOL_SIS_ID
from users.tests.factories import make_school


@pytest.fixture
def school(district):
    return make_school(district, sis_id=SCHOOL_SIS_ID, name="Lincoln Elementary")
