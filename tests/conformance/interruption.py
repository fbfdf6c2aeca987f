"""A process that dies mid-step, as the conformance cases stage it.

A `Gate` holds a step at a point of its code until the test opens it; while it is held, the run
is exactly as a process that died there left it in storage. `another_process` builds what a
restarted process would: an engine of the same kind on the same storage. `abandon` lets the
"dead" execution go on, and checks that its next write is refused by the storage's seq
compare-and-set, since the other process has moved the run on.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from engines import RunConflictError
from engines.core.engine import Engine
from engines.testing import engine_builders


class Gate:
    """Holds a step at `await gate.hold()` until `open()`; `reached` is set when it gets there."""

    def __init__(self) -> None:
        self.reached = asyncio.Event()
        self._opened = asyncio.Event()

    async def hold(self) -> None:
        self.reached.set()
        await self._opened.wait()

    def open(self) -> None:
        self._opened.set()


def another_process(engine: Engine) -> Engine:
    """A fresh engine of the same kind on the same storage (a restarted process)."""
    return engine_builders()[engine.name](engine.storage)


async def abandon(execution: asyncio.Future[Any], gate: Gate) -> None:
    """Let the interrupted execution continue: its next write must be refused."""
    gate.open()
    with pytest.raises(RunConflictError):
        await execution
