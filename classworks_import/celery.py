import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "classworks_import.settings.local")

app = Celery("classworks_import")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# The request id into the tasks a request starts, and LOG_FORMAT for worker logs.
import ops.celery_signals  # noqa: E402,F401
