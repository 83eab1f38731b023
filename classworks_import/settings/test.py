"""Test settings: fast hasher, in-memory email, eager tasks unless a real worker is tested."""
import os
import tempfile

from .base import *  # noqa: F401,F403
from .base import STORAGES

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = os.environ.get("CELERY_TASK_ALWAYS_EAGER", "1") == "1"
CELERY_TASK_EAGER_PROPAGATES = True
PRIVATE_STORAGE_ROOT = os.environ.get("PRIVATE_STORAGE_ROOT") or tempfile.mkdtemp(prefix="classworks-private-")
STORAGES["private"]["OPTIONS"]["location"] = PRIVATE_STORAGE_ROOT
LOGGING = {"version": 1, "disable_existing_loggers": False}
# Django's test client signs in without a request, which django-axes refuses; this backend
# gives it an empty one, so client.login() works and still obeys a lock-out.
AUTHENTICATION_BACKENDS = ["users.tests.auth_backends.TestClientAxesBackend", "django.contrib.auth.backends.ModelBackend"]
# No real wait after a failed sign-in in tests (users.auth); the delay's own tests set it.
SIGN_IN_DELAY_MAX_SECONDS = 0.0
SYNC_ROOT = tempfile.mkdtemp(prefix="classworks-sync-")
