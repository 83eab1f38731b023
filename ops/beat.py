"""Celery beat's scheduler, recording a heartbeat that `manage.py check_workers` reads.

Set as CELERY_BEAT_SCHEDULER, so every `celery beat` (and `worker -B`) uses it.
"""
import logging
import time

from celery.beat import PersistentScheduler
from django.db import close_old_connections

from . import services

logger = logging.getLogger(__name__)
# Beat ticks whenever an entry is due; a database write every 30 s at most is plenty.
HEARTBEAT_EVERY_SECONDS = 30


class HeartbeatScheduler(PersistentScheduler):
    """The default file-backed scheduler, plus a heartbeat row written from beat's loop."""

    _last_heartbeat = 0.0

    def tick(self, *args, **kwargs):
        if time.monotonic() - self._last_heartbeat >= HEARTBEAT_EVERY_SECONDS:
            self._heartbeat()
        return min(super().tick(*args, **kwargs), HEARTBEAT_EVERY_SECONDS)

    def _heartbeat(self) -> None:
        try:
            # Beat is a long-lived process with no request cycle: drop a connection the server closed.
            close_old_connections()
            services.heartbeat_record(name=services.BEAT)
            self._last_heartbeat = time.monotonic()
        except Exception:  # a database outage must not stop beat dispatching
            logger.exception("beat heartbeat: could not record it")
