"""Indexes for the Users list at a million users per district (PostgreSQL only).

The list is ordered by lower(last name), lower(first name), id, compared byte by byte (COLLATE
"C"), and paged by keyset; search is a prefix of a name, District ID, username or email.

- One ordered index per way in (the district, a school, disabled users only) reads exactly one
  page. The district's one also serves a last-name prefix: in byte order a prefix is a range,
  and that range comes out already in the list's order, however common the name.
- The other searched columns get a (district, lower(column) COLLATE "C") index: a prefix is a
  range scan. A trigram index would also find substrings, but it cannot return rows in name
  order, so a broad query would sort every match; a prefix is what an admin types.

Built CONCURRENTLY so that a live district's sign-ins and imports are not blocked. The indexes
are not in the model state: Django cannot declare a collation on an index expression for
both backends, and SQLite (development) does not need them.
"""
from django.db import migrations

NAME_KEYS = 'lower(last_name) COLLATE "C", lower(first_name) COLLATE "C", id'
PREFIX_COLUMNS = ("first_name", "district_user_id", "username", "email")

INDEXES = {
    "user_district_name_order": f"ON users_user (district_id, {NAME_KEYS})",
    "user_school_name_order": f"ON users_user (school_id, {NAME_KEYS})",
    "user_district_disabled_order": f"ON users_user (district_id, {NAME_KEYS}) WHERE NOT is_active",
    **{
        f"user_district_{column}_prefix": f'ON users_user (district_id, (lower({column}) COLLATE "C"))'
        for column in PREFIX_COLUMNS
    },
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, definition in INDEXES.items():
        schema_editor.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} {definition}")
    # An expression index has statistics of its own, gathered only by ANALYZE (autovacuum waits for
    # row changes). Without them a name search at a million users was planned as a 10 s scan.
    schema_editor.execute("ANALYZE users_user")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("users", "0003_demographic_fields"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
