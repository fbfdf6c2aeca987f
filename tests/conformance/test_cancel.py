"""Cancellation (catalog section 16, abort): ctx.cancel_event, ctx.cancel(), run.cancel()."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from pydantic import BaseModel

from engines import Event, InvalidRunStateError, StepContext, Workflow, step
from engines.testing import Calls

CANCEL_DEADLINE = 0.1  # seconds: a running step must see a cancel within 100 ms


class Value(BaseModel):
    value: int


class Doubled(BaseModel):
    doubled: int


# -- A1/A2: what a step is given --------------------------------------------------------------


async def test_a1_step_receives_a_cancel_event(engine) -> None:
    """A1: a step's context carries ctx.cancel_event, an asyncio.Event that is not set."""
    seen: dict[str, Any] = {}

    @step(id="step1")
    async def step1(ctx: StepContext) -> dict:
        seen["event"] = ctx.cancel_event
        seen["is_cancelled"] = ctx.is_cancelled
        return {"result": "success"}

    wf = Workflow("abort-test-workflow").then(step1).commit()
    result = await wf.create_run(engine=engine, run_id="a1-run").start(input_data={})

    assert result.status == "success"
    assert isinstance(seen["event"], asyncio.Event)
    assert not seen["event"].is_set()
    assert seen["is_cancelled"] is False


async def test_a2_step_receives_a_cancel_function(engine) -> None:
    """A2: a step's context carries ctx.cancel, a callable."""
    seen: dict[str, Any] = {}

    @step(id="step1")
    async def step1(ctx: StepContext) -> dict:
        seen["cancel"] = ctx.cancel
        return {"result": "success"}

    wf = Workflow("abort-fn-test-workflow").then(step1).commit()
    result = await wf.create_run(engine=engine, run_id="a2-run").start(input_data={})

    assert result.status == "success"
    assert callable(seen["cancel"])


# -- A3: ctx.cancel() from inside a step ------------------------------------------------------


def _self_cancelling_workflow(calls: Calls, seen: dict[str, Any]) -> Workflow:
    """step1 -> step2 (calls ctx.cancel(), then returns) -> step3."""

    @step(id="step1")
    async def step1(ctx: StepContext) -> dict:
        calls.hit("step1")
        return {"value": "step1"}

    @step(id="step2")
    async def step2(ctx: StepContext) -> dict:
        calls.hit("step2")
        ctx.cancel()
        seen["is_cancelled"] = ctx.is_cancelled
        seen["event_set"] = ctx.cancel_event.is_set()
        return {"result": "should-not-reach"}

    @step(id="step3")
    async def step3(ctx: StepContext) -> dict:
        calls.hit("step3")
        return {"result": "step3"}

    return Workflow("abort-workflow").then(step1).then(step2).then(step3).commit()


async def test_a3_cancel_from_inside_a_step_cancels_the_run(engine, calls: Calls) -> None:
    """A3: ctx.cancel() in step2 ends the run 'canceled'; step3 never runs."""
    seen: dict[str, Any] = {}
    wf = _self_cancelling_workflow(calls, seen)
    result = await wf.create_run(engine=engine, run_id="a3-run").start(input_data={})

    assert result.status == "canceled"
    assert calls["step1"] == 1
    assert calls["step2"] == 1
    assert calls["step3"] == 0
    assert "step3" not in result.steps
    assert seen == {"is_cancelled": True, "event_set": True}


async def test_a3_cancelled_step_record_and_stored_run_are_canceled(engine, calls: Calls) -> None:
    """A3: after ctx.cancel() the step's record, the stored run and its last event say canceled."""
    wf = _self_cancelling_workflow(calls, {})
    result = await wf.create_run(engine=engine, run_id="a3-stored").start(input_data={})

    assert result.steps["step1"].status == "success"
    assert result.steps["step2"].status == "canceled"
    assert result.result is None
    stored = await engine.storage.load("a3-stored")
    assert stored.status == "canceled"
    events = await engine.storage.read_events("a3-stored")
    assert events[-1].type == "run.canceled"
    assert "step.canceled" in [e.type for e in events]


# -- A4/A5: a long step -----------------------------------------------------------------------


async def test_a4_long_step_completes_when_nobody_cancels(engine, calls: Calls) -> None:
    """A4: a single slow step (0.1 s) that nobody cancels succeeds and runs once."""

    @step(id="step1")
    async def step1(ctx: StepContext) -> dict:
        calls.hit("step1")
        await asyncio.sleep(0.1)
        return {"result": "step1"}

    wf = Workflow("immediate-abort-workflow").then(step1).commit()
    result = await wf.create_run(engine=engine, run_id="a4-run").start(input_data={})

    assert result.status == "success"
    assert calls["step1"] == 1
    assert result.steps["step1"].output == {"result": "step1"}


def _waiting_workflow(
    calls: Calls, started: asyncio.Event, seen: dict[str, Any], wait: float
) -> Workflow:
    """step1 -> step2 (waits up to `wait` seconds for a cancel) -> step3."""

    @step(id="step1")
    async def step1(ctx: StepContext) -> dict:
        calls.hit("step1")
        return {"value": "step1"}

    @step(id="step2")
    async def step2(ctx: StepContext) -> dict:
        calls.hit("step2")
        started.set()
        try:
            await asyncio.wait_for(ctx.cancel_event.wait(), timeout=wait)
        except TimeoutError:
            return {"result": "not-cancelled"}
        seen["cancelled_at"] = time.monotonic()
        seen["is_cancelled"] = ctx.is_cancelled
        return {"result": "stopped"}

    @step(id="step3")
    async def step3(ctx: StepContext) -> dict:
        calls.hit("step3")
        return {"result": "step3"}

    return Workflow("abort-during-step-workflow").then(step1).then(step2).then(step3).commit()


async def test_a5_step_listening_for_cancel_completes_when_nobody_cancels(
    engine, calls: Calls
) -> None:
    """A5: a step that listens on ctx.cancel_event finishes normally when no cancel comes."""
    wf = _waiting_workflow(calls, asyncio.Event(), {}, wait=0.1)
    result = await wf.create_run(engine=engine, run_id="a5-quiet").start(input_data={})

    assert result.status == "success"
    assert calls["step1"] == 1
    assert result.steps["step2"].output == {"result": "not-cancelled"}
    assert calls["step3"] == 1


async def test_a5_cancel_reaches_a_running_step_within_100ms(engine, calls: Calls) -> None:
    """A5: run.cancel() during a step sets its cancel event within 100 ms; the run ends canceled."""
    started = asyncio.Event()
    seen: dict[str, Any] = {}
    wf = _waiting_workflow(calls, started, seen, wait=10)
    run = wf.create_run(engine=engine, run_id="a5-run")

    running = asyncio.create_task(run.start(input_data={}))
    await asyncio.wait_for(started.wait(), timeout=5)
    asked_at = time.monotonic()
    await run.cancel()
    result = await asyncio.wait_for(running, timeout=5)

    assert "cancelled_at" in seen, "the step never saw the cancel"
    assert seen["cancelled_at"] - asked_at < CANCEL_DEADLINE
    assert seen["is_cancelled"] is True
    assert result.status == "canceled"
    assert calls["step1"] == 1
    assert calls["step2"] == 1
    assert calls["step3"] == 0
    assert result.steps["step2"].status == "canceled"
    assert "step3" not in result.steps
    assert (await engine.storage.load("a5-run")).status == "canceled"


async def test_a5_cancel_during_a_sleep_ends_the_run_canceled(engine, calls: Calls) -> None:
    """A5: run.cancel() while the run sleeps ends it canceled at once; the next step never runs."""

    @step(id="before")
    async def before(ctx: StepContext) -> dict:
        calls.hit("before")
        return {"value": 1}

    @step(id="after")
    async def after(ctx: StepContext) -> dict:
        calls.hit("after")
        return {"value": 2}

    wf = Workflow("abort-during-sleep-workflow").then(before).sleep(10).then(after).commit()
    run = wf.create_run(engine=engine, run_id="a5-sleep")
    waiting = asyncio.Event()

    def on_event(event: Event) -> None:
        if event.type == "step.waiting":
            waiting.set()

    unsubscribe = run.watch(on_event)
    began = time.monotonic()
    running = asyncio.create_task(run.start(input_data={}))
    await asyncio.wait_for(waiting.wait(), timeout=5)
    await run.cancel()
    result = await asyncio.wait_for(running, timeout=5)
    unsubscribe()

    assert result.status == "canceled"
    assert time.monotonic() - began < 2
    assert calls["before"] == 1
    assert calls["after"] == 0
    assert result.steps["sleep_0"].status == "canceled"
    assert "after" not in result.steps
    assert (await engine.storage.load("a5-sleep")).status == "canceled"


# -- A6: nested workflows ---------------------------------------------------------------------


def _nested_long_workflow(started: asyncio.Event, seen: dict[str, Any], wait: float) -> Workflow:
    """parent-step (doubles) -> abort-nested-workflow (nested-long-step waits for a cancel)."""

    @step(id="nested-long-step", input_schema=Doubled)
    async def nested_long(ctx: StepContext) -> dict:
        started.set()
        try:
            await asyncio.wait_for(ctx.cancel_event.wait(), timeout=wait)
        except TimeoutError:
            seen["completed"] = True
            return {"result": f"completed: {ctx.input_data.doubled}"}
        seen["cancelled_at"] = time.monotonic()
        return {"result": "aborted"}

    nested = Workflow("abort-nested-workflow", input_schema=Doubled).then(nested_long).commit()

    @step(id="parent-step", input_schema=Value)
    async def parent_step(ctx: StepContext) -> dict:
        return {"doubled": ctx.input_data.value * 2}

    return (
        Workflow("abort-nested-propagation-workflow", input_schema=Value)
        .then(parent_step)
        .then(nested)
        .commit()
    )


async def test_a6_nested_workflow_completes_when_nobody_cancels(engine) -> None:
    """A6: without a cancel the parent step doubles the input and the nested workflow completes."""
    seen: dict[str, Any] = {}
    wf = _nested_long_workflow(asyncio.Event(), seen, wait=0.1)
    result = await wf.create_run(engine=engine, run_id="a6-quiet").start(input_data={"value": 5})

    assert result.status == "success"
    assert result.steps["parent-step"].status == "success"
    assert result.steps["parent-step"].output == {"doubled": 10}
    assert result.steps["abort-nested-workflow"].output == {"result": "completed: 10"}
    assert seen == {"completed": True}


async def test_a6_cancel_propagates_into_a_nested_workflow(engine) -> None:
    """A6: cancelling the parent run reaches a step running inside a nested workflow."""
    started = asyncio.Event()
    seen: dict[str, Any] = {}
    wf = _nested_long_workflow(started, seen, wait=10)
    run = wf.create_run(engine=engine, run_id="a6-run")

    running = asyncio.create_task(run.start(input_data={"value": 5}))
    await asyncio.wait_for(started.wait(), timeout=5)
    asked_at = time.monotonic()
    await run.cancel()
    result = await asyncio.wait_for(running, timeout=5)

    assert "cancelled_at" in seen, "the nested step never saw the cancel"
    assert seen["cancelled_at"] - asked_at < CANCEL_DEADLINE
    assert "completed" not in seen
    assert result.status == "canceled"
    assert result.steps["parent-step"].output == {"doubled": 10}
    assert result.steps["abort-nested-workflow"].status == "canceled"
    assert (await engine.storage.load("a6-run")).status == "canceled"


# -- A7: a suspended run ----------------------------------------------------------------------


def _suspending_workflow(calls: Calls) -> Workflow:
    """step1 -> step2 (suspends waiting for approval) -> step3."""

    @step(id="step1")
    async def step1(ctx: StepContext) -> dict:
        calls.hit("step1")
        return {"value": "step1"}

    @step(id="step2")
    async def step2(ctx: StepContext) -> dict:
        calls.hit("step2")
        if ctx.resume_data is None:
            ctx.suspend({"reason": "waiting for approval"})
        return {"result": "approved"}

    @step(id="step3")
    async def step3(ctx: StepContext) -> dict:
        calls.hit("step3")
        return {"result": "step3"}

    return Workflow("cancel-suspended-workflow").then(step1).then(step2).then(step3).commit()


async def test_a7_workflow_suspends_before_being_cancelled(engine, calls: Calls) -> None:
    """A7: the workflow to cancel suspends at step2 with its payload; step3 has not run."""
    wf = _suspending_workflow(calls)
    result = await wf.create_run(engine=engine, run_id="a7-suspend").start(input_data={})

    assert result.status == "suspended"
    assert calls["step1"] == 1
    assert calls["step2"] == 1
    assert calls["step3"] == 0
    assert result.steps["step2"].status == "suspended"
    assert result.steps["step2"].suspend_payload == {"reason": "waiting for approval"}


async def test_a7_suspended_run_can_be_cancelled(engine, calls: Calls) -> None:
    """A7: cancelling a suspended run stores it canceled; it can no longer be resumed."""
    wf = _suspending_workflow(calls)
    run = wf.create_run(engine=engine, run_id="a7-run")
    await run.start(input_data={})

    await run.cancel()

    stored = await engine.storage.load("a7-run")
    assert stored.status == "canceled"
    events = await engine.storage.read_events("a7-run")
    assert events[-1].type == "run.canceled"
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    with pytest.raises(InvalidRunStateError):
        await run.resume(resume_data={"ok": True}, step="step2")
    assert calls["step2"] == 1
    assert calls["step3"] == 0


async def test_a7_suspended_run_can_be_cancelled_from_a_new_handle(engine, calls: Calls) -> None:
    """A7: a fresh handle on the same run id cancels the stored suspended run."""
    wf = _suspending_workflow(calls)
    await wf.create_run(engine=engine, run_id="a7-fresh").start(input_data={})

    await wf.create_run(engine=engine, run_id="a7-fresh").cancel()

    assert (await engine.storage.load("a7-fresh")).status == "canceled"
    assert calls["step3"] == 0


# -- cancelling a run that is executing nowhere --------------------------------------------------


async def test_cancelling_an_interrupted_run_closes_its_running_and_waiting_steps(
    engine, calls: Calls
) -> None:
    """A run left waiting by a process that died is canceled in storage: each running or
    waiting step ends canceled with a step.canceled event (innermost first), then run.canceled."""

    @step(id="first")
    async def first(ctx: StepContext) -> dict:
        calls.hit("first")
        return {"n": 1}

    inner = Workflow("cancel-interrupted-inner").then(first.clone("second")).sleep(60, id="nap")
    wf = Workflow("cancel-interrupted").then(first).then(inner.commit()).commit()
    run = wf.create_run(engine=engine)
    napping = asyncio.Event()
    run.watch(lambda event: napping.set() if event.type == "step.waiting" else None)
    execution = asyncio.ensure_future(run.start(input_data={}))
    await napping.wait()
    execution.cancel()  # the process dies while the run sleeps
    with pytest.raises(asyncio.CancelledError):
        await execution
    stored = await engine.storage.load(run.run_id)
    assert stored.status == "running"
    assert stored.steps["cancel-interrupted-inner"].status == "running"
    assert stored.steps["cancel-interrupted-inner.nap"].status == "waiting"

    assert await wf.create_run(engine=engine, run_id=run.run_id).cancel() is True

    after = await engine.storage.load(run.run_id)
    assert after.status == "canceled"
    for key in ("cancel-interrupted-inner.nap", "cancel-interrupted-inner"):
        assert after.steps[key].status == "canceled"
        assert after.steps[key].ended_at is not None
    assert after.steps["first"].status == "success"
    assert after.steps["cancel-interrupted-inner.second"].status == "success"
    events = await engine.storage.read_events(run.run_id, after_seq=stored.seq)
    assert [(e.type, ".".join(e.path)) for e in events] == [
        ("step.canceled", "cancel-interrupted-inner.nap"),
        ("step.canceled", "cancel-interrupted-inner"),
        ("run.canceled", ""),
    ]
