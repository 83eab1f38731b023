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


def test_copy_and_update_from_write_usernames_birthdates_and_races(district, school, tmp_path):
    import datetime

    from imports.models import ImportIssue
    from imports.tests.factories import HEADER
    from users.tests.factories import make_district, make_user

    make_user(make_district(slug="shelbyville"), username="taken.elsewhere", district_user_id="X1")
    header = HEADER + ("Username", "Birthdate", "Race")
    rows = [
        student("P1", Username="Ada.L", Birthdate="40635", Race="white;asian"),
        student("P2", Username="", Birthdate="4/13/2011", Race="Two or more races"),
    ]
    run_job(make_import_job(district, [write_csv(tmp_path / "a.csv", rows, header=header)]))  # COPY

    stored = {u.district_user_id: u for u in User.objects.filter(district=district)}
    assert (stored["P1"].username, stored["P1"].birthdate, stored["P1"].race) == ("Ada.L", datetime.date(2011, 4, 2), "White;Asian")
    assert (stored["P2"].username, stored["P2"].birthdate, stored["P2"].race) == ("springfield.P2", datetime.date(2011, 4, 13), "Two or more races")

    rows[0].update(Username="ada.lovelace", Birthdate="2011-04-03", Race="Asian")  # UPDATE ... FROM
    rows[1].update(Username="ADA.L")  # the other user's, in another case: an error that names them
    bad = make_import_job(district, [write_csv(tmp_path / "b.csv", rows, header=header)])
    assert list(ImportIssue.objects.filter(job=bad, severity="error").values_list("code", "row")) == [("username_taken", 3)]

    rows[1].update(Username="TAKEN.elsewhere")
    bad = make_import_job(district, [write_csv(tmp_path / "c.csv", rows, header=header)])
    assert list(ImportIssue.objects.filter(job=bad, severity="error").values_list("code", "row")) == [("username_taken", 3)]

    rows[1].update(Username="")
    job = run_job(make_import_job(district, [write_csv(tmp_path / "d.csv", rows, header=header)]))
    assert job.counts["updated"] == 1
    p1 = User.objects.get(district_user_id="P1")
    assert (p1.username, p1.birthdate, p1.race) == ("ada.lovelace", datetime.date(2011, 4, 3), "Asian")
    assert User.objects.get(district_user_id="P2").username == "springfield.P2"
