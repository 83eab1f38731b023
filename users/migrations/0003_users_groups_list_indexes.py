"""Indexes for the Users list at a million users per district (PostgreSQL only).

- The list is ordered by (last name, first name, id) and paged by keyset, so one ordered index
  per way in (district, a school, disabled users only) reads exactly one page.
- Search is a prefix match on lower(column): a text_pattern_ops index per searched column makes
  `lower(col) LIKE 'smi%'` a range scan whatever the database collation. A trigram index would
  also find substrings, but it cannot return rows in name order, so a broad query would sort
  every match; a prefix is what an admin types for a name, an id, a username or an email.

Built CONCURRENTLY so that an existing district's sign-ins and imports are not blocked. The
indexes are not in the model state: Django cannot express an operator class on an expression
portably, and SQLite (development) does not need them.
"""
from django.db import migrations

SEARCHED_COLUMNS = ("last_name", "first_name", "district_user_id", "username", "email")

INDEXES = {
    "user_district_name_order": 'ON users_user (district_id, last_name, first_name, id)',
    "user_school_name_order": 'ON users_user (school_id, last_name, first_name, id)',
    "user_district_disabled_order": 'ON users_user (district_id, last_name, first_name, id) WHERE NOT is_active',
    **{
        f"user_district_{column}_prefix": f"ON users_user (district_id, lower({column}) text_pattern_ops)"
        for column in SEARCHED_COLUMNS
    },
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, definition in INDEXES.items():
        schema_editor.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} {definition}")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("users", "0002_audit_event"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
