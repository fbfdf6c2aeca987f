"""A thin synchronous facade for scripts and management commands."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from engines.core.errors import WorkflowError

T = TypeVar("T")


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from synchronous code."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    coro.close()
    raise WorkflowError("a sync call was made inside a running event loop; use `await` instead")


run = run_sync

__all__ = ["run", "run_sync"]
