"""Transaction-scoped locks around the check-then-write of values unique across users.

Checking before writing keeps student values out of the database server's log (a unique violation
prints the key); the lock makes the check still true at the write. PostgreSQL only: SQLite
already writes one transaction at a time. Call inside transaction.atomic.
"""
from django.db import connection

_DISTRICT_IDS = 19_031  # with the district's id: its users' District IDs
_USERNAMES = 19_032  # new usernames, unique across every district


def district_ids_lock(*, district_id: int) -> None:
    """Hold, until the transaction ends, the right to give this district's users District IDs."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_DISTRICT_IDS, district_id])


def usernames_lock() -> None:
    """Hold, until the transaction ends, the right to create users with new usernames (any district)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_USERNAMES])
