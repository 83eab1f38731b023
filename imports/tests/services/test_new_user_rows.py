"""New users reach the table as rows built once per chunk: the same columns and values as one dict per user."""
import re

import pytest
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX, make_password
from django.utils import timezone

from imports.pipeline.rows import UserRow
from imports.services import apply, writers
from imports.targets import users as users_target
from imports.tests.factories import FULL_HEADER, make_import_job, run_job, staff, student, write_csv
from imports.types import SPECS, USER_DATA
from users.models import User

UNUSABLE = re.compile(re.escape(UNUSABLE_PASSWORD_PREFIX) + r"[A-Za-z0-9_-]{40}")


def _record(spec, **given):
    return {c: given.get(c) for c in spec.record_columns}


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.import_type)
def test_new_users_rows_are_what_new_user_makes(spec):
    now = timezone.now()
    records = [
        _record(spec),  # nothing given: every column's default
        _record(spec, **{c: f"v{i}" for i, c in enumerate(spec.record_columns) if c not in ("school_id", "birthdate")}),
        _record(spec, grade="5", first_name="Ada", user_type="student", limited_english=True, username="ada"),
    ]
    engine = (spec.match_column, "password", "username")
    rows = [
        [f"D-{n}", f"pw-{n}", f"gen-{n}", *(record[c] for c in spec.record_columns)] for n, record in enumerate(records)
    ]
    constant = {"date_joined": now, "district_id": 7, "created_by_import_id": 9}

    made = writers.new_users(spec, engine, spec.record_columns, rows, **constant)

    expected = [
        writers.new_user(spec, record, **{spec.match_column: f"D-{n}"}, password=f"pw-{n}", username=f"gen-{n}", **constant)
        for n, record in enumerate(records)
    ]
    assert len(made) == len(expected)
    assert list(made) == expected  # the same columns and values, user by user
    assert made[1:].columns == made.columns and list(made[1:]) == expected[1:]


def test_an_insert_default_or_a_record_column_wins_over_the_engine():
    spec = USER_DATA
    rows = [["D-1", "pw", "engine-name", True, *(("file-name" if c == "username" else None) for c in spec.record_columns)]]

    made = writers.new_users(spec, ("district_user_id", "password", "username", "is_staff"), spec.record_columns, rows)

    expected = writers.new_user(
        spec, _record(spec, username="file-name"), district_user_id="D-1", password="pw", username="engine-name", is_staff=True,
    )
    user = made[0]
    assert user.pop("date_joined") <= expected.pop("date_joined")  # a callable default: called for each user
    assert user == expected
    assert made.columns.count("username") == 1 and user["username"] == "file-name" and user["is_staff"] is False


def test_unusable_passwords_are_unique_and_in_make_password_none_form():
    passwords = users_target.unusable_passwords(5000)

    assert len(passwords) == len(set(passwords)) == 5000
    assert all(UNUSABLE.fullmatch(p) for p in passwords)
    assert users_target.unusable_passwords(0) == []
    assert not User(password=passwords[0]).has_usable_password()


def test_the_spool_gives_back_the_rows_it_kept_in_order(monkeypatch):
    monkeypatch.setattr(apply.RowSpool, "BATCH_ROWS", 3)
    columns = ("first_name", "grade", "school_id")
    spool = apply.RowSpool(keep_all=False, columns=columns)
    kept = []
    for n in range(11):
        row = UserRow(file="a.csv", row=n + 2, district_id=f"{n}", values={"grade": str(n), "school_id": n, "first_name": None})
        writes = n % 3 != 1
        spool.add(row, type("Outcome", (), {"writes": writes})())
        if writes:
            kept.append((n, "a.csv", n + 2, f"{n}", {"first_name": None, "grade": str(n), "school_id": n}))
    try:
        for _ in range(2):  # read again: the same rows
            got = [(r.index, r.file, r.row, r.district_id, r.values) for r in spool]
            assert got == kept
            assert all(list(r.values) == list(columns) for r in spool)
        assert spool.kept == len(kept)
    finally:
        spool.close()


@pytest.mark.django_db
@pytest.mark.usefixtures("no_safety_hold")
def test_users_an_import_creates_are_the_rows_new_user_makes(district, school, tmp_path, monkeypatch):
    """Every stored column of a created user, against the user built one dict at a time (as before COPY rows)."""
    header = (*FULL_HEADER, "Username", "Prefix", "Birthdate", "Gender", "Race", "OneRoster sourcedId")
    path = write_csv(tmp_path / "roster.csv", [
        student("1", Password="Tr0ub4dor&3-horse", Username="ada.l", Prefix="Ms.", Birthdate="2015-03-14", Gender="F"),
        student("2", **{"Middle Name": "Byron", "Limited English": "Y", "Race": "White"}),
        staff("T-1", Username=""),
    ], header=header)
    expected, real = {}, users_target.UsersTarget.new_users

    def recorded(self, rows, *, job, usernames, now):
        spec = self.spec
        for row in rows:
            values = dict(row.values)
            if "username" in values:
                values["username"] = values["username"] or usernames.get(row.district_id, "")
            expected[row.district_id] = writers.new_user(
                spec, values, **{spec.match_column: row.district_id}, password=None,
                username=usernames.get(row.district_id, ""), date_joined=now, district_id=job.district_id,
                created_by_import_id=job.id,
            )
        return real(self, rows, job=job, usernames=usernames, now=now)

    monkeypatch.setattr(users_target.UsersTarget, "new_users", recorded)
    run_job(make_import_job(district, [path]))

    assert set(expected) == {"1", "2", "T-1"}
    for district_id, user in expected.items():
        stored = User.objects.filter(district=district, district_user_id=district_id).values(*user).get()
        assert {k: v for k, v in stored.items() if k != "password"} == {k: v for k, v in user.items() if k != "password"}
    assert User.objects.get(district_user_id="1").check_password("Tr0ub4dor&3-horse")
    for district_id in ("2", "T-1"):
        assert UNUSABLE.fullmatch(User.objects.get(district_user_id=district_id).password)
    assert make_password(None).startswith(UNUSABLE_PASSWORD_PREFIX)


@pytest.mark.django_db
@pytest.mark.parametrize("middle_name", ["plain", "tab\there \\ back", "line\nbreak"])  # the fast and the exact COPY text
def test_insert_users_writes_the_shared_values_of_every_row(district, middle_name):
    now = timezone.now()
    made = writers.new_users(
        USER_DATA, ("district_user_id", "password", "username"), ("first_name", "last_name", "email", "middle_name", "limited_english", "race"),
        [[f"D-{n}", "!x", f"u-{n}-{middle_name}", "Ada", "L", None, middle_name if n else None, n == 1, None] for n in range(3)],
        date_joined=now, district_id=district.id, created_by_import_id=None,
    )

    writers.insert_users(made)

    stored = list(User.objects.filter(district=district).order_by("district_user_id").values(*made.columns))
    assert stored == list(made)
    assert stored[0]["date_joined"] == now and stored[1]["limited_english"] is True and stored[2]["is_active"] is True
