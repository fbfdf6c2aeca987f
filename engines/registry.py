"""Every engine by name: the one list that settings, checks, tests and `Run` read.

An engine is registered as a builder, a function of the storage it should use. Builders import
their engine when called, so listing the names imports no engine.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from engines.core.errors import WorkflowError

if TYPE_CHECKING:
    from engines.core.engine import Engine
    from engines.storage.base import Storage

EngineBuilder = Callable[["Storage | None"], "Engine"]
"""Builds an engine on a storage (None: the engine's embedded default)."""

DEFAULT_ENGINE = "default"
"""The engine `Workflow.create_run()` uses when given none."""


def _default(storage: Storage | None) -> Engine:
    from engines.default import DefaultEngine

    return DefaultEngine(storage=storage)


def _evented_memory(storage: Storage | None) -> Engine:
    from engines.evented import EventedEngine

    return EventedEngine(storage=storage, name="evented-memory")


def _evented_redis(storage: Storage | None) -> Engine:
    from engines.evented.factory import redis_engine

    return redis_engine(storage)


def _evented(storage: Storage | None) -> Engine:
    from engines.evented.factory import evented_engine

    return evented_engine(storage)


def _durable(storage: Storage | None) -> Engine:
    from engines.durable import DurableEngine

    return DurableEngine(storage=storage)


_BUILDERS: dict[str, EngineBuilder] = {
    "default": _default,
    "evented-memory": _evented_memory,
    "evented-redis": _evented_redis,
    # On Redis when REDIS_URL is set (workers elsewhere share it), else in this process.
    "evented": _evented,
    "durable": _durable,
}

ALIASES = frozenset({"evented"})
"""Names that build an engine another name also builds (test suites skip them)."""


def engine_builders() -> dict[str, EngineBuilder]:
    """Every engine this version ships, by name."""
    return dict(_BUILDERS)


def engine_names() -> list[str]:
    """The names of the engines this version ships."""
    return list(_BUILDERS)


def build_engine(name: str = DEFAULT_ENGINE, storage: Storage | None = None) -> Engine:
    """A new engine called `name` on `storage` (None: its embedded default storage)."""
    builder = _BUILDERS.get(name)
    if builder is None:
        raise WorkflowError(f"No engine called {name!r}; the engines are {', '.join(_BUILDERS)}")
    return builder(storage)
