"""The benchmarks' own database: dropped and created afresh for a run, dropped after one that asks."""
from urllib.parse import urlsplit, urlunsplit


def _admin(url: str):
    import psycopg2

    admin = psycopg2.connect(urlunsplit(urlsplit(url)._replace(path="/postgres")))
    admin.autocommit = True
    return admin


def recreate_database(url: str) -> None:
    """Drop and create the database named in url (its name must contain "bench": a safety net)."""
    name = urlsplit(url).path.lstrip("/")
    if "bench" not in name:
        raise SystemExit(f'Refusing to drop database "{name}": its name must contain "bench".')
    admin = _admin(url)
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()


def drop_database(url: str) -> None:
    """Drop the database named in url, closing this process's connections to it first."""
    from django.db import connections

    connections.close_all()
    admin = _admin(url)
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{urlsplit(url).path.lstrip("/")}" WITH (FORCE)')
    admin.close()
