"""Writing a run's saves on the thread of the event loop that executes it.

Django runs database code on a thread of its own for sync code, so an async caller normally
hops there for every statement batch (`sync_to_async`): a thread switch per save, which costs
more than the commit itself. A loop that exists only to execute runs (the thread executor's,
a worker's) has nothing else to do while its run commits, so its saves can be written right
there, on that thread's own Django connection, the way the peer engines write theirs.

`writes_on_this_loop()` marks the executions that may do so; everything else (a request, a
command under `async_to_sync`, a test) keeps hopping, so its writes still join the caller's
transaction and connection. The connection is opened (and closed after an error) on a helper
thread, since Django refuses those calls where an event loop runs; the statements themselves go
to the driver's cursor, which has no such guard.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper

_ON_THIS_LOOP: ContextVar[bool] = ContextVar("stepback_writes_on_this_loop", default=False)


@contextlib.contextmanager
def writes_on_this_loop() -> Iterator[None]:
    """Within the block (and the tasks it starts), `DjangoStorage` writes saves on the running
    loop's thread. Use it only on a loop that serves nothing else: each commit blocks it."""
    token = _ON_THIS_LOOP.set(True)
    try:
        yield
    finally:
        _ON_THIS_LOOP.reset(token)


def wanted() -> bool:
    """True inside `writes_on_this_loop()`."""
    return _ON_THIS_LOOP.get()


def _shared(connection: BaseDatabaseWrapper, call: Callable[[], Any]) -> Any:
    # Django lets a connection be used from another thread only while it is marked shared.
    connection.inc_thread_sharing()
    try:
        return call()
    finally:
        connection.dec_thread_sharing()


class _LoopConnections:
    """The connections of one loop: one per database alias, shared by every task of the loop,
    and a lock so that only one task opens them at a time."""

    def __init__(self) -> None:
        self.by_alias: dict[str, BaseDatabaseWrapper] = {}
        self.opening = asyncio.Lock()


# Not `django.db.connections`: on a thread running an event loop, asgiref keeps Django's
# connections per task (per context), so each run executing here had a connection of its own,
# never closed when its task ended; under load that was one database connection per run
# (PostgreSQL's "too many clients"; with a pool, every pooled connection lost to dead tasks).
_loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopConnections] = (
    weakref.WeakKeyDictionary()
)


def _of_this_loop() -> _LoopConnections:
    loop = asyncio.get_running_loop()
    found = _loops.get(loop)
    if found is None:
        found = _loops[loop] = _LoopConnections()
    return found


async def connection(alias: str) -> BaseDatabaseWrapper:
    """This loop's Django connection to `alias`, open (one for all its tasks)."""
    mine = _of_this_loop()
    conn = mine.by_alias.get(alias)
    if conn is None:
        conn = mine.by_alias[alias] = connections.create_connection(alias)
    if conn.connection is None:
        async with mine.opening:
            if conn.connection is None:
                await asyncio.to_thread(_shared, conn, conn.ensure_connection)
    return conn


async def discard(conn: BaseDatabaseWrapper) -> None:
    """Close a connection that failed, so the next write opens a fresh one."""
    with contextlib.suppress(Exception):
        await asyncio.to_thread(_shared, conn, conn.close)


async def release() -> None:
    """Close this loop's database connections (when it has nothing left to execute: an idle
    connection must not hold the database, which PostgreSQL then cannot drop)."""
    for conn in list(_of_this_loop().by_alias.values()):
        if conn.connection is not None:
            await discard(conn)
