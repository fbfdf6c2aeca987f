"""Fan-out of stored events to the listeners of each run (`run.watch`, `run.stream`)."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engines.core.events import Event

Listener = Callable[["Event"], Any]

log = logging.getLogger("engines.listeners")


class Listeners:
    """Each run's listeners. `publish` calls them with events that are already stored; a
    listener that returns an awaitable has it run as a task (`drain` awaits those). A listener
    that raises is logged and never stops the run or the other listeners."""

    def __init__(self) -> None:
        self._by_run: dict[str, list[Listener]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    def subscribe(self, run_id: str, listener: Listener) -> Callable[[], None]:
        """Call `listener(event)` for each new event of the run; returns an unsubscribe."""
        self._by_run.setdefault(run_id, []).append(listener)

        def unsubscribe() -> None:
            listeners = self._by_run.get(run_id)
            if listeners and listener in listeners:
                listeners.remove(listener)
                if not listeners:
                    del self._by_run[run_id]

        return unsubscribe

    def publish(self, events: Sequence[Event]) -> None:
        """Hand `events` (of one run, in order) to that run's listeners."""
        listeners = self._by_run.get(events[0].run_id)
        if not listeners:
            return
        for listener in list(listeners):
            for event in events:
                try:
                    result = listener(event)
                except Exception:
                    log.exception("event listener raised")
                    continue
                if inspect.isawaitable(result):
                    task = asyncio.ensure_future(result)
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for the listeners' pending tasks."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
