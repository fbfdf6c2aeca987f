"""Every storage the conformance and storage suites run against, by name.

`engines.testing.storage_factories()` gives the storages `engines` ships; this adds `django`
(`workflows_app.storage.DjangoStorage` on the test database). `STEPBACK_TEST_STORAGES` (a comma
list) keeps only the named ones: the PostgreSQL pass sets it to `django`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from _pytest.mark import ParameterSet

from engines.core.events import Event
from engines.core.snapshot import RunSnapshot
from engines.storage.base import Storage
from engines.storage.memory import InMemoryStorage
from engines.testing import storage_factories

ENV = "STEPBACK_TEST_STORAGES"
EVENTED_ENV = "STEPBACK_TEST_EVENTED_STORAGES"
DJANGO = "django"
# The evented engines run the suite on the storages `engines` ships (each case pays a broker
# round trip, and what they add is the transport, not a storage); evented-redis on the JSON
# one, as its workers see state. The PostgreSQL pass of scripts/test.sh runs evented-redis on
# the django storage too (STEPBACK_TEST_EVENTED_STORAGES=django).
EVENTED_DEFAULT = {"evented-memory": "memory,memory-json", "evented-redis": "memory-json"}


def storage_names(engine: str | None = None) -> list[str]:
    """The storage names to test, all of them unless `STEPBACK_TEST_STORAGES` picks some; for
    an evented engine, only those `STEPBACK_TEST_EVENTED_STORAGES` also names."""
    names = _storage_names()
    if engine is not None and engine.startswith("evented"):
        evented = os.environ.get(EVENTED_ENV, EVENTED_DEFAULT.get(engine, "memory")).split(",")
        names = [name for name in names if name in {e.strip() for e in evented}]
    return names


def _storage_names() -> list[str]:
    known = [*storage_factories(), DJANGO]
    wanted = [name.strip() for name in os.environ.get(ENV, "").split(",") if name.strip()]
    if not wanted:
        return known
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise pytest.UsageError(
            f"{ENV} names unknown storage(s) {', '.join(unknown)}; known: {', '.join(known)}"
        )
    return [name for name in known if name in wanted]


def storage_param(name: str, *prefix: str) -> ParameterSet:
    """`name` (after `prefix`, e.g. an engine name) as a pytest parameter. The `django` one is
    marked `django_db(transaction=True)`, which also makes pytest-django create the test
    database for the session (it only looks at the collected tests' marks for that)."""
    marks = [pytest.mark.django_db(transaction=True)] if name == DJANGO else []
    values = (*prefix, name)
    return pytest.param(values if prefix else name, marks=marks, id="-".join(values))


def build_storage(name: str, request: pytest.FixtureRequest) -> Storage:
    """A fresh, empty storage called `name`. Call it from a sync fixture: `django` asks for
    pytest-django's `transactional_db`, since the storage writes from Django's sync thread."""
    if name == DJANGO:
        request.getfixturevalue("transactional_db")
        request.addfinalizer(close_sync_thread_connections)
        from workflows_app.storage import DjangoStorage

        return DjangoStorage(engine_name="test")
    return storage_factories()[name]()


@pytest.fixture
def sync_thread_connections_closed() -> Iterator[None]:
    """Close the storage thread's database connections after the test (see below)."""
    yield
    close_sync_thread_connections()


def close_sync_thread_connections() -> None:
    """Close the database connections of asgiref's thread for sync code, where the storage
    wrote: PostgreSQL refuses to drop the test database while they are open."""
    from asgiref.sync import SyncToAsync
    from django.db import connections

    SyncToAsync.single_thread_executor.submit(connections.close_all).result()


class TickingClock:
    """A deterministic engine clock: each reading is `step` seconds after the previous one, so
    two runs of one workflow record identical timestamps."""

    def __init__(self, start: float = 1_000.0, step: float = 0.25) -> None:
        self.now = start
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


class RecordingStorage(InMemoryStorage):
    """`InMemoryStorage(serialize=True)` that also keeps every saved snapshot's JSON by seq:
    the run as it was at each write, to compare other storages' history with."""

    def __init__(self) -> None:
        super().__init__(serialize=True)
        self.saved: dict[str, dict[int, dict[str, Any]]] = {}

    async def save(self, snapshot: RunSnapshot, events: Sequence[Event] = ()) -> None:
        await super().save(snapshot, events)
        runs = self.saved.setdefault(snapshot.run_id, {})
        runs[snapshot.seq] = json.loads(json.dumps(snapshot.to_dict()))
