"""Settings for the Celery worker that the `services` task tests start as a separate process.

The test settings, plus what the test process shares with the worker through the environment:
where uploaded files are stored (so the worker reads the same files) and where emails are
written (so the test can count what the worker sent).
"""
import os

from classworks_import.settings import test as _test
from classworks_import.settings.test import *  # noqa: F401,F403
from classworks_import.settings.test import STORAGES

# test.py always makes its own temporary folder; the worker uses the test process's folder
# instead, so remove the unused empty one rather than leave it behind in /tmp.
if _test.PRIVATE_STORAGE_ROOT != os.environ["PRIVATE_STORAGE_ROOT"]:
    try:
        os.rmdir(_test.PRIVATE_STORAGE_ROOT)
    except OSError:
        pass
PRIVATE_STORAGE_ROOT = os.environ["PRIVATE_STORAGE_ROOT"]
STORAGES["private"]["OPTIONS"]["location"] = PRIVATE_STORAGE_ROOT

# One file per message batch in a folder the test reads; locmem would be invisible to the test.
EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = os.environ["EMAIL_FILE_PATH"]
