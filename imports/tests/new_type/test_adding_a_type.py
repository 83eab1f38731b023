"""Adding an import type with a new target is one type file and one target file: Rooms (rooms_type.py) writes
to its own table through RoomsTarget (rooms_target.py), and the engine (reader, validation, preview, run)
handles it unchanged, naming no model or field of it."""
import pytest
from django.db import connection

from imports import types
from imports.models import ImportIssue, ImportStatus
from imports.tests.factories import make_import_job, run_job, write_csv

from . import rooms_target  # noqa: F401  (registers the target, as a product type's line in TARGETS would)
from .models import Room
from .rooms_type import ROOMS

pytestmark = pytest.mark.django_db(transaction=True)  # SQLite makes a table only outside a transaction

HEADER = ("Room Code", "Room Name", "Building")


@pytest.fixture(autouse=True)
def rooms(monkeypatch):
    monkeypatch.setitem(types._BY_TYPE, ROOMS.import_type, ROOMS)
    with connection.schema_editor() as editor:
        editor.create_model(Room)
    yield
    with connection.schema_editor() as editor:
        editor.delete_model(Room)


def _rows(*rows):
    return [dict(zip(HEADER, r)) for r in rows]


def test_a_rooms_file_is_validated_and_written_to_the_rooms_table(district, tmp_path):
    path = write_csv(tmp_path / "rooms.csv", _rows(("R1", "Library", "Main"), ("R2", "Gym", "")), header=HEADER)
    job = make_import_job(district, [path], import_type=ROOMS.import_type)

    assert job.validation_summary["counts"]["new"] == 2
    job = run_job(job)

    assert job.status == ImportStatus.COMPLETED and job.counts["created"] == 2
    assert sorted(Room.objects.filter(district=district).values_list("code", "name", "building")) == [
        ("R1", "Library", "Main"), ("R2", "Gym", ""),
    ]


def test_a_second_file_updates_by_the_key_and_its_rules_refuse_bad_rows(district, tmp_path):
    Room.objects.create(district=district, code="R1", name="Library", building="Main")
    path = write_csv(tmp_path / "rooms.csv", _rows(("R1", "Media Centre", ""), ("", "No code", "East")), header=HEADER)
    job = make_import_job(district, [path], import_type=ROOMS.import_type)

    assert list(ImportIssue.objects.filter(job=job).values_list("code", "row")) == [("code_required", 3)]
    assert (job.validation_summary["counts"]["update"], job.validation_summary["counts"]["errors"]) == (1, 1)
