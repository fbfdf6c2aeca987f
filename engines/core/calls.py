"""Calling user code that may be sync or async."""

from __future__ import annotations

import asyncio
import contextvars
import inspect
from collections.abc import Callable
from typing import Any


async def call_user(fn: Callable[..., Any], *args: Any) -> Any:
    """Call a user function: await it if async, run it in a worker thread if sync."""
    if inspect.iscoroutinefunction(fn):
        return await fn(*args)
    ctx = contextvars.copy_context()
    result = await asyncio.to_thread(ctx.run, fn, *args)
    if inspect.isawaitable(result):
        return await result
    return result


async def call_quick(fn: Callable[..., Any], *args: Any) -> Any:
    """Call a condition, callback or small function inline (sync ones are not worth a thread)."""
    result = fn(*args)
    if inspect.isawaitable(result):
        return await result
    return result
