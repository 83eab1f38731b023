"""Gunicorn for production: `gunicorn -c gunicorn.conf.py` from the repository root.

Every value can be overridden from the environment (names below); see README "Production".
"""
import multiprocessing
import os

wsgi_app = "classworks_import.wsgi:application"
raw_env = [f"DJANGO_SETTINGS_MODULE={os.environ.get('DJANGO_SETTINGS_MODULE', 'classworks_import.settings.production')}"]

# Behind a reverse proxy on the same host by default; GUNICORN_BIND=0.0.0.0:8000 to listen wider.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")

# Threads, not sync workers: a request waiting on a slow client (a 200 MB upload) or on the
# database holds one thread, not a whole process. One process per core plus one keeps both
# cores busy while a process waits; 4 threads each gives 12 requests in flight on 2 cores.
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() + 1))
threads = int(os.environ.get("GUNICORN_THREADS", 4))

# With threads, `timeout` is how long a worker process may stop answering the arbiter, not how
# long a request may take: a 200 MB upload at any speed is not killed. 60 s still restarts a
# process that is truly stuck.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 60))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", 30))
keepalive = 5
# A process is replaced after this many requests (with jitter) so slow memory growth never builds up.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 2000))
max_requests_jitter = 200

# X-Forwarded-Proto / X-Forwarded-For are believed only from these addresses (the proxy).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# The app writes the access log: one line per request with method, path without query string,
# status, duration and request id (ops.middleware.RequestLogMiddleware), to stderr like the rest.
# Gunicorn's own line is off: it would show the set-password link's token in its path.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# Each worker loads the app itself: a restart of one never shares state with another.
preload_app = False
# The control socket defaults to one path per user, which two instances on a host would share.
control_socket_disable = True
