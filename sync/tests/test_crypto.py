"""The client secret at rest: encrypted, readable back with the same key, refused with another."""
import pytest

from sync.crypto import SecretUnreadable, secret_decrypt, secret_encrypt


def test_a_secret_round_trips_and_is_not_stored_in_clear(settings):
    settings.SYNC_SECRET_KEY = "one key"
    token = secret_encrypt("the-client-secret")
    assert "the-client-secret" not in token and secret_decrypt(token) == "the-client-secret"


def test_another_key_cannot_read_it_and_says_what_to_do(settings):
    settings.SYNC_SECRET_KEY = "one key"
    token = secret_encrypt("the-client-secret")
    settings.SYNC_SECRET_KEY = "another key"
    with pytest.raises(SecretUnreadable, match="enter it again in Sync settings"):
        secret_decrypt(token)


def test_without_a_key_of_its_own_the_secret_key_is_used(settings):
    settings.SYNC_SECRET_KEY = ""
    token = secret_encrypt("s")
    settings.SECRET_KEY = "rotated-" + settings.SECRET_KEY
    with pytest.raises(SecretUnreadable):
        secret_decrypt(token)
