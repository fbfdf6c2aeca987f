"""Restart keeps resume data.

A run whose process died while a resumed step was executing has that step recorded as running
with its `resume_payload`. Restarting the run (from another process) runs the step again with
the same resume data, at the top level and inside a nested workflow, instead of suspending it
again. Falsy resume data (`False`, `0`, `""`) is resume data too.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from engines import StepContext, Workflow, step
from tests.conformance.interruption import Gate, abandon, another_process


def _approval(seen: list[Any], gate: Gate) -> Any:
    """Suspends until resumed; the first resumed attempt is held at the gate."""

    @step(id="approve")
    async def approve(ctx: StepContext) -> dict[str, Any]:
        if ctx.resume_data is None:
            ctx.suspend({"question": "ok?"})
        seen.append(ctx.resume_data)
        if len(seen) == 1:
            await gate.hold()
        return {"answer": ctx.resume_data}

    return approve


@pytest.mark.parametrize("data", [{"approved": True}, False, 0, ""], ids=repr)
async def test_restart_keeps_resume_data_of_a_step_resumed_when_the_process_died(
    engine: Any, data: Any
) -> None:
    """The resumed step runs again with the same resume data and the run succeeds."""
    seen: list[Any] = []
    gate = Gate()
    wf = Workflow("restart-resume-data").then(_approval(seen, gate)).commit()
    run = wf.create_run(engine=engine)
    assert (await run.start(input_data={})).status == "suspended"
    execution = asyncio.ensure_future(run.resume(data))
    await gate.reached.wait()
    stored = await engine.storage.load(run.run_id)
    assert stored.steps["approve"].status == "running"
    assert stored.steps["approve"].resume_payload == data

    result = await wf.create_run(engine=another_process(engine), run_id=run.run_id).restart()

    assert result.status == "success"
    assert result.steps["approve"].output == {"answer": data}
    assert result.steps["approve"].resume_payload == data
    assert seen == [data, data]
    await abandon(execution, gate)


async def test_restart_keeps_resume_data_of_a_step_resumed_inside_a_nested_workflow(
    engine: Any,
) -> None:
    """The inner step of a nested workflow gets its resume data back on restart."""
    seen: list[Any] = []
    gate = Gate()
    inner = Workflow("restart-resume-inner").then(_approval(seen, gate)).commit()
    wf = Workflow("restart-resume-nested").then(inner).commit()
    run = wf.create_run(engine=engine)
    assert (await run.start(input_data={})).status == "suspended"
    execution = asyncio.ensure_future(run.resume({"approved": "yes"}))
    await gate.reached.wait()

    result = await wf.create_run(engine=another_process(engine), run_id=run.run_id).restart()

    assert result.status == "success"
    assert result.steps["restart-resume-inner"].output == {"answer": {"approved": "yes"}}
    assert seen == [{"approved": "yes"}, {"approved": "yes"}]
    await abandon(execution, gate)


async def test_restart_of_a_step_that_was_not_resumed_gives_it_no_resume_data(
    engine: Any,
) -> None:
    """A step interrupted on its first run (never resumed) restarts without resume data."""
    seen: list[Any] = []
    gate = Gate()

    @step(id="work")
    async def work(ctx: StepContext) -> dict[str, Any]:
        seen.append(ctx.resume_data)
        if len(seen) == 1:
            await gate.hold()
        return {"resumed_with": ctx.resume_data}

    wf = Workflow("restart-no-resume-data").then(work).commit()
    run = wf.create_run(engine=engine)
    execution = asyncio.ensure_future(run.start(input_data={}))
    await gate.reached.wait()

    result = await wf.create_run(engine=another_process(engine), run_id=run.run_id).restart()

    assert result.status == "success"
    assert result.steps["work"].output == {"resumed_with": None}
    assert seen == [None, None]
    await abandon(execution, gate)
