"""Cancel wins over the error it causes.

A run that was cancelled ends `canceled`, even when the code that notices the cancel reacts by
raising: a running step (`await ctx.cancel_event.wait(); raise ...`), a loop condition or a
branch condition, including a condition that called `ctx.cancel()` itself. No `step.failed` or
`run.failed` is recorded for such an error, and a step with retries is not retried.
"""

from __future__ import annotations

import asyncio
from typing import Any

from engines import StepContext, Workflow, step
from engines.testing import Calls


def _watcher(reached: asyncio.Event, step_id: str = "watcher", retries: int | None = None) -> Any:
    """A step that waits for the run's cancel and raises when it comes."""

    @step(id=step_id, retries=retries)
    async def watcher(ctx: StepContext) -> dict[str, str]:
        reached.set()
        await ctx.cancel_event.wait()
        raise RuntimeError("aborted")

    return watcher


def _after(calls: Calls, step_id: str = "after") -> Any:
    @step(id=step_id)
    async def after(ctx: StepContext) -> dict[str, str]:
        calls.hit(step_id)
        return {"ran": step_id}

    return after


async def _cancel_when_reached(run: Any, reached: asyncio.Event) -> Any:
    execution = asyncio.ensure_future(run.start(input_data={}))
    await reached.wait()
    assert await run.cancel() is True
    return await execution


async def _assert_canceled_without_failure(engine: Any, run_id: str) -> list[str]:
    stored = await engine.storage.load(run_id)
    assert stored is not None
    assert stored.status == "canceled"
    assert stored.error is None
    types = [e.type for e in await engine.storage.read_events(run_id)]
    assert types[-1] == "run.canceled"
    assert "step.failed" not in types
    assert "run.failed" not in types
    return types


async def test_cancel_wins_when_a_running_step_raises_on_the_cancel(
    engine: Any, calls: Calls
) -> None:
    """A step that raises because the run was cancelled ends canceled, and so does the run."""
    reached = asyncio.Event()
    wf = Workflow("cancel-wins-step").then(_watcher(reached)).then(_after(calls)).commit()
    run = wf.create_run(engine=engine)

    result = await _cancel_when_reached(run, reached)

    assert result.status == "canceled"
    assert result.error is None
    assert result.steps["watcher"].status == "canceled"
    assert calls["after"] == 0
    types = await _assert_canceled_without_failure(engine, run.run_id)
    assert "step.canceled" in types


async def test_cancel_wins_and_a_step_raising_on_the_cancel_is_not_retried(engine: Any) -> None:
    """The error a cancel causes is not retried, whatever the step's retries."""
    reached = asyncio.Event()
    wf = Workflow("cancel-wins-retries").then(_watcher(reached, retries=3)).commit()
    run = wf.create_run(engine=engine)

    result = await _cancel_when_reached(run, reached)

    assert result.status == "canceled"
    assert result.steps["watcher"].attempts == 1
    types = await _assert_canceled_without_failure(engine, run.run_id)
    assert "step.retrying" not in types


async def test_cancel_wins_when_a_step_of_a_nested_workflow_raises_on_the_cancel(
    engine: Any, calls: Calls
) -> None:
    """The inner step, its nested workflow and the run all end canceled."""
    reached = asyncio.Event()
    inner = Workflow("cancel-wins-inner").then(_watcher(reached)).commit()
    wf = Workflow("cancel-wins-nested").then(inner).then(_after(calls)).commit()
    run = wf.create_run(engine=engine)

    result = await _cancel_when_reached(run, reached)

    assert result.status == "canceled"
    assert result.steps["cancel-wins-inner"].status == "canceled"
    stored = await engine.storage.load(run.run_id)
    assert stored.steps["cancel-wins-inner.watcher"].status == "canceled"
    assert calls["after"] == 0
    await _assert_canceled_without_failure(engine, run.run_id)


async def test_cancel_wins_when_a_loop_condition_raises_on_the_cancel(
    engine: Any, calls: Calls
) -> None:
    """A loop condition that waits for the cancel and raises ends the run canceled."""
    reached = asyncio.Event()

    @step(id="body")
    async def body(ctx: StepContext) -> dict[str, int]:
        calls.hit("body")
        return {"n": 1}

    async def until_cancelled(ctx: StepContext) -> bool:
        reached.set()
        await ctx.cancel_event.wait()
        raise RuntimeError("aborted")

    wf = Workflow("cancel-wins-loop").dountil(body, until_cancelled).then(_after(calls)).commit()
    run = wf.create_run(engine=engine)

    result = await _cancel_when_reached(run, reached)

    assert result.status == "canceled"
    assert calls["body"] == 1
    assert calls["after"] == 0
    await _assert_canceled_without_failure(engine, run.run_id)


async def test_cancel_wins_when_a_loop_condition_cancels_and_then_raises(
    engine: Any, calls: Calls
) -> None:
    """A loop condition that calls ctx.cancel() and then raises ends the run canceled."""

    @step(id="body")
    async def body(ctx: StepContext) -> dict[str, int]:
        calls.hit("body")
        return {"n": 1}

    def give_up(ctx: StepContext) -> bool:
        ctx.cancel()
        raise RuntimeError("nothing more to do")

    wf = Workflow("cancel-wins-loop-self").dowhile(body, give_up).then(_after(calls)).commit()
    run = wf.create_run(engine=engine)

    result = await run.start(input_data={})

    assert result.status == "canceled"
    assert result.error is None
    assert calls["body"] == 1
    assert calls["after"] == 0
    await _assert_canceled_without_failure(engine, run.run_id)


async def test_cancel_wins_when_a_branch_condition_cancels_and_then_raises(
    engine: Any, calls: Calls
) -> None:
    """A branch condition that calls ctx.cancel() and raises ends the run canceled, even as
    the last entry of the workflow; no arm runs."""

    def give_up(ctx: StepContext) -> bool:
        ctx.cancel()
        raise RuntimeError("nothing more to do")

    def always(ctx: StepContext) -> bool:
        return True

    wf = (
        Workflow("cancel-wins-branch-self")
        .then(_after(calls, "first"))
        .branch([(give_up, _after(calls, "arm_a")), (always, _after(calls, "arm_b"))])
        .commit()
    )
    run = wf.create_run(engine=engine)

    result = await run.start(input_data={})

    assert result.status == "canceled"
    assert calls["first"] == 1
    assert calls["arm_a"] == 0
    assert calls["arm_b"] == 0
    await _assert_canceled_without_failure(engine, run.run_id)


async def test_cancel_wins_when_a_branch_condition_raises_on_the_cancel(
    engine: Any, calls: Calls
) -> None:
    """A branch condition that waits for the cancel and raises ends the run canceled."""
    reached = asyncio.Event()

    async def until_cancelled(ctx: StepContext) -> bool:
        reached.set()
        await ctx.cancel_event.wait()
        raise RuntimeError("aborted")

    wf = (
        Workflow("cancel-wins-branch")
        .branch([(until_cancelled, _after(calls, "arm"))])
        .then(_after(calls))
        .commit()
    )
    run = wf.create_run(engine=engine)

    result = await _cancel_when_reached(run, reached)

    assert result.status == "canceled"
    assert calls["arm"] == 0
    assert calls["after"] == 0
    await _assert_canceled_without_failure(engine, run.run_id)
