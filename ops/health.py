"""What /readyz checks: the database and the broker, each bounded by a short timeout."""
import logging
from dataclasses import dataclass

from celery import current_app as app  # the project's app (classworks_import/celery.py), without importing the project
from django.conf import settings
from django.db import connections

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str  # an exception's class name at most: a message could hold the database URL's password


def database_check() -> Check:
    """SELECT 1 on the default database; PostgreSQL's connect_timeout bounds a host that does not answer."""
    connection = connections["default"]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:  # any failure means "not ready", whatever the driver raises
        connection.close()  # the next request starts from a fresh connection
        return Check("database", False, type(error).__name__)
    return Check("database", True, "ok")


def broker_check() -> Check:
    """Open a connection to the broker and a channel on it, within READYZ_TIMEOUT_SECONDS."""
    timeout = settings.READYZ_TIMEOUT_SECONDS
    try:
        with app.connection_for_read(connect_timeout=timeout, transport_options={"socket_timeout": timeout}) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=timeout)
            channel = conn.default_channel
            client = getattr(channel, "client", None)
            if client is not None and hasattr(client, "ping"):  # Redis: a round trip, not just a socket
                client.ping()
    except Exception as error:
        return Check("broker", False, type(error).__name__)
    return Check("broker", True, "ok")


def readiness_checks() -> list[Check]:
    """Every check /readyz answers with; failures are logged with their names."""
    checks = [database_check(), broker_check()]
    for check in checks:
        if not check.ok:
            logger.warning("readyz: %s failed (%s)", check.name, check.detail)
    return checks
