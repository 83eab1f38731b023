"""Fixtures for the sync tests: a district with its school, a drop folder in a temporary SYNC_ROOT."""
import datetime
import os
import time

import pytest

from sync import dropfolder, services
from sync.tests.roster import SCHOOL_SIS_ID, roster_zip
from users.tests.factories import make_school


@pytest.fixture(autouse=True)
def sync_root(settings, tmp_path):
    settings.SYNC_ROOT = str(tmp_path / "sync-root")
    settings.SYNC_SETTLE_SECONDS = 30
    return settings.SYNC_ROOT


@pytest.fixture
def school(district):
    return make_school(district, sis_id=SCHOOL_SIS_ID, name="Lincoln Elementary")


@pytest.fixture
def folder_sync(district, school, district_admin):
    """A folder sync of User Data with full roster, scheduled at 22:00 (inside the default window)."""
    return services.sync_settings_update(
        district=district, source="folder", schedule_time=datetime.time(22, 0), import_types=["user_data"], full_roster=True,
    )


def drop(district, records, name="roster.zip", age_seconds=3600, version="1.1"):
    """Put a roster zip in the district's incoming folder, written `age_seconds` ago."""
    incoming = dropfolder.folders_ensure(district.slug)
    path = roster_zip(records, incoming / name, version=version)
    past = time.time() - age_seconds
    os.utime(path, (past, past))
    return path
