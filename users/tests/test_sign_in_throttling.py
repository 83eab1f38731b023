"""Sign-in is throttled: repeated wrong passwords pause sign-in for the account and the address."""
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse

from users.auth import client_ip_address
from users.tests.factories import PASSWORD, make_admin, make_district, make_user

pytestmark = pytest.mark.django_db

LOCKED_OUT = "Too many failed sign-in attempts"


@pytest.fixture
def admin():
    return make_admin(make_district(), username="dana")


@pytest.fixture
def superuser():
    return make_user(None, username="ops", is_staff=True, is_superuser=True, district_user_id=None)


def sign_in(client, username, password, *, url=None, address="203.0.113.7"):
    return client.post(url or reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address)


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def end_cool_off():
    """Move every recorded failure to just before the cool-off began."""
    AccessAttempt.objects.update(attempt_time=AccessAttempt.objects.first().attempt_time - settings.AXES_COOLOFF_TIME - timedelta(seconds=1))


def test_ten_wrong_passwords_lock_the_account_until_the_cool_off_ends(client, admin):
    for _ in range(10):
        sign_in(client, "dana", "wrong-password")

    refused = sign_in(client, "dana", PASSWORD)

    assert refused.status_code == 429
    assert LOCKED_OUT in refused.text and "paused for 15 minutes" in refused.text
    assert not signed_in(client)

    end_cool_off()
    accepted = sign_in(client, "dana", PASSWORD)

    assert accepted.status_code == 302 and accepted.url == reverse("manage:home")
    assert signed_in(client)


def test_a_few_wrong_passwords_still_let_the_right_one_in(client, admin):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in(client, "dana", "wrong-password").status_code == 200

    assert sign_in(client, "dana", PASSWORD).status_code == 302
    assert signed_in(client)


def test_a_strangers_wrong_passwords_never_lock_the_admin_out_of_their_own_address(client, admin):
    """Round three, item 6: the lock was per username or per address, so five wrong passwords from
    anywhere kept the admin out. It is per username and address together."""
    for _ in range(10):
        sign_in(client, "dana", "wrong-password", address="198.51.100.66")

    assert sign_in(client, "dana", PASSWORD, address="198.51.100.66").status_code == 429  # the stranger's address

    accepted = sign_in(client, "dana", PASSWORD, address="192.0.2.50")  # the admin's own
    assert accepted.status_code == 302 and signed_in(client)


def test_wrong_passwords_from_many_addresses_are_slowed_more_and_more(client, admin, monkeypatch, settings):
    from users import auth

    settings.SIGN_IN_DELAY_MAX_SECONDS = auth.DELAY_MAX_SECONDS
    waits = []
    monkeypatch.setattr(auth, "sleep", waits.append)
    for n in range(12):
        sign_in(client, "dana", "wrong-password", address=f"198.51.100.{n}")

    assert waits[0] == auth.DELAY_FIRST_SECONDS and len(waits) == 12 - auth.DELAY_FREE_FAILURES
    assert waits == sorted(waits) and waits[-1] == auth.DELAY_MAX_SECONDS
    waits.clear()
    assert sign_in(client, "dana", PASSWORD, address="192.0.2.50").status_code == 302  # the right one is never held
    assert waits == []


def test_other_usernames_failing_from_an_address_do_not_lock_the_admin_there(client, admin):
    for n in range(10):
        sign_in(client, f"guess{n}", "wrong-password", address="203.0.113.9")

    assert sign_in(client, "dana", PASSWORD, address="203.0.113.9").status_code == 302


def test_axes_reset_lifts_the_lock(client, admin):
    for _ in range(10):
        sign_in(client, "dana", "wrong-password")
    assert sign_in(client, "dana", PASSWORD).status_code == 429

    call_command("axes_reset")

    assert sign_in(client, "dana", PASSWORD).status_code == 302
    assert signed_in(client)


def test_the_ops_admin_sign_in_is_throttled_too(client, superuser):
    url = reverse("admin:login")
    for _ in range(10):
        sign_in(client, "ops", "wrong-password", url=url)

    refused = sign_in(client, "ops", PASSWORD, url=url)

    assert refused.status_code == 429 and LOCKED_OUT in refused.text
    assert not signed_in(client)

    end_cool_off()
    assert sign_in(client, "ops", PASSWORD, url=url).status_code == 302
    assert signed_in(client)


def test_force_login_is_not_throttled(client, admin):
    # Tests sign in with force_login; a lock on the username must not get in their way.
    for _ in range(10):
        sign_in(client, "dana", "wrong-password")

    client.force_login(admin)

    assert client.get(reverse("manage:home")).status_code in (200, 302)
    assert signed_in(client)


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "198.51.100.1", "10.0.0.2"),  # no proxy trusted: the header is the client's own word
        (1, "6.6.6.6, 198.51.100.1", "198.51.100.1"),  # one proxy: the address it appended
        (2, "6.6.6.6, 198.51.100.1, 10.0.0.3", "198.51.100.1"),
        (2, "198.51.100.1", "10.0.0.2"),  # fewer hops than proxies: not behind them, use the peer
    ],
)
def test_client_address_behind_trusted_proxies(rf, proxies, forwarded, expected):
    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded)
    with override_settings(TRUSTED_PROXY_COUNT=proxies):
        assert client_ip_address(request) == expected


def test_attempts_during_the_lock_do_not_extend_it(client, admin):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "dana", "wrong-password")
    locked_at = AccessAttempt.objects.order_by("-attempt_time").first().attempt_time
    for _ in range(5):
        assert sign_in(client, "dana", PASSWORD).status_code == 429  # the admin retries with the right password

    assert AccessAttempt.objects.order_by("-attempt_time").first().attempt_time == locked_at
    end_cool_off()
    assert sign_in(client, "dana", PASSWORD).status_code == 302
