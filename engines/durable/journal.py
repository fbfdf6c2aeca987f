"""The journal of one segment: every step attempt and condition as a named DBOS step.

A name says which call it is: the step's path, loop iteration, foreach item and attempt
(`approve|i2|x3|a1`), or a condition's scope and iteration. A name met twice in one segment
(a step of a nested workflow inside a loop) gets `#2`, `#3`... in the order the walk meets it.

Outcomes are journaled as data, so DBOS records every attempt as a finished step whatever
it did: `{"ok": output}`, `{"suspend": payload, "labels": [...]}`, `{"bail": value}` or
`{"error": {...}}`, each with the `state` changes the attempt made. A segment DBOS recovers
looks each name up in what it recorded and replays the outcome instead of calling the step.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from dbos import DBOS

from engines.core.error_codec import error_from_dict, error_to_dict
from engines.core.errors import BailSignal, SuspendSignal
from engines.core.interpreter import Interpreter
from engines.core.leaf import LeafRunner

if TYPE_CHECKING:
    from engines.core.context import RunEnv, StepContext
    from engines.core.hooks import WaitHook
    from engines.core.outcome import Attempted, Scope
    from engines.core.recorder import Recorder
    from engines.core.step import Step

Journaled = dict[str, Any]
log = logging.getLogger("engines.durable")


def step_name(path: tuple[str, ...], iteration: int | None, item: int | None, attempt: int) -> str:
    """The journal name of one attempt of the step at `path`."""
    name = ".".join(path)
    if iteration is not None:
        name += f"|i{iteration}"
    if item is not None:
        name += f"|x{item}"
    return f"{name}|a{attempt}"


class Journal:
    """What a segment recorded before (when DBOS recovers it) and the names used so far.

    An outcome is written to the journal in the background while the walk goes on: the run's
    own record, committed to storage at the next step boundary, says the same, and a recovered
    segment trusts whichever of the two has it. The segment waits for every write before it
    ends (`flush`).
    """

    def __init__(self, recorded: dict[str, Any] | None = None, writers: int = 1) -> None:
        self.recorded = recorded or {}
        self._seen: dict[str, int] = {}
        self._writes: set[asyncio.Future[Any]] = set()
        # Writes under way at once: one on SQLite, whose writers queue on a file lock with
        # back-off sleeps when they collide; several on PostgreSQL.
        self._slots = asyncio.Semaphore(writers)

    def unique(self, name: str) -> str:
        count = self._seen.get(name, 0) + 1
        self._seen[name] = count
        return name if count == 1 else f"{name}#{count}"

    def record(self, name: str, data: Journaled) -> None:
        """Write `data` as DBOS step `name` (in a task of its own: DBOS keeps its step context
        in a context variable, and the interpreter starts parallel arms eagerly in one shared
        context, `engines.core.eager`)."""
        write = asyncio.ensure_future(self._write(name, data))
        self._writes.add(write)
        write.add_done_callback(self._writes.discard)

    async def _write(self, name: str, data: Journaled) -> None:
        async with self._slots:
            await DBOS.run_step_async({"name": name}, _journaled, data)

    async def flush(self) -> None:
        """Wait until every outcome of the segment is in the journal."""
        while self._writes:
            await asyncio.gather(*list(self._writes))


async def _journaled(data: Journaled) -> Journaled:
    return data


def _plain_thread(fn: Callable[[], Any]) -> Awaitable[Any]:
    """Run `fn` in a new thread, outside this task's DBOS context (so DBOS does not journal
    the call as a step of the running workflow)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()

    def target() -> None:
        try:
            value = fn()
        except BaseException as exc:  # handed to the awaiting task
            loop.call_soon_threadsafe(future.set_exception, exc)
        else:
            loop.call_soon_threadsafe(future.set_result, value)

    threading.Thread(target=target, name="stepback-journal", daemon=True).start()
    return future


async def recorded_journal(segment_id: str, writers: int = 1) -> Journal:
    """The journal of a segment DBOS is recovering: what it recorded, by name. Step ids of
    this execution continue after the recorded ones (DBOS checks each id's recorded name)."""
    steps = await _plain_thread(lambda: DBOS.list_workflow_steps(segment_id))
    recorded = {s["function_name"]: s["output"] for s in steps if s["error"] is None}
    last = max((s["function_id"] for s in steps), default=0)
    while DBOS.reserve_step().step_id < last:
        pass  # an unused reservation only leaves a gap in the ids
    return Journal(recorded, writers)


class JournaledLeafRunner(LeafRunner):
    """The default step runner with each attempt's `execute` run as a journaled DBOS step."""

    journal: Journal

    def __init__(self, recorder: Recorder, env: RunEnv, waits: WaitHook) -> None:
        super().__init__(recorder, env, waits)
        self.item: int | None = None
        self.name = ""

    async def attempts(
        self,
        scope: Scope,
        step: Step,
        path: tuple[str, ...],
        input_data: Any,
        resume_data: Any = None,
        suspend_data: Any = None,
        iteration: int | None = None,
        item: int | None = None,
        first_attempt: int = 0,
    ) -> Attempted:
        # One view per call: foreach items run concurrently and each names its own attempts.
        view = copy.copy(self)
        view.item = item
        return await LeafRunner.attempts(
            view, scope, step, path, input_data, resume_data, suspend_data, iteration, item,
            first_attempt,
        )  # fmt: skip

    def make_context(
        self,
        scope: Scope,
        step: Step,
        path: tuple[str, ...],
        input_data: Any,
        resume_data: Any,
        suspend_data: Any,
        attempt: int,
        iteration: int | None,
    ) -> StepContext:
        self.name = self.journal.unique(step_name(path, iteration, self.item, attempt))
        return super().make_context(
            scope, step, path, input_data, resume_data, suspend_data, attempt, iteration
        )

    async def call(self, step: Step, ctx: StepContext) -> Any:
        name = self.name
        journal = self.journal
        data = journal.recorded.get(name)
        if data is not None:
            # Finished before the process died: its journaled outcome, not a second run.
            if data.get("state"):
                ctx.set_state(data["state"])
            return _replay(data)
        try:
            value = LeafRunner.output(self, step, await LeafRunner.call(self, step, ctx))
        except SuspendSignal as signal:
            journal.record(
                name,
                {
                    "suspend": signal.payload,
                    "labels": list(signal.labels),
                    "state": ctx.state_delta,
                },
            )
            raise
        except BailSignal as signal:
            journal.record(name, {"bail": signal.value, "state": ctx.state_delta})
            raise
        except Exception as exc:
            journal.record(name, {"error": error_to_dict(exc)})
            raise
        journal.record(name, {"ok": value, "state": ctx.state_delta})
        return value

    def output(self, step: Step, value: Any) -> Any:
        return value  # already JSON: the journaled attempt converted it


class JournaledInterpreter(Interpreter):
    """The interpreter with each branch and loop condition evaluated as a journaled step."""

    journal: Journal

    async def condition(
        self, scope: Scope, cond: Any, value: Any, iteration: int | None, swallow: bool
    ) -> bool:
        journal = self.journal
        name = journal.unique(f"{'.'.join(scope.prefix)}?{iteration}")
        data = journal.recorded.get(name)
        if data is None:
            try:
                verdict = await Interpreter.condition(self, scope, cond, value, iteration, False)
            except Exception as exc:
                journal.record(name, {"error": error_to_dict(exc)})
                if not swallow:
                    raise
                log.warning("branch condition %r raised %r; treated as false", cond, exc)
                return False
            journal.record(name, {"ok": verdict})
            return verdict
        if "ok" in data:
            return bool(data["ok"])
        if not swallow:
            raise error_from_dict(data["error"])
        return False


def _replay(data: Journaled) -> Any:
    """A journaled attempt's outcome, as the attempt ended: its output or its signal."""
    if "ok" in data:
        return data["ok"]
    if "suspend" in data:
        raise SuspendSignal(data["suspend"], tuple(data["labels"]))
    if "bail" in data:
        raise BailSignal(data["bail"])
    raise error_from_dict(data["error"])
