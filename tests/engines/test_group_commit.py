"""Group commit: a run writes to storage before it waits, at every stop, and never lags its
listeners.

Steps that finish without waiting are batched into one write; a step that waits (on an
`asyncio.Event` the test controls, or in a worker thread) has its "running" record and its
`step.started` event in storage while it waits. Listeners only hear events storage already
returns. A refused call writes nothing. Every test runs on each storage `engines` ships.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any

import pydantic
import pytest

from engines import (
    DefaultEngine,
    Event,
    InvalidRunStateError,
    RunResult,
    Step,
    StepContext,
    StepNotFoundError,
    Storage,
    ValidationError,
    Workflow,
    WorkflowError,
)
from engines.testing import storage_factories


@pytest.fixture(params=sorted(storage_factories()))
def storage(request: pytest.FixtureRequest) -> Storage:
    """A fresh storage of each kind (objects in memory, and JSON round-tripped)."""
    return storage_factories()[request.param]()


@pytest.fixture
def engine(storage: Storage) -> DefaultEngine:
    return DefaultEngine(storage=storage)


class Gate:
    """A step body that signals `entered`, then waits until the test opens `gate`."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.gate = asyncio.Event()

    async def pass_through(self, value: Any) -> Any:
        self.entered.set()
        await self.gate.wait()
        return value


def gated_step(step_id: str, gate: Gate) -> Step:
    """A step that waits at `gate`, then returns its input."""

    async def execute(ctx: StepContext) -> Any:
        return await gate.pass_through(ctx.input_data)

    return Step(step_id, execute)


def quick_step(step_id: str, add: int = 1) -> Step:
    """A step that never waits: it adds `add` to `n`."""

    async def execute(ctx: StepContext) -> dict[str, Any]:
        return {"n": ctx.input_data["n"] + add}

    return Step(step_id, execute)


async def statuses(storage: Storage, run_id: str) -> dict[str, str]:
    snap = await storage.load(run_id)
    assert snap is not None, "the run is not in storage"
    return {k: r.status for k, r in snap.steps.items()}


async def event_keys(storage: Storage, run_id: str) -> list[tuple[str, tuple[str, ...]]]:
    return [(e.type, tuple(e.path)) for e in await storage.read_events(run_id)]


async def while_blocked(
    start: Coroutine[Any, Any, RunResult], gate: Gate, check: Callable[[], Any]
) -> RunResult:
    """Start a run, wait until its gated step waits, run `check`, then let the step finish."""
    task = asyncio.ensure_future(start)
    try:
        await entered_or_ended(gate.entered, task)
        await check()
    finally:
        gate.gate.set()
    return await task


async def entered_or_ended(entered: asyncio.Event, task: asyncio.Future[RunResult]) -> None:
    """Wait until the step signals `entered`; fail (rather than hang) if the run ends first."""
    waiter = asyncio.ensure_future(entered.wait())
    await asyncio.wait({waiter, task}, return_when=asyncio.FIRST_COMPLETED)
    if not waiter.done():
        waiter.cancel()
        raise AssertionError(f"the run ended before its step waited: {task.result()!r}")


def events_now(storage: Storage, run_id: str) -> list[Event]:
    """`read_events` from synchronous code (a listener), for storages that answer at once."""
    coro = storage.read_events(run_id)
    try:
        coro.send(None)
    except StopIteration as done:
        result: list[Event] = done.value
        return result
    coro.close()
    raise AssertionError("read_events waited; this helper needs a storage that answers at once")


# -- a step that waits ------------------------------------------------------------------------


async def test_a_waiting_step_is_stored_as_running_while_it_waits(
    engine: DefaultEngine, storage: Storage
) -> None:
    """While a step waits on an event, storage holds its record with status running."""
    gate = Gate()
    wf = Workflow("wait-one").then(gated_step("blocked", gate)).commit()
    seen: dict[str, Any] = {}

    async def check() -> None:
        snap = await storage.load("w1")
        assert snap is not None
        seen["status"] = snap.status
        seen["record"] = snap.steps.get("blocked")

    result = await while_blocked(
        wf.create_run(engine=engine, run_id="w1").start({"n": 1}), gate, check
    )
    assert seen["status"] == "running"
    assert seen["record"] is not None
    assert seen["record"].status == "running"
    assert seen["record"].payload == {"n": 1}
    assert result.status == "success"


async def test_a_waiting_step_has_its_start_event_in_storage_while_it_waits(
    engine: DefaultEngine, storage: Storage
) -> None:
    """While a step waits, `read_events` already returns its `step.started` event."""
    gate = Gate()
    wf = Workflow("wait-event").then(gated_step("blocked", gate)).commit()
    seen: list[tuple[str, tuple[str, ...]]] = []

    async def check() -> None:
        seen.extend(await event_keys(storage, "w2"))

    await while_blocked(wf.create_run(engine=engine, run_id="w2").start({"n": 1}), gate, check)
    assert seen == [("run.started", ()), ("step.started", ("blocked",))]


async def test_the_stored_seq_matches_the_stored_events_while_a_step_waits(
    engine: DefaultEngine, storage: Storage
) -> None:
    """Mid-run, the snapshot's seq is the seq of the last stored event."""
    gate = Gate()
    wf = Workflow("wait-seq").then(quick_step("a")).then(gated_step("blocked", gate)).commit()
    seen: dict[str, Any] = {}

    async def check() -> None:
        snap = await storage.load("w3")
        assert snap is not None
        seen["seq"] = snap.seq
        seen["events"] = [e.seq for e in await storage.read_events("w3")]

    await while_blocked(wf.create_run(engine=engine, run_id="w3").start({"n": 1}), gate, check)
    assert seen["events"] == list(range(1, len(seen["events"]) + 1))
    assert seen["seq"] == seen["events"][-1]


async def test_steps_finished_before_a_wait_are_stored_while_the_next_step_waits(
    engine: DefaultEngine, storage: Storage
) -> None:
    """Quick steps before a waiting step are in storage (records and events) during the wait."""
    gate = Gate()
    wf = (
        Workflow("before-wait")
        .then(quick_step("a"))
        .then(quick_step("b"))
        .then(gated_step("blocked", gate))
        .commit()
    )
    seen: dict[str, Any] = {}

    async def check() -> None:
        seen["steps"] = await statuses(storage, "w4")
        seen["events"] = await event_keys(storage, "w4")
        snap = await storage.load("w4")
        assert snap is not None
        seen["b_output"] = snap.steps["b"].output

    await while_blocked(wf.create_run(engine=engine, run_id="w4").start({"n": 0}), gate, check)
    assert seen["steps"] == {"a": "success", "b": "success", "blocked": "running"}
    assert seen["b_output"] == {"n": 2}
    assert seen["events"] == [
        ("run.started", ()),
        ("step.started", ("a",)),
        ("step.succeeded", ("a",)),
        ("step.started", ("b",)),
        ("step.succeeded", ("b",)),
        ("step.started", ("blocked",)),
    ]


async def test_a_sync_step_blocked_in_its_worker_thread_is_stored_as_running(
    engine: DefaultEngine, storage: Storage
) -> None:
    """A plain `def` step has its running record stored before its thread starts working."""
    loop = asyncio.get_running_loop()
    entered = asyncio.Event()
    release = threading.Event()

    def blocking(ctx: StepContext) -> dict[str, Any]:
        loop.call_soon_threadsafe(entered.set)
        release.wait(30)  # released by the test; the bound only guards a broken test
        return {"n": ctx.input_data["n"]}

    wf = Workflow("threaded").then(quick_step("a")).then(Step("blocking", blocking)).commit()
    task = asyncio.ensure_future(wf.create_run(engine=engine, run_id="w5").start({"n": 0}))
    try:
        await entered_or_ended(entered, task)
        during = await statuses(storage, "w5")
        during_events = await event_keys(storage, "w5")
    finally:
        release.set()
    result = await task
    assert during == {"a": "success", "blocking": "running"}
    assert during_events[-1] == ("step.started", ("blocking",))
    assert result.status == "success"


async def test_a_waiting_step_in_a_nested_workflow_is_stored_with_its_parent_running(
    engine: DefaultEngine, storage: Storage
) -> None:
    """The nested workflow's record and its waiting inner step are both stored as running."""
    gate = Gate()
    inner = Workflow("inner").then(quick_step("first")).then(gated_step("wait", gate)).commit()
    wf = Workflow("outer").then(quick_step("before")).then(inner).commit()
    seen: dict[str, Any] = {}

    async def check() -> None:
        seen["steps"] = await statuses(storage, "w6")
        seen["last_event"] = (await event_keys(storage, "w6"))[-1]

    await while_blocked(wf.create_run(engine=engine, run_id="w6").start({"n": 0}), gate, check)
    assert seen["steps"] == {
        "before": "success",
        "inner": "running",
        "inner.first": "success",
        "inner.wait": "running",
    }
    assert seen["last_event"] == ("step.started", ("inner", "wait"))


@pytest.mark.parametrize("waiting_first", [True, False], ids=["waiting-first", "waiting-last"])
async def test_a_waiting_parallel_branch_does_not_hide_its_finished_sibling(
    engine: DefaultEngine, storage: Storage, waiting_first: bool
) -> None:
    """In a parallel group, a sibling that finished is stored while the other still waits,
    whichever of the two is listed first."""
    gate = Gate()
    siblings = [gated_step("slow", gate), quick_step("fast", add=10)]
    if not waiting_first:
        siblings.reverse()
    wf = Workflow("par-wait").parallel(siblings).commit()
    seen: dict[str, Any] = {}

    async def check() -> None:
        seen["steps"] = await statuses(storage, "w7")
        seen["events"] = await event_keys(storage, "w7")

    result = await while_blocked(
        wf.create_run(engine=engine, run_id="w7").start({"n": 1}), gate, check
    )
    assert seen["steps"] == {"slow": "running", "fast": "success"}
    assert ("step.succeeded", ("fast",)) in seen["events"]
    assert result.result == {"slow": {"n": 1}, "fast": {"n": 11}}


async def test_a_waiting_foreach_item_is_stored_under_its_running_foreach(
    engine: DefaultEngine, storage: Storage
) -> None:
    """While an item waits, the foreach record is stored as running with its input."""
    gate = Gate()

    async def item(ctx: StepContext) -> int:
        if ctx.input_data == 2:
            await gate.pass_through(None)
        return int(ctx.input_data) * 10

    wf = Workflow("each-wait").foreach(Step("item", item), concurrency=2).commit()
    seen: dict[str, Any] = {}

    async def check() -> None:
        snap = await storage.load("w8")
        assert snap is not None
        seen["record"] = snap.steps["item"]

    result = await while_blocked(
        wf.create_run(engine=engine, run_id="w8").start([1, 2, 3]), gate, check
    )
    assert seen["record"].status == "running"
    assert seen["record"].payload == [1, 2, 3]
    assert result.result == [10, 20, 30]


async def test_a_custom_event_emitted_before_a_wait_is_stored_while_the_step_waits(
    engine: DefaultEngine, storage: Storage
) -> None:
    """`ctx.emit` before waiting is readable from storage during the wait."""
    gate = Gate()

    async def reporting(ctx: StepContext) -> None:
        ctx.emit({"phase": "fetching"})
        await gate.pass_through(None)

    wf = Workflow("emit-wait").then(Step("reporting", reporting)).commit()
    seen: list[Event] = []

    async def check() -> None:
        seen.extend(await storage.read_events("w9"))

    await while_blocked(wf.create_run(engine=engine, run_id="w9").start(), gate, check)
    assert seen[-1].type == "step.progress"
    assert seen[-1].payload == {"kind": "custom", "data": {"phase": "fetching"}}


async def test_the_step_before_a_sleep_is_stored_while_the_sleep_duration_function_waits(
    engine: DefaultEngine, storage: Storage
) -> None:
    """A sleep whose duration function waits is a wait of the run: what ran before is stored."""
    gate = Gate()

    async def seconds(ctx: StepContext) -> float:
        await gate.pass_through(None)
        return 0

    wf = Workflow("sleep-fn").then(quick_step("a")).sleep(seconds).commit()
    seen: dict[str, Any] = {}

    async def check() -> None:
        seen["steps"] = await statuses(storage, "w10")
        seen["events"] = await event_keys(storage, "w10")

    result = await while_blocked(
        wf.create_run(engine=engine, run_id="w10").start({"n": 0}), gate, check
    )
    assert seen["steps"].get("a") == "success"
    assert ("step.succeeded", ("a",)) in seen["events"]
    assert result.status == "success"


async def test_the_loop_body_is_stored_while_its_condition_waits(
    engine: DefaultEngine, storage: Storage
) -> None:
    """A loop condition that waits sees the body's finished record already in storage."""
    gate = Gate()

    async def until(ctx: StepContext) -> bool:
        await gate.pass_through(None)
        return True

    wf = Workflow("cond-wait").dountil(quick_step("body"), until).commit()
    seen: dict[str, Any] = {}

    async def check() -> None:
        seen["steps"] = await statuses(storage, "w11")

    await while_blocked(wf.create_run(engine=engine, run_id="w11").start({"n": 0}), gate, check)
    assert seen["steps"] == {"body": "success"}


# -- steps that never wait --------------------------------------------------------------------


async def test_steps_that_never_wait_are_stored_when_the_run_call_returns(
    engine: DefaultEngine, storage: Storage
) -> None:
    """Once `start` returns, every record and event of a run without waits is stored."""
    wf = (
        Workflow("no-wait")
        .then(quick_step("a"))
        .parallel([quick_step("b"), quick_step("c", add=2)])
        .commit()
    )
    result = await wf.create_run(engine=engine, run_id="q1").start({"n": 0})
    snap = await storage.load("q1")
    assert snap is not None
    assert snap.status == "success"
    assert {k: r.status for k, r in snap.steps.items()} == {
        "a": "success",
        "b": "success",
        "c": "success",
    }
    assert snap.result == result.result == {"b": {"n": 2}, "c": {"n": 3}}
    assert [e.type for e in await storage.read_events("q1")][-1] == "run.succeeded"


async def test_the_stored_seq_is_the_last_event_seq_when_the_run_call_returns(
    engine: DefaultEngine, storage: Storage
) -> None:
    """Events are numbered 1..n without a gap and the snapshot's seq is n."""
    wf = Workflow("no-wait-seq").then(quick_step("a")).then(quick_step("b")).commit()
    await wf.create_run(engine=engine, run_id="q2").start({"n": 0})
    snap = await storage.load("q2")
    seqs = [e.seq for e in await storage.read_events("q2")]
    assert snap is not None
    assert seqs == list(range(1, len(seqs) + 1))
    assert snap.seq == seqs[-1] == 6


async def test_a_run_that_suspends_without_waiting_is_stored_when_start_returns(
    engine: DefaultEngine, storage: Storage
) -> None:
    """A suspension is a stop: its record, status and events are stored before `start` returns."""

    async def ask(ctx: StepContext) -> None:
        ctx.suspend({"question": "ok?"})

    wf = Workflow("suspend-now").then(quick_step("a")).then(Step("ask", ask)).commit()
    await wf.create_run(engine=engine, run_id="q3").start({"n": 0})
    snap = await storage.load("q3")
    assert snap is not None
    assert snap.status == "suspended"
    assert snap.steps["ask"].status == "suspended"
    assert snap.steps["ask"].suspend_payload == {"question": "ok?"}
    assert [e.type for e in await storage.read_events("q3")][-2:] == [
        "step.suspended",
        "run.suspended",
    ]


# -- listeners --------------------------------------------------------------------------------


class Approval(pydantic.BaseModel):
    ok: bool


def busy_workflow(gate: Gate) -> Workflow:
    """Waits, thread emits, parallel, foreach, a nested workflow and a suspension."""

    async def slow(ctx: StepContext) -> dict[str, Any]:
        ctx.emit({"before": True})
        await gate.pass_through(None)
        ctx.emit({"after": True})
        return {"n": ctx.input_data["n"] + 1}

    def threaded(ctx: StepContext) -> dict[str, Any]:
        ctx.emit({"from": "thread"})
        return ctx.input_data

    async def item(ctx: StepContext) -> int:
        if ctx.input_data % 2:
            await asyncio.sleep(0)
        return int(ctx.input_data)

    async def to_items(ctx: StepContext) -> list[int]:
        return [1, 2, 3, 4]

    async def ask(ctx: StepContext) -> dict[str, Any]:
        if ctx.resume_data is None:
            ctx.suspend({"question": "ok?"}, label="approval")
        return {"ok": ctx.resume_data.ok}

    inner = Workflow("inner").then(quick_step("i1")).then(Step("slow-inner", slow)).commit()
    return (
        Workflow("busy")
        .then(quick_step("a"))
        .then(Step("slow", slow))
        .then(Step("threaded", threaded))
        .parallel([quick_step("p1"), Step("p2", slow)])
        .map(lambda ctx: {"n": ctx.input_data["p1"]["n"]})
        .then(inner)
        .then(Step("to-items", to_items))
        .foreach(Step("item", item), concurrency=2)
        .then(Step("ask", ask, resume_schema=Approval))
        .commit()
    )


async def run_busy(
    engine: DefaultEngine, run_id: str, listener: Callable[[Event], None]
) -> tuple[RunResult, RunResult]:
    """Start the busy workflow (opening its gate right away) and resume it."""
    gate = Gate()
    gate.gate.set()
    wf = busy_workflow(gate)
    run = wf.create_run(engine=engine, run_id=run_id)
    unsubscribe = run.watch(listener)
    try:
        first = await run.start({"n": 0})
        second = await run.resume({"ok": True}, label="approval")
    finally:
        unsubscribe()
    return first, second


async def test_listeners_never_hear_an_event_before_storage_returns_it(
    engine: DefaultEngine, storage: Storage
) -> None:
    """Inside the listener, the event it is told about is already in `read_events`."""
    early: list[tuple[int, str]] = []
    heard: list[int] = []

    def listener(event: Event) -> None:
        heard.append(event.seq)
        stored = {e.seq for e in events_now(storage, event.run_id)}
        if event.seq not in stored:
            early.append((event.seq, event.type))

    first, second = await run_busy(engine, "l1", listener)
    assert first.status == "suspended"
    assert second.status == "success"
    assert heard, "the listener heard nothing"
    assert early == []


async def test_listeners_hear_every_stored_event_once_and_in_order(
    engine: DefaultEngine, storage: Storage
) -> None:
    """After the run, the events heard are exactly the stored events, in seq order."""
    heard: list[tuple[int, str, tuple[str, ...]]] = []

    def listener(event: Event) -> None:
        heard.append((event.seq, event.type, tuple(event.path)))

    await run_busy(engine, "l2", listener)
    stored = [(e.seq, e.type, tuple(e.path)) for e in await storage.read_events("l2")]
    assert heard == stored


async def test_an_event_emitted_from_a_worker_thread_is_stored_before_its_step_ends(
    engine: DefaultEngine, storage: Storage
) -> None:
    """A sync step's `ctx.emit` lands in the log before that step's `step.succeeded`."""

    def threaded(ctx: StepContext) -> None:
        ctx.emit({"from": "thread"})

    wf = Workflow("thread-emit").then(Step("threaded", threaded)).commit()
    await wf.create_run(engine=engine, run_id="l3").start()
    assert [e.type for e in await storage.read_events("l3")] == [
        "run.started",
        "step.started",
        "step.progress",
        "step.succeeded",
        "run.succeeded",
    ]


# -- refused calls write nothing --------------------------------------------------------------


async def stored_state(storage: Storage, run_id: str) -> tuple[Any, list[dict[str, Any]], int]:
    """Everything storage holds about a run, and how many runs it holds."""
    snap = await storage.load(run_id)
    events = [e.to_dict() for e in await storage.read_events(run_id)]
    total = (await storage.list_runs(limit=1000)).total
    return (snap.to_dict() if snap is not None else None), events, total


def approval_workflow() -> Workflow:
    async def ask(ctx: StepContext) -> dict[str, Any]:
        if ctx.resume_data is None:
            ctx.suspend({"question": "ok?"})
        return {"ok": ctx.resume_data.ok}

    return (
        Workflow("approval", input_schema=Approval)
        .then(Step("ask", ask, resume_schema=Approval))
        .commit()
    )


async def suspended_run(engine: DefaultEngine, run_id: str) -> Workflow:
    wf = approval_workflow()
    result = await wf.create_run(engine=engine, run_id=run_id).start({"ok": True})
    assert result.status == "suspended"
    return wf


async def test_bad_resume_data_writes_nothing(engine: DefaultEngine, storage: Storage) -> None:
    """Resume data that fails the resume schema is refused before any write."""
    wf = await suspended_run(engine, "r1")
    before = await stored_state(storage, "r1")
    with pytest.raises(ValidationError):
        await wf.create_run(engine=engine, run_id="r1").resume({"ok": "perhaps"})
    assert await stored_state(storage, "r1") == before


async def test_a_run_refused_bad_resume_data_can_still_be_resumed(
    engine: DefaultEngine, storage: Storage
) -> None:
    """After a refused resume, a good one resumes the run normally."""
    wf = await suspended_run(engine, "r2")
    run = wf.create_run(engine=engine, run_id="r2")
    with pytest.raises(ValidationError):
        await run.resume({"ok": "perhaps"})
    result = await run.resume({"ok": False})
    assert result.status == "success"
    assert result.result == {"ok": False}


async def test_resuming_a_step_that_is_not_suspended_writes_nothing(
    engine: DefaultEngine, storage: Storage
) -> None:
    """Naming a step that does not exist is refused before any write."""
    wf = await suspended_run(engine, "r3")
    before = await stored_state(storage, "r3")
    with pytest.raises(WorkflowError):
        await wf.create_run(engine=engine, run_id="r3").resume({"ok": True}, step="missing")
    assert await stored_state(storage, "r3") == before


async def test_resuming_a_finished_run_writes_nothing(
    engine: DefaultEngine, storage: Storage
) -> None:
    """A run that is not suspended refuses `resume` and stays as stored."""
    wf = await suspended_run(engine, "r4")
    await wf.create_run(engine=engine, run_id="r4").resume({"ok": True})
    before = await stored_state(storage, "r4")
    with pytest.raises(InvalidRunStateError):
        await wf.create_run(engine=engine, run_id="r4").resume({"ok": True})
    assert await stored_state(storage, "r4") == before


async def test_bad_start_input_writes_nothing(engine: DefaultEngine, storage: Storage) -> None:
    """Input that fails the workflow's input schema stores no run and no event."""
    wf = approval_workflow()
    with pytest.raises(ValidationError):
        await wf.create_run(engine=engine, run_id="r5").start({"ok": "perhaps"})
    assert await stored_state(storage, "r5") == (None, [], 0)


async def test_starting_an_existing_run_again_writes_nothing(
    engine: DefaultEngine, storage: Storage
) -> None:
    """A second `start` on a run id that already ran is refused and changes nothing."""
    wf = await suspended_run(engine, "r6")
    before = await stored_state(storage, "r6")
    with pytest.raises(InvalidRunStateError):
        await wf.create_run(engine=engine, run_id="r6").start({"ok": True})
    assert await stored_state(storage, "r6") == before


async def test_time_travel_to_an_unknown_step_writes_nothing(
    engine: DefaultEngine, storage: Storage
) -> None:
    """Time travel to a step that does not exist creates no fork and changes nothing."""
    wf = await suspended_run(engine, "r7")
    before = await stored_state(storage, "r7")
    with pytest.raises(StepNotFoundError):
        await wf.create_run(engine=engine, run_id="r7").time_travel("nowhere")
    assert await stored_state(storage, "r7") == before
