"""The sync facade works without an event loop, and an engine is not tied to any one loop.

`run.start_sync`, `resume_sync`, `time_travel_sync` (and friends) run their coroutine with
`asyncio.run`; inside a running loop they refuse with `WorkflowError` and leave no coroutine
behind un-awaited. A `DefaultEngine` made outside any loop serves successive `asyncio.run`
calls, as scripts and management commands use it.
"""

from __future__ import annotations

import asyncio
import gc
import warnings
from typing import Any

import pytest

import engines.sync
from engines import (
    DefaultEngine,
    InMemoryStorage,
    RunResult,
    StepContext,
    Workflow,
    WorkflowError,
    step,
)
from engines.testing import storage_factories

STORAGES = sorted(storage_factories())


@step
async def double(ctx: StepContext) -> dict[str, Any]:
    await asyncio.sleep(0)  # a real wait: the step needs the loop
    return {"n": ctx.input_data["n"] * 2}


@step
async def approve(ctx: StepContext) -> dict[str, Any]:
    if ctx.resume_data is None:
        ctx.suspend({"asked": ctx.input_data["n"]})
    return {"n": ctx.input_data["n"], "approved": ctx.resume_data["ok"]}


@step
async def finish(ctx: StepContext) -> dict[str, Any]:
    return {"done": ctx.input_data}


def approval_flow() -> Workflow:
    """double -> approve (suspends until resumed with {"ok": ...}) -> finish."""
    return Workflow("sync-approval").then(double).then(approve).then(finish).commit()


def plain_flow() -> Workflow:
    """double -> finish: never suspends."""
    return Workflow("sync-plain").then(double).then(finish).commit()


def no_running_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return True
    return False


# -- no running loop --------------------------------------------------------------------------


@pytest.mark.parametrize("storage", STORAGES)
def test_start_sync_runs_a_workflow_without_an_event_loop(storage: str) -> None:
    """From plain synchronous code, `start_sync` runs the workflow to its end."""
    assert no_running_loop()
    engine = DefaultEngine(storage_factories()[storage]())
    result = plain_flow().create_run(engine=engine).start_sync(input_data={"n": 2})
    assert isinstance(result, RunResult)
    assert result.status == "success"
    assert result.result == {"done": {"n": 4}}


@pytest.mark.parametrize("storage", STORAGES)
def test_resume_sync_continues_a_run_suspended_by_start_sync(storage: str) -> None:
    """`start_sync` suspends, then `resume_sync` finishes the run, both without a loop."""
    engine = DefaultEngine(storage_factories()[storage]())
    run = approval_flow().create_run(engine=engine, run_id="sync-resume")
    first = run.start_sync(input_data={"n": 3})
    assert first.status == "suspended"
    assert first.suspended == [["approve"]]
    second = run.resume_sync({"ok": True})
    assert second.status == "success"
    assert second.result == {"done": {"n": 6, "approved": True}}


@pytest.mark.parametrize("storage", STORAGES)
def test_time_travel_sync_forks_a_finished_run(storage: str) -> None:
    """`time_travel_sync` re-runs from a step in a new linked run, without a loop."""
    engine = DefaultEngine(storage_factories()[storage]())
    run = plain_flow().create_run(engine=engine, run_id="sync-source")
    run.start_sync(input_data={"n": 1})
    fork = run.time_travel_sync("finish", input_data={"n": 100})
    assert fork.status == "success"
    assert fork.result == {"done": {"n": 100}}
    assert fork.parent_run_id == "sync-source"
    assert fork.run_id != "sync-source"


def test_cancel_sync_cancels_a_suspended_run_without_an_event_loop() -> None:
    """`cancel_sync` ends a suspended run `canceled`."""
    engine = DefaultEngine(InMemoryStorage())
    run = approval_flow().create_run(engine=engine, run_id="sync-cancel")
    run.start_sync(input_data={"n": 1})
    assert run.cancel_sync() is True
    snap = engines.sync.run(engine.storage.load("sync-cancel"))
    assert snap is not None
    assert snap.status == "canceled"


def test_the_sync_runner_returns_the_value_of_a_coroutine() -> None:
    """`engines.sync.run(coro)` is `asyncio.run` for scripts."""

    async def answer() -> int:
        await asyncio.sleep(0)
        return 42

    assert engines.sync.run(answer()) == 42


# -- inside a running loop --------------------------------------------------------------------


async def test_start_sync_inside_a_running_loop_raises_workflow_error() -> None:
    """Calling the sync facade from async code is refused with a `WorkflowError`."""
    run = plain_flow().create_run(engine=DefaultEngine(InMemoryStorage()))
    with pytest.raises(WorkflowError, match="running event loop"):
        run.start_sync(input_data={"n": 1})


async def test_a_refused_sync_call_leaves_no_coroutine_unawaited() -> None:
    """The coroutine made for the refused call is closed: no "never awaited" warning."""
    run = plain_flow().create_run(engine=DefaultEngine(InMemoryStorage()))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(WorkflowError):
            run.start_sync(input_data={"n": 1})
        with pytest.raises(WorkflowError):
            run.resume_sync({"ok": True})
        gc.collect()
    assert [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)] == []


async def test_a_refused_sync_call_stores_nothing() -> None:
    """The refused `start_sync` never ran: the run does not exist in storage."""
    engine = DefaultEngine(InMemoryStorage())
    run = plain_flow().create_run(engine=engine, run_id="refused")
    with pytest.raises(WorkflowError):
        run.start_sync(input_data={"n": 1})
    assert await engine.storage.load("refused") is None


async def test_start_sync_works_from_a_worker_thread_of_a_running_program() -> None:
    """A thread without its own loop may use the facade while another thread runs a loop."""
    engine = DefaultEngine(InMemoryStorage())
    run = plain_flow().create_run(engine=engine)
    result = await asyncio.to_thread(run.start_sync, input_data={"n": 5})
    assert result.status == "success"
    assert result.result == {"done": {"n": 10}}


# -- one engine, several loops ----------------------------------------------------------------


@pytest.mark.parametrize("storage", STORAGES)
def test_one_engine_serves_a_start_and_a_resume_in_two_asyncio_runs(storage: str) -> None:
    """An engine made outside any loop starts a run in one `asyncio.run`, resumes in the next."""
    engine = DefaultEngine(storage_factories()[storage]())
    wf = approval_flow()

    async def start() -> RunResult:
        return await wf.create_run(engine=engine, run_id="two-loops").start({"n": 4})

    async def resume() -> RunResult:
        return await wf.create_run(engine=engine, run_id="two-loops").resume({"ok": False})

    first = asyncio.run(start())
    second = asyncio.run(resume())
    assert first.status == "suspended"
    assert second.status == "success"
    assert second.result == {"done": {"n": 8, "approved": False}}


def test_one_engine_serves_runs_that_wait_on_loop_objects_in_successive_loops() -> None:
    """Steps waiting on events and cancellation in one loop do not break the next loop."""
    engine = DefaultEngine(InMemoryStorage())
    # Each asyncio.run makes its own events; the step finds them by run id.
    loop_objects: dict[str, tuple[asyncio.Event, asyncio.Event]] = {}

    @step
    async def wait_for_gate(ctx: StepContext) -> dict[str, Any]:
        entered, gate = loop_objects[ctx.run_id]
        entered.set()
        await gate.wait()
        return {"cancelled": ctx.cancel_event.is_set()}

    wf = Workflow("gated").then(wait_for_gate).commit()

    async def once(run_id: str) -> RunResult:
        entered, gate = loop_objects[run_id] = (asyncio.Event(), asyncio.Event())
        task = asyncio.ensure_future(wf.create_run(engine=engine, run_id=run_id).start())
        waiter = asyncio.ensure_future(entered.wait())
        await asyncio.wait({waiter, task}, return_when=asyncio.FIRST_COMPLETED)
        gate.set()
        waiter.cancel()
        return await task

    results = [asyncio.run(once("loop-1")), asyncio.run(once("loop-2"))]
    assert [r.status for r in results] == ["success", "success"]
    assert [r.result for r in results] == [{"cancelled": False}, {"cancelled": False}]


def test_the_same_run_handle_serves_successive_sync_calls() -> None:
    """One `Run` handle: `start_sync`, then `resume_sync`, then a sync time travel."""
    engine = DefaultEngine(InMemoryStorage())
    run = approval_flow().create_run(engine=engine, run_id="handle")
    assert run.start_sync(input_data={"n": 1}).status == "suspended"
    assert run.resume_sync({"ok": True}).status == "success"
    fork = run.time_travel_sync("finish", input_data={"n": 9, "approved": True})
    assert fork.result == {"done": {"n": 9, "approved": True}}
