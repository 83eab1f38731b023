"""Production refuses an email backend that does not deliver (a set-password link would land in the log)."""
import os
import secrets
import subprocess
import sys

import pytest
from django.conf import settings


def deploy_check(**env: str) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if key != "EMAIL_BACKEND"}
    environment.update({
        "DJANGO_SETTINGS_MODULE": "classworks_import.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": "import.classworks.example", **env,
    })
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR, env=environment, capture_output=True, text=True, timeout=120,
    )


@pytest.mark.parametrize("backend", ["console", "filebased", "locmem", "dummy"])
def test_production_refuses_an_email_backend_that_does_not_deliver(backend):
    result = deploy_check(EMAIL_BACKEND=f"django.core.mail.backends.{backend}.EmailBackend")

    assert result.returncode != 0
    assert f"EMAIL_BACKEND=django.core.mail.backends.{backend}.EmailBackend does not deliver email" in result.stderr


def test_production_sends_by_smtp_when_no_backend_is_set():
    result = deploy_check()

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout
