"""Retrying a run's saves and reads through transient database faults.

Under load a save can fail for a reason that passes: SQLite's write lock not granted in time
("database is locked"), a PostgreSQL connection lost or not granted by the pool in time, a
serialization failure or deadlock. Before, one such failure ended the execution, and the run
was refused by the `seq` compare-and-set ever after. `RetryingStorage` wraps a storage and
retries such a save with exponential backoff (with jitter, so retries of many runs do not
collide again) for up to `STEPBACK_SAVE_RETRY_SECONDS`; a save is one transaction, so a failed
attempt wrote nothing and trying again is safe. Two subtleties:

- a commit whose answer was lost (the connection dropped after COMMIT) makes the retry meet its
  own write as a conflict: when the stored run already has the saved `seq`, it was written;
- a save inside a caller's transaction (`services` storing a prepared run together with its
  owner) is not retried here: that transaction is aborted, and the caller's request is the
  one to answer (503, nothing written; `workflows_app.api.errors`).

When the retries run out the error propagates: the executor records the run as failed with it
(`executors.record_failure`, whose own save is retried the same way).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextvars import ContextVar
from typing import Any, TypeVar

import psycopg
from django.conf import settings
from django.db import InterfaceError, OperationalError

from engines.core.errors import RunConflictError
from engines.core.events import Event
from engines.core.snapshot import RunSnapshot
from engines.storage.base import RunPage, RunSummary, Storage

log = logging.getLogger("workflows_app.storage")
T = TypeVar("T")

FIRST_DELAY = 0.05
MAX_DELAY = 2.0
_IN_CALLERS_TRANSACTION: ContextVar[bool] = ContextVar("stepback_no_save_retry", default=False)


def is_transient(exc: BaseException) -> bool:
    """True for a database fault that may pass: locks, lost connections, serialization
    failures and deadlocks, no pooled connection in time (never a refusal such as a conflict
    or an integrity error)."""
    if isinstance(exc, RunConflictError):
        return False
    return isinstance(
        exc, (OperationalError, InterfaceError, psycopg.OperationalError, sqlite3.OperationalError)
    )


@contextlib.contextmanager
def in_callers_transaction() -> Iterator[None]:
    """Within the block, saves are tried once: they belong to the caller's transaction."""
    token = _IN_CALLERS_TRANSACTION.set(True)
    try:
        yield
    finally:
        _IN_CALLERS_TRANSACTION.reset(token)


async def retrying(call: Callable[[], Awaitable[T]], what: str) -> T:
    """`await call()`, tried again after transient faults until the retry time runs out."""
    deadline = time.monotonic() + settings.STEPBACK_SAVE_RETRY_SECONDS
    delay = FIRST_DELAY
    attempt = 1
    while True:
        try:
            return await call()
        except Exception as exc:
            pause = delay * random.uniform(0.5, 1.5)
            if not is_transient(exc) or time.monotonic() + pause > deadline:
                raise
            log.warning("%s failed (attempt %d), retrying in %.2f s: %s", what, attempt, pause, exc)
        await asyncio.sleep(pause)
        delay = min(delay * 2, MAX_DELAY)
        attempt += 1


class RetryingStorage:
    """A storage whose saves and reads are retried through transient faults (module doc)."""

    def __init__(self, inner: Storage) -> None:
        self.inner = inner

    def __repr__(self) -> str:
        return f"RetryingStorage({self.inner!r})"

    def __getattr__(self, name: str) -> Any:
        # Whatever else the wrapped storage offers (its `using`, its engine name).
        return getattr(self.inner, name)

    async def save(self, snapshot: RunSnapshot, events: Sequence[Event] = ()) -> None:
        """The wrapped save, retried (see the module docstring)."""
        if _IN_CALLERS_TRANSACTION.get():
            await self.inner.save(snapshot, events)
            return
        tried = False

        async def attempt() -> None:
            nonlocal tried
            try:
                await self.inner.save(snapshot, events)
            except RunConflictError:
                if tried and await self._already_stored(snapshot):
                    return  # the previous attempt committed, only its answer was lost
                raise
            finally:
                tried = True

        await retrying(attempt, f"saving run {snapshot.run_id}")

    async def _already_stored(self, snapshot: RunSnapshot) -> bool:
        stored = await self.load(snapshot.run_id)
        return stored is not None and stored.seq == snapshot.seq

    async def load(self, run_id: str) -> RunSnapshot | None:
        """The wrapped load, retried."""
        return await retrying(lambda: self.inner.load(run_id), f"loading run {run_id}")

    async def read_events(
        self, run_id: str, after_seq: int = 0, limit: int | None = None
    ) -> list[Event]:
        """The wrapped read, retried."""
        return await retrying(
            lambda: self.inner.read_events(run_id, after_seq, limit), f"reading {run_id}"
        )

    async def list_runs(self, **filters: Any) -> RunPage:
        """The wrapped listing (not retried: a caller asking can ask again)."""
        return await self.inner.list_runs(**filters)

    async def delete_run(self, run_id: str) -> bool:
        """The wrapped delete."""
        return await self.inner.delete_run(run_id)

    async def lineage(self, run_id: str) -> list[RunSummary]:
        """The wrapped lineage."""
        return await self.inner.lineage(run_id)
