"""The id of the request being served, shared by its log lines and the Celery tasks it starts.

A contextvar, so each gunicorn thread (and each task in a worker) has its own. Holds no
student value: only an id made here or a proxy's X-Request-ID of safe characters.
"""
import contextvars
import re
import uuid

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
# A proxy's id is kept only when it cannot smuggle anything into a log line.
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,128}$")
HEADER_NAME = "request_id"


def request_id_new(incoming: str | None = None) -> str:
    """The proxy's X-Request-ID when it is safe to log, else a new random id."""
    if incoming and _SAFE_REQUEST_ID.match(incoming):
        return incoming
    return uuid.uuid4().hex


def request_id_current() -> str | None:
    return request_id_var.get()
