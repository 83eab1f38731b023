import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "classworks_import.settings.local")

app = Celery("classworks_import")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
