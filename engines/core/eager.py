"""Run coroutines eagerly: as far as they go without waiting, before any task is made.

A step that never waits finishes in one go, with no task to schedule and nothing another task
could observe in between; only one that does wait gets the machinery (and, for engines, a
"running" record written before it goes on).
"""

from __future__ import annotations

import asyncio
import types
from collections.abc import Awaitable, Callable, Coroutine, Generator
from typing import Any, TypeVar

T = TypeVar("T")


@types.coroutine
def drive(coro: Coroutine[Any, Any, T], yielded: Any) -> Generator[Any, Any, T]:
    """Go on driving a coroutine that was started by hand and is now waiting on `yielded`."""
    while True:
        try:
            sent = yield yielded
        except GeneratorExit:
            coro.close()
            raise
        except BaseException as exc:
            try:
                yielded = coro.throw(exc)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
        else:
            try:
                yielded = coro.send(sent)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]


async def _finish(coro: Coroutine[Any, Any, T], yielded: Any) -> T:
    return await drive(coro, yielded)


async def run_eager(
    coro: Coroutine[Any, Any, T], before_wait: Callable[[], Awaitable[None]] | None = None
) -> T:
    """Await `coro`; if it has to wait, first await `before_wait()`."""
    try:
        yielded = coro.send(None)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    if before_wait is not None:
        try:
            await before_wait()
        except BaseException:
            coro.close()
            raise
    return await drive(coro, yielded)


async def gather_eager(
    coros: list[Coroutine[Any, Any, T]],
    before_wait: Callable[[], Awaitable[None]] | None = None,
) -> list[T]:
    """Like `asyncio.gather`, but each coroutine first runs as far as it can without a task;
    `before_wait()` is awaited once if any of them has to wait.

    As with `asyncio.gather`, the first error propagates and the other coroutines go on.
    """
    results: list[Any] = [None] * len(coros)
    waiting: list[tuple[int, asyncio.Future[T]]] = []
    error: BaseException | None = None
    for index, coro in enumerate(coros):
        try:
            yielded = coro.send(None)
        except StopIteration as stop:
            results[index] = stop.value
        except BaseException as exc:
            if error is None:
                error = exc
        else:
            waiting.append((index, asyncio.ensure_future(_finish(coro, yielded))))
    if error is not None:
        raise error
    if waiting:
        if before_wait is not None:
            await before_wait()
        values = await asyncio.gather(*(task for _, task in waiting))
        for (index, _), value in zip(waiting, values, strict=True):
            results[index] = value
    return results
