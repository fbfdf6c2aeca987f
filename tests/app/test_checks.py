"""`manage.py check` reports a misconfigured environment in words."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.checks import Error, Warning

from workflows_app.checks import check_environment


@pytest.fixture(autouse=True)
def development(settings: Any) -> None:
    """The embedded default: DEBUG on (the test runner turns it off)."""
    settings.DEBUG = True


def ids(messages: list[Any]) -> list[str]:
    return [m.id for m in messages]


def test_the_embedded_default_passes_every_check() -> None:
    assert check_environment() == []


def test_an_unusable_database_url_is_reported_as_a_sentence(settings: Any) -> None:
    settings.STEPBACK_CONFIG_ERRORS = ["DATABASE_URL cannot be used: unknown scheme 'pg'"]
    problems = check_environment()
    assert ids(problems) == ["stepback.E001"]
    assert isinstance(problems[0], Error)
    assert "DATABASE_URL" in problems[0].msg


def test_a_database_other_than_postgresql_or_sqlite_is_refused(settings: Any) -> None:
    settings.DATABASE_URL = "mysql://root@localhost/stepback"
    assert ids(check_environment()) == ["stepback.E002"]


def test_a_redis_url_with_another_scheme_is_refused(settings: Any) -> None:
    settings.REDIS_URL = "http://127.0.0.1:6379"
    assert ids(check_environment()) == ["stepback.E003"]


def test_production_without_redis_is_warned_about_the_in_memory_layer(settings: Any) -> None:
    settings.DEBUG = False
    settings.REDIS_URL = ""
    settings.SECRET_KEY = "a-real-secret-" * 4
    problems = check_environment()
    assert ids(problems) == ["stepback.W001"]
    assert isinstance(problems[0], Warning)


def test_an_unknown_engine_is_refused(settings: Any) -> None:
    settings.STEPBACK_ENGINE = "quantum"
    problems = check_environment()
    assert ids(problems) == ["stepback.E004"]
    assert "quantum" in problems[0].msg


def test_an_unknown_executor_is_refused(settings: Any) -> None:
    settings.STEPBACK_EXECUTOR = "carrier-pigeon"
    assert ids(check_environment()) == ["stepback.E005"]


def test_the_development_secret_key_is_refused_without_debug(settings: Any) -> None:
    settings.DEBUG = False
    settings.REDIS_URL = "redis://127.0.0.1:6379/0"
    assert ids(check_environment()) == ["stepback.E006"]
