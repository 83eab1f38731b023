"""Middleware for running in production: health probes, the request log, session refresh."""
import logging
import time

from django.conf import settings
from django.utils import timezone
from django.utils.cache import add_never_cache_headers

from . import views
from .request_context import request_id_new, request_id_var

request_logger = logging.getLogger("classworks.request")

HEALTH_VIEWS = {"/healthz": views.healthz, "/readyz": views.readyz}
# URL arguments that are secrets: the set-password link's token (and the account it is for).
SECRET_URL_KWARGS = ("token", "uidb64")


class HealthCheckMiddleware:
    """Answers /healthz and /readyz first of all.

    Before host validation, the HTTPS redirect and sessions: a load balancer or supervisor on
    the local host probes by address over plain HTTP, and a probe never writes a session or a
    log line of its own.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        view = HEALTH_VIEWS.get(request.path_info.rstrip("/"))
        if view is None:
            return self.get_response(request)
        response = view(request)
        add_never_cache_headers(response)
        return response


def loggable_path(request) -> str:
    """The path without its query string, with secret URL arguments replaced by their names."""
    path = request.path
    match = getattr(request, "resolver_match", None)
    if match is not None:
        for name in SECRET_URL_KWARGS:
            value = match.kwargs.get(name)
            if value:
                path = path.replace(str(value), f"<{name}>")
    return path


class RequestLogMiddleware:
    """One line per request: method, path (no query string), status, duration and request id.

    The id comes from a safe X-Request-ID or is made here; it is sent back in X-Request-ID and
    travels into the Celery tasks the request starts (ops.celery_signals).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request_id_new(request.META.get("HTTP_X_REQUEST_ID"))
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            duration_ms = round((time.perf_counter() - started) * 1000, 1)
            response["X-Request-ID"] = request_id
            path = loggable_path(request)
            request_logger.info(
                "%s %s %s %sms", request.method, path, response.status_code, duration_ms,
                extra={"method": request.method, "path": path, "status": response.status_code,
                       "duration_ms": duration_ms},
            )
            return response
        finally:
            request_id_var.reset(token)


SESSION_REFRESHED_KEY = "_ops_refreshed_at"


class SessionRefreshMiddleware:
    """Moves a signed-in session's idle expiry on at most once per SESSION_REFRESH_SECONDS.

    Instead of SESSION_SAVE_EVERY_REQUEST's session write on every request: the session still
    ends SESSION_IDLE_SECONDS after the last request, give or take SESSION_REFRESH_SECONDS
    (never later). Sits below SessionMiddleware, which saves what this marks modified.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        session = getattr(request, "session", None)
        # keys() loads the session: a stale cookie loads as empty and is left alone, as is a flushed one.
        if session is None or session.is_empty() or not session.keys():
            return response
        now = int(timezone.now().timestamp())
        if session.modified or now - session.get(SESSION_REFRESHED_KEY, 0) >= settings.SESSION_REFRESH_SECONDS:
            session[SESSION_REFRESHED_KEY] = now
        return response
