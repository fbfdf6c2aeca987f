"""Finished foreach items are stored as they finish.

While a foreach runs, each finished item's output (and its state change) is in the stored
snapshot, not only in memory; a process that dies mid-foreach and is restarted re-runs only the
unfinished items.
"""

from __future__ import annotations

import asyncio
from typing import Any

from engines import StepContext, Workflow, step
from engines.testing import Calls
from tests.conformance.interruption import Gate, abandon, another_process


def _held_at(calls: Calls, gate: Gate, value: int, concurrency: int = 1) -> Workflow:
    """foreach square over [1, 2, 3, 4]; the first run of the item `value` is held at `gate`."""

    @step(id="square")
    async def square(ctx: StepContext) -> int:
        calls.hit("square", ctx.input_data)
        ctx.set_state({f"squared_{ctx.input_data}": True})
        if ctx.input_data == value and calls.args["square"].count(value) == 1:
            await gate.hold()
        return int(ctx.input_data) ** 2

    return Workflow(f"foreach-durable-{concurrency}").foreach(square, concurrency).commit()


async def test_finished_foreach_items_are_in_the_stored_snapshot_while_the_foreach_runs(
    engine: Any, calls: Calls
) -> None:
    """Items 1 and 2 finished, item 3 is running: storage has the first two with their state."""
    gate = Gate()
    wf = _held_at(calls, gate, 3)
    run = wf.create_run(engine=engine)
    execution = asyncio.ensure_future(run.start(input_data=[1, 2, 3, 4]))
    await gate.reached.wait()

    stored = await engine.storage.load(run.run_id)

    record = stored.steps["square"]
    assert record.status == "running"
    assert record.items is not None
    finished = [(i.status, i.output) if i is not None else None for i in record.items]
    assert finished[:2] == [("success", 1), ("success", 4)]
    assert all(i is None or i[0] != "success" for i in finished[2:])
    assert stored.state == {"squared_1": True, "squared_2": True}
    gate.open()
    assert (await execution).result == [1, 4, 9, 16]


async def test_a_restarted_foreach_reruns_only_the_unfinished_items(
    engine: Any, calls: Calls
) -> None:
    """The process died while item 3 ran: the restart runs items 3 and 4 only."""
    gate = Gate()
    wf = _held_at(calls, gate, 3)
    run = wf.create_run(engine=engine)
    execution = asyncio.ensure_future(run.start(input_data=[1, 2, 3, 4]))
    await gate.reached.wait()

    result = await wf.create_run(engine=another_process(engine), run_id=run.run_id).restart()

    assert result.status == "success"
    assert result.result == [1, 4, 9, 16]
    assert calls.args["square"] == [1, 2, 3, 3, 4]
    assert result.state == {f"squared_{n}": True for n in (1, 2, 3, 4)}
    await abandon(execution, gate)


async def test_a_restarted_concurrent_foreach_reruns_only_the_unfinished_items(
    engine: Any, calls: Calls
) -> None:
    """Items run two at a time; item 2 was held while 1 finished: 2, 3 and 4 run again."""
    gate = Gate()
    wf = _held_at(calls, gate, 2, concurrency=2)
    run = wf.create_run(engine=engine)
    execution = asyncio.ensure_future(run.start(input_data=[1, 2, 3, 4]))
    await gate.reached.wait()
    stored = await engine.storage.load(run.run_id)
    assert stored.steps["square"].items[0].output == 1

    result = await wf.create_run(engine=another_process(engine), run_id=run.run_id).restart()

    assert result.status == "success"
    assert result.result == [1, 4, 9, 16]
    assert sorted(calls.args["square"]) == [1, 2, 2, 3, 4]
    await abandon(execution, gate)
