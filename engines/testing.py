"""Helpers for testing workflows: every engine and storage by name, and a call counter."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from engines.core.engine import Engine
from engines.registry import ALIASES
from engines.registry import engine_builders as registered_engines
from engines.storage.base import Storage
from engines.storage.memory import InMemoryStorage

EngineBuilder = Callable[[Storage], Engine]


def storage_factories() -> dict[str, Callable[[], Storage]]:
    """Every storage `engines` ships, by name: objects in memory, and JSON round-tripped."""
    return {
        "memory": InMemoryStorage,
        "memory-json": lambda: InMemoryStorage(serialize=True),
    }


def engine_builders() -> dict[str, EngineBuilder]:
    """Every engine by name (`engines.registry`, aliases left out), as a function of the
    storage it should use. `evented-redis` uses `STEPBACK_TEST_REDIS_URL` when it is set."""
    builders: dict[str, EngineBuilder] = {
        name: build for name, build in registered_engines().items() if name not in ALIASES
    }
    test_redis = os.environ.get("STEPBACK_TEST_REDIS_URL")
    if test_redis and "evented-redis" in builders:

        def evented_redis(storage: Storage) -> Engine:
            from engines.evented.factory import redis_engine

            return redis_engine(storage, test_redis)

        builders["evented-redis"] = evented_redis
    return builders


def engine_factories() -> dict[str, Callable[[], Engine]]:
    """Every engine by name, each built fresh on its embedded default storage."""

    def factory(build: EngineBuilder) -> Callable[[], Engine]:
        return lambda: build(InMemoryStorage())

    return {name: factory(build) for name, build in engine_builders().items()}


class Calls:
    """Counts calls per name, for asserting which steps ran (`calls["step1"] == 1`)."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.args: dict[str, list[Any]] = {}

    def hit(self, name: str, arg: Any = None) -> None:
        self.counts[name] = self.counts.get(name, 0) + 1
        self.args.setdefault(name, []).append(arg)

    def __getitem__(self, name: str) -> int:
        return self.counts.get(name, 0)
