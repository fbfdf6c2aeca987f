"""foreach: one step run over every item of a list (catalog section 9, rows F1-F11).

Timing rows are scaled to 0.1 s per item; assertions keep generous margins for a loaded CI.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from pydantic import BaseModel

from engines import Step, StepContext, Workflow
from engines.core.events import STEP_PROGRESS
from engines.testing import Calls

ITEM_SECONDS = 0.1


class Num(BaseModel):
    value: int


class Scored(BaseModel):
    name: str
    score: int


class Counter(BaseModel):
    output: int


class InFlight:
    """Tracks how many items run at the same moment."""

    def __init__(self) -> None:
        self.now = 0
        self.peak = 0

    def enter(self) -> None:
        self.now += 1
        self.peak = max(self.peak, self.now)

    def leave(self) -> None:
        self.now -= 1


def _run_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _plus_eleven_workflow(
    wf_id: str, calls: Calls, flight: InFlight, concurrency: int = 1, fail_on: int | None = None
) -> Workflow:
    """foreach(map: wait ITEM_SECONDS, value + 11) -> final (sum of values)."""

    async def add_eleven(ctx: StepContext) -> dict[str, int]:
        calls.hit("map", ctx.input_data.value)
        flight.enter()
        try:
            await asyncio.sleep(ITEM_SECONDS)
        finally:
            flight.leave()
        if fail_on is not None and ctx.input_data.value == fail_on:
            raise RuntimeError(f"cannot map {fail_on}")
        return {"value": ctx.input_data.value + 11}

    async def total(ctx: StepContext) -> dict[str, int]:
        calls.hit("final")
        return {"finalValue": sum(item.value for item in ctx.input_data)}

    mapper = Step("map", add_eleven, input_schema=Num, output_schema=Num)
    final = Step("final", total, input_schema=list[Num])
    return (
        Workflow(wf_id, input_schema=list[Num])
        .foreach(mapper, concurrency=concurrency)
        .then(final)
        .commit()
    )


async def test_f1_foreach_runs_one_item_at_a_time_by_default(engine: Any, calls: Calls) -> None:
    """F1: a default foreach runs its items one after another and feeds the list onwards."""
    flight = InFlight()
    wf = _plus_eleven_workflow("foreach-single-concurrency", calls, flight)
    items = [{"value": 1}, {"value": 22}, {"value": 333}]

    began = time.perf_counter()
    result = await wf.create_run(engine=engine, run_id=_run_id("f1")).start(input_data=items)
    elapsed = time.perf_counter() - began

    assert result.status == "success"
    assert elapsed > 3 * ITEM_SECONDS * 0.9
    assert flight.peak == 1
    assert calls["map"] == 3
    assert result.input == items
    mapped = result.steps["map"]
    assert mapped.status == "success"
    assert mapped.payload == items
    assert mapped.output == [{"value": 12}, {"value": 33}, {"value": 344}]
    final = result.steps["final"]
    assert final.status == "success"
    assert final.payload == [{"value": 12}, {"value": 33}, {"value": 344}]
    assert final.output == {"finalValue": 389}
    assert result.result == {"finalValue": 389}


async def test_f2_foreach_with_concurrency_three_runs_items_together(
    engine: Any, calls: Calls
) -> None:
    """F2: with concurrency 3 the three items overlap, so the loop takes about one item's time."""
    flight = InFlight()
    wf = _plus_eleven_workflow("foreach-concurrent", calls, flight, concurrency=3)
    items = [{"value": 1}, {"value": 22}, {"value": 333}]

    result = await wf.create_run(engine=engine, run_id=_run_id("f2")).start(input_data=items)

    assert result.status == "success"
    # The items' overlap is measured, not timed: an engine on a busy machine may take longer.
    assert flight.peak == 3
    assert result.steps["map"].output == [{"value": 12}, {"value": 33}, {"value": 344}]
    assert result.steps["final"].output == {"finalValue": 389}


async def test_f3_foreach_with_partial_concurrency_runs_in_pairs(engine: Any, calls: Calls) -> None:
    """F3: four items with concurrency 2 take about two item times and keep item order."""
    flight = InFlight()
    wf = _plus_eleven_workflow("foreach-partial-concurrency", calls, flight, concurrency=2)
    items = [{"value": 1}, {"value": 2}, {"value": 3}, {"value": 4}]

    began = time.perf_counter()
    result = await wf.create_run(engine=engine, run_id=_run_id("f3")).start(input_data=items)
    elapsed = time.perf_counter() - began

    assert result.status == "success"
    assert flight.peak == 2
    assert elapsed > 2 * ITEM_SECONDS * 0.9
    assert result.steps["map"].output == [
        {"value": 12},
        {"value": 13},
        {"value": 14},
        {"value": 15},
    ]
    assert result.steps["final"].output == {"finalValue": 54}


async def test_f4_foreach_over_an_empty_list_succeeds_with_an_empty_list(
    engine: Any, calls: Calls
) -> None:
    """F4: foreach over [] records success with output [] and the next step sees an empty list."""

    async def never(ctx: StepContext) -> dict[str, int]:
        calls.hit("map")
        return {"value": 100}

    async def count(ctx: StepContext) -> dict[str, int]:
        return {"count": len(ctx.input_data)}

    wf = (
        Workflow("foreach-empty-array", input_schema=list[Num])
        .foreach(Step("map", never, input_schema=Num, output_schema=Num))
        .then(Step("final", count, input_schema=list[Num]))
        .commit()
    )
    result = await wf.create_run(engine=engine, run_id=_run_id("f4")).start(input_data=[])

    assert result.status == "success"
    assert calls["map"] == 0
    assert result.steps["map"].status == "success"
    assert result.steps["map"].output == []
    assert result.steps["final"].output == {"count": 0}


async def test_f5_steps_before_and_after_foreach_chain_together(engine: Any, calls: Calls) -> None:
    """F5: a step producing a list feeds foreach, whose results a later step aggregates."""

    class Count(BaseModel):
        count: int

    async def generate(ctx: StepContext) -> list[dict[str, int]]:
        return [{"value": i + 1} for i in range(ctx.input_data.count)]

    async def transform(ctx: StepContext) -> dict[str, int]:
        calls.hit("transform")
        return {"doubled": ctx.input_data.value * 2}

    async def add_up(ctx: StepContext) -> dict[str, int]:
        return {"total": sum(item["doubled"] for item in ctx.input_data)}

    wf = (
        Workflow("foreach-chained", input_schema=Count)
        .then(Step("generate", generate, input_schema=Count, output_schema=list[Num]))
        .foreach(Step("transform", transform, input_schema=Num))
        .then(Step("sum", add_up))
        .commit()
    )
    result = await wf.create_run(engine=engine, run_id=_run_id("f5")).start(input_data={"count": 3})

    assert result.status == "success"
    assert calls["transform"] == 3
    assert result.steps["generate"].output == [{"value": 1}, {"value": 2}, {"value": 3}]
    assert result.steps["transform"].output == [{"doubled": 2}, {"doubled": 4}, {"doubled": 6}]
    assert result.steps["sum"].output == {"total": 12}


async def test_f6_foreach_results_aggregate_in_item_order(engine: Any) -> None:
    """F6: per-item outputs arrive at the next step in item order, ready to aggregate."""

    async def process(ctx: StepContext) -> dict[str, Any]:
        return {"name": ctx.input_data.name.upper(), "score": ctx.input_data.score * 10}

    async def aggregate(ctx: StepContext) -> dict[str, Any]:
        return {
            "names": [item.name for item in ctx.input_data],
            "totalScore": sum(item.score for item in ctx.input_data),
            "count": len(ctx.input_data),
        }

    wf = (
        Workflow("foreach-aggregate", input_schema=list[Scored])
        .foreach(Step("process", process, input_schema=Scored, output_schema=Scored))
        .then(Step("aggregate", aggregate, input_schema=list[Scored]))
        .commit()
    )
    people = [
        {"name": "alice", "score": 5},
        {"name": "bob", "score": 3},
        {"name": "charlie", "score": 7},
    ]
    result = await wf.create_run(engine=engine, run_id=_run_id("f6")).start(input_data=people)

    assert result.status == "success"
    assert result.steps["process"].output == [
        {"name": "ALICE", "score": 50},
        {"name": "BOB", "score": 30},
        {"name": "CHARLIE", "score": 70},
    ]
    assert result.steps["aggregate"].output == {
        "names": ["ALICE", "BOB", "CHARLIE"],
        "totalScore": 150,
        "count": 3,
    }


async def test_f7_state_set_by_one_foreach_item_is_seen_by_the_next(engine: Any) -> None:
    """F7: state written by an item (inside a nested workflow) is visible to later items."""

    async def expects_two(ctx: StepContext) -> int:
        if ctx.state.get("output") != 2:
            raise AssertionError(f"expected state output 2, saw {ctx.state.get('output')!r}")
        return int(ctx.input_data)

    async def writes_two(ctx: StepContext) -> int:
        ctx.set_state({"output": 2})
        return int(ctx.input_data)

    sub1 = (
        Workflow("foreach-state-s1", input_schema=int, state_schema=Counter)
        .then(Step("s1s", expects_two, input_schema=int, state_schema=Counter))
        .commit()
    )
    sub2 = (
        Workflow("foreach-state-s2", input_schema=int, state_schema=Counter)
        .then(Step("s2s", writes_two, input_schema=int, state_schema=Counter))
        .commit()
    )

    def is_one(ctx: StepContext) -> bool:
        return bool(ctx.input_data == 1)

    def is_two(ctx: StepContext) -> bool:
        return bool(ctx.input_data == 2)

    def add_arms(ctx: StepContext) -> int:
        arms = ctx.input_data or {}
        return int(arms.get("foreach-state-s1", 0)) + int(arms.get("foreach-state-s2", 0))

    routing = (
        Workflow("foreach-state-routing", input_schema=int, state_schema=Counter)
        .branch([(is_one, sub1), (is_two, sub2)])
        .map(add_arms)
        .commit()
    )
    wf = (
        Workflow("foreach-state-batch", input_schema=list[int], state_schema=Counter)
        .foreach(routing)
        .commit()
    )
    result = await wf.create_run(engine=engine, run_id=_run_id("f7")).start(
        input_data=[2, 1], initial_state={"output": 0}
    )

    assert result.status == "success"
    assert result.state == {"output": 2}
    assert result.steps["foreach-state-routing"].output == [2, 1]


async def test_f8_a_bail_inside_foreach_ends_the_run_with_the_bail_value(
    engine: Any, calls: Calls
) -> None:
    """F8: an item that bails stops the foreach; the run succeeds with the bail value."""

    async def maybe_bail(ctx: StepContext) -> int:
        calls.hit("bail-step", ctx.input_data)
        if ctx.state.get("output", 0) > 1:
            ctx.bail([15])
        ctx.set_state({"output": ctx.input_data})
        return int(ctx.input_data)

    wf = (
        Workflow("foreach-bail", input_schema=list[int], state_schema=Counter)
        .foreach(Step("bail-step", maybe_bail, input_schema=int, state_schema=Counter))
        .commit()
    )
    result = await wf.create_run(engine=engine, run_id=_run_id("f8")).start(
        input_data=[1, 2, 3, 4], initial_state={"output": 0}
    )

    assert result.status == "success"
    assert result.state["output"] == 2
    assert result.result == [15]
    assert calls.args["bail-step"] == [1, 2, 3]


async def _progress_events(wf: Workflow, engine: Any, run_id: str, items: Any) -> list[Any]:
    run = wf.create_run(engine=engine, run_id=run_id)
    events = [event async for event in run.stream(input_data=items)]
    assert events, "the stream yielded no events"
    assert events[-1].is_terminal
    return [
        e
        for e in events
        if e.type == STEP_PROGRESS
        and tuple(e.path) == ("map",)
        and e.payload.get("kind") == "foreach"
    ]


async def test_f9_foreach_emits_one_progress_event_per_item(engine: Any, calls: Calls) -> None:
    """F9: streaming a foreach yields one step.progress event per item, in order."""
    wf = _plus_eleven_workflow("foreach-progress", calls, InFlight())
    items = [{"value": 1}, {"value": 22}, {"value": 333}]

    progress = await _progress_events(wf, engine, _run_id("f9"), items)

    assert len(progress) == 3
    assert [e.payload["completed_count"] for e in progress] == [1, 2, 3]
    assert [e.payload["total_count"] for e in progress] == [3, 3, 3]
    assert [e.payload["current_index"] for e in progress] == [0, 1, 2]
    assert [e.payload["iteration_status"] for e in progress] == ["success"] * 3
    assert [e.payload["iteration_output"] for e in progress] == [
        {"value": 12},
        {"value": 33},
        {"value": 344},
    ]


async def test_f10_concurrent_foreach_emits_one_progress_event_per_item(
    engine: Any, calls: Calls
) -> None:
    """F10: with concurrency 2 there are still exactly three progress events, all successes."""
    wf = _plus_eleven_workflow("foreach-progress-concurrent", calls, InFlight(), concurrency=2)
    items = [{"value": 1}, {"value": 22}, {"value": 333}]

    progress = await _progress_events(wf, engine, _run_id("f10"), items)

    assert len(progress) == 3
    assert all(e.payload["total_count"] == 3 for e in progress)
    assert all(e.payload["iteration_status"] == "success" for e in progress)
    assert sorted(e.payload["current_index"] for e in progress) == [0, 1, 2]
    assert progress[-1].payload["completed_count"] == 3


async def test_f11_a_failing_item_is_reported_with_failed_iteration_status(
    engine: Any, calls: Calls
) -> None:
    """F11: when an item fails, its progress event carries iteration_status 'failed'."""
    wf = _plus_eleven_workflow("foreach-progress-fail", calls, InFlight(), fail_on=22)
    items = [{"value": 1}, {"value": 22}, {"value": 333}]

    progress = await _progress_events(wf, engine, _run_id("f11"), items)

    assert len(progress) >= 1
    first = progress[0].payload
    assert first["completed_count"] == 1
    assert first["total_count"] == 3
    assert first["current_index"] == 0
    assert first["iteration_status"] == "success"
    failed = [e.payload for e in progress if e.payload["iteration_status"] == "failed"]
    assert len(failed) == 1
    assert failed[0]["current_index"] == 1


# -- retries of items ---------------------------------------------------------------------------


async def test_a_retried_foreach_item_emits_a_retrying_event_for_that_item(engine: Any) -> None:
    """An item that fails once and then succeeds emits one step.retrying, on the item's path
    (`step[index]`), with the attempt number, the error and the item's index."""
    attempts: dict[int, int] = {}

    async def flaky(ctx: StepContext) -> int:
        value = int(ctx.input_data)
        attempts[value] = attempts.get(value, 0) + 1
        if value == 2 and attempts[value] == 1:
            raise RuntimeError("flaky item")
        return value * 10

    wf = Workflow("foreach-item-retry").foreach(Step("flaky", flaky, retries=2)).commit()
    run = wf.create_run(engine=engine, run_id=_run_id("f-retry"))

    result = await run.start(input_data=[1, 2, 3])

    assert result.status == "success"
    assert result.result == [10, 20, 30]
    retrying = [
        e for e in await engine.storage.read_events(run.run_id) if e.type == "step.retrying"
    ]
    assert len(retrying) == 1
    assert retrying[0].path == ("flaky[1]",)
    assert retrying[0].payload["attempt"] == 1
    assert retrying[0].payload["for_each_index"] == 1
    assert retrying[0].payload["error"]["message"] == "flaky item"
    assert result.steps["flaky"].items[1].attempts == 2
