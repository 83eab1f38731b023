"""Imported passwords are hashed with Argon2id at OWASP's minimum; older hashes still sign in and are upgraded."""
import pytest
from django.contrib.auth.hashers import check_password, make_password
from django.test import override_settings
from django.urls import reverse

from classworks_import.settings.base import PASSWORD_HASHERS
from imports.tests.factories import FULL_HEADER, make_import_job, run_job, student, write_csv
from users.models import User
from users.tests.factories import make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_safety_hold")]
SECRET = "Str0ng-hasher-Passw0rd!"
OWASP_ARGON2ID = "argon2$argon2id$v=19$m=19456,t=2,p=1$"


@pytest.fixture(autouse=True)
def production_hashers():
    with override_settings(PASSWORD_HASHERS=PASSWORD_HASHERS):
        yield


def _sign_in(client, username: str) -> bool:
    response = client.post(reverse("login"), {"username": username, "password": SECRET})
    return response.status_code == 302 and "_auth_user_id" in client.session


@pytest.mark.parametrize("old_hasher", ["pbkdf2_sha256", "argon2"])
def test_an_older_hash_still_signs_in_and_is_upgraded_to_argon2id_at_owasp_strength(client, district, old_hasher):
    user = make_user(district, district_user_id="1", username="ada")
    if old_hasher == "argon2":  # Django's own Argon2 parameters (m=100 MiB, p=8)
        from django.contrib.auth.hashers import Argon2PasswordHasher

        old = Argon2PasswordHasher().encode(SECRET, Argon2PasswordHasher().salt())
    else:
        old = make_password(SECRET, hasher=old_hasher)
    User.objects.filter(id=user.id).update(password=old)

    assert _sign_in(client, "ada")

    stored = User.objects.get(id=user.id).password
    assert stored.startswith(OWASP_ARGON2ID) and stored != old
    assert check_password(SECRET, stored)


def test_an_imported_password_is_stored_as_argon2id_at_owasp_strength(district, school, tmp_path):
    path = write_csv(tmp_path / "pw.csv", [student("1", Password=SECRET)], header=FULL_HEADER)

    run_job(make_import_job(district, [path]))

    assert User.objects.get(district_user_id="1").password.startswith(OWASP_ARGON2ID)
