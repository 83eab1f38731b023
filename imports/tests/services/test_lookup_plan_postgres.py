"""Existing users are looked up through the (district, key) indexes, whatever PostgreSQL's statistics say.

A look-up that scanned the whole district for every batch of 5,000 District IDs made a large
district's import grow with the square of its size.
"""
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from imports import selectors
from imports.services import writers
from imports.types import USER_DATA
from schools.models import District
from users.models import User

pytestmark = pytest.mark.django_db

DISTRICT_USERS = 300_000
UNIQUE_INDEX = "user_district_id_unique_per_district"
EMAIL_INDEX = "user_district_email_ci"


@pytest.fixture(autouse=True)
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("the plan of the PostgreSQL look-up")


def _load_users(district: District, count: int) -> None:
    """count users of the district in one INSERT ... SELECT (seconds, not minutes)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {User._meta.db_table} (
                password, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined,
                district_id, district_user_id, user_type, middle_name, grade, state_user_id, alternate_user_id,
                limited_english, economically_disadvantaged, is_district_admin)
            SELECT '!', false, %s || n, 'First', 'Last', 'user' || n || '@plan.example', false, true, now(),
                   %s, lpad(n::text, 8, '0'), 'student', '', '5', '', '', false, false, false
            FROM generate_series(1, %s) AS n
            """,
            [f"{district.slug}.", district.id, count],
        )


def _analyze() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {User._meta.db_table}")


def _indexes_used(sql: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql)
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    found, stack = set(), [plan[0]["Plan"]]
    while stack:
        node = stack.pop()
        if "Index Name" in node:
            found.add(node["Index Name"])
        stack.extend(node.get("Plans", []))
    return found


def _lookup_sql(call) -> str:
    with CaptureQueriesContext(connection) as queries:
        call()
    assert len(queries.captured_queries) == 1
    return queries.captured_queries[0]["sql"]


@pytest.fixture
def big_district():
    """A 300,000-user district beside a small one; statistics taken while the big one was still empty."""
    small = District.objects.create(name="Small", slug="small")
    _load_users(small, 2_000)
    big = District.objects.create(name="Big", slug="big")
    _analyze()  # the planner now believes the big district has no users
    _load_users(big, DISTRICT_USERS)
    return big


def test_district_id_lookup_probes_the_unique_index_in_a_300k_district(big_district):
    wanted = [f"{n:08d}" for n in range(1, DISTRICT_USERS, 60)]  # 5,000 ids spread over the district

    sql = _lookup_sql(lambda: selectors.existing_users_by_district_id(district=big_district, district_ids=wanted, spec=USER_DATA))

    assert _indexes_used(sql) == {UNIQUE_INDEX}  # statistics from before the district had users
    _analyze()
    assert _indexes_used(sql) == {UNIQUE_INDEX}  # and up-to-date ones
    found = selectors.existing_users_by_district_id(district=big_district, district_ids=wanted + ["missing"], spec=USER_DATA)
    assert sorted(found) == sorted(wanted)
    assert found["00000061"].values["first_name"] == "First"


def test_email_lookup_probes_the_district_email_index(big_district):
    emails = [f"USER{n}@plan.example" for n in range(1, DISTRICT_USERS, 60)]

    sql = _lookup_sql(lambda: selectors.existing_email_owners(district=big_district, emails=emails))

    assert _indexes_used(sql) == {EMAIL_INDEX}
    _analyze()
    assert _indexes_used(sql) == {EMAIL_INDEX}
    owners = selectors.existing_email_owners(district=big_district, emails=emails)
    assert owners["user61@plan.example"] == "00000061" and len(owners) == len(emails)


def _table_rows_believed() -> float:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [User._meta.db_table])
        return cursor.fetchone()[0]


def test_a_run_refreshes_statistics_its_own_writes_made_stale():
    """A fresh import's rows are uncommitted and not yet in PostgreSQL's counters; the run counts them itself."""
    district = District.objects.create(name="Fresh", slug="fresh")
    _analyze()
    _load_users(district, 5_000)  # what one batch of a fresh import writes, in the same transaction
    believed = _table_rows_believed()

    assert not writers.refresh_statistics_if_stale(written_since=500)  # a few rows: no ANALYZE
    assert writers.refresh_statistics_if_stale(written_since=5_000)
    assert _table_rows_believed() >= believed + 5_000  # the planner now knows the district's size
