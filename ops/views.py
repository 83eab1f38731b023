"""Health endpoints for a load balancer or process manager; answered by ops.middleware.HealthCheckMiddleware."""
from django.http import JsonResponse

from .health import readiness_checks


def healthz(request):
    """The process is up and serving; no database call."""
    return JsonResponse({"status": "ok"})


def readyz(request):
    """200 when the database and the broker answer; 503 naming each that did not."""
    checks = readiness_checks()
    failed = [check.name for check in checks if not check.ok]
    body = {
        "status": "unavailable" if failed else "ok",
        "failed": failed,
        "checks": {check.name: check.detail for check in checks},
    }
    return JsonResponse(body, status=503 if failed else 200)
