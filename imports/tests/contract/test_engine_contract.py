"""The engine's contract: the same behaviour on SQLite and on PostgreSQL.

bin/test runs these on the database DATABASE_URL names (SQLite without it); run it once more with
DATABASE_URL=postgres://... for the PostgreSQL half, as CI does. Nothing here skips on either database.
"""
import datetime

import pytest
from django.db import connection

from imports.models import ImportIssue
from imports.targets import base, get_target
from imports.tests.factories import HEADER, make_import_job, run_job, student, write_csv
from imports.types import STUDENT_DEMOGRAPHICS, USER_DATA
from users.models import User
from users.tests.factories import make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_safety_hold")]


def test_duplicate_usernames_in_the_file_are_found_whatever_their_case(district, school, tmp_path):
    rows = [student("Q1", Username="same"), student("Q2", Username="SAME"), student("Q3", Username="other")]
    job = make_import_job(district, [write_csv(tmp_path / "a.csv", rows, header=HEADER + ("Username",))])

    assert sorted(ImportIssue.objects.filter(job=job, severity="error").values_list("code", "row")) == [
        ("duplicate_username", 2), ("duplicate_username", 3),
    ]
    assert job.validation_summary["counts"]["new"] == 1


def test_every_row_of_every_duplicate_is_a_problem_named_with_the_other_row(district, school, tmp_path):
    """Duplicates are found one way at every size: the same problems on either database."""
    twin = "twin@springfield.example.org"
    rows = [
        student("D1", Username="same"), student("D2", Username="SAME"), student("D1"),
        student("D3", **{"Email Address": twin}), student("D4", **{"Email Address": twin.upper()}), student("D5"),
    ]
    job = make_import_job(district, [write_csv(tmp_path / "a.csv", rows, header=HEADER + ("Username",))])

    assert sorted(ImportIssue.objects.filter(job=job).values_list("code", "row", "message")) == [
        ("duplicate_district_id", 2, 'District ID "D1" appears more than once in the file (also row 4).'),
        ("duplicate_district_id", 4, 'District ID "D1" appears more than once in the file (also row 2).'),
        ("duplicate_email_in_file", 5, "The same email address is on more than one row (also row 6)."),
        ("duplicate_email_in_file", 6, "The same email address is on more than one row (also row 5)."),
        ("duplicate_username", 2, 'Username "same" appears more than once in the file (also row 3).'),
        ("duplicate_username", 3, 'Username "same" appears more than once in the file (also row 2).'),
    ]
    counts = job.validation_summary["counts"]
    assert (counts["error_rows"], counts["new"], counts["warnings"]) == (3, 3, 2)


AWKWARD = ["tab\there", "back\\slash", "line\nbreak", "carriage\rreturn", "", None, "Zoë Ñúñez"]


def test_staged_columns_come_back_exactly_as_given_awkward_characters_and_nulls_included():
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE contract_stage (n int, value text, flag boolean, kind smallint)")
    base.stage_columns("contract_stage", ("n", "value", "flag", "kind"),
                       [list(range(len(AWKWARD))), AWKWARD, [n % 2 == 0 for n in range(len(AWKWARD))]], same=(7,))
    with connection.cursor() as cursor:
        cursor.execute("SELECT n, value, flag, kind FROM contract_stage ORDER BY n")
        assert [tuple(r) for r in cursor.fetchall()] == [(n, v, n % 2 == 0, 7) for n, v in enumerate(AWKWARD)]
        cursor.execute("DROP TABLE contract_stage")


def test_new_users_written_by_the_target_read_back_with_every_value(district, school, tmp_path):
    rows = [
        student("C1", **{"Last Name": "Tab\there", "Middle Name": "Back\\slash"}),
        student("C2", **{"First Name": "Zoë"}),
    ]
    header = HEADER + ("Middle Name",)
    job = run_job(make_import_job(district, [write_csv(tmp_path / "c.csv", rows, header=header)]))

    assert job.counts["created"] == 2
    c1 = User.objects.get(district=district, district_user_id="C1")
    assert (c1.last_name, c1.middle_name, c1.school_id, c1.is_active) == ("Tab\there", "Back\\slash", school.id, True)
    assert not c1.has_usable_password() and c1.username == "springfield.C1"
    assert User.objects.get(district=district, district_user_id="C2").first_name == "Zoë"


def test_the_target_updates_only_what_differs_and_looks_users_up_by_its_keys(district, school):
    ada = make_user(district, district_user_id="A1", first_name="Ada", last_name="Old", grade="5", school=school, email="")
    make_user(district, district_user_id="A2", first_name="Bo", last_name="Same", grade="5", school=school, email="")
    target = get_target(USER_DATA)

    found = target.lookup(district=district, keys=["A1", "A2", "missing"])
    assert set(found) == {"A1", "A2"} and found["A1"].id == ada.id and found["A1"].values["last_name"] == "Old"
    final = dict(found["A1"].values, last_name="New")
    written = base.update_rows(target.model, [(ada.id, final), (found["A2"].id, dict(found["A2"].values))])

    assert User.objects.get(id=ada.id).last_name == "New"
    # PostgreSQL skips the row whose values do not differ; the ORM writes both. Either way the values hold.
    assert written in (1, 2) and User.objects.get(district_user_id="A2").last_name == "Same"


def test_demographics_finds_students_by_their_oneroster_id_too_and_never_staff(district, school):
    make_user(district, district_user_id="S1", oneroster_sourced_id="f81d4fae", grade="5", school=school, email="")
    make_user(district, district_user_id="T1", user_type="staff", school=school, email="t1@example.org")

    found = get_target(STUDENT_DEMOGRAPHICS).lookup(district=district, keys=["f81d4fae", "T1"])

    assert set(found) == {"f81d4fae"} and found["f81d4fae"].district_user_id == "S1"


def test_the_fingerprint_changes_with_a_compared_column_or_is_not_kept(district, school):
    ada = make_user(district, district_user_id="F1", last_name="Old", grade="5", school=school, email="")
    target = get_target(USER_DATA)
    columns = ("id", "district_user_id", "last_name")
    before = target.fingerprint(district=district, columns=columns)
    User.objects.filter(id=ada.id).update(last_name="New")
    after = target.fingerprint(district=district, columns=columns)
    User.objects.filter(id=ada.id).update(last_login=datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc))

    if before is None:  # not kept on this database: the run always checks again
        assert after is None
    else:
        assert before != after == target.fingerprint(district=district, columns=columns)


def test_one_import_of_a_district_writes_at_a_time(district):
    with base.district_lock(district.id) as first:
        assert first is True
