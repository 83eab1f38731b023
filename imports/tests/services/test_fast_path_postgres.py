"""The PostgreSQL fast path writes only what must be written, by PostgreSQL's own row counters."""
import pytest
from django.db import connection

from imports.tests.factories import make_import_job, run_job, staff, student, write_csv
from users.models import User

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_safety_hold")]


@pytest.fixture(autouse=True)
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("the COPY / UPDATE ... FROM path runs on PostgreSQL")


def _users_written() -> tuple[int, int]:
    """Rows inserted and updated in users_user by this transaction, as PostgreSQL counts them."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_stat_get_xact_tuples_inserted(%s::regclass), pg_stat_get_xact_tuples_updated(%s::regclass)",
            [User._meta.db_table, User._meta.db_table],
        )
        return tuple(cursor.fetchone())


def _rows(n):
    return [student(f"{i:06d}", **{"Last Name": f"Student{i}"}) for i in range(n)] + [staff("T-1")]


def test_reimporting_an_unchanged_file_issues_no_update_of_user_rows(district, school, tmp_path):
    path = write_csv(tmp_path / "roster.csv", _rows(40))
    before = _users_written()
    run_job(make_import_job(district, [path]))
    inserted, updated = _users_written()
    assert inserted - before[0] == 41

    job = run_job(make_import_job(district, [path]))

    assert job.counts["unchanged"] == 41 and job.counts["updated"] == 0
    assert _users_written() == (inserted, updated)  # not one more row inserted or updated


def test_a_changed_row_is_the_only_row_updated(district, school, tmp_path):
    rows = _rows(40)
    run_job(make_import_job(district, [write_csv(tmp_path / "a.csv", rows)]))
    inserted, updated = _users_written()
    rows[7]["Last Name"] = "Renamed"

    job = run_job(make_import_job(district, [write_csv(tmp_path / "b.csv", rows)]))

    assert job.counts["updated"] == 1
    assert _users_written() == (inserted, updated + 1)
    assert User.objects.get(district_user_id="000007").last_name == "Renamed"


def test_copy_keeps_every_character_of_awkward_names(district, school, tmp_path):
    names = ["O'Brien", 'Jo "JJ"', "back\\slash", "tab\there", "Mary\nAnn", "Ødegaard", r"\N", "x,y;z"]
    rows = [student(f"A{i}", **{"First Name": name}) for i, name in enumerate(names)]

    run_job(make_import_job(district, [write_csv(tmp_path / "awkward.csv", rows)]))

    stored = dict(User.objects.filter(district_user_id__startswith="A").values_list("district_user_id", "first_name"))
    assert [stored[f"A{i}"] for i in range(len(names))] == names
