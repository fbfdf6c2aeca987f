"""Stepback's event log (SPEC 1.3): the same typed events, numbered by a gap-free `seq`, whether
they are watched, streamed or read back from storage.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from engines import Event, StepContext, Workflow, step
from engines.core.engine import Engine
from engines.testing import Calls


def as_json(events: list[Event]) -> list[dict[str, Any]]:
    """Events as plain JSON data, so objects and JSON round-tripped events compare alike."""
    return [json.loads(json.dumps(e.to_dict())) for e in events]


def trace(events: list[Event]) -> list[tuple[str, tuple[str, ...]]]:
    return [(e.type, e.path) for e in events]


def echo(step_id: str, calls: Calls | None = None) -> Any:
    @step(id=step_id)
    async def run_step(ctx: StepContext) -> dict[str, Any]:
        if calls is not None:
            calls.hit(step_id)
        return {"from": step_id}

    return run_step


def two_step_chain() -> Workflow:
    return Workflow("events-chain").then(echo("s1")).then(echo("s2")).commit()


async def test_sb_events_a_two_step_chain_emits_the_exact_sequence(engine: Engine) -> None:
    """SB: a two-step chain emits run.started, started/succeeded per step, run.succeeded."""
    await two_step_chain().create_run(engine=engine, run_id="ev-chain").start(input_data={})

    events = await engine.storage.read_events("ev-chain")

    assert trace(events) == [
        ("run.started", ()),
        ("step.started", ("s1",)),
        ("step.succeeded", ("s1",)),
        ("step.started", ("s2",)),
        ("step.succeeded", ("s2",)),
        ("run.succeeded", ()),
    ]


async def test_sb_events_seq_is_gap_free_from_one(engine: Engine) -> None:
    """SB: a run's events are numbered 1, 2, 3, ... without gaps and carry its run id."""
    await two_step_chain().create_run(engine=engine, run_id="ev-seq").start(input_data={})

    events = await engine.storage.read_events("ev-seq")

    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert {e.run_id for e in events} == {"ev-seq"}


@step(id="gate")
async def gate(ctx: StepContext) -> dict[str, Any]:
    if ctx.resume_data is None:
        ctx.suspend({"waiting": True})
    return {"opened": True}


async def test_sb_events_seq_continues_without_gaps_across_a_resume(engine: Engine) -> None:
    """SB: the events of a start and a later resume form one log numbered from 1 without gaps."""
    wf = Workflow("events-resume").then(gate).then(echo("after")).commit()
    await wf.create_run(engine=engine, run_id="ev-resume").start(input_data={})
    await wf.create_run(engine=engine, run_id="ev-resume").resume(resume_data={"go": True})

    events = await engine.storage.read_events("ev-resume")

    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    types = [e.type for e in events]
    assert types.index("run.suspended") < types.index("run.succeeded")
    assert types[-1] == "run.succeeded"


async def test_sb_events_watch_receives_the_stored_events(engine: Engine) -> None:
    """SB: a run.watch callback receives the same events, in order, as storage.read_events."""
    seen: list[Event] = []
    run = two_step_chain().create_run(engine=engine, run_id="ev-watch")
    unsubscribe = run.watch(seen.append)

    await run.start(input_data={})
    unsubscribe()

    assert as_json(seen) == as_json(await engine.storage.read_events("ev-watch"))


async def test_sb_events_unsubscribed_watch_receives_nothing_more(engine: Engine) -> None:
    """SB: after calling the function run.watch returned, the callback gets no more events."""
    wf = Workflow("events-unwatch").then(gate).then(echo("after")).commit()
    seen: list[Event] = []
    run = wf.create_run(engine=engine, run_id="ev-unwatch")
    unsubscribe = run.watch(seen.append)
    await run.start(input_data={})
    count_after_start = len(seen)

    unsubscribe()
    await run.resume(resume_data={"go": True})

    assert count_after_start > 0
    assert len(seen) == count_after_start


async def test_sb_events_stored_events_equal_streamed_events(engine: Engine) -> None:
    """SB: the events a stream yields are exactly the events stored for the run."""
    run = two_step_chain().create_run(engine=engine, run_id="ev-stream")

    streamed = [event async for event in run.stream(input_data={})]

    assert as_json(streamed) == as_json(await engine.storage.read_events("ev-stream"))


async def test_sb_events_nested_steps_carry_the_nested_workflow_path(engine: Engine) -> None:
    """SB: steps inside a nested workflow emit events with path (nested_id, step_id)."""
    nested = Workflow("nested").then(echo("inner-step")).commit()
    wf = Workflow("events-outer").then(echo("first")).then(nested).commit()
    await wf.create_run(engine=engine, run_id="ev-nested").start(input_data={})

    events = await engine.storage.read_events("ev-nested")

    inner = [e.type for e in events if e.path == ("nested", "inner-step")]
    assert inner == ["step.started", "step.succeeded"]
    outer = [e.type for e in events if e.path == ("nested",)]
    assert outer == ["step.started", "step.succeeded"]
    position = {(e.type, e.path): i for i, e in enumerate(events)}
    assert (
        position[("step.started", ("nested",))]
        < position[("step.started", ("nested", "inner-step"))]
        < position[("step.succeeded", ("nested", "inner-step"))]
        < position[("step.succeeded", ("nested",))]
    )


async def test_sb_events_parallel_and_branch_blocks_emit_no_events_of_their_own(
    engine: Engine,
) -> None:
    """SB: parallel and branch blocks add no events; only their steps (and the run) emit."""
    wf = (
        Workflow("events-blocks")
        .parallel([echo("left"), echo("right")])
        .branch([(lambda ctx: True, echo("taken")), (lambda ctx: False, echo("skipped"))])
        .commit()
    )
    await wf.create_run(engine=engine, run_id="ev-blocks").start(input_data={})

    events = await engine.storage.read_events("ev-blocks")

    step_paths = Counter(e.path for e in events if e.type.startswith("step."))
    assert step_paths == {("left",): 2, ("right",): 2, ("taken",): 2}
    assert all(e.path == () for e in events if e.type.startswith("run."))


@step(id="double")
async def double(ctx: StepContext) -> int:
    return int(ctx.input_data) * 2


async def test_sb_events_foreach_emits_one_start_one_progress_per_item_one_end(
    engine: Engine,
) -> None:
    """SB: foreach emits step.started once, step.progress per item, then one step.succeeded."""
    wf = Workflow("events-foreach").foreach(double).commit()
    result = await wf.create_run(engine=engine, run_id="ev-foreach").start(input_data=[1, 2, 3])
    assert result.result == [2, 4, 6]

    events = await engine.storage.read_events("ev-foreach")

    assert [e.type for e in events if e.path == ("double",)] == [
        "step.started",
        "step.progress",
        "step.progress",
        "step.progress",
        "step.succeeded",
    ]


async def test_sb_events_foreach_progress_payloads_count_the_items(engine: Engine) -> None:
    """SB: each foreach progress payload has kind foreach, counts, index, status and output."""
    wf = Workflow("events-foreach").foreach(double).commit()
    await wf.create_run(engine=engine, run_id="ev-foreach").start(input_data=[1, 2, 3])

    events = await engine.storage.read_events("ev-foreach")

    progress = [e.payload for e in events if e.type == "step.progress"]
    assert [p["kind"] for p in progress] == ["foreach"] * 3
    assert [p["completed_count"] for p in progress] == [1, 2, 3]
    assert {p["total_count"] for p in progress} == {3}
    assert [p["current_index"] for p in progress] == [0, 1, 2]
    assert {p["iteration_status"] for p in progress} == {"success"}
    assert [p["iteration_output"] for p in progress] == [2, 4, 6]


@step(id="explode")
async def explode(ctx: StepContext) -> dict[str, Any]:
    raise ValueError("boom in explode")


async def test_sb_events_a_failed_run_ends_with_run_failed_and_the_error(engine: Engine) -> None:
    """SB: a failing step emits step.failed and the log ends with run.failed carrying the error."""
    wf = Workflow("events-failure").then(echo("ok")).then(explode).commit()
    result = await wf.create_run(engine=engine, run_id="ev-failed").start(input_data={})
    assert result.status == "failed"

    events = await engine.storage.read_events("ev-failed")

    assert ("step.failed", ("explode",)) in trace(events)
    last = events[-1]
    assert last.type == "run.failed"
    assert last.payload.get("error")
    assert "boom in explode" in json.dumps(last.payload)


@step(id="noisy", retries=1)
async def noisy(ctx: StepContext) -> dict[str, Any]:
    ctx.emit({"note": "working", "attempt": ctx.retry_count})
    if ctx.retry_count == 0 and ctx.resume_data is None:
        raise RuntimeError("first attempt fails")
    if ctx.resume_data is None:
        ctx.suspend({"question": "more?"})
    return {"answer": ctx.resume_data}


async def test_sb_events_every_event_serializes_to_json(engine: Engine) -> None:
    """SB: Event.to_dict() of every event (retry, progress, suspend, resume, success) is JSON."""
    wf = Workflow("events-json").foreach(double).then(noisy).commit()
    run = wf.create_run(engine=engine, run_id="ev-json")
    await run.start(input_data=[1, 2])
    await run.resume(resume_data={"more": False})

    events = await engine.storage.read_events("ev-json")

    types = {e.type for e in events}
    assert {"step.retrying", "step.progress", "step.suspended", "run.succeeded"} <= types
    for event in events:
        text = json.dumps(event.to_dict())
        assert Event.from_dict(json.loads(text)).to_dict() == json.loads(text)


async def test_sb_events_custom_emit_becomes_a_progress_event(engine: Engine) -> None:
    """SB: ctx.emit(x) in a step emits step.progress with payload {"kind": "custom", "data": x}."""

    @step(id="reporter")
    async def reporter(ctx: StepContext) -> dict[str, Any]:
        ctx.emit({"percent": 50})
        return {"done": True}

    wf = Workflow("events-custom").then(reporter).commit()
    await wf.create_run(engine=engine, run_id="ev-custom").start(input_data={})

    events = await engine.storage.read_events("ev-custom")

    progress = [e for e in events if e.type == "step.progress"]
    assert [(e.path, e.payload) for e in progress] == [
        (("reporter",), {"kind": "custom", "data": {"percent": 50}})
    ]
