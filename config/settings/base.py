"""Settings for the embedded single-machine default (SQLite + media under the data dir)."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import dj_database_url

from config.env import (
    ConfigError, env_bool, env_float, env_int, env_list, env_path, env_str, redis_cache_url, stored_secret_key,
)

BASE_DIR = Path(__file__).resolve().parent.parent.parent
DATA_DIR = env_path("LINKSHOT_DATA_DIR", str(BASE_DIR / "data"))

# The embedded default keeps a stable per-install key in the data dir rather than a random one
# per process (sessions would not survive restarts) or a well-known constant.
SECRET_KEY = env_str("DJANGO_SECRET_KEY", "") or stored_secret_key(DATA_DIR / "secret_key")
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI / Redoc assets served locally, no CDN
    "axes",  # login throttling (config/login_throttle.py)
    "snapshots",
    "tagging",
    "imports",
    "linkding_api",
    "accounts",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
    {
        # The rows of the link list: Jinja2 renders them several times faster than Django templates.
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [BASE_DIR / "templates" / "jinja2"],
        "APP_DIRS": False,
        "OPTIONS": {"environment": "snapshots.web.display.jinja_environment"},
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'linkshot.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # WAL lets readers proceed while the worker writes; a busy timeout avoids "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Login throttling (django-axes): after LINKSHOT_LOGIN_FAILURE_LIMIT failed sign-ins for one user
# name, or from one address, that user name or address is refused for LINKSHOT_LOGIN_COOLOFF_MINUTES.
# The web login and the API token endpoint count alike; an admin unlocks in Admin → Axes → Access
# attempts (delete the row) or with `manage.py axes_reset_username NAME`.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LINKSHOT_LOGIN_FAILURE_LIMIT", 5)
LINKSHOT_LOGIN_COOLOFF_MINUTES = env_int("LINKSHOT_LOGIN_COOLOFF_MINUTES", 15)
AXES_COOLOFF_TIME = timedelta(minutes=LINKSHOT_LOGIN_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # each one on its own: per user and per IP
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "config.login_throttle.lockout_response"
AXES_VERBOSE = False

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = DATA_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "link-list"
LOGOUT_REDIRECT_URL = "login"

# Bodies above this are refused before parsing (bookmark imports get their own limit).
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("LINKSHOT_MAX_BODY_BYTES", 2 * 1024 * 1024)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.api_errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Linkshot API",
    "DESCRIPTION": "Save links, capture snapshots, manage tags.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Bookmark imports: the largest file accepted, and how many entries one transaction handles.
LINKSHOT_IMPORT_MAX_BYTES = env_int("LINKSHOT_IMPORT_MAX_BYTES", 100 * 1024 * 1024)
LINKSHOT_IMPORT_BATCH = env_int("LINKSHOT_IMPORT_BATCH", 500)
# A running import not heard from for this long (its worker died) is resumed by beat.
LINKSHOT_IMPORT_STALL_SECONDS = env_int("LINKSHOT_IMPORT_STALL_SECONDS", 120)

# Webhooks: tries per delivery, and the first retry's delay (doubling each time, with jitter).
LINKSHOT_WEBHOOK_MAX_ATTEMPTS = env_int("LINKSHOT_WEBHOOK_MAX_ATTEMPTS", 5)
LINKSHOT_WEBHOOK_RETRY_BASE_SECONDS = env_int("LINKSHOT_WEBHOOK_RETRY_BASE_SECONDS", 30)

# Celery: the broker URL is decided by ./linkshot (REDIS_URL, a private redis-server, or the
# filesystem transport) and handed over in CELERY_BROKER_URL.
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)

# Shared cache: the broker's Redis when there is one (rendered list rows, snapshots/list_cache.py).
# Web and worker processes must all see it, so with the filesystem broker there is none.
LINKSHOT_CACHE_URL = env_str("LINKSHOT_CACHE_URL", redis_cache_url(CELERY_BROKER_URL))
if LINKSHOT_CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": LINKSHOT_CACHE_URL,
            "KEY_PREFIX": env_str("LINKSHOT_CACHE_PREFIX", "linkshot"),
            # A Redis outage makes pages slower, not broken: give up on it quickly.
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Seconds a user's rendered list rows are reused while none of their links, tags or snapshots
# change; also the most a relative time ("5 minutes ago") can lag. 0 turns the list cache off.
LINKSHOT_LIST_CACHE_SECONDS = env_int("LINKSHOT_LIST_CACHE_SECONDS", 60) if LINKSHOT_CACHE_URL else 0

LINKSHOT_ALLOWED_PRIVATE_HOSTS = env_list("LINKSHOT_ALLOWED_PRIVATE_HOSTS")
# Resolver used to check submitted URLs and by the capture egress proxy (dotted path to a
# getaddrinfo-compatible function); benchmarks point it at an offline one to keep every lookup local.
LINKSHOT_DNS_RESOLVER = env_str("LINKSHOT_DNS_RESOLVER", "socket.getaddrinfo")
LINKSHOT_SNAPSHOT_ORIGIN = env_str("LINKSHOT_SNAPSHOT_ORIGIN", "").rstrip("/")
LINKSHOT_MODELS_DIR = env_path("LINKSHOT_MODELS_DIR", str(DATA_DIR / "models"))

# Capture jobs. The engine's own whole-job timeout sits below the soft limit; the soft limit lets the
# task record a clear error, the hard limit kills a wedged child. Messages are acked late, so the
# broker must not hand an unacked capture to a second worker before the hard limit (or the longest
# retry countdown) has passed: the Redis visibility timeout stays above both.
LINKSHOT_CHROMIUM = env_str("LINKSHOT_CHROMIUM", "")  # "" = find it
LINKSHOT_ASSET_MAX_BYTES = env_int("LINKSHOT_ASSET_MAX_BYTES", 50 * 1024 * 1024)
# The capture engine's limits and switches (snapshots.capture.config.CaptureConfig); a variable left
# unset keeps the engine's default, and the whole-job timeout is also held below the soft limit.
LINKSHOT_CAPTURE_ENGINE = {name: value for name, value in {
    "full_page_max_height": env_int("LINKSHOT_CAPTURE_FULL_PAGE_MAX_HEIGHT", None),
    "nav_timeout_s": env_float("LINKSHOT_CAPTURE_NAV_TIMEOUT", None),
    "network_quiet_cap_s": env_float("LINKSHOT_CAPTURE_NETWORK_QUIET_CAP", None),
    "network_quiet_s": env_float("LINKSHOT_CAPTURE_NETWORK_QUIET", None),
    "step_timeout_s": env_float("LINKSHOT_CAPTURE_STEP_TIMEOUT", None),
    "job_timeout_s": env_float("LINKSHOT_CAPTURE_JOB_TIMEOUT", None),
    "extra_chromium_args": env_str("LINKSHOT_CHROMIUM_ARGS", "").split() or None,
    "user_agent": env_str("LINKSHOT_CAPTURE_USER_AGENT", "") or None,
    "keep_full_page": env_bool("LINKSHOT_CAPTURE_FULL_PAGE", None),
    "keep_mhtml": env_bool("LINKSHOT_CAPTURE_MHTML", None),
    "keep_pdf": env_bool("LINKSHOT_CAPTURE_PDF", None),
}.items() if value is not None}
LINKSHOT_CAPTURE_SOFT_TIME_LIMIT = env_int("LINKSHOT_CAPTURE_SOFT_TIME_LIMIT", 120)
LINKSHOT_CAPTURE_TIME_LIMIT = env_int("LINKSHOT_CAPTURE_TIME_LIMIT", 180)
LINKSHOT_CAPTURE_MAX_ATTEMPTS = env_int("LINKSHOT_CAPTURE_MAX_ATTEMPTS", 3)
# Pages one worker child keeps open at once, each in its own context of its one Chromium
# (snapshots/capture_jobs/inflight.py); bench/RESULTS.md, "Capture with pages in flight".
LINKSHOT_CAPTURE_PAGES_IN_FLIGHT = env_int("LINKSHOT_CAPTURE_PAGES_IN_FLIGHT", 4)
LINKSHOT_CAPTURE_RETRY_BASE_SECONDS = env_int("LINKSHOT_CAPTURE_RETRY_BASE_SECONDS", 30)
LINKSHOT_CAPTURE_RETRY_MAX_SECONDS = env_int("LINKSHOT_CAPTURE_RETRY_MAX_SECONDS", 600)
# A pending capture whose message has not been picked up for this long is sent again.
LINKSHOT_PENDING_RESEND_AFTER_S = env_int("LINKSHOT_PENDING_RESEND_AFTER_S", 900)
# A pending capture whose message could not be sent at all (broker down) is sent again after this.
LINKSHOT_UNSENT_RESEND_AFTER_S = env_int("LINKSHOT_UNSENT_RESEND_AFTER_S", 60)
LINKSHOT_RECAPTURE_BATCH = env_int("LINKSHOT_RECAPTURE_BATCH", 200)  # per person per scheduler run
LINKSHOT_BROKER_VISIBILITY_TIMEOUT = env_int("LINKSHOT_BROKER_VISIBILITY_TIMEOUT", 3600)
if not 0 < LINKSHOT_CAPTURE_SOFT_TIME_LIMIT < LINKSHOT_CAPTURE_TIME_LIMIT:
    raise ConfigError("LINKSHOT_CAPTURE_SOFT_TIME_LIMIT must be positive and below LINKSHOT_CAPTURE_TIME_LIMIT")
if LINKSHOT_BROKER_VISIBILITY_TIMEOUT <= max(LINKSHOT_CAPTURE_TIME_LIMIT, LINKSHOT_CAPTURE_RETRY_MAX_SECONDS):
    raise ConfigError("LINKSHOT_BROKER_VISIBILITY_TIMEOUT must exceed LINKSHOT_CAPTURE_TIME_LIMIT and "
                      "LINKSHOT_CAPTURE_RETRY_MAX_SECONDS, or running captures get delivered twice")
if LINKSHOT_CAPTURE_PAGES_IN_FLIGHT < 1:
    raise ConfigError("LINKSHOT_CAPTURE_PAGES_IN_FLIGHT must be at least 1")
if LINKSHOT_CAPTURE_MAX_ATTEMPTS < 1:
    raise ConfigError("LINKSHOT_CAPTURE_MAX_ATTEMPTS must be at least 1")
# A Redis that hangs (stopped, swapping, half-open connection) must not hold a save or a page:
# every broker socket gives up after a few seconds and a send is tried twice at most. A capture
# whose message could not be sent stays pending and the beat job sends it again.
LINKSHOT_BROKER_SOCKET_TIMEOUT = env_int("LINKSHOT_BROKER_SOCKET_TIMEOUT", 2)
CELERY_BROKER_CONNECTION_TIMEOUT = LINKSHOT_BROKER_SOCKET_TIMEOUT
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2,
                                    "interval_max": 0.2}
if CELERY_BROKER_URL.startswith(("redis", "rediss")):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": LINKSHOT_BROKER_VISIBILITY_TIMEOUT,
        "socket_timeout": LINKSHOT_BROKER_SOCKET_TIMEOUT,
        "socket_connect_timeout": LINKSHOT_BROKER_SOCKET_TIMEOUT,
    }
# Tag suggestions (tagging/): one inference task drains up to this many pending analyses at once,
# so a large import keeps the model busy at a useful batch size.
LINKSHOT_ANALYSIS_BATCH = env_int("LINKSHOT_ANALYSIS_BATCH", 64)
LINKSHOT_ANALYSIS_MAX_ATTEMPTS = env_int("LINKSHOT_ANALYSIS_MAX_ATTEMPTS", 3)
LINKSHOT_ANALYSIS_SOFT_TIME_LIMIT = env_int("LINKSHOT_ANALYSIS_SOFT_TIME_LIMIT", 300)
LINKSHOT_ANALYSIS_TIME_LIMIT = env_int("LINKSHOT_ANALYSIS_TIME_LIMIT", 360)
# Backend of the inference worker: auto (tensorrt, torch-cuda, onnxruntime: first that loads),
# or one of them by name. On a machine without an NVIDIA driver, auto means onnxruntime directly.
LINKSHOT_INFERENCE_BACKEND = env_str("LINKSHOT_INFERENCE_BACKEND", "auto")
# Pending suggestions kept per link, and the lowest score shown.
LINKSHOT_SUGGESTIONS_PER_LINK = env_int("LINKSHOT_SUGGESTIONS_PER_LINK", 5)
LINKSHOT_SUGGESTION_MIN_SCORE = env_float("LINKSHOT_SUGGESTION_MIN_SCORE", 0.15)
# Learn from each person's tagged links how much each kind of evidence is worth (tagging/scoring/
# calibration.py); off, every person gets the fixed combination.
LINKSHOT_SUGGESTION_LEARN = env_bool("LINKSHOT_SUGGESTION_LEARN", True)
# Which inputs suggestions may use: text (text vectors, tag names, words) and image (screenshot
# neighbours, ImageNet concepts). Both by default; one alone measures what the other adds.
LINKSHOT_SUGGESTION_EVIDENCE = frozenset(env_list("LINKSHOT_SUGGESTION_EVIDENCE", "text,image"))
if not LINKSHOT_SUGGESTION_EVIDENCE or not LINKSHOT_SUGGESTION_EVIDENCE <= {"text", "image"}:
    raise ConfigError("LINKSHOT_SUGGESTION_EVIDENCE must be text, image or text,image")
if not 0 < LINKSHOT_ANALYSIS_SOFT_TIME_LIMIT < LINKSHOT_ANALYSIS_TIME_LIMIT:
    raise ConfigError("LINKSHOT_ANALYSIS_SOFT_TIME_LIMIT must be positive and below LINKSHOT_ANALYSIS_TIME_LIMIT")
CELERY_TASK_ROUTES = {
    "tagging.analyze_pending": {"queue": "inference"},
    "tagging.rescore_user": {"queue": "inference"},
    "tagging.requeue_stuck_analyses": {"queue": "default"},
    "snapshots.capture_snapshot": {"queue": "capture"},
    "snapshots.requeue_stuck_snapshots": {"queue": "default"},
    "snapshots.schedule_recaptures": {"queue": "default"},
    "imports.run_import": {"queue": "default"},
    "imports.resume_stalled_imports": {"queue": "default"},
    "accounts.deliver_webhook": {"queue": "default"},
}
CELERY_TASK_ANNOTATIONS = {
    "tagging.analyze_pending": {
        "soft_time_limit": LINKSHOT_ANALYSIS_SOFT_TIME_LIMIT,
        "time_limit": LINKSHOT_ANALYSIS_TIME_LIMIT,
    },
    "snapshots.capture_snapshot": {
        "soft_time_limit": LINKSHOT_CAPTURE_SOFT_TIME_LIMIT,
        "time_limit": LINKSHOT_CAPTURE_TIME_LIMIT,
    },
}
CELERY_BEAT_SCHEDULE = {
    # Captures whose worker died (kill, OOM, hard limit) stay "running"; put them back in the queue.
    "requeue-stuck-snapshots": {"task": "snapshots.requeue_stuck_snapshots", "schedule": 120.0},
    # Each person's re-capture interval (CaptureSettings) is honoured by this hourly sweep.
    "schedule-recaptures": {"task": "snapshots.schedule_recaptures", "schedule": 3600.0},
    # Analyses whose inference worker died, or whose message was lost, are sent again.
    "requeue-stuck-analyses": {"task": "tagging.requeue_stuck_analyses", "schedule": 120.0},
    # An import whose worker died is picked up again where its last batch committed.
    "resume-stalled-imports": {"task": "imports.resume_stalled_imports", "schedule": 60.0},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LINKSHOT_LOG_LEVEL", "INFO")},
}

if CELERY_BROKER_URL.startswith("filesystem://"):
    # Single-host fallback when no Redis exists: messages are files under the data dir.
    _broker_dir = DATA_DIR / "broker"
    for _sub in ("queue", "processed"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
    }
