"""Signing in without the ops admin: "Forgot your password?", set-password links, and where staff land.

Django's own reset views, in the product's look. A request always answers the same page, whether
or not an account has that address, and is throttled per address and per client.
"""
import logging

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordResetForm
from django.core.cache import cache
from django.shortcuts import redirect
from django.urls import reverse_lazy

from .auth import client_ip_address
from .models import User
from .services import UserError, user_password_link_send

logger = logging.getLogger(__name__)

# Requests per window: a person who mistypes tries a few times; a script that probes addresses is stopped.
RESET_LIMIT_PER_ADDRESS = 3
RESET_LIMIT_PER_CLIENT = 10
RESET_WINDOW_SECONDS = 60 * 60
THROTTLE_KEY = "password-reset:{kind}:{value}"


def _over_limit(kind: str, value: str, limit: int) -> bool:
    key = THROTTLE_KEY.format(kind=kind, value=value)
    cache.add(key, 0, RESET_WINDOW_SECONDS)
    try:
        return cache.incr(key) > limit
    except ValueError:  # expired between add and incr
        cache.set(key, 1, RESET_WINDOW_SECONDS)
        return False


def password_reset_throttled(*, email: str, ip_address: str | None) -> bool:
    """True when this address or this client asked too often in the last hour (both are counted)."""
    by_address = _over_limit("email", email.casefold(), RESET_LIMIT_PER_ADDRESS)
    by_client = _over_limit("ip", ip_address or "unknown", RESET_LIMIT_PER_CLIENT)
    return by_address or by_client


def password_reset_send(*, email: str) -> int:
    """Send a set-password link to each active account that signs in with this address; returns how many."""
    sent = 0
    for user in User.objects.filter(email__iexact=email, is_active=True).select_related("district"):
        if not (user.is_district_admin or user.user_type == "staff") or user.district_id is None:
            continue  # students do not sign in here; ops accounts use the ops admin
        try:
            user_password_link_send(user=user, self_service=True)
        except UserError as exc:  # an address just changed, or mail is down: silently, as for an unknown address
            logger.info("No reset link for user %s: %s", user.pk, exc.code)
            continue
        sent += 1
    return sent


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "registration/password_reset_form.html"
    form_class = PasswordResetForm
    success_url = reverse_lazy("password_reset_done")

    def form_valid(self, form):
        email = form.cleaned_data["email"]
        if not password_reset_throttled(email=email, ip_address=client_ip_address(self.request)):
            password_reset_send(email=email)
        # The same answer whatever happened: it never tells whether an account has this address.
        return redirect(self.success_url)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "registration/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "registration/password_reset_confirm.html"

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "link_days": settings.PASSWORD_RESET_TIMEOUT // 86400}


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "registration/password_reset_complete.html"
