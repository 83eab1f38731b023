from django.apps import AppConfig


class SyncConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "sync"
    verbose_name = "Automated roster sync"

    def ready(self):
        # Registers the tasks with Celery: services hand work over by task name (RUN_SYNC in services.py).
        from . import tasks  # noqa: F401
