"""A fork starts from the state its source had at the fork point.

A time-travel fork's `ctx.state` at the target step equals the source run's state just before
that step ran in the source run: changes made by every foreach item and by every loop
iteration included, not only the last.
"""

from __future__ import annotations

from typing import Any

from engines import StepContext, Workflow, step


def _recording_target(seen: list[dict[str, Any]]) -> Any:
    @step(id="target")
    async def target(ctx: StepContext) -> dict[str, Any]:
        seen.append(ctx.state)
        ctx.set_state({"target_ran": len(seen)})
        return {"keys": sorted(ctx.state)}

    return target


@step(id="items")
async def items(ctx: StepContext) -> list[int]:
    return [1, 2, 3]


@step(id="mark_item")
async def mark_item(ctx: StepContext) -> int:
    ctx.set_state({f"item_{ctx.input_data}": ctx.input_data * 10})
    return int(ctx.input_data)


@step(id="count_up")
async def count_up(ctx: StepContext) -> dict[str, int]:
    n = int(ctx.input_data.get("n", 0)) + 1
    ctx.set_state({f"iteration_{n}": n, "last": n})
    return {"n": n}


def _three_times(ctx: StepContext) -> bool:
    return bool(ctx.input_data["n"] >= 3)


async def test_a_fork_after_a_foreach_starts_with_every_items_state(engine: Any) -> None:
    """State set by each foreach item is in the fork's state at the target."""
    seen: list[dict[str, Any]] = []
    wf = (
        Workflow("fork-state-foreach")
        .then(items)
        .foreach(mark_item, concurrency=2)
        .then(_recording_target(seen))
        .commit()
    )
    run = wf.create_run(engine=engine)
    assert (await run.start(input_data={}, initial_state={"seed": 1})).status == "success"

    fork = await run.time_travel("target")

    assert fork.status == "success"
    assert seen[0] == {"seed": 1, "item_1": 10, "item_2": 20, "item_3": 30}
    assert seen[1] == seen[0]


async def test_a_fork_after_a_loop_starts_with_every_iterations_state(engine: Any) -> None:
    """State set by each loop iteration, not only the last, is in the fork's state."""
    seen: list[dict[str, Any]] = []
    wf = (
        Workflow("fork-state-loop")
        .dountil(count_up, _three_times)
        .then(_recording_target(seen))
        .commit()
    )
    run = wf.create_run(engine=engine)
    assert (await run.start(input_data={})).status == "success"

    fork = await run.time_travel("target")

    assert fork.status == "success"
    expected = {"iteration_1": 1, "iteration_2": 2, "iteration_3": 3, "last": 3}
    assert seen[0] == expected
    assert seen[1] == expected


async def test_a_fork_after_a_loop_over_a_nested_workflow_keeps_every_iterations_state(
    engine: Any,
) -> None:
    """The loop body is a nested workflow: each iteration's inner changes are kept."""
    seen: list[dict[str, Any]] = []
    body = Workflow("fork-state-body").then(count_up).commit()
    wf = (
        Workflow("fork-state-nested-loop")
        .dountil(body, _three_times)
        .then(_recording_target(seen))
        .commit()
    )
    run = wf.create_run(engine=engine)
    assert (await run.start(input_data={})).status == "success"

    fork = await run.time_travel("target")

    assert fork.status == "success"
    assert seen[1] == seen[0] == {"iteration_1": 1, "iteration_2": 2, "iteration_3": 3, "last": 3}


async def test_a_fork_does_not_start_with_state_set_at_or_after_the_fork_point(
    engine: Any,
) -> None:
    """The target's own change, and what later steps set, are not in the fork's start state."""
    seen: list[dict[str, Any]] = []

    @step(id="later")
    async def later(ctx: StepContext) -> dict[str, int]:
        ctx.set_state({"later": 1})
        return {}

    wf = (
        Workflow("fork-state-cut")
        .then(items)
        .foreach(mark_item)
        .then(_recording_target(seen))
        .then(later)
        .commit()
    )
    run = wf.create_run(engine=engine)
    done = await run.start(input_data={})
    assert done.state == {"item_1": 10, "item_2": 20, "item_3": 30, "target_ran": 1, "later": 1}

    fork = await run.time_travel("target")

    assert seen[1] == {"item_1": 10, "item_2": 20, "item_3": 30}
    assert fork.state == {"item_1": 10, "item_2": 20, "item_3": 30, "target_ran": 2, "later": 1}
