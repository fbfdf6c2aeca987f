"""Catalog section 23, streaming domain (names only in the catalog; ids STR1-STR5 here).

`run.stream(...)` starts the run and yields its `Event`s as they happen, ending with the terminal
run event; `run.resume_stream(...)` does the same for a resume.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from pydantic import BaseModel

from engines import Event, StepContext, Workflow, step
from engines.core.engine import Engine
from engines.testing import Calls


async def collect(stream: AsyncIterator[Event]) -> list[Event]:
    return [event async for event in stream]


def step_events(events: list[Event], kind: str) -> list[tuple[str, ...]]:
    """The paths of the events of one type, in order."""
    return [e.path for e in events if e.type == kind]


def counted_step(step_id: str, calls: Calls) -> Any:
    @step(id=step_id)
    async def run_once(ctx: StepContext) -> dict[str, Any]:
        calls.hit(step_id)
        return {"value": f"{step_id}-done"}

    return run_once


async def test_str1_a_streamed_run_yields_its_events_and_ends_with_success(
    engine: Engine, calls: Calls
) -> None:
    """STR1: streaming a two-step run yields both steps' events and ends with run.succeeded."""
    wf = (
        Workflow("streaming-basic")
        .then(counted_step("step1", calls))
        .then(counted_step("step2", calls))
        .commit()
    )
    run = wf.create_run(engine=engine, run_id="str1-run")

    events = await collect(run.stream(input_data={}))

    assert events[0].type == "run.started"
    assert events[-1].type == "run.succeeded"
    assert step_events(events, "step.succeeded") == [("step1",), ("step2",)]
    assert (calls["step1"], calls["step2"]) == (1, 1)
    assert all(e.run_id == "str1-run" for e in events)


async def test_str1_the_streamed_run_is_stored_with_its_result(
    engine: Engine, calls: Calls
) -> None:
    """STR1: after the stream ends the stored run is success with the last step's output."""
    wf = (
        Workflow("streaming-basic")
        .then(counted_step("step1", calls))
        .then(counted_step("step2", calls))
        .commit()
    )

    await collect(wf.create_run(engine=engine, run_id="str1-run").stream(input_data={}))

    snapshot = await engine.storage.load("str1-run")
    assert snapshot is not None
    assert snapshot.status == "success"
    assert snapshot.result == {"value": "step2-done"}
    assert snapshot.steps["step1"].output == {"value": "step1-done"}


async def test_str2_the_stream_follows_the_step_execution_order(
    engine: Engine, calls: Calls
) -> None:
    """STR2: each step starts after the previous one succeeded, in chain order."""
    wf = (
        Workflow("streaming-order")
        .then(counted_step("step1", calls))
        .then(counted_step("step2", calls))
        .then(counted_step("step3", calls))
        .commit()
    )

    events = await collect(wf.create_run(engine=engine).stream(input_data={}))

    step_trace = [(e.type, e.path[0]) for e in events if e.type.startswith("step.")]
    assert step_trace == [
        ("step.started", "step1"),
        ("step.succeeded", "step1"),
        ("step.started", "step2"),
        ("step.succeeded", "step2"),
        ("step.started", "step3"),
        ("step.succeeded", "step3"),
    ]


async def test_str2_the_stored_result_lists_steps_in_execution_order(
    engine: Engine, calls: Calls
) -> None:
    """STR2: the run's step records are in execution order."""
    wf = (
        Workflow("streaming-order")
        .then(counted_step("step1", calls))
        .then(counted_step("step2", calls))
        .then(counted_step("step3", calls))
        .commit()
    )

    await collect(wf.create_run(engine=engine, run_id="str2-run").stream(input_data={}))

    snapshot = await engine.storage.load("str2-run")
    assert snapshot is not None
    assert list(snapshot.to_result().steps) == ["step1", "step2", "step3"]


class Tally(BaseModel):
    count: int
    seen: list[str] = []


@step(id="count-up")
async def count_up(ctx: StepContext) -> dict[str, Any]:
    ctx.set_state({"count": ctx.state["count"] + 1, "seen": [*ctx.state["seen"], "count-up"]})
    return {"count": ctx.state["count"]}


@step(id="count-again")
async def count_again(ctx: StepContext) -> dict[str, Any]:
    ctx.set_state({"count": ctx.state["count"] + 10, "seen": [*ctx.state["seen"], "again"]})
    return {"count": ctx.state["count"]}


async def test_str3_a_streamed_run_with_state_updates_the_state(engine: Engine) -> None:
    """STR3: a streamed run starts from initial_state and each step sees the previous update."""
    wf = Workflow("streaming-state", state_schema=Tally).then(count_up).then(count_again).commit()
    run = wf.create_run(engine=engine, run_id="str3-run")

    events = await collect(run.stream(input_data={}, initial_state={"count": 1}))

    assert events[-1].type == "run.succeeded"
    snapshot = await engine.storage.load("str3-run")
    assert snapshot is not None
    assert snapshot.steps["count-up"].output == {"count": 2}
    assert snapshot.steps["count-again"].output == {"count": 12}
    assert snapshot.state == {"count": 12, "seen": ["count-up", "again"]}


async def test_str4_a_streamed_parallel_block_reports_every_branch(
    engine: Engine, calls: Calls
) -> None:
    """STR4: both parallel steps start and succeed before the step after the block starts."""
    wf = (
        Workflow("streaming-parallel")
        .parallel([counted_step("step-a", calls), counted_step("step-b", calls)])
        .then(counted_step("step-c", calls))
        .commit()
    )

    events = await collect(wf.create_run(engine=engine).stream(input_data={}))

    assert events[-1].type == "run.succeeded"
    assert set(step_events(events, "step.started")) == {("step-a",), ("step-b",), ("step-c",)}
    position = {(e.type, e.path): i for i, e in enumerate(events)}
    c_started = position[("step.started", ("step-c",))]
    assert position[("step.succeeded", ("step-a",))] < c_started
    assert position[("step.succeeded", ("step-b",))] < c_started
    assert (calls["step-a"], calls["step-b"], calls["step-c"]) == (1, 1, 1)


async def test_str4_the_step_after_a_streamed_parallel_block_gets_both_outputs(
    engine: Engine, calls: Calls
) -> None:
    """STR4: the step after the parallel block receives {step_id: output} of both branches."""
    wf = (
        Workflow("streaming-parallel")
        .parallel([counted_step("step-a", calls), counted_step("step-b", calls)])
        .then(counted_step("step-c", calls))
        .commit()
    )

    await collect(wf.create_run(engine=engine, run_id="str4-run").stream(input_data={}))

    snapshot = await engine.storage.load("str4-run")
    assert snapshot is not None
    assert snapshot.steps["step-c"].payload == {
        "step-a": {"value": "step-a-done"},
        "step-b": {"value": "step-b-done"},
    }


@step(id="ask")
async def ask_for_approval(ctx: StepContext) -> dict[str, Any]:
    if ctx.resume_data is None:
        ctx.suspend({"question": "approve?"})
    return {"approved": ctx.resume_data["approved"]}


@step(id="after")
async def after_approval(ctx: StepContext) -> dict[str, Any]:
    return {"done": ctx.input_data["approved"]}


def approval_workflow() -> Workflow:
    return Workflow("streaming-suspend").then(ask_for_approval).then(after_approval).commit()


async def test_str5_a_streamed_run_that_suspends_ends_with_run_suspended(engine: Engine) -> None:
    """STR5: the stream of a suspending run ends with run.suspended after step.suspended."""
    run = approval_workflow().create_run(engine=engine, run_id="str5-run")

    events = await collect(run.stream(input_data={}))

    assert events[-1].type == "run.suspended"
    assert step_events(events, "step.suspended") == [("ask",)]
    assert "step.succeeded" not in [e.type for e in events if e.path == ("ask",)]


async def test_str5_resume_stream_continues_the_run_to_success(engine: Engine) -> None:
    """STR5: resume_stream continues the suspended run and ends with run.succeeded."""
    wf = approval_workflow()
    run = wf.create_run(engine=engine, run_id="str5-run")
    first = await collect(run.stream(input_data={}))

    second = await collect(run.resume_stream(resume_data={"approved": True}))

    assert second[-1].type == "run.succeeded"
    assert ("ask",) in step_events(second, "step.succeeded")
    assert ("after",) in step_events(second, "step.succeeded")
    assert [e.seq for e in first + second] == list(range(1, len(first) + len(second) + 1))
    snapshot = await engine.storage.load("str5-run")
    assert snapshot is not None
    assert snapshot.status == "success"
    assert snapshot.result == {"done": True}
