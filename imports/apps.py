from django.apps import AppConfig


class ImportsConfig(AppConfig):
    default_auto_field = 'django.db.models.BigAutoField'
    name = 'imports'

    def ready(self):
        # Registers the tasks with Celery: services hand work over by task name (imports/dispatch.py).
        from . import tasks  # noqa: F401
