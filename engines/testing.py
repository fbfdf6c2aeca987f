"""Helpers for testing workflows: every engine and storage by name, and a call counter."""

from __future__ import annotations

import os
import tempfile
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
    storage it should use. `evented-redis` uses `STEPBACK_TEST_REDIS_URL` when it is set. The
    durable engine comes in two variants, on an SQLite system database in a temporary
    directory of this process (`durable-sqlite`) and on PostgreSQL (`durable-postgres`, see
    `durable_postgres_url`)."""
    builders: dict[str, EngineBuilder] = {}
    for name, build in registered_engines().items():
        if name in ALIASES:
            continue
        if name == "durable":
            builders["durable-sqlite"] = _durable_sqlite
            builders["durable-postgres"] = _durable_postgres
        else:
            builders[name] = build
    test_redis = os.environ.get("STEPBACK_TEST_REDIS_URL")
    if test_redis and "evented-redis" in builders:

        def evented_redis(storage: Storage) -> Engine:
            from engines.evented.factory import redis_engine

            return redis_engine(storage, test_redis)

        builders["evented-redis"] = evented_redis
    return builders


_sqlite_dir: list[str] = []


def _durable_sqlite(storage: Storage) -> Engine:
    from engines.durable.engine import DurableEngine, storage_namespace
    from engines.durable.host import sqlite_url

    if not _sqlite_dir:
        _sqlite_dir.append(tempfile.mkdtemp(prefix="stepback-dbos-"))
    url = sqlite_url(os.path.join(_sqlite_dir[0], "dbos.sqlite"))
    engine = DurableEngine(
        url, storage, namespace=storage_namespace(storage), name="durable-sqlite"
    )
    engine.launch_now()  # once per process, outside whatever a test times
    return engine


def durable_postgres_url() -> str:
    """The PostgreSQL system database of `durable-postgres`: `STEPBACK_TEST_DBOS_DATABASE_URL`,
    else the test database's URL (`STEPBACK_TEST_DATABASE_URL`, `DATABASE_URL`) with `_sys`
    appended to its name (DBOS creates it)."""
    explicit = os.environ.get("STEPBACK_TEST_DBOS_DATABASE_URL")
    if explicit:
        return explicit
    base = (
        os.environ.get("STEPBACK_TEST_DATABASE_URL")
        or os.environ.get("DATABASE_URL", "")
        or "postgresql://postgres@127.0.0.1:5432/stepback"
    )
    if not base.startswith(("postgres://", "postgresql://")):
        base = "postgresql://postgres@127.0.0.1:5432/stepback"
    return base.rstrip("/") + "_sys"


def _durable_postgres(storage: Storage) -> Engine:
    from engines.durable.engine import DurableEngine, storage_namespace

    engine = DurableEngine(
        durable_postgres_url(),
        storage,
        namespace=storage_namespace(storage),
        name="durable-postgres",
    )
    engine.launch_now()
    return engine


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
