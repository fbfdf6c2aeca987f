"""`DefaultEngine`: the in-process asyncio reference engine."""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from engines.core.cancel import cancel_in_storage
from engines.core.context import CancelToken
from engines.core.engine import Execution, Listener
from engines.core.errors import InvalidRunStateError, RunNotFoundError
from engines.core.events import Event
from engines.core.lifecycle import notify
from engines.core.recorder import Recorder
from engines.core.results import ACTIVE_RUN_STATUSES, RunResult
from engines.core.workflow import Workflow
from engines.default.interpreter import Interpreter
from engines.storage.base import Storage
from engines.storage.memory import InMemoryStorage

log = logging.getLogger("engines.default")


class DefaultEngine:
    """Runs workflows in this process on asyncio; the reference semantics for every engine.

    It holds no event loop objects between calls, so it can be created anywhere and used from
    successive `asyncio.run` calls.
    """

    name = "default"

    def __init__(
        self, storage: Storage | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self.storage: Storage = storage if storage is not None else InMemoryStorage()
        self.clock = clock
        self._active: dict[str, CancelToken] = {}
        self._listeners: dict[str, list[Listener]] = {}
        self._callback_tasks: set[asyncio.Task[Any]] = set()

    async def execute(self, workflow: Workflow, execution: Execution) -> RunResult:
        run_id = execution.snapshot.run_id
        if run_id in self._active:
            raise InvalidRunStateError(f"Run {run_id!r} is already executing")
        cancel = CancelToken()
        cancel.bind(asyncio.get_running_loop())
        self._active[run_id] = cancel
        try:
            recorder = Recorder(execution.snapshot, self.storage, self._publish, self.clock)
            result = await Interpreter(workflow, execution, recorder, cancel).run()
        finally:
            self._active.pop(run_id, None)
        await notify(workflow, result)
        return result

    async def cancel(self, workflow: Workflow, run_id: str) -> bool:
        token = self._active.get(run_id)
        if token is not None:
            token.cancel()
            return True
        snap = await self.storage.load(run_id)
        if snap is None:
            raise RunNotFoundError(f"No run {run_id!r} in storage")
        if snap.status not in ("suspended", "paused", *ACTIVE_RUN_STATUSES):
            return False
        await cancel_in_storage(workflow, snap, self.storage, self._publish, self.clock)
        return True

    def is_active(self, run_id: str) -> bool:
        return run_id in self._active

    def subscribe(self, run_id: str, listener: Listener) -> Callable[[], None]:
        self._listeners.setdefault(run_id, []).append(listener)

        def unsubscribe() -> None:
            listeners = self._listeners.get(run_id)
            if listeners and listener in listeners:
                listeners.remove(listener)
                if not listeners:
                    del self._listeners[run_id]

        return unsubscribe

    def _publish(self, events: Sequence[Event]) -> None:
        listeners = self._listeners.get(events[0].run_id)
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
                    self._callback_tasks.add(task)
                    task.add_done_callback(self._callback_tasks.discard)

    async def aclose(self) -> None:
        if self._callback_tasks:
            await asyncio.gather(*self._callback_tasks, return_exceptions=True)
