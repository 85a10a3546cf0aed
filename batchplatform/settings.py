"""Settings, all from the environment.

With no variable set this is the embedded default: SQLite (WAL), a filesystem broker and the
in-memory channel layer, all state under one data directory. Production switches by variables
(README, "Production").
"""

import ipaddress
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from kombu import Exchange, Queue

from batchplatform.env import env_bool, env_float, env_int, env_list, env_str
from batchplatform.storage_url import storage_from_url

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("BATCHPLATFORM_DATA_DIR") or BASE_DIR / "var").resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", False)
DATABASE_URL = env_str("DATABASE_URL")
EMBEDDED = not DATABASE_URL


def _secret_key() -> str:
    key = env_str("SECRET_KEY")
    if key:
        return key
    if not EMBEDDED and not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DATABASE_URL is set and DEBUG is off")
    # The embedded default keeps a generated key, so sessions survive a restart.
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
HOST = env_str("HOST", "127.0.0.1")
PORT = env_int("PORT", 8000, minimum=1)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "channels",
    "batchplatform",
    "plugins",
    "batches",
    "profiling",
]

MIDDLEWARE = [
    "batchplatform.log_context.RequestIdMiddleware",
    "batchplatform.metrics.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "batchplatform.urls"
ASGI_APPLICATION = "batchplatform.asgi.application"
WSGI_APPLICATION = "batchplatform.wsgi.application"

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

if EMBEDDED:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "db.sqlite3",
            "OPTIONS": {
                # Web, worker and beat write at once: IMMEDIATE takes the write lock when a
                # transaction starts (no failed lock upgrade), the timeout waits for it.
                "transaction_mode": "IMMEDIATE",
                "timeout": env_int("SQLITE_BUSY_TIMEOUT", 30, minimum=1),
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
            },
        }
    }
else:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_health_checks=True)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env_bool("DATABASE_POOL", True):
        # A pool per process: a new PostgreSQL connection per request or task cost a quarter of
        # a short task's time (bench/RESULTS.md). Persistent connections are off with a pool.
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": env_int("DATABASE_POOL_MIN_SIZE", 1, minimum=0),
            "max_size": env_int("DATABASE_POOL_MAX_SIZE", 10, minimum=1),
            "timeout": env_float("DATABASE_POOL_TIMEOUT", 10.0),
        }
    else:
        DATABASES["default"]["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 0, minimum=0)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise warns at every start if it is missing
# Served by WhiteNoise from the apps' folders: no collectstatic step for the embedded default.
WHITENOISE_USE_FINDERS = True

MEDIA_ROOT = DATA_DIR / "media"
STORAGE_URL = env_str("STORAGE_URL")
STORAGES = {
    "default": storage_from_url(STORAGE_URL)
    if STORAGE_URL
    else {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": MEDIA_ROOT},
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- REST framework: each surface (/v1, /ecc, /solutions) sets its own auth and format on its
# base view; these defaults serve whatever has none (the schema, the browsable API root).
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "batchplatform.authentication.RawTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "batchplatform.api.errors.exception_handler",
    "DEFAULT_METADATA_CLASS": "batchplatform.api.metadata.DescriptionMetadata",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "batchplatform API",
    "DESCRIPTION": "Integration batches (/v1), request batches (/ecc/v1) and file batches (/solutions).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The project's routes and descriptions of those served outside DRF (long-polls).
    "SERVE_URLCONF": "batchplatform.schema_urls",
    # Served from our own static files: no CDN needed.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "SizeEnum": "plugins.models.Size",
        # The /v1 envelope's status (batchplatform.api.v1.V1AutoSchema).
        "EnvelopeOkEnum": ["ok"],
        "EnvelopeErrorEnum": ["error"],
    },
    # Schema warnings are checked by the test suite (manage.py spectacular --fail-on-warn), not
    # at every deploy check.
    "ENABLE_DJANGO_DEPLOY_CHECK": False,
}
# Remembered credentials (and anything else cached) are shared by every web process with a
# Redis cache; the embedded default keeps them per process.
CACHE_URL = env_str("CACHE_URL")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
        if CACHE_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}
# How long a process remembers verified Basic credentials (a password check costs ~0.4 s of CPU).
BASIC_AUTH_CACHE_SECONDS = env_int("BASIC_AUTH_CACHE_SECONDS", 300, minimum=0)
# Guessing credentials (batchplatform/throttle.py): failed sign-ins per username and per client
# address within a window; past these, attempts get 429 without a password check.
LOGIN_FAILURES_PER_USERNAME = env_int("LOGIN_FAILURES_PER_USERNAME", 10, minimum=1)
LOGIN_FAILURES_PER_ADDRESS = env_int("LOGIN_FAILURES_PER_ADDRESS", 50, minimum=1)
LOGIN_FAILURE_WINDOW = env_int("LOGIN_FAILURE_WINDOW", 15 * 60, minimum=1)
# Behind a proxy: the header it writes the client's address to (e.g. X-Forwarded-For), and how
# many proxies of ours append to it. Unset, the peer's own address counts.
TRUSTED_PROXY_HEADER = env_str("TRUSTED_PROXY_HEADER", "")
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 1, minimum=1)
# Largest JSON body accepted by any API; uploads have their own limits.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 5 * 1024 * 1024, minimum=1024)

# --- Celery: the database row is the truth, the queue only wakes a worker up.
BROKER_DIR = DATA_DIR / "broker"
# safefs:// is kombu's filesystem transport with atomic writes (batchplatform/broker.py).
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or "safefs://"
if CELERY_BROKER_URL.startswith(("safefs://", "filesystem://")):
    for folder in ("out", "processed", "control"):
        (BROKER_DIR / folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "out"),
        "data_folder_out": str(BROKER_DIR / "out"),
        "processed_folder": str(BROKER_DIR / "processed"),
        # Broadcast (worker control) files; kombu's default is ./control, in the working directory.
        "control_folder": str(BROKER_DIR / "control"),
        # Consumers claim messages by renaming them into this folder, then delete them.
        "store_processed": False,
        "polling_interval": env_float("CELERY_BROKER_POLLING_INTERVAL", 0.05),
    }
CELERY_TASK_DEFAULT_QUEUE = "default"
# Queue names: executions are routed by size class so a bigger worker can serve the bigger ones.
CELERY_QUEUE_NAMES = [
    "default",
    "batches",
    "profiling",
    "executions-low",
    "executions-medium",
    "executions-large",
    "executions-extra-large",
]
CELERY_TASK_QUEUES = [Queue(name, Exchange(name), routing_key=name) for name in CELERY_QUEUE_NAMES]
CELERY_TASK_ROUTES = {
    "batches.tasks.advance_batch_task": {"queue": "batches"},
    "batches.tasks.provision_order_task": {"queue": "batches"},
}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- Channels: the event table is the truth; the layer only wakes waiters sooner.
CHANNEL_LAYER_URL = env_str("CHANNEL_LAYER_URL")
if CHANNEL_LAYER_URL:
    # The pub/sub layer: the default RedisChannelLayer drops messages past its capacity (PITFALLS.md).
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [CHANNEL_LAYER_URL]},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
# Embedded mode (in-memory layer): how often each web process's hub reads new rows of the event
# table, one query per process whatever the number of waiters (batchplatform/hub.py).
EVENTS_POLL_INTERVAL = env_float("EVENTS_POLL_INTERVAL", 0.1)
# With the Redis layer, each web process's hub also checks the event counters of the streams it
# watches this often, so an announcement lost without a visible reconnect delays a client at most this.
HUB_RECHECK_SECONDS = env_float("HUB_RECHECK_SECONDS", 5.0)

# --- Production hardening, switched on when served over HTTPS (behind a TLS proxy).
HTTPS = env_bool("HTTPS", False)
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # Load balancers probe over plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
    if not SECURE_HSTS_PRELOAD:
        # Preloading is a commitment browsers keep for months: the operator opts in by variable.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]

# --- Metrics (GET /metrics, Prometheus' format): off unless enabled; then a Bearer token, or
# without one the listed networks only.
METRICS_ENABLED = env_bool("METRICS_ENABLED", False)
METRICS_TOKEN = env_str("METRICS_TOKEN", "")


def _networks(name: str, default: list[str]):
    try:
        return [ipaddress.ip_network(item, strict=False) for item in env_list(name, default)]
    except ValueError as error:
        raise ImproperlyConfigured(f"{name}: {error}") from None


METRICS_ALLOWED_NETWORKS = _networks("METRICS_ALLOWED_NETWORKS", ["127.0.0.0/8", "::1/128"])

LOG_DIR = DATA_DIR / "logs"
LOG_DIR.mkdir(parents=True, exist_ok=True)
# plain for people, json for a log pipeline; both carry the request id or the task id.
LOG_FORMAT = env_str("LOG_FORMAT", "plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r}: use plain or json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "batchplatform.log_context.ContextFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s%(task_id)s] %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(task_id)s %(process)d",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["context"]}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

# --- Integration batches: limits on uploaded plugin code (untrusted).
PLUGIN_ARCHIVE_MAX_BYTES = env_int("PLUGIN_ARCHIVE_MAX_BYTES", 50 * 1024 * 1024, minimum=1024)
PLUGIN_ARCHIVE_MAX_UNPACKED_BYTES = env_int("PLUGIN_ARCHIVE_MAX_UNPACKED_BYTES", 200 * 1024 * 1024, minimum=1024)
PLUGIN_ARCHIVE_MAX_MEMBERS = env_int("PLUGIN_ARCHIVE_MAX_MEMBERS", 10_000, minimum=1)

# --- Request batches (ECC): who carries out orders, and how long batches are kept.
ECC_PROVISIONER = env_str("ECC_PROVISIONER", "local")
if ECC_PROVISIONER not in ("local", "http"):
    raise ImproperlyConfigured(f"ECC_PROVISIONER={ECC_PROVISIONER!r}: use local or http")
ECC_PROVISIONER_URL = env_str("ECC_PROVISIONER_URL", "")
if ECC_PROVISIONER == "http" and not ECC_PROVISIONER_URL:
    raise ImproperlyConfigured("ECC_PROVISIONER=http needs ECC_PROVISIONER_URL (the network element's endpoint)")
ECC_PROVISIONER_TIMEOUT = env_float("ECC_PROVISIONER_TIMEOUT", 10.0)
ECC_PROVISIONER_RETRIES = env_int("ECC_PROVISIONER_RETRIES", 3, minimum=0)
ECC_PROVISIONER_BACKOFF = env_float("ECC_PROVISIONER_BACKOFF", 0.5)
ECC_BATCH_RETENTION_DAYS = env_int("ECC_BATCH_RETENTION_DAYS", 60, minimum=1)
ECC_MAX_BATCH_REQUESTS = 100
CELERY_BEAT_SCHEDULE = {
    "ecc-purge-batches": {"task": "batches.tasks.purge_old_batches", "schedule": 3600.0},
    # Re-wakes work whose message was lost (a worker killed mid-task): the rows say what is left.
    "ecc-sweep": {"task": "batches.tasks.sweep", "schedule": 30.0},
}

# --- Integration batch runner (limits per size class and the rest: plugins/conf.py). The reaper
# fails RUNNING executions whose worker stopped sending heartbeats ("worker lost").
CELERY_BEAT_SCHEDULE["plugins-reap-lost-executions"] = {
    "task": "plugins.tasks.reap_lost_executions_task",
    "schedule": 30.0,
}
# --- Integration batch schedules (plugins/scheduler.py): ONE sweep dispatches every instance's
# ticks; instances get no beat entry each (PITFALLS.md).
SCHEDULER_SWEEP_INTERVAL = env_float("SCHEDULER_SWEEP_INTERVAL", 1.0)
# Instances claimed (and executions sent) per transaction; a sweep loops until nothing is due
# or its time budget (seconds) is spent, and the next sweep carries on.
SCHEDULER_BATCH_SIZE = env_int("SCHEDULER_BATCH_SIZE", 1000, minimum=1)
SCHEDULER_SWEEP_BUDGET = env_float("SCHEDULER_SWEEP_BUDGET", 10.0)
# A PENDING execution sent this many seconds ago is sent again (its message was lost).
SCHEDULER_RESEND_AFTER = env_int("SCHEDULER_RESEND_AFTER", 300, minimum=10)
# After an outage, at most this many ticks per instance are handled one by one (run late or
# recorded as missed); older ones are recorded together in one CANCELED execution.
SCHEDULER_CATCH_UP_TICKS = env_int("SCHEDULER_CATCH_UP_TICKS", 20, minimum=1)
CELERY_BEAT_SCHEDULE["plugins-sweep-schedules"] = {
    "task": "plugins.tasks.sweep_schedules",
    "schedule": SCHEDULER_SWEEP_INTERVAL,
    # A sweep message that waited this long is dropped: the next one does the same work.
    "options": {"expire_seconds": 10},
}
# Repairs CrontabSchedule/instance edits made with bulk update()s (which skip signals).
CELERY_BEAT_SCHEDULE["plugins-reconcile-schedules"] = {"task": "plugins.tasks.reconcile_schedules", "schedule": 60.0}
# --- File batches (profiling, /solutions): upload limits, the profiler's bounds, its queue.
PROFILING_MAX_UPLOAD_BYTES = env_int("PROFILING_MAX_UPLOAD_BYTES", 2 * 1024**3, minimum=1024)
PROFILING_MAX_MEMBERS = env_int("PROFILING_MAX_MEMBERS", 100, minimum=1)
PROFILING_MAX_UNCOMPRESSED_BYTES = env_int("PROFILING_MAX_UNCOMPRESSED_BYTES", 20 * 1024**3, minimum=1024)
PROFILING_MAX_COMPRESSION_RATIO = env_float("PROFILING_MAX_COMPRESSION_RATIO", 200.0)
PROFILING_MEMORY_LIMIT = env_str("PROFILING_MEMORY_LIMIT", "256MB")
PROFILING_THREADS = env_int("PROFILING_THREADS", 2, minimum=1)
# A running profile's lease: its worker renews it every third of it (profiling/lease.py), so a worker
# killed mid-profile leaves a lease that runs out this soon, and the sweep hands the batch on.
PROFILING_LEASE_SECONDS = env_int("PROFILING_LEASE_SECONDS", 120, minimum=5)
CELERY_TASK_ROUTES["profiling.tasks.profile_batch_task"] = {"queue": "profiling"}
CELERY_BEAT_SCHEDULE["profiling-sweep"] = {"task": "profiling.tasks.sweep", "schedule": 60.0}
# --- Solutions and submissions (profiling/services/submissions.py): results retention, the
# packing lease, the organisation that owns built-in solutions, the sweep and the purge.
SOLUTIONS_RESULTS_RETENTION_DAYS = env_int("SOLUTIONS_RESULTS_RETENTION_DAYS", 30, minimum=1)
SOLUTIONS_PACKING_LEASE_SECONDS = env_int("SOLUTIONS_PACKING_LEASE_SECONDS", 900, minimum=5)
SOLUTIONS_PLATFORM_ORGANISATION = env_str("SOLUTIONS_PLATFORM_ORGANISATION", "platform")
# Off in the test suite (tests/harness.py), where a fixture installs it where a test needs it.
SOLUTIONS_INSTALL_BUILTIN = env_bool("SOLUTIONS_INSTALL_BUILTIN", True)
CELERY_TASK_ROUTES["profiling.tasks.finish_submission_task"] = {"queue": "profiling"}
CELERY_BEAT_SCHEDULE["solutions-sweep"] = {"task": "profiling.tasks.sweep_submissions", "schedule": 60.0}
CELERY_BEAT_SCHEDULE["solutions-purge-results"] = {"task": "profiling.tasks.purge_expired_results", "schedule": 3600.0}

# --- Logging: periodic tasks that run every minute or more often (sweeps, the reaper) log their
# routine lines only at LOG_LEVEL=DEBUG (batchplatform/log_quiet.py); their failures always show.
LOG_QUIET_TASKS = sorted(
    entry["task"]
    for entry in CELERY_BEAT_SCHEDULE.values()
    if isinstance(entry["schedule"], int | float) and entry["schedule"] <= 60
)
LOGGING["filters"]["quiet_routine_tasks"] = {
    "()": "batchplatform.log_quiet.QuietRoutineTasks",
    "tasks": LOG_QUIET_TASKS,
}
LOGGING["handlers"]["console"]["filters"].append("quiet_routine_tasks")

# --- ASGI (batchplatform/asgi.py): wrappers around the Django app, each an ASGI middleware factory
# `wrapper(app) -> app`, the first innermost; an app's long-poll routes come from its routing.py.
# profiling.asgi.limit_uploads refuses an oversized upload to /solutions/batch/ while it streams.
ASGI_DJANGO_APP_WRAPPERS = ["profiling.asgi.limit_uploads"]
