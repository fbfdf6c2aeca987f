"""`Run`: the handle a user holds for one run of a workflow."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from engines.core.engine import Engine, Execution
from engines.core.errors import WorkflowError
from engines.core.fork import prepare_time_travel
from engines.core.prepare import (
    prepare_paused_continue,
    prepare_resume,
    prepare_start,
    restart_or_result,
)
from engines.registry import DEFAULT_ENGINE, build_engine
from engines.sync import run_sync

if TYPE_CHECKING:
    from engines.core.events import Event
    from engines.core.results import RunResult
    from engines.core.workflow import Workflow


class Run:
    """One run of a workflow on an engine. Nothing is stored until the run starts.

    A new handle on an existing run id (`workflow.create_run(run_id=...)`) reads the run from
    the engine's storage, so resume, restart and time travel work from any process.
    """

    def __init__(
        self,
        workflow: Workflow,
        engine: Engine | None = None,
        run_id: str | None = None,
        resource_id: str | None = None,
    ) -> None:
        self.workflow = workflow
        self.engine: Engine = engine if engine is not None else build_engine(DEFAULT_ENGINE)
        if run_id is not None and (not isinstance(run_id, str) or not run_id):
            raise WorkflowError(f"run_id must be a non-empty string, got {run_id!r}")
        self.run_id = run_id or uuid.uuid4().hex
        self.resource_id = resource_id

    def __repr__(self) -> str:
        return f"<Run {self.run_id!r} of {self.workflow.id!r}>"

    async def _execute(self, execution: Execution) -> RunResult:
        return await self.engine.execute(self.workflow, execution)

    async def start(
        self,
        input_data: Any = None,
        initial_state: Any = None,
        context: dict[str, Any] | None = None,
        per_step: bool = False,
        breakpoints: Sequence[str] | None = None,
    ) -> RunResult:
        """Run the workflow from its first step; returns at the first stop. The run pauses
        (`paused`) before each step `breakpoints` name (ids, dotted or slash paths), and with
        `per_step` after every step."""
        execution = await prepare_start(
            self.workflow,
            self.engine,
            self.run_id,
            self.resource_id,
            input_data,
            initial_state,
            context,
            self.engine.clock(),
            per_step,
            breakpoints,
        )
        return await self._execute(execution)

    async def resume(
        self,
        resume_data: Any = None,
        step: Any = None,
        label: str | None = None,
        for_each_index: int | None = None,
        context: dict[str, Any] | None = None,
        per_step: bool = False,
        breakpoints: Sequence[str] | None = None,
    ) -> RunResult:
        """Resume a suspended step with `resume_data`, or continue a paused run (to the next
        breakpoint or the end, or one more step with `per_step=True`). `breakpoints` replace
        the run's (None keeps them)."""
        execution = await prepare_resume(
            self.workflow,
            self.engine,
            self.run_id,
            resume_data,
            step,
            label,
            for_each_index,
            context,
            per_step,
            breakpoints,
        )
        return await self._execute(execution)

    async def continue_run(
        self, per_step: bool = False, breakpoints: Sequence[str] | None = None
    ) -> RunResult:
        """Continue a paused run: the steps it paused before run, then it goes on to the next
        breakpoint or the end (with `per_step`, one step). A run that is not paused is refused
        (`InvalidRunStateError`); `breakpoints` replace the run's (None keeps them)."""
        execution = await prepare_paused_continue(
            self.workflow, self.engine, self.run_id, per_step, breakpoints
        )
        return await self._execute(execution)

    async def next_step(self, breakpoints: Sequence[str] | None = None) -> RunResult:
        """Continue a paused run by one step (`continue_run(per_step=True)`)."""
        return await self.continue_run(True, breakpoints)

    async def restart(
        self, breakpoints: Sequence[str] | None = None, per_step: bool | None = None
    ) -> RunResult:
        """Re-run an interrupted run from its stored snapshot; finished steps are kept, and
        so are its breakpoints and per-step mode unless given.

        A run that ended in success or failure is not run again: its stored result comes back.
        """
        prepared = await restart_or_result(
            self.workflow, self.engine, self.run_id, breakpoints, per_step
        )
        if isinstance(prepared, Execution):
            return await self._execute(prepared)
        return prepared

    async def time_travel(
        self,
        step: Any,
        input_data: Any = None,
        context: dict[str, Any] | None = None,
        nested_context: dict[str, Any] | None = None,
        resume_data: Any = None,
        initial_state: Any = None,
        per_step: bool = False,
        reuse: Iterable[Any] | None = None,
        breakpoints: Sequence[str] | None = None,
    ) -> RunResult:
        """Re-execute from `step` with (edited) input: a new linked run when this run has
        history, so the source run's records never change. `breakpoints` and `per_step`
        apply to the new run."""
        execution = await prepare_time_travel(
            self.workflow,
            self.engine,
            run_id=self.run_id,
            step=step,
            input_data=input_data,
            context=context,
            nested_context=nested_context,
            resume_data=resume_data,
            initial_state=initial_state,
            per_step=per_step,
            reuse=reuse,
            breakpoints=breakpoints,
        )
        return await self._execute(execution)

    async def cancel(self) -> bool:
        """Cancel the run: running steps see `ctx.is_cancelled`; it ends `canceled`."""
        return await self.engine.cancel(self.workflow, self.run_id)

    def watch(self, callback: Callable[[Event], Any]) -> Callable[[], None]:
        """Call `callback(event)` for every new event of this run; returns an unsubscribe."""
        return self.engine.subscribe(self.run_id, callback)

    def stream(
        self,
        input_data: Any = None,
        initial_state: Any = None,
        context: dict[str, Any] | None = None,
        per_step: bool = False,
    ) -> AsyncIterator[Event]:
        """Start the run and yield its events, ending after the terminal one."""
        return self._stream(lambda: self.start(input_data, initial_state, context, per_step))

    def resume_stream(
        self,
        resume_data: Any = None,
        step: Any = None,
        label: str | None = None,
        for_each_index: int | None = None,
        context: dict[str, Any] | None = None,
    ) -> AsyncIterator[Event]:
        """Resume the run and yield its events, ending after the terminal one."""
        return self._stream(lambda: self.resume(resume_data, step, label, for_each_index, context))

    async def _stream(self, call: Callable[[], Awaitable[RunResult]]) -> AsyncIterator[Event]:
        queue: asyncio.Queue[Event] = asyncio.Queue()
        unsubscribe = self.watch(queue.put_nowait)
        task = asyncio.ensure_future(call())
        try:
            while True:
                getter = asyncio.ensure_future(queue.get())
                await asyncio.wait({getter, task}, return_when=asyncio.FIRST_COMPLETED)
                if not getter.done():
                    getter.cancel()
                    while not queue.empty():
                        event = queue.get_nowait()
                        yield event
                        if event.is_terminal:
                            return
                    task.result()  # the call failed before its terminal event: raise it
                    return
                event = getter.result()
                yield event
                if event.is_terminal:
                    return
        finally:
            unsubscribe()
            if task.done():
                task.result()
            else:
                await task

    # -- the sync facade ------------------------------------------------------------------

    def start_sync(self, *args: Any, **kwargs: Any) -> RunResult:
        """`start` for scripts and management commands (no running event loop)."""
        return run_sync(self.start(*args, **kwargs))

    def resume_sync(self, *args: Any, **kwargs: Any) -> RunResult:
        """`resume` without an event loop."""
        return run_sync(self.resume(*args, **kwargs))

    def restart_sync(self, *args: Any, **kwargs: Any) -> RunResult:
        """`restart` without an event loop."""
        return run_sync(self.restart(*args, **kwargs))

    def continue_run_sync(self, *args: Any, **kwargs: Any) -> RunResult:
        """`continue_run` without an event loop."""
        return run_sync(self.continue_run(*args, **kwargs))

    def next_step_sync(self, *args: Any, **kwargs: Any) -> RunResult:
        """`next_step` without an event loop."""
        return run_sync(self.next_step(*args, **kwargs))

    def time_travel_sync(self, *args: Any, **kwargs: Any) -> RunResult:
        """`time_travel` without an event loop."""
        return run_sync(self.time_travel(*args, **kwargs))

    def cancel_sync(self) -> bool:
        """`cancel` without an event loop."""
        return run_sync(self.cancel())
