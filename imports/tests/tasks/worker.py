"""A real Celery worker for the `services` task tests: start it, wait on it, stop it, read what it sent.

    worker = start_worker(env=worker_env, log_path=tmp_path / "worker.log")
    job = wait_for(lambda: job_settled(job.id, client), message="the job to finish")
    worker.stop()

Tests use the `workers` fixture (conftest.py), which stops every worker it started.
"""
import email
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from django.conf import settings

# Run only against the real services; the root conftest fails these skips on CI (REQUIRE_SERVICES=1).
needs_services = pytest.mark.skipif(
    not (os.environ.get("DATABASE_URL", "").startswith("postgres")
         and os.environ.get("CELERY_BROKER_URL", "").startswith("redis")),
    reason="needs DATABASE_URL=postgres://... and CELERY_BROKER_URL=redis://...",
)
QUEUE = "celery"
WORKER_COMMAND = [
    sys.executable, "-m", "celery", "-A", "classworks_import", "worker", "-l", "info", "-P", "prefork",
    "-Q", QUEUE, "--without-heartbeat", "--without-gossip", "--without-mingle",
]
# Keys kombu's Redis transport keeps for messages a worker has taken but not yet acknowledged.
UNACKED_KEYS = ("unacked", "unacked_index", "unacked_mutex")
# The file-based email backend writes each message followed by this line.
_EMAIL_SEPARATOR = b"\n" + b"-" * 79 + b"\n"


def wait_for(predicate, *, timeout: float = 60.0, interval: float = 0.1, message: str = "the condition"):
    """Poll until predicate() is truthy and return its value; fail the test after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out after {timeout:.0f}s waiting for {message}.")
        time.sleep(interval)


def database_url(name: str) -> str:
    """DATABASE_URL with its database name replaced, e.g. by the test database's."""
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path=f"/{name}"))


@dataclass
class Worker:
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def task_ids(self, task_name: str) -> list[str]:
        """Ids of the tasks of this name the worker received, in order."""
        return re.findall(rf"Task {re.escape(task_name)}\[([0-9a-f-]+)\] received", self.log())

    def wait_task_succeeded(self, task_id: str, timeout: float = 60.0) -> None:
        """Celery logs `Task <name>[<id>] succeeded` once the task returned and was acknowledged."""
        wait_for(lambda: f"[{task_id}] succeeded" in self.log(), timeout=timeout,
                 message=f"task {task_id} to finish in the worker")

    def kill(self) -> None:
        """SIGKILL the main process and every pool child, as an OOM kill or a lost machine would."""
        self._signal_group(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self, timeout: float = 15.0) -> None:
        """Warm shutdown; SIGKILL whatever is still alive after timeout seconds."""
        if self.process.poll() is None:
            # The main process only: it lets the pool children finish; signalling them kills them mid-task.
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        # Pool children can outlive the main process; never leave one behind.
        self._signal_group(signal.SIGKILL)
        if self.process.poll() is None:
            self.process.wait(timeout=10)

    def _signal_group(self, sig: int) -> None:
        try:
            os.killpg(self.process.pid, sig)
        except ProcessLookupError:
            pass


def start_worker(*, env: dict[str, str], log_path: Path, concurrency: int = 1, ready_timeout: float = 30.0) -> Worker:
    """Start `celery worker` in its own process group and wait until it consumes the queue."""
    log = open(log_path, "ab")
    try:
        process = subprocess.Popen(
            [*WORKER_COMMAND, "--concurrency", str(concurrency)],
            cwd=settings.BASE_DIR, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
    finally:
        log.close()
    worker = Worker(process=process, log_path=log_path)
    try:
        wait_for(lambda: " ready." in worker.log() or process.poll() is not None, timeout=ready_timeout,
                 message="the Celery worker to start")
        if process.poll() is not None:
            raise AssertionError(f"The Celery worker exited with {process.returncode}:\n{worker.log()[-4000:]}")
    except BaseException:
        worker.stop(timeout=1)
        raise
    return worker


def broker_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


def queue_purge(client: redis.Redis) -> None:
    """Drop waiting and unacknowledged messages, but keep kombu's queue bindings."""
    keys = list(client.scan_iter(f"{QUEUE}*")) + list(UNACKED_KEYS)
    client.delete(*keys)


def queue_length(client: redis.Redis) -> int:
    """Messages waiting in the queue (every priority list kombu keeps for it)."""
    return sum(client.llen(key) for key in client.scan_iter(f"{QUEUE}*") if client.type(key) == b"list")


def unacked_count(client: redis.Redis) -> int:
    """Messages taken by a worker and not acknowledged: running, or held by a worker that died."""
    return client.hlen(UNACKED_KEYS[0])


def queue_idle(client: redis.Redis) -> bool:
    return queue_length(client) == 0 and unacked_count(client) == 0


def queue_declare(app) -> None:
    """Declare the queue and its binding, as a worker does on start.

    Without the binding, kombu's Redis transport drops a published message: after a FLUSHDB the
    producer's cache still believes the queue is declared.
    """
    with app.connection_for_write() as conn:
        for queue in app.amqp.queues.values():
            queue.bind(conn.default_channel).declare()


def unacked_tags(client: redis.Redis) -> list[bytes]:
    return client.hkeys(UNACKED_KEYS[0])


def unacked_redeliver(app, client: redis.Redis, tags: list[bytes]) -> None:
    """Put these unacknowledged messages back on the queue, as Redis does once the visibility timeout passes."""
    with app.connection_for_write() as conn:
        qos = conn.default_channel.qos
        for tag in tags:
            qos.restore_by_tag(tag, client)


def sent_emails(folder: Path) -> list[Message]:
    """Every message the file-based email backend wrote to folder."""
    messages = []
    for path in sorted(folder.glob("*.log")):
        for raw in path.read_bytes().split(_EMAIL_SEPARATOR):
            if raw.strip():
                messages.append(email.message_from_bytes(raw))
    return messages


def job_settled(job_id: int, client: redis.Redis):
    """The job finished, every email it owes left the outbox, and no message is waiting or running."""
    from imports.models import EmailStatus, ImportEmail, ImportJob

    job = ImportJob.objects.get(id=job_id)
    if not job.is_finished:
        return None
    if ImportEmail.objects.filter(job_id=job_id, status__in=[EmailStatus.PENDING, EmailStatus.SENDING]).exists():
        return None
    return job if queue_idle(client) else None
