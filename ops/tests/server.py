"""The documented production web server (`gunicorn -c gunicorn.conf.py`), started for a test.

    server = ProductionServer.start(env, log_path)
    status, headers, body = server.get("/healthz")
    server.stop()
"""
import http.client
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from django.conf import settings

GUNICORN = str(Path(sys.executable).parent / "gunicorn")
HOST = "import.classworks.example"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def production_env(var_dir: Path, **overrides: str) -> dict[str, str]:
    """The documented production environment, on SQLite in var_dir; a Redis broker from the environment is kept."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "classworks_import.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": HOST,
        "DATABASE_URL": f"sqlite:///{var_dir / 'db.sqlite3'}",
        "CLASSWORKS_VAR_DIR": str(var_dir),
        "PRIVATE_STORAGE_ROOT": str(var_dir / "private"),
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "LOG_FORMAT": "text",
    }
    if not env.get("CELERY_BROKER_URL", "").startswith("redis"):
        env.pop("CELERY_BROKER_URL", None)  # the embedded filesystem broker, in var_dir
    env.update(overrides)
    return env


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=settings.BASE_DIR, env=env, check=True,
                   capture_output=True, timeout=300)


@dataclass
class ProductionServer:
    process: subprocess.Popen
    port: int
    log_path: Path
    last_set_cookie: str = ""

    @classmethod
    def start(cls, env: dict[str, str], log_path: Path) -> "ProductionServer":
        port = free_port()
        env = {**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "1", "GUNICORN_THREADS": "2"}
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                [GUNICORN, "-c", "gunicorn.conf.py"], cwd=settings.BASE_DIR, env=env, stdout=log,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            )
        server = cls(process=process, port=port, log_path=log_path)
        deadline = time.monotonic() + 60
        while True:
            try:
                if server.get("/healthz")[0] == 200:
                    return server
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                server.stop()
                raise AssertionError(f"gunicorn did not start:\n{server.log()[-4000:]}")
            time.sleep(0.2)

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, http.client.HTTPMessage, bytes]:
        """GET over plain HTTP from the local host; redirects are not followed."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request("GET", path, headers=headers or {})
            response = conn.getresponse()
            self.last_set_cookie = "; ".join(response.headers.get_all("Set-Cookie") or [])
            return response.status, response.headers, response.read()
        finally:
            conn.close()

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def wait_for_log(self, text: str, timeout: float = 10.0) -> str:
        """The first log line containing text."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.log().splitlines():
                if text in line:
                    return line
            time.sleep(0.1)
        raise AssertionError(f"No log line with {text!r}:\n{self.log()[-4000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        if self.process.poll() is None:
            self.process.wait(timeout=10)


def post_slowly(port: int, path: str, fields: dict[str, str], headers: dict[str, str], *, seconds: float,
                chunks: int = 10) -> tuple[int, bytes]:
    """POST a form whose body arrives in `chunks` pieces spread over `seconds`, as from a slow client."""
    body = urlencode(fields).encode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.putrequest("POST", path, skip_host=True)
        for name, value in {**headers, "Content-Type": "application/x-www-form-urlencoded",
                            "Content-Length": str(len(body))}.items():
            conn.putheader(name, value)
        conn.endheaders()
        step = -(-len(body) // chunks)
        for start in range(0, len(body), step):
            conn.send(body[start:start + step])
            time.sleep(seconds / chunks)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()
