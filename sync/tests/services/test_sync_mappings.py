"""A sync takes its mappings and options from a chosen past import, or the district's remembered ones;
and it imports each chosen type (User Data, then Student Demographics) as an import of its own."""
import datetime
import os
import time

import pytest

from imports.models import ImportStatus
from imports.tests.factories import make_import_job, run_job, write_csv
from sync import dropfolder, services
from sync.models import SyncRunStatus
from sync.tests.conftest import drop
from sync.tests.roster import roster
from users.models import User

pytestmark = pytest.mark.django_db

# An SIS export whose headings nothing matches by itself.
ODD_HEADER = ("Given", "Surname", "Pupil Key", "Kind", "Yr", "Mail", "Building")


def _odd_rows(n, first="Ada"):
    return [{"Given": first, "Surname": f"Family{i}", "Pupil Key": f"P{i:03d}", "Kind": "Student", "Yr": "4", "Mail": "",
             "Building": "Lincoln"} for i in range(n)]


ODD_MAPPING = {"first_name": "Given", "last_name": "Surname", "district_id": "Pupil Key", "user_type": "Kind", "grade": "Yr",
               "email": "Mail", "school_sis_id": "Building"}


def _drop_folder(district, rows, name):
    folder = dropfolder.folders_ensure(district.slug) / name
    folder.mkdir()
    write_csv(folder / "students.csv", rows, header=ODD_HEADER)
    (folder / ".done").touch()
    past = time.time() - 3600
    for p in [folder, *folder.iterdir()]:
        os.utime(p, (past, past))


def test_a_chosen_past_import_gives_the_mapping_school_values_and_options(district, school, tmp_path):
    past = make_import_job(district, [write_csv(tmp_path / "first.csv", _odd_rows(3), header=ODD_HEADER)],
                           field_mapping=ODD_MAPPING, school_mapping={"Lincoln": school.id}, conflict_policy="existing")
    past = run_job(past)
    assert past.status == ImportStatus.COMPLETED
    services.sync_settings_update(district=district, source="folder", schedule_time=None, import_types=["user_data"],
                                  mapping_from_id=past.id)
    _drop_folder(district, _odd_rows(10), "nightly")
    run = services.sync_run(district=district)
    assert run.status == SyncRunStatus.COMPLETED, run.message
    job = run.jobs.get()
    assert job.field_mapping["district_id"] == "Pupil Key" and job.school_mapping == {"Lincoln": school.id}
    assert job.conflict_policy == "existing"
    assert User.objects.filter(district=district, district_user_id__startswith="P", school=school).count() == 10


def test_the_remembered_mapping_is_used_when_no_import_is_chosen(district, school, tmp_path):
    past = make_import_job(district, [write_csv(tmp_path / "first.csv", _odd_rows(3), header=ODD_HEADER)],
                           field_mapping=ODD_MAPPING, school_mapping={"Lincoln": school.id})
    run_job(past)  # submitting remembers its mappings
    services.sync_settings_update(district=district, source="folder", schedule_time=None, import_types=["user_data"])
    _drop_folder(district, _odd_rows(5, first="Bea"), "nightly")
    run = services.sync_run(district=district)
    assert run.status == SyncRunStatus.COMPLETED, run.message
    assert User.objects.filter(district=district, first_name="Bea").count() == 5


def test_required_fields_without_a_column_fail_the_sync_with_what_to_do(district, school):
    services.sync_settings_update(district=district, source="folder", schedule_time=None, import_types=["user_data"])
    _drop_folder(district, _odd_rows(5), "nightly")
    run = services.sync_run(district=district)
    assert run.status == SyncRunStatus.FAILED
    assert "Required fields have no column in the received files" in run.jobs.get().failure_reason


def test_user_data_then_demographics_each_an_import(district, school):
    services.sync_settings_update(district=district, source="folder", schedule_time=datetime.time(22, 0),
                                  import_types=["demographics", "user_data"])
    drop(district, roster(20))
    run = services.sync_run(district=district)
    assert run.status == SyncRunStatus.COMPLETED, run.message
    labels = [job.type_label for job in run.jobs.order_by("number")]
    assert labels == ["Sync · User Data", "Sync · Student Demographics"]
    assert User.objects.filter(district=district, gender="F").count() == 20
