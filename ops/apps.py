from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Running the app in production: health checks, request logs, worker checks, housekeeping."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "ops"
