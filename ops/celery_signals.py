"""Celery hooks: a task started by a request logs that request's id; worker logs follow LOG_FORMAT.

Connected from classworks_import/celery.py, so web processes, workers and beat all load them.
"""
from celery.signals import after_setup_logger, after_setup_task_logger, before_task_publish, task_postrun, task_prerun
from django.conf import settings

from .logs import RequestIdFilter, json_formatter
from .request_context import HEADER_NAME, request_id_current, request_id_var

_tokens: dict[str, object] = {}


@before_task_publish.connect
def _request_id_into_headers(headers=None, **kwargs):
    # Only the id travels: a header the worker reads back as task.request.request_id.
    request_id = request_id_current()
    if headers is not None and request_id and HEADER_NAME not in headers:
        headers[HEADER_NAME] = request_id


@task_prerun.connect
def _request_id_from_headers(task_id=None, task=None, **kwargs):
    request_id = getattr(task.request, HEADER_NAME, None) if task is not None else None
    if request_id:  # an eager task keeps the request's own id
        _tokens[task_id] = request_id_var.set(request_id)


@task_postrun.connect
def _request_id_reset(task_id=None, **kwargs):
    token = _tokens.pop(task_id, None)
    if token is not None:
        request_id_var.reset(token)


@after_setup_logger.connect
@after_setup_task_logger.connect
def _worker_handlers(logger=None, **kwargs):
    for handler in logger.handlers:
        handler.addFilter(RequestIdFilter())
        if settings.LOG_FORMAT == "json":
            handler.setFormatter(json_formatter())
