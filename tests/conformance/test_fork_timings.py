"""The recorded timings of a time-travel fork describe the fork.

A step the fork re-executes starts when the fork runs it: a re-executed foreach has a
`started_at` and an `ended_at`, and a nested workflow enclosing the fork's target starts with
the fork, not with the source run.
"""

from __future__ import annotations

from typing import Any

from engines import StepContext, Workflow, step


@step(id="numbers")
async def numbers(ctx: StepContext) -> list[int]:
    return [1, 2]


@step(id="double")
async def double(ctx: StepContext) -> int:
    return int(ctx.input_data) * 2


@step(id="authorize")
async def authorize(ctx: StepContext) -> dict[str, bool]:
    return {"authorized": True}


@step(id="capture")
async def capture(ctx: StepContext) -> dict[str, bool]:
    return {"captured": True}


async def _finished_at(engine: Any, run_id: str) -> float:
    stored = await engine.storage.load(run_id)
    assert stored is not None
    assert stored.finished_at is not None
    return float(stored.finished_at)


async def test_a_re_executed_foreach_of_a_fork_has_its_own_start_and_end(engine: Any) -> None:
    """The fork's foreach record starts after the source ended, and ends after it starts."""
    wf = Workflow("fork-timing-foreach").then(numbers).foreach(double).commit()
    run = wf.create_run(engine=engine)
    assert (await run.start(input_data={})).status == "success"
    source_end = await _finished_at(engine, run.run_id)

    fork = await run.time_travel("double", input_data=[3, 4])

    record = fork.steps["double"]
    assert fork.result == [6, 8]
    assert record.started_at is not None
    assert record.ended_at is not None
    assert source_end <= record.started_at <= record.ended_at


async def test_a_nested_workflow_enclosing_the_fork_target_starts_with_the_fork(
    engine: Any,
) -> None:
    """Forking from `payment.capture`: the `payment` record spans the fork only."""
    payment = Workflow("payment").then(authorize).then(capture).commit()
    wf = Workflow("fork-timing-nested").then(payment).commit()
    run = wf.create_run(engine=engine)
    source = await run.start(input_data={})
    assert source.status == "success"
    source_end = await _finished_at(engine, run.run_id)

    fork = await run.time_travel("payment.capture")

    record = fork.steps["payment"]
    assert record.status == "success"
    assert record.started_at is not None
    assert record.ended_at is not None
    assert source_end <= record.started_at <= record.ended_at
    assert fork.steps["payment"].started_at != source.steps["payment"].started_at
