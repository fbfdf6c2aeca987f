"""Project settings, read from the environment.

No variables: SQLite in the repository, the in-memory channel layer, runs executed in the server
process. `DATABASE_URL` switches to PostgreSQL (or any database dj-database-url reads) and
`REDIS_URL` to the Redis channel layer. `workflows_app.checks` reports a bad combination in words.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, cast

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent

# Problems found while reading the environment; `workflows_app.checks` reports them in words
# (raising here would show a traceback instead of a sentence).
STEPBACK_CONFIG_ERRORS: list[str] = []


def _flag(name: str, default: str) -> bool:
    return os.environ.get(name, default).strip().lower() in ("1", "true", "yes", "on")


def _int(name: str, default: int) -> int:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        STEPBACK_CONFIG_ERRORS.append(f"{name}={text!r} is not a whole number")
        return default


def _list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "stepback-development-only-secret-key")
DEBUG = _flag("DJANGO_DEBUG", "1")
ALLOWED_HOSTS = _list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = _list("DJANGO_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "drf_spectacular",
    "workflows_app.apps.WorkflowsAppConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Outside the others, so every error under /api/ leaves as the API's JSON error body.
    "workflows_app.api.errors.JSONErrorsMiddleware",
    # Static files with DEBUG on and off, before anything that would touch a session.
    "workflows_app.staticfiles.StaticFilesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "workflows_app.urls"

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
                "workflows_app.pages.shell.shell",
            ],
        },
    },
]

ASGI_APPLICATION = "workflows_app.asgi.application"
WSGI_APPLICATION = None

# -- database ----------------------------------------------------------------------------------

SQLITE_PATH = os.environ.get("STEPBACK_SQLITE_PATH", str(BASE_DIR / "db.sqlite3"))
DATABASE_URL = os.environ.get("DATABASE_URL", "").strip()


# PostgreSQL: connections come from a pool of at most this many per process (Django's psycopg
# pool), whatever the number of requests or runs; several processes share PostgreSQL's
# `max_connections` (100 by default), so keep processes x size below it. 0: no pool, one
# connection per thread kept for 60 s (Django's persistent connections).
STEPBACK_DB_POOL_SIZE = _int("STEPBACK_DB_POOL_SIZE", 20)
# How long a request or a run waits for a pooled connection before giving up (a request is then
# answered 503, a run's save retried: `workflows_app.storage.retry`).
STEPBACK_DB_POOL_TIMEOUT = _int("STEPBACK_DB_POOL_TIMEOUT", 30)
# SQLite: how long a writer waits for the write lock (seconds) before "database is locked";
# saves are retried after that too.
STEPBACK_SQLITE_TIMEOUT = _int("STEPBACK_SQLITE_TIMEOUT", 60)


def _pooled(config: dict[str, Any]) -> dict[str, Any]:
    if STEPBACK_DB_POOL_SIZE <= 0 or config.get("ENGINE") != "django.db.backends.postgresql":
        return config
    size = STEPBACK_DB_POOL_SIZE
    config["CONN_MAX_AGE"] = 0  # a pooled connection goes back to the pool after each use
    config.setdefault("OPTIONS", {})["pool"] = {
        "min_size": min(2, size),
        "max_size": size,
        "timeout": STEPBACK_DB_POOL_TIMEOUT,
        # A connection idle for a minute is closed, so an idle server holds few.
        "max_idle": 60,
    }
    return config


def _database() -> dict[str, Any]:
    if DATABASE_URL:
        try:
            config = cast(dict[str, Any], dj_database_url.parse(DATABASE_URL, conn_max_age=60))
        except ValueError as exc:
            STEPBACK_CONFIG_ERRORS.append(f"DATABASE_URL cannot be used: {exc}")
            return {"ENGINE": "django.db.backends.dummy"}
        config["CONN_HEALTH_CHECKS"] = True
        return _pooled(config)
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": SQLITE_PATH,
        "OPTIONS": {
            # WAL lets the pages read while a run writes; NORMAL syncs at checkpoints, which
            # survives a process crash (the failure a workflow engine must survive). IMMEDIATE
            # takes the write lock up front, so concurrent writers queue instead of deadlocking.
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": STEPBACK_SQLITE_TIMEOUT,
        },
        # A file, not SQLite's shared-cache memory database: runs write from another thread,
        # and a file database waits for the lock (as in production) where memory ones fail.
        "TEST": {"NAME": str(Path(tempfile.gettempdir()) / f"stepback-test-{os.getpid()}.sqlite3")},
    }


DATABASES = {"default": _database()}

# -- channel layer -----------------------------------------------------------------------------

REDIS_URL = os.environ.get("REDIS_URL", "").strip()

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [REDIS_URL],
                "prefix": os.environ.get("STEPBACK_CHANNEL_PREFIX", "stepback"),
                # A watcher that falls behind loses messages past capacity; the run consumer
                # notices the gap in seq and reads the missing events from the database, the
                # runs feed the gap in its numbering and resyncs (workflows_app.consumers).
                "capacity": 5000,
                "expiry": 60,
            },
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"capacity": 5000},
        }
    }

# -- auth --------------------------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS: list[dict[str, str]] = []
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "runs"
LOGOUT_REDIRECT_URL = "login"

# -- API ---------------------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["workflows_app.api.permissions.CanView"],
    "EXCEPTION_HANDLER": "workflows_app.api.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["workflows_app.api.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["workflows_app.api.parsers.JSONBodyParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Stepback API",
    "DESCRIPTION": "Workflows, runs, events, snapshots, time travel and the inbox.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["workflows_app.api.permissions.CanView"],
    # Run ids are at most 64 characters (`Run.run_id`); a longer one is no address at all.
    "PATH_CONVERTER_OVERRIDES": {"run_id": {"type": "string", "minLength": 1, "maxLength": 64}},
}

# The largest request body accepted (the API's JSON and Django's own forms alike); the JSON
# inside is limited further by `workflows_app.json_input` (depth, NUL, surrogates).
STEPBACK_MAX_BODY_BYTES = _int("STEPBACK_MAX_BODY_BYTES", 10 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = STEPBACK_MAX_BODY_BYTES

# -- i18n, static ------------------------------------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Where `collectstatic` copies the files for a separate web server; not needed otherwise:
# WhiteNoise serves straight from the finders, with DEBUG on or off.
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_FINDERS = [
    # frontend/ (our modules and CSS) and the few third-party files the pages load.
    "workflows_app.staticfiles.FrontendFinder",
    # The admin's and the API browser's own files.
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
]
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "workflows_app": {"handlers": ["console"], "level": "INFO"},
        "engines": {"handlers": ["console"], "level": "WARNING"},
    },
}

# -- Stepback ----------------------------------------------------------------------------------

# Modules whose Workflow objects are registered in the app (the demo module by default).
STEPBACK_WORKFLOWS = _list("STEPBACK_WORKFLOWS", "workflows_app.examples")
# The engine runs are started on, by its name in `engines.registry` ("default" for now).
STEPBACK_ENGINE = os.environ.get("STEPBACK_ENGINE", "default")
# Where runs execute: "thread" (a background event loop in this process), or "inline"
# (inside the call that starts them; for scripts, management commands and tests).
STEPBACK_EXECUTOR = os.environ.get("STEPBACK_EXECUTOR", "thread")
# How long a process's heartbeat vouches for it, seen from another machine sharing the database
# (`workflows_app.processes`); runs of a process silent for longer are marked interrupted.
STEPBACK_LEASE_SECONDS = _int("STEPBACK_LEASE_SECONDS", 30)
# Whether a server marks runs left active by dead processes interrupted, at start-up and then
# every lease period (`workflows_app.recovery`).
STEPBACK_RECOVERY = _flag("STEPBACK_RECOVERY", "1")
# The step panel and the workflow API show each step function's source (read at start-up).
STEPBACK_SHOW_SOURCE = _flag("STEPBACK_SHOW_SOURCE", "1")

# -- under load (workflows_app.admission, workflows_app.storage.retry) ---------------------------

# HTTP requests handled at once per process (each on a thread of its own, holding a database
# connection): this bounds the request threads; the others queue in arrival order.
STEPBACK_HTTP_CONCURRENCY = _int("STEPBACK_HTTP_CONCURRENCY", 8)
# Requests allowed to queue, and how long one may wait, before it is answered 503 + Retry-After.
STEPBACK_HTTP_QUEUE = _int("STEPBACK_HTTP_QUEUE", 2000)
STEPBACK_HTTP_QUEUE_SECONDS = _int("STEPBACK_HTTP_QUEUE_SECONDS", 20)
# How long a run's save keeps being retried after a transient database fault (a lock, a lost
# connection, a serialization failure, no pooled connection) before the run is failed.
STEPBACK_SAVE_RETRY_SECONDS = _int("STEPBACK_SAVE_RETRY_SECONDS", 60)

# What happens to those runs next: "resume" (restart them, or hand a durable run's segments to a
# worker) or "mark" (leave them interrupted for a person to restart or cancel).
STEPBACK_RECOVERY_ACTION = os.environ.get("STEPBACK_RECOVERY_ACTION", "resume")
