"""Sign-in helpers for django-axes."""
from django.conf import settings
from django.shortcuts import render


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
