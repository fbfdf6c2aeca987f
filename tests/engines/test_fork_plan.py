"""The fork helpers behind the time-travel preview.

`plan_fork` says what a fork does with every step (reused, re-executed, skipped): each test
records a run, prepares a fork with `prepare_time_travel` (which writes nothing) and reads the
plan of the prepared records. `downstream_paths` lists what `reuse` may name;
`validate_fork_input` checks a new input, a foreach step's being the list of its items.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from engines import DefaultEngine, InMemoryStorage, StepContext, ValidationError, Workflow, step
from engines.core.fork import downstream_paths, prepare_time_travel, validate_fork_input
from engines.core.plan import plan_fork


@step
async def first(ctx: StepContext) -> Any:
    return {"n": 1}


@step
async def second(ctx: StepContext) -> Any:
    return {"n": ctx.input_data["n"] + 1}


@step
async def third(ctx: StepContext) -> Any:
    return {"n": ctx.input_data["n"] + 1}


@step
async def left(ctx: StepContext) -> Any:
    return {"side": "left"}


@step
async def right(ctx: StepContext) -> Any:
    return {"side": "right"}


@step
async def double(ctx: StepContext) -> Any:
    return ctx.input_data * 2


@step
async def listing(ctx: StepContext) -> Any:
    return [1, 2, 3]


async def _plan(
    workflow: Workflow, target: str, reuse: list[str] | None = None, input_data: Any = None
) -> dict[str, str]:
    engine = DefaultEngine(storage=InMemoryStorage(serialize=True))
    run = workflow.create_run(engine=engine)
    result = await run.start(input_data={})
    assert result.status == "success"
    execution = await prepare_time_travel(
        workflow, engine, run_id=run.run_id, step=target, input_data=input_data, reuse=reuse
    )
    return dict(plan_fork(workflow, execution.snapshot.steps))


async def test_a_linear_fork_reuses_what_precedes_the_target_and_reruns_the_rest() -> None:
    wf = Workflow("plan-linear").then(first).then(second).then(third).commit()

    plan = await _plan(wf, "second", input_data={"n": 5})

    assert plan == {"first": "reused", "second": "re-executed", "third": "re-executed"}


async def test_a_downstream_step_named_in_reuse_is_replayed() -> None:
    wf = Workflow("plan-reuse").then(first).then(second).then(third).commit()

    plan = await _plan(wf, "second", reuse=["third"])

    assert plan["third"] == "reused"


async def test_branch_arms_not_taken_before_the_target_are_skipped() -> None:
    def always(ctx: StepContext) -> bool:
        return True

    def never(ctx: StepContext) -> bool:
        return False

    wf = (
        Workflow("plan-branch")
        .then(first)
        .branch([(always, left), (never, right)])
        .then(first.clone("after"))
        .commit()
    )

    plan = await _plan(wf, "after", input_data={"n": 1})

    assert plan == {
        "first": "reused",
        "left": "reused",
        "right": "skipped",
        "after": "re-executed",
    }


async def test_branch_arms_after_the_target_run_again() -> None:
    def always(ctx: StepContext) -> bool:
        return True

    wf = Workflow("plan-branch-after").then(first).branch([(always, left), (always, right)])
    wf.commit()

    plan = await _plan(wf, "first")

    assert plan == {"first": "re-executed", "left": "re-executed", "right": "re-executed"}


async def test_a_target_inside_a_nested_workflow_reruns_its_enclosing_workflow() -> None:
    inner = Workflow("plan-inner").then(second).then(third).commit()
    wf = Workflow("plan-nested").then(first).then(inner).then(first.clone("last")).commit()

    plan = await _plan(wf, "plan-inner.third")

    assert plan == {
        "first": "reused",
        "plan-inner": "re-executed",
        "plan-inner.second": "reused",
        "plan-inner.third": "re-executed",
        "last": "re-executed",
    }


async def test_a_nested_workflow_before_the_target_is_reused_with_its_steps() -> None:
    inner = Workflow("plan-inner-kept").then(second).then(third).commit()
    wf = Workflow("plan-nested-kept").then(first).then(inner).then(first.clone("last")).commit()

    plan = await _plan(wf, "last")

    assert plan == {
        "first": "reused",
        "plan-inner-kept": "reused",
        "plan-inner-kept.second": "reused",
        "plan-inner-kept.third": "reused",
        "last": "re-executed",
    }


async def test_a_foreach_and_a_sleep_before_the_target_are_reused() -> None:
    wf = (
        Workflow("plan-foreach")
        .then(listing)
        .foreach(double, concurrency=2)
        .sleep(0, id="nap")
        .then(first.clone("end"))
        .commit()
    )

    plan = await _plan(wf, "end")

    assert plan == {"listing": "reused", "double": "reused", "nap": "reused", "end": "re-executed"}


async def test_a_foreach_target_reruns_and_its_nested_items_follow_it() -> None:
    per_item = Workflow("plan-item").then(double.clone("twice")).commit()
    wf = Workflow("plan-foreach-nested").then(listing).foreach(per_item).commit()

    plan = await _plan(wf, "plan-item", input_data=[4, 5])

    assert plan == {
        "listing": "reused",
        "plan-item": "re-executed",
        "plan-item.twice": "re-executed",
    }


def test_downstream_paths_list_later_steps_of_the_target_flow_and_of_its_enclosing_flows() -> None:
    inner = Workflow("down-inner").then(second).then(third).commit()
    wf = Workflow("down-outer").then(first).then(inner).then(first.clone("last")).commit()

    assert downstream_paths(wf, ("down-inner", "second")) == ["down-inner.third", "last"]
    assert downstream_paths(wf, ("last",)) == []


class Item(BaseModel):
    n: int


@step(input_schema=Item)
async def square(ctx: StepContext) -> Any:
    return ctx.input_data.n**2


@step
async def items(ctx: StepContext) -> Any:
    return [{"n": 1}, {"n": 2}]


SQUARES = Workflow("squares").then(items).foreach(square).commit()


def test_a_foreach_step_takes_the_list_of_its_items_as_time_travel_input() -> None:
    assert validate_fork_input(SQUARES, ("square",), [{"n": "3"}, {"n": 4}]) == [
        {"n": 3},
        {"n": 4},
    ]


def test_bad_foreach_items_are_refused_with_their_index_in_the_path() -> None:
    with pytest.raises(ValidationError) as refused:
        validate_fork_input(SQUARES, ("square",), [{"n": 1}, {"n": "x"}])

    assert [e["path"] for e in refused.value.errors] == ["1.n"]


def test_a_foreach_step_refuses_an_input_that_is_not_a_list() -> None:
    with pytest.raises(ValidationError, match="takes a list of items"):
        validate_fork_input(SQUARES, ("square",), {"n": 1})


async def test_time_travel_reruns_a_foreach_over_the_edited_items() -> None:
    engine = DefaultEngine(storage=InMemoryStorage(serialize=True))
    run = SQUARES.create_run(engine=engine)
    await run.start()

    fork = await run.time_travel("square", input_data=[{"n": 5}, {"n": 6}, {"n": 7}])

    assert fork.status == "success"
    assert fork.result == [25, 36, 49]


@step
async def broken(ctx: StepContext) -> Any:
    raise RuntimeError("broken")


async def test_a_failed_sibling_the_fork_keeps_is_planned_to_fail_and_to_stop_the_fork() -> None:
    wf = Workflow("plan-failed-sibling").parallel([broken, right]).then(third).commit()
    engine = DefaultEngine(storage=InMemoryStorage(serialize=True))
    run = wf.create_run(engine=engine)
    assert (await run.start(input_data={})).status == "failed"

    execution = await prepare_time_travel(wf, engine, run_id=run.run_id, step="right")
    plan = dict(plan_fork(wf, execution.snapshot.steps))
    fork = await run.time_travel("right")

    assert plan == {"broken": "fails", "right": "re-executed", "third": "skipped"}
    assert fork.status == "failed"
    assert fork.steps["broken"].status == "failed"
