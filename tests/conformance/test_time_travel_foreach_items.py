"""Time travel to a foreach re-runs only what did not succeed.

Time-travelling to a foreach whose recorded items partly succeeded, without new `input_data`,
re-executes the failed and unfinished items and keeps the recorded outputs of the ones that
succeeded. With new `input_data` every item runs. The plan preview says which items are reused.
"""

from __future__ import annotations

from typing import Any

from engines import StepContext, Workflow, step
from engines.core.fork import prepare_time_travel
from engines.core.plan import plan_fork
from engines.testing import Calls


def _tripling(wf_id: str, calls: Calls, broken: set[int], concurrency: int = 1) -> Workflow:
    """numbers -> [1, 2, 3]; foreach triple (fails for the values in `broken`); total."""

    @step(id="numbers")
    async def numbers(ctx: StepContext) -> list[int]:
        calls.hit("numbers")
        return [1, 2, 3]

    @step(id="triple")
    async def triple(ctx: StepContext) -> int:
        calls.hit("triple", ctx.input_data)
        if ctx.input_data in broken:
            raise RuntimeError(f"item {ctx.input_data} broke")
        return int(ctx.input_data) * 3

    @step(id="total")
    async def total(ctx: StepContext) -> int:
        calls.hit("total")
        return sum(ctx.input_data)

    return (
        Workflow(wf_id).then(numbers).foreach(triple, concurrency=concurrency).then(total).commit()
    )


async def test_time_travel_to_a_foreach_reruns_only_the_failed_and_unfinished_items(
    engine: Any, calls: Calls
) -> None:
    """Item 0 succeeded, item 1 failed, item 2 never ran: the fork runs items 1 and 2 only."""
    broken = {2}
    wf = _tripling("tt-foreach-partial", calls, broken)
    run = wf.create_run(engine=engine)
    source = await run.start(input_data={})
    assert source.status == "failed"
    assert calls.args["triple"] == [1, 2]
    broken.clear()

    fork = await run.time_travel("triple")

    assert fork.status == "success"
    assert calls.args["triple"] == [1, 2, 2, 3]
    assert fork.steps["triple"].output == [3, 6, 9]
    assert fork.result == 18
    assert calls["numbers"] == 1


async def test_time_travel_to_a_concurrent_foreach_reruns_only_the_failed_item(
    engine: Any, calls: Calls
) -> None:
    """All three items ran at once and only the middle one failed: only it runs again."""
    broken = {2}
    wf = _tripling("tt-foreach-concurrent", calls, broken, concurrency=3)
    run = wf.create_run(engine=engine)
    assert (await run.start(input_data={})).status == "failed"
    assert sorted(calls.args["triple"]) == [1, 2, 3]
    broken.clear()

    fork = await run.time_travel("triple")

    assert fork.status == "success"
    assert calls.args["triple"][3:] == [2]
    assert fork.steps["triple"].output == [3, 6, 9]


async def test_time_travel_to_a_foreach_with_new_input_runs_every_item(
    engine: Any, calls: Calls
) -> None:
    """New input_data: every item runs, none is reused."""
    broken = {2}
    wf = _tripling("tt-foreach-new-input", calls, broken)
    run = wf.create_run(engine=engine)
    assert (await run.start(input_data={})).status == "failed"
    broken.clear()

    fork = await run.time_travel("triple", input_data=[1, 2, 3])

    assert fork.status == "success"
    assert calls.args["triple"] == [1, 2, 1, 2, 3]
    assert fork.steps["triple"].output == [3, 6, 9]


async def test_time_travel_plan_preview_says_which_foreach_items_are_reused(
    engine: Any, calls: Calls
) -> None:
    """The preview of the fork lists the reused item and the ones that run again."""
    broken = {2}
    wf = _tripling("tt-foreach-plan", calls, broken)
    run = wf.create_run(engine=engine)
    assert (await run.start(input_data={})).status == "failed"

    prepared = await prepare_time_travel(wf, engine, run_id=run.run_id, step="triple")
    plan = dict(plan_fork(wf, prepared.snapshot.steps))

    assert plan == {
        "numbers": "reused",
        "triple": "re-executed",
        "triple[0]": "reused",
        "triple[1]": "re-executed",
        "triple[2]": "re-executed",
        "total": "re-executed",
    }
    with_input = await prepare_time_travel(
        wf, engine, run_id=run.run_id, step="triple", input_data=[1, 2, 3]
    )
    assert dict(plan_fork(wf, with_input.snapshot.steps)) == {
        "numbers": "reused",
        "triple": "re-executed",
        "total": "re-executed",
    }
