"""`DefaultEngine`: the in-process asyncio reference engine."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from engines.core.cancel import cancel_here_or_in_storage
from engines.core.context import CancelToken
from engines.core.engine import Execution
from engines.core.errors import InvalidRunStateError
from engines.core.interpreter import Interpreter
from engines.core.lifecycle import notify
from engines.core.listeners import Listener, Listeners
from engines.core.recorder import Recorder
from engines.core.results import RunResult
from engines.core.workflow import Workflow
from engines.storage.base import Storage
from engines.storage.memory import InMemoryStorage


class DefaultEngine:
    """Runs workflows in this process on asyncio; the reference semantics for every engine.

    Each execution is one `Interpreter` walk with the default step runner and timers. It holds
    no event loop objects between calls, so it can be created anywhere and used from successive
    `asyncio.run` calls.
    """

    name = "default"

    def __init__(
        self, storage: Storage | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self.storage: Storage = storage if storage is not None else InMemoryStorage()
        self.clock = clock
        # The runs executing in this process, by id: a guard for this process only (across
        # processes the storage's seq compare-and-set refuses the second writer).
        self._active: dict[str, CancelToken] = {}
        self._listeners = Listeners()

    async def execute(self, workflow: Workflow, execution: Execution) -> RunResult:
        run_id = execution.snapshot.run_id
        if run_id in self._active:
            raise InvalidRunStateError(f"Run {run_id!r} is already executing")
        cancel = CancelToken()
        cancel.bind(asyncio.get_running_loop())
        self._active[run_id] = cancel
        try:
            recorder = Recorder(
                execution.snapshot, self.storage, self._listeners.publish, self.clock
            )
            result = await Interpreter(workflow, execution, recorder, cancel).run()
        finally:
            self._active.pop(run_id, None)
        await notify(workflow, result)
        return result

    async def cancel(self, workflow: Workflow, run_id: str) -> bool:
        return await cancel_here_or_in_storage(
            workflow,
            run_id,
            self._active.get(run_id),
            self.storage,
            self._listeners.publish,
            self.clock,
        )

    def is_active(self, run_id: str) -> bool:
        return run_id in self._active

    def subscribe(self, run_id: str, listener: Listener) -> Callable[[], None]:
        return self._listeners.subscribe(run_id, listener)

    async def aclose(self) -> None:
        await self._listeners.drain()
