"""`manage.py stepback_worker`: bad arguments are refused with a clear message."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError


def test_an_engine_without_a_worker_is_refused_with_the_choices() -> None:
    with pytest.raises(CommandError, match=r"--engine 'nope' has no worker; choose one of evented"):
        call_command("stepback_worker", engine="nope")


def test_a_concurrency_below_one_is_refused() -> None:
    with pytest.raises(CommandError, match="--concurrency must be at least 1"):
        call_command("stepback_worker", engine="evented", concurrency=0)


def test_the_evented_worker_needs_redis(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("STEPBACK_REDIS_URL", raising=False)
    with pytest.raises(CommandError, match="needs REDIS_URL"):
        call_command("stepback_worker", engine="evented")
