"""Breakpoints: a run pauses before the steps they name, wherever those steps are, and goes on
with `continue_run()` (to the next breakpoint) or `next_step()` (one step)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from engines import (
    BreakpointError,
    InvalidRunStateError,
    Step,
    StepContext,
    Workflow,
)
from engines.testing import Calls


def _run_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _counting(step_id: str, calls: Calls, value: Any = None) -> Step:
    async def execute(ctx: StepContext) -> Any:
        calls.hit(step_id)
        return value if value is not None else {"from": step_id}

    return Step(step_id, execute)


async def _paused_events(engine: Any, run_id: str) -> list[dict[str, Any]]:
    return [e.payload for e in await engine.storage.read_events(run_id) if e.type == "run.paused"]


async def test_a_run_pauses_before_a_step_of_a_parallel_block_while_its_sibling_runs(
    engine: Any, calls: Calls
) -> None:
    """Only the named arm waits; the other arm runs, and nothing after the block starts."""
    wf = (
        Workflow("bp-parallel")
        .parallel([_counting("left", calls), _counting("right", calls)])
        .then(_counting("after", calls))
        .commit()
    )
    run = wf.create_run(engine=engine, run_id=_run_id("bp-par"))

    result = await run.start(input_data={}, breakpoints=["right"])

    assert result.status == "paused"
    assert result.paused_at == [["right"]]
    assert set(result.steps) == {"left"}
    assert (calls["left"], calls["right"], calls["after"]) == (1, 0, 0)
    assert await _paused_events(engine, run.run_id) == [{"paused_at": [["right"]]}]


async def test_continue_runs_the_paused_step_and_finishes_without_pausing_on_it_again(
    engine: Any, calls: Calls
) -> None:
    """The step a run paused before runs once on continue; finished steps are not run again."""
    wf = (
        Workflow("bp-continue")
        .parallel([_counting("left", calls), _counting("right", calls)])
        .then(_counting("after", calls, {"done": True}))
        .commit()
    )
    run = wf.create_run(engine=engine, run_id=_run_id("bp-cont"))
    await run.start(input_data={}, breakpoints=["right"])

    result = await run.continue_run()

    assert result.status == "success"
    assert result.result == {"done": True}
    assert result.paused_at == []
    assert (calls["left"], calls["right"], calls["after"]) == (1, 1, 1)


async def test_a_breakpoint_in_a_loop_body_pauses_before_every_iteration(
    engine: Any, calls: Calls
) -> None:
    """Each continue runs one iteration (from the previous one's output) and pauses again."""

    async def add_one(ctx: StepContext) -> dict[str, int]:
        calls.hit("add")
        return {"n": ctx.input_data["n"] + 1}

    async def reached_three(ctx: StepContext) -> bool:
        return bool(ctx.input_data["n"] >= 3)

    wf = Workflow("bp-loop").dountil(Step("add", add_one), reached_three).commit()
    run = wf.create_run(engine=engine, run_id=_run_id("bp-loop"))

    result = await run.start(input_data={"n": 0}, breakpoints=["add"])
    seen = []
    while result.status == "paused":
        assert result.paused_at == [["add"]]
        seen.append(calls["add"])
        result = await run.continue_run()

    assert result.status == "success"
    assert result.result == {"n": 3}
    assert seen == [0, 1, 2]
    assert calls["add"] == 3
    assert result.steps["add"].iteration == 3


async def test_a_breakpoint_on_a_foreach_pauses_before_any_item_runs(
    engine: Any, calls: Calls
) -> None:
    """The foreach is one step: nothing of it starts before the run continues."""

    async def double(ctx: StepContext) -> int:
        calls.hit("double")
        return int(ctx.input_data) * 2

    wf = Workflow("bp-foreach").foreach(Step("double", double), concurrency=2).commit()
    run = wf.create_run(engine=engine, run_id=_run_id("bp-fe"))

    paused = await run.start(input_data=[1, 2, 3], breakpoints=["double"])
    assert (paused.status, paused.paused_at, calls["double"]) == ("paused", [["double"]], 0)
    assert "double" not in paused.steps

    result = await run.continue_run()
    assert result.status == "success"
    assert result.result == [2, 4, 6]
    assert calls["double"] == 3


async def test_a_breakpoint_inside_a_foreach_of_a_nested_workflow_pauses_in_each_item(
    engine: Any, calls: Calls
) -> None:
    """Every item pauses before the named inner step; its path names the item."""

    async def check(ctx: StepContext) -> dict[str, int]:
        calls.hit("check")
        return {"v": ctx.input_data["v"]}

    inner = (
        Workflow("items")
        .then(_counting("prepare", calls, {"v": 0}))
        .then(Step("check", check))
        .commit()
    )
    wf = Workflow("bp-foreach-nested").foreach(inner).commit()
    run = wf.create_run(engine=engine, run_id=_run_id("bp-fen"))

    result = await run.start(input_data=[{}, {}], breakpoints=["items/check"])
    stops = []
    while result.status == "paused":
        stops.append(result.paused_at)
        result = await run.continue_run()

    assert stops == [[["items[0]", "check"]], [["items[1]", "check"]]]
    assert result.status == "success"
    assert result.result == [{"v": 0}, {"v": 0}]
    assert (calls["prepare"], calls["check"]) == (2, 2)


async def test_a_breakpoint_inside_a_nested_workflow_pauses_there(
    engine: Any, calls: Calls
) -> None:
    """A dotted path, a slash path or the bare id: the run pauses inside the nested workflow."""
    for name in ("payment.charge", "payment/charge", "charge"):
        inner = (
            Workflow("payment")
            .then(_counting("quote", calls))
            .then(_counting("charge", calls, {"paid": True}))
            .commit()
        )
        wf = Workflow("bp-nested").then(inner).then(_counting("ship", calls)).commit()
        run = wf.create_run(engine=engine, run_id=_run_id("bp-nest"))

        paused = await run.start(input_data={}, breakpoints=[name])
        assert paused.status == "paused"
        assert paused.paused_at == [["payment", "charge"]]
        assert paused.steps["payment"].status == "paused"

        result = await run.continue_run()
        assert result.status == "success"
        assert result.steps["payment"].output == {"paid": True}
    assert (calls["quote"], calls["charge"], calls["ship"]) == (3, 3, 3)


async def test_next_step_runs_the_paused_step_and_pauses_before_the_following_one(
    engine: Any, calls: Calls
) -> None:
    """`next_step()` from a breakpoint is per-step mode: one step, then a pause."""
    wf = (
        Workflow("bp-next")
        .then(_counting("one", calls))
        .then(_counting("two", calls))
        .then(_counting("three", calls))
        .commit()
    )
    run = wf.create_run(engine=engine, run_id=_run_id("bp-next"))
    await run.start(input_data={}, breakpoints=["two"])

    stepped = await run.next_step()

    assert stepped.status == "paused"
    assert stepped.paused_at == [["three"]]
    assert (calls["one"], calls["two"], calls["three"]) == (1, 1, 0)
    snap = await engine.storage.load(run.run_id)
    assert (snap.per_step, snap.breakpoints) == (True, ["two"])

    result = await run.continue_run()
    assert result.status == "success"
    assert (calls["one"], calls["two"], calls["three"]) == (1, 1, 1)


async def test_a_paused_run_reloads_with_its_breakpoints_and_continues_from_another_handle(
    engine: Any, calls: Calls
) -> None:
    """The snapshot holds the breakpoints, the per-step flag and where the run paused."""
    wf = Workflow("bp-reload").then(_counting("a", calls)).then(_counting("b", calls)).commit()
    run_id = _run_id("bp-reload")
    await wf.create_run(engine=engine, run_id=run_id).start(input_data={}, breakpoints=["b"])

    snap = await engine.storage.load(run_id)
    assert (snap.status, snap.breakpoints, snap.per_step, snap.paused_at) == (
        "paused",
        ["b"],
        False,
        [["b"]],
    )
    result = await wf.create_run(engine=engine, run_id=run_id).continue_run()
    assert result.status == "success"
    assert (calls["a"], calls["b"]) == (1, 1)


async def test_continue_can_replace_the_breakpoints(engine: Any, calls: Calls) -> None:
    """Breakpoints given to continue replace the run's; an empty list clears them."""
    wf = Workflow("bp-replace")
    for sid in ("a", "b", "c", "d"):
        wf = wf.then(_counting(sid, calls))
    wf = wf.commit()
    run = wf.create_run(engine=engine, run_id=_run_id("bp-replace"))
    await run.start(input_data={}, breakpoints=["b", "c"])

    moved = await run.continue_run(breakpoints=["d"])
    assert (moved.status, moved.paused_at) == ("paused", [["d"]])
    assert calls["c"] == 1

    done = await run.continue_run(breakpoints=[])
    assert done.status == "success"
    assert (await engine.storage.load(run.run_id)).breakpoints == []


async def test_a_paused_branch_arm_stays_chosen_when_the_run_continues(
    engine: Any, calls: Calls
) -> None:
    """Conditions are not asked again: the arm that paused runs, the other never does."""

    def yes(ctx: StepContext) -> bool:
        return True

    def no(ctx: StepContext) -> bool:
        return False

    wf = (
        Workflow("bp-branch")
        .branch([(yes, _counting("taken", calls)), (no, _counting("other", calls))])
        .commit()
    )
    run = wf.create_run(engine=engine, run_id=_run_id("bp-branch"))
    paused = await run.start(input_data={}, breakpoints=["taken"])
    assert paused.paused_at == [["taken"]]

    result = await run.continue_run()
    assert result.status == "success"
    assert (calls["taken"], calls["other"]) == (1, 0)


async def test_canceling_a_paused_run_ends_it_canceled_without_running_the_paused_step(
    engine: Any, calls: Calls
) -> None:
    """Cancel while paused: the run ends canceled and the step it paused before never runs."""
    wf = Workflow("bp-cancel").then(_counting("a", calls)).then(_counting("b", calls)).commit()
    run = wf.create_run(engine=engine, run_id=_run_id("bp-cancel"))
    await run.start(input_data={}, breakpoints=["b"])

    assert await run.cancel() is True

    snap = await engine.storage.load(run.run_id)
    assert snap.status == "canceled"
    assert snap.paused_at == []
    assert calls["b"] == 0
    with pytest.raises(InvalidRunStateError):
        await run.continue_run()


async def test_time_travel_with_breakpoints_pauses_the_fork(engine: Any, calls: Calls) -> None:
    """The fork pauses before a named step after the target; the source run is untouched."""
    wf = (
        Workflow("bp-travel")
        .then(_counting("a", calls))
        .then(_counting("b", calls))
        .then(_counting("c", calls, {"end": True}))
        .commit()
    )
    run = wf.create_run(engine=engine, run_id=_run_id("bp-travel"))
    assert (await run.start(input_data={})).status == "success"

    fork = await run.time_travel("b", breakpoints=["c"])

    assert fork.status == "paused"
    assert fork.paused_at == [["c"]]
    assert fork.parent_run_id == run.run_id
    assert (calls["a"], calls["b"], calls["c"]) == (1, 2, 1)
    result = await wf.create_run(engine=engine, run_id=fork.run_id).continue_run()
    assert result.status == "success"
    assert calls["c"] == 2
    assert (await engine.storage.load(run.run_id)).status == "success"


async def test_a_breakpoint_on_the_time_travel_target_pauses_before_it(
    engine: Any, calls: Calls
) -> None:
    """The target itself can be a breakpoint: the fork stops before re-running it."""
    wf = Workflow("bp-target").then(_counting("a", calls)).then(_counting("b", calls)).commit()
    run = wf.create_run(engine=engine, run_id=_run_id("bp-target"))
    await run.start(input_data={})

    fork = await run.time_travel("b", breakpoints=["b"])

    assert (fork.status, fork.paused_at, calls["b"]) == ("paused", [["b"]], 1)


async def test_a_breakpoint_that_names_no_step_is_refused_before_anything_is_stored(
    engine: Any,
) -> None:
    """`BreakpointError` (a `ValidationError`) names each bad breakpoint by its index."""
    wf = Workflow("bp-bad").then(_counting("a", Calls())).commit()
    run = wf.create_run(engine=engine, run_id=_run_id("bp-bad"))

    with pytest.raises(BreakpointError) as info:
        await run.start(input_data={}, breakpoints=["a", "nope", 3])

    assert [e["path"] for e in info.value.errors] == ["breakpoints.1", "breakpoints.2"]
    assert "nope" in info.value.errors[0]["message"]
    assert await engine.storage.load(run.run_id) is None


async def test_continuing_a_run_that_is_not_paused_is_refused(engine: Any, calls: Calls) -> None:
    """Only a paused run continues."""
    wf = Workflow("bp-not-paused").then(_counting("a", calls)).commit()
    run = wf.create_run(engine=engine, run_id=_run_id("bp-np"))
    await run.start(input_data={})

    with pytest.raises(InvalidRunStateError):
        await run.continue_run()
    assert calls["a"] == 1


async def test_stepping_through_a_loop_keeps_its_iterations(engine: Any, calls: Calls) -> None:
    """Per-step mode pauses between iterations without starting the loop over."""

    async def add_one(ctx: StepContext) -> dict[str, int]:
        calls.hit("add")
        return {"n": ctx.input_data["n"] + 1}

    async def below_three(ctx: StepContext) -> bool:
        return bool(ctx.input_data["n"] < 3)

    wf = Workflow("bp-loop-steps").dowhile(Step("add", add_one), below_three).commit()
    run = wf.create_run(engine=engine, run_id=_run_id("bp-loop-steps"))

    result = await run.start(input_data={"n": 0}, per_step=True)
    stops = 0
    while result.status == "paused" and stops < 10:
        stops += 1
        result = await run.next_step()

    assert result.status == "success"
    assert result.result == {"n": 3}
    assert calls["add"] == 3


async def test_a_breakpoint_on_a_sleep_pauses_before_it_waits(engine: Any, calls: Calls) -> None:
    """A sleep is a step of the walk too: it can be named and paused before."""
    wf = (
        Workflow("bp-sleep")
        .then(_counting("before", calls, {"v": 1}))
        .sleep(0.01, id="nap")
        .then(_counting("after", calls, {"v": 2}))
        .commit()
    )
    run = wf.create_run(engine=engine, run_id=_run_id("bp-sleep"))

    paused = await run.start(input_data={}, breakpoints=["nap"])
    assert (paused.status, paused.paused_at, calls["after"]) == ("paused", [["nap"]], 0)

    result = await run.continue_run()
    assert result.status == "success"
    assert result.result == {"v": 2}


async def test_a_branch_arm_that_paused_runs_on_continue_beside_the_arm_that_ran(
    engine: Any, calls: Calls
) -> None:
    """Both arms were chosen: the one that ran is kept, the paused one runs when continued."""

    def yes(ctx: StepContext) -> bool:
        return True

    wf = (
        Workflow("bp-branch-both")
        .branch([(yes, _counting("first", calls)), (yes, _counting("second", calls))])
        .commit()
    )
    run = wf.create_run(engine=engine, run_id=_run_id("bp-branch-both"))
    paused = await run.start(input_data={}, breakpoints=["second"])
    assert (paused.paused_at, set(paused.steps)) == ([["second"]], {"first"})

    result = await run.continue_run()
    assert result.status == "success"
    assert result.result == {"first": {"from": "first"}, "second": {"from": "second"}}
    assert (calls["first"], calls["second"]) == (1, 1)
