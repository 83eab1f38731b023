"""Log records carry the request id; LOG_FORMAT=json turns every line into one JSON object."""
import logging

from celery import current_task
from pythonjsonlogger.json import JsonFormatter

from .request_context import request_id_current

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s rid=%(request_id)s %(message)s"
# python-json-logger writes these fields, then every `extra=` field of the record.
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s"


class RequestIdFilter(logging.Filter):
    """Adds `request_id` (or "-") to every record, so formats can name it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = request_id_current() or "-"
        return True


class JsonLogFormatter(JsonFormatter):
    """One JSON object per line; inside a Celery task, also the task's name and id."""

    def add_fields(self, log_data, record, message_dict):
        super().add_fields(log_data, record, message_dict)
        task = current_task
        if task and task.request.id:
            log_data.setdefault("task_name", task.name)
            log_data.setdefault("task_id", task.request.id)


def formatter_config(log_format: str) -> dict:
    """The LOGGING `formatters` entry for LOG_FORMAT: "text" (default) or "json"."""
    if log_format == "json":
        return {"()": JsonLogFormatter, "fmt": JSON_FIELDS}
    return {"format": TEXT_FORMAT}


def json_formatter() -> logging.Formatter:
    return JsonLogFormatter(JSON_FIELDS)
