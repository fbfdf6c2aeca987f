"""The interpreter's seams, used the way an evented or durable engine will use them.

A step runner hands a step to "a worker", a wait hook hands a sleep or a retry delay to "a
timer": the execution stops with the run still running, commits and returns. The worker's
result is then stored, and a new execution of the run (`prepare_continue`) walks the graph
again: what succeeded is reused, and the run goes on from there.
"""

from __future__ import annotations

import time
from typing import Any

from engines import InMemoryStorage, RunSnapshot, StepContext, Workflow, step
from engines.core import payloads
from engines.core.context import CancelToken
from engines.core.engine import Execution, ExecutionMode
from engines.core.events import STEP_SUCCEEDED
from engines.core.hooks import TimerWaits, Waited, WaitHook, WaitReason
from engines.core.interpreter import Interpreter
from engines.core.leaf import LeafRunner
from engines.core.outcome import Attempted, Scope, finished_record
from engines.core.prepare import prepare_continue, prepare_start
from engines.core.recorder import Recorder
from engines.core.results import RunResult
from engines.core.step import Step
from engines.default import DefaultEngine
from engines.testing import Calls


class HandingOff(LeafRunner):
    """Runs every step here except those named in `remote`, which go to a worker."""

    remote: set[str] = set()
    handed: list[tuple[tuple[str, ...], Any]] = []

    async def attempts(
        self, scope: Scope, step: Step, path: tuple[str, ...], input_data: Any, *rest: Any
    ) -> Attempted:
        if step.id in self.remote:
            self.handed.append((path, input_data))
            return Attempted("handed_off")
        return await super().attempts(scope, step, path, input_data, *rest)


class Timer:
    """A wait hook: hands every wait to a timer of its own, or says it has elapsed."""

    def __init__(self, fired: bool) -> None:
        self.fired = fired
        self.asked: list[tuple[tuple[str, ...], WaitReason]] = []
        self.until: list[float] = []

    async def wait(self, until: float, path: tuple[str, ...], reason: WaitReason) -> Waited:
        self.asked.append((path, reason))
        self.until.append(until)
        return Waited.ELAPSED if self.fired else Waited.HANDED_OFF


async def _execute(
    workflow: Workflow,
    execution: Execution,
    engine: DefaultEngine,
    runner: Any = LeafRunner,
    waits: WaitHook | None = None,
) -> RunResult:
    recorder = Recorder(execution.snapshot, engine.storage, lambda events: None, time.time)
    cancel = CancelToken()
    return await Interpreter(
        workflow, execution, recorder, cancel, step_runner=runner, waits=waits
    ).run()


async def _store_result(engine: DefaultEngine, run_id: str, key: str, output: Any) -> None:
    """What the engine does when the worker reports: the step's record and end event."""
    snap = await engine.storage.load(run_id)
    assert snap is not None
    recorder = Recorder(snap, engine.storage, lambda events: None, time.time)
    snap.steps[key] = finished_record(
        snap.steps[key], Attempted("success", output=output, attempts=1), time.time()
    )
    recorder.emit(STEP_SUCCEEDED, tuple(key.split(".")), payloads.step_succeeded(output))
    await recorder.commit()


def _three_steps(calls: Calls) -> Workflow:
    def counted(name: str) -> Step:
        @step(id=name)
        async def run(ctx: StepContext) -> dict[str, Any]:
            calls.hit(name)
            return {"after": name, "n": ctx.input_data.get("n", 0) + 1}

        return run

    return Workflow("handoff").then(counted("a")).then(counted("slow")).then(counted("c")).commit()


async def _stored(engine: DefaultEngine, run_id: str) -> RunSnapshot:
    snap = await engine.storage.load(run_id)
    assert snap is not None
    return snap


async def test_a_handed_off_step_leaves_the_run_running_and_a_continue_finishes_it() -> None:
    calls = Calls()
    wf = _three_steps(calls)
    engine = DefaultEngine(storage=InMemoryStorage(serialize=True))
    HandingOff.remote, HandingOff.handed = {"slow"}, []
    start = await prepare_start(wf, engine, "h1", None, {"n": 0}, None, None, time.time())

    stopped = await _execute(wf, start, engine, HandingOff)

    assert stopped.status == "running"
    assert HandingOff.handed == [(("slow",), {"after": "a", "n": 1})]
    stored = await _stored(engine, "h1")
    assert stored.status == "running"
    assert stored.steps["slow"].status == "running"
    types = [e.type for e in await engine.storage.read_events("h1")]
    assert types == ["run.started", "step.started", "step.succeeded", "step.started"]

    await _store_result(engine, "h1", "slow", {"after": "slow", "n": 2})
    finished = await _execute(wf, await prepare_continue(wf, engine, "h1"), engine)

    assert finished.status == "success"
    assert finished.result == {"after": "c", "n": 3}
    assert calls.counts == {"a": 1, "c": 1}
    events = await engine.storage.read_events("h1")
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert events[-1].type == "run.succeeded"


async def test_a_handed_off_step_beats_a_suspension_in_a_parallel_block() -> None:
    @step(id="ask")
    async def ask(ctx: StepContext) -> None:
        ctx.suspend({"question": "?"})

    @step(id="slow")
    async def slow(ctx: StepContext) -> int:
        return 1

    wf = Workflow("handoff-parallel").parallel([ask, slow]).commit()
    engine = DefaultEngine()
    HandingOff.remote, HandingOff.handed = {"slow"}, []
    start = await prepare_start(wf, engine, "h2", None, {}, None, None, time.time())

    stopped = await _execute(wf, start, engine, HandingOff)

    assert stopped.status == "running"
    assert stopped.steps["ask"].status == "suspended"
    assert stopped.steps["slow"].status == "running"


async def test_a_sleep_handed_to_a_timer_waits_in_storage_until_the_timer_fires() -> None:
    calls = Calls()

    @step(id="after")
    async def after(ctx: StepContext) -> str:
        calls.hit("after")
        return "woke"

    wf = Workflow("handoff-sleep").sleep(3600, id="nap").then(after).commit()
    engine = DefaultEngine()
    timer = Timer(fired=False)
    start = await prepare_start(wf, engine, "h3", None, {}, None, None, time.time())

    stopped = await _execute(wf, start, engine, waits=timer)

    assert stopped.status == "running"
    assert timer.asked == [(("nap",), "sleep")]
    nap = (await _stored(engine, "h3")).steps["nap"]
    assert nap.status == "waiting"
    assert nap.wake_at is not None

    timer.fired = True
    finished = await _execute(wf, await prepare_continue(wf, engine, "h3"), engine, waits=timer)

    assert finished.status == "success"
    assert finished.result == "woke"
    assert timer.until == [nap.wake_at, nap.wake_at]  # the interrupted sleep keeps its time
    assert calls["after"] == 1


async def test_a_retry_delay_handed_to_a_timer_keeps_the_attempts_already_made() -> None:
    seen: list[int] = []

    @step(id="flaky", retries=2)
    async def flaky(ctx: StepContext) -> int:
        seen.append(ctx.retry_count)
        if ctx.retry_count == 0:
            raise RuntimeError("first attempt fails")
        return ctx.retry_count

    wf = Workflow("handoff-retry", retry_delay=60).then(flaky).commit()
    engine = DefaultEngine()
    timer = Timer(fired=False)
    start = await prepare_start(wf, engine, "h4", None, {}, None, None, time.time())

    stopped = await _execute(wf, start, engine, waits=timer)

    assert stopped.status == "running"
    assert timer.asked == [(("flaky",), "retry")]
    assert (await _stored(engine, "h4")).steps["flaky"].attempts == 1

    finished = await _execute(wf, await prepare_continue(wf, engine, "h4"), engine)

    assert finished.status == "success"
    assert seen == [0, 1]
    assert finished.steps["flaky"].attempts == 2


def test_an_interpreter_gets_the_default_step_runner_and_timers_unless_told() -> None:
    wf = Workflow("handoff-defaults").then(Step("s", lambda ctx: None)).commit()
    snap = RunSnapshot(run_id="d", workflow_id=wf.id)
    recorder = Recorder(snap, InMemoryStorage(), lambda events: None, time.time)

    interpreter = Interpreter(wf, Execution(snap, ExecutionMode.START), recorder, CancelToken())

    assert type(interpreter.leaf) is LeafRunner
    assert isinstance(interpreter.waits, TimerWaits)
