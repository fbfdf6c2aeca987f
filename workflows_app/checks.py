"""System checks: a misconfigured environment is reported in words by `manage.py check`."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register

from engines.registry import engine_names

KNOWN_EXECUTORS = ("thread", "inline")
DATABASE_SCHEMES = ("postgres", "postgresql", "pgsql", "sqlite")
DEVELOPMENT_SECRET = "stepback-development-only-secret-key"


@register(Tags.compatibility)
def check_environment(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """DATABASE_URL, REDIS_URL, the engine, the executor and the secret key."""
    problems: list[CheckMessage] = [
        Error(message, id="stepback.E001") for message in settings.STEPBACK_CONFIG_ERRORS
    ]
    scheme = urlparse(settings.DATABASE_URL).scheme
    if settings.DATABASE_URL and scheme not in DATABASE_SCHEMES:
        problems.append(
            Error(
                f"DATABASE_URL selects {scheme!r}; Stepback supports PostgreSQL and SQLite.",
                hint="Use postgres://user:password@host:5432/name.",
                id="stepback.E002",
            )
        )
    if settings.REDIS_URL:
        scheme = urlparse(settings.REDIS_URL).scheme
        if scheme not in ("redis", "rediss", "unix"):
            problems.append(
                Error(
                    f"REDIS_URL must start with redis://, rediss:// or unix:// (got {scheme!r}).",
                    id="stepback.E003",
                )
            )
    elif not settings.DEBUG:
        problems.append(
            Warning(
                "The in-memory channel layer reaches websockets of this one process only.",
                hint="Set REDIS_URL when you run more than one web process or any worker.",
                id="stepback.W001",
            )
        )
    if settings.STEPBACK_ENGINE not in engine_names():
        problems.append(
            Error(
                f"STEPBACK_ENGINE={settings.STEPBACK_ENGINE!r} is not an engine this version "
                f"ships; choose one of {', '.join(engine_names())}.",
                id="stepback.E004",
            )
        )
    if settings.STEPBACK_EXECUTOR not in KNOWN_EXECUTORS:
        problems.append(
            Error(
                f"STEPBACK_EXECUTOR={settings.STEPBACK_EXECUTOR!r} is unknown; choose one of "
                f"{', '.join(KNOWN_EXECUTORS)}.",
                id="stepback.E005",
            )
        )
    if not settings.DEBUG and settings.SECRET_KEY == DEVELOPMENT_SECRET:
        problems.append(
            Error(
                "DJANGO_SECRET_KEY is not set and DEBUG is off: sessions would be signed with "
                "the development key everyone can read.",
                hint="Set DJANGO_SECRET_KEY to a long random value.",
                id="stepback.E006",
            )
        )
    return problems


@register()
def check_workflows(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Every module in STEPBACK_WORKFLOWS imports and registers distinct workflow ids."""
    from workflows_app.registry import check_registry

    return [Error(problem, id="stepback.E010") for problem in check_registry()]
