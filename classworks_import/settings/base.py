"""Settings shared by every environment; values come from the environment."""
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url

from ops.logs import formatter_config

BASE_DIR = Path(__file__).resolve().parent.parent.parent
# Runtime data (SQLite file, embedded broker, private uploads) stays out of the web roots.
VAR_DIR = Path(os.environ.get("CLASSWORKS_VAR_DIR", BASE_DIR / "var"))

SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-insecure-key-change-me")
DEBUG = False
ALLOWED_HOSTS = [h for h in os.environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",") if h]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "import_export",
    "axes",
    "schools",
    "users",
    "imports",
    "classes",
    "ops",
    "sync",
]

MIDDLEWARE = [
    # First: probes answer before host checks and the HTTPS redirect, and are not logged per request.
    "ops.middleware.HealthCheckMiddleware",
    # Next: the request line times and sees every response below it, redirects and errors included.
    "ops.middleware.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "ops.middleware.SessionRefreshMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "classworks_import.middleware.ContentSecurityPolicyMiddleware",
    "classworks_import.middleware.ProductNotFoundPageMiddleware",
    # Last, as django-axes asks: it turns a lock-out flagged during sign-in into the lock-out page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "classworks_import.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "classworks_import.wsgi.application"

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A worker and the web server share the file: wait for locks instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 30, "transaction_mode": "IMMEDIATE"})

AUTH_USER_MODEL = "users.User"
# Argon2id at OWASP's minimum first: 10x cheaper than PBKDF2's 1,000,000 iterations on this
# project's 2-core machine (bench/hashers_bench.py), which matters when an import sets 100,000
# passwords. The others stay listed so existing hashes verify and are upgraded at sign-in.
PASSWORD_HASHERS = [
    "classworks_import.hashers.Argon2idOwaspHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes first: it refuses a locked-out sign-in before the password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "manage:home"
LOGOUT_REDIRECT_URL = "login"

# Sign-in throttling (django-axes) on every sign-in form, /ops-admin/login/ included. Failures
# count per username (from any address) and per address (for any username); `manage.py
# axes_reset` (or axes_reset_username / axes_reset_ip) lifts a lock before the cool-off ends.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
# Locked per username *and* address together: a stranger's wrong passwords lock only the stranger's
# address out of that account, never the admin at their own. Spread over many addresses they are
# slowed instead (users.auth.delay_failed_sign_in).
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Attempts while locked out do not restart the cool-off: an admin who retries still gets in
# 15 minutes after the lock, and an attacker cannot keep an account locked for ever by hammering.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "users.auth.lockout_response"
# Behind a reverse proxy every request comes from the proxy's address: with TRUSTED_PROXY_COUNT
# set, the client's address is read from X-Forwarded-For, which only those proxies may append to.
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))
AXES_CLIENT_IP_CALLABLE = "users.auth.client_ip_address"
AXES_VERBOSE = False  # no start-up banner on every manage.py command

# An admin can download every student's record: a session ends after 8 hours without a request
# (the expiry moves on with every request) and when the browser closes (no persistent cookie).
SESSION_IDLE_SECONDS = 8 * 3600
SESSION_COOKIE_AGE = SESSION_IDLE_SECONDS
# Not a session write on every request: ops.middleware.SessionRefreshMiddleware moves the expiry
# on at most once a minute, so a session ends 8 hours idle, at most a minute early.
SESSION_SAVE_EVERY_REQUEST = False
SESSION_REFRESH_SECONDS = 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "media/"
# Uploaded SIS files hold student data: stored outside every web root, served only by an authorised view.
PRIVATE_STORAGE_ROOT = Path(os.environ.get("PRIVATE_STORAGE_ROOT", VAR_DIR / "private"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "private": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(PRIVATE_STORAGE_ROOT), "base_url": None},
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Upload caps, stated on the upload page and enforced before anything is stored.
IMPORT_MAX_FILE_BYTES = int(os.environ.get("IMPORT_MAX_FILE_BYTES", 200 * 1024 * 1024))
IMPORT_MAX_FILES = int(os.environ.get("IMPORT_MAX_FILES", 50))  # a whole roster export folder, uploaded loose
IMPORT_MAX_CELL_CHARS = 1000
# Chunk size bounds how much a crash can lose and how long one transaction holds locks.
IMPORT_CHUNK_ROWS = int(os.environ.get("IMPORT_CHUNK_ROWS", 50_000))
IMPORT_DRAFT_MAX_AGE_HOURS = 48
# Far above our own cap, so an admin who picks too many files gets our message, not a bare 400;
# still a bound on what one request may make the server parse.
DATA_UPLOAD_MAX_NUMBER_FILES = 100
# Files go to disk past this size so a large upload never sits in memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
if os.environ.get("EMAIL_FILE_PATH"):
    EMAIL_FILE_PATH = os.environ["EMAIL_FILE_PATH"]
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Classworks <no-reply@classworks.example>")
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000")

# Celery: the embedded default is kombu's filesystem transport, so no broker server is needed.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    (_broker_dir / "processed").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
    }
else:
    # Longer than the longest task (IMPORT_TASK_SOFT_TIME_LIMIT + 5 min), so Redis never
    # re-delivers a task that is still running.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 4 * 3600}
# Time limits from measured figures (bench/import_bench.py on a 2-core machine): a fresh
# 1,000,000-row import runs in a few minutes, so 2 hours leaves room for ten times that on a
# slow host. A password batch hashes 200 passwords at about 0.34 s each (PBKDF2): about 70 s.
IMPORT_TASK_SOFT_TIME_LIMIT = int(os.environ.get("IMPORT_TASK_SOFT_TIME_LIMIT", 2 * 3600))
PASSWORD_BATCH_SOFT_TIME_LIMIT = 600
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    "dispatch-due-imports": {"task": "imports.tasks.dispatch_due_imports", "schedule": 60.0},
    "purge-stale-drafts": {"task": "imports.tasks.purge_stale_drafts", "schedule": 3600.0},
    # Housekeeping (ops/tasks.py), daily; both are cheap deletes on indexed dates.
    "clear-expired-sessions": {"task": "ops.tasks.clear_expired_sessions", "schedule": 24 * 3600.0},
    "trim-axes-logs": {"task": "ops.tasks.trim_axes_logs", "schedule": 24 * 3600.0},
}
# Beat records a heartbeat that `manage.py check_workers` reads (ops/beat.py).
CELERY_BEAT_SCHEDULER = "ops.beat:HeartbeatScheduler"
OPS_BEAT_MAX_AGE_MINUTES = float(os.environ.get("OPS_BEAT_MAX_AGE_MINUTES", 5))
# django-axes keeps a row per sign-in (AccessLog) and per failure; kept this long, then trimmed daily.
AXES_LOG_RETENTION_DAYS = int(os.environ.get("AXES_LOG_RETENTION_DAYS", 90))
# Each /readyz check (database, broker) gives up after this long.
READYZ_TIMEOUT_SECONDS = 2

# LOG_FORMAT=json: one JSON object per line (for a log shipper); text otherwise. Every line names
# the request id (rid), in web and in the tasks a request started (ops/logs.py, ops/celery_signals.py).
LOG_FORMAT = os.environ.get("LOG_FORMAT", "text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "ops.logs.RequestIdFilter"}},
    "formatters": {"default": formatter_config(LOG_FORMAT)},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["request_id"], "formatter": "default"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
CELERY_WORKER_LOG_FORMAT = "[%(asctime)s: %(levelname)s/%(processName)s] rid=%(request_id)s %(message)s"
CELERY_WORKER_TASK_LOG_FORMAT = (
    "[%(asctime)s: %(levelname)s/%(processName)s] rid=%(request_id)s %(task_name)s[%(task_id)s]: %(message)s"
)

# Automated roster sync. One drop folder per district: SYNC_ROOT/<district slug>/incoming/.
SYNC_ROOT = Path(os.environ.get("SYNC_ROOT", VAR_DIR / "sync"))
# A file changed more recently than this is taken to be still uploading and left for the next run.
SYNC_SETTLE_SECONDS = int(os.environ.get("SYNC_SETTLE_SECONDS", "60"))
# Encrypts OneRoster client secrets at rest; derived from SECRET_KEY when not set of its own.
SYNC_SECRET_KEY = os.environ.get("SYNC_SECRET_KEY", "")
SYNC_HTTP_TIMEOUT = float(os.environ.get("SYNC_HTTP_TIMEOUT", "30"))
CELERY_BEAT_SCHEDULE["dispatch-due-syncs"] = {"task": "sync.tasks.dispatch_due_syncs", "schedule": 60.0}
