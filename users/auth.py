"""Sign-in helpers for django-axes, and the delay that slows guessing one username from many addresses."""
import time

from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver
from django.shortcuts import render
from django.utils import timezone

# Failures of one username (from any address, within the cool-off) before answers slow down, and how
# far: 0.5 s doubling per further failure, never more than the cap (a worker is held while it waits).
DELAY_FREE_FAILURES = 5
DELAY_FIRST_SECONDS = 0.5
DELAY_MAX_SECONDS = 8.0
sleep = time.sleep  # tests replace it


def username_failures(username: str) -> int:
    """Failed sign-ins for this username within the cool-off, summed over every address."""
    from axes.models import AccessAttempt
    from django.db.models import Sum

    since = timezone.now() - settings.AXES_COOLOFF_TIME
    found = AccessAttempt.objects.filter(username=username, attempt_time__gte=since).aggregate(n=Sum("failures_since_start"))
    return found["n"] or 0


def failed_sign_in_delay(failures: int) -> float:
    """Seconds to hold a failed sign-in's answer after this many failures of its username."""
    if failures <= DELAY_FREE_FAILURES:
        return 0.0
    cap = getattr(settings, "SIGN_IN_DELAY_MAX_SECONDS", DELAY_MAX_SECONDS)
    return min(DELAY_FIRST_SECONDS * 2 ** (failures - DELAY_FREE_FAILURES - 1), cap)


@receiver(user_login_failed, dispatch_uid="users.auth.delay_failed_sign_in")
def delay_failed_sign_in(sender, credentials, request=None, **kwargs):
    """Hold the answer to a failed sign-in longer as its username's failures grow: only a wrong password
    waits, so the account's holder signing in with the right one is never slowed."""
    username = (credentials or {}).get("username")
    if username:
        delay = failed_sign_in_delay(username_failures(username))
        if delay:
            sleep(delay)


def client_ip_address(request) -> str | None:
    """The client's address: REMOTE_ADDR, or behind TRUSTED_PROXY_COUNT proxies the address the outermost one saw."""
    count = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if count > 0 and forwarded:
        # Each trusted proxy appends the address it received the request from; anything further
        # left was written by the client and cannot be trusted.
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        if len(hops) >= count:
            return hops[-count]
    return request.META.get("REMOTE_ADDR")


LOCKED_OUT_TEMPLATE = "registration/locked_out.html"


def lockout_response(request, original_response=None, credentials=None):
    """The page a locked-out sign-in gets: what happened and how long to wait (HTTP 429)."""
    from axes.helpers import get_client_username, get_cool_off

    cool_off = get_cool_off(request)
    context = {
        "username": get_client_username(request, credentials) or "",
        "cooloff_minutes": int(cool_off.total_seconds() // 60) if cool_off else None,
    }
    return render(request, LOCKED_OUT_TEMPLATE, context, status=429)
