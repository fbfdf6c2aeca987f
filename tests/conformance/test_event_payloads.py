"""Every event type's payload, pinned key by key (`engines.core.payloads` builds them).

Storages and the web app read payloads by their keys (a storage derives attempt rows from
`step.retrying`, human tasks from `step.suspended` and `step.resumed`), so every engine must
write exactly these. Each case runs a workflow and compares the stored log, as JSON, with the
expected events; times are replaced by "<time>".
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from engines import StepContext, Workflow, step

TIME = "<time>"
BOOM = {"type": "RuntimeError", "module": "builtins", "message": "boom"}


async def _log(engine: Any, run_id: str, after: int = 0) -> list[tuple[str, str, Any]]:
    """(type, dotted path, payload as JSON) of each stored event after seq `after`."""
    out = []
    for event in await engine.storage.read_events(run_id, after_seq=after):
        payload = json.loads(json.dumps(event.payload))
        for moment in ("wake_at", "started_at", "retry_at"):
            if moment in payload:
                payload[moment] = TIME
        out.append((event.type, ".".join(event.path), payload))
    return out


async def test_payloads_of_a_start_a_state_change_a_loop_and_a_success(engine: Any) -> None:
    @step(id="first")
    async def first(ctx: StepContext) -> dict[str, int]:
        ctx.set_state({"k": 1})
        return {"n": 1}

    @step(id="loop")
    async def loop(ctx: StepContext) -> dict[str, int]:
        return {"n": ctx.input_data["n"] + 1}

    def enough(ctx: StepContext) -> bool:
        return bool(ctx.input_data["n"] >= 2)

    wf = Workflow("payloads-start").then(first).dountil(loop, enough).commit()
    run = wf.create_run(engine=engine, resource_id="acct-1")
    await run.start(input_data={"x": 1}, initial_state={"s": 0}, context={"c": 1})

    assert await _log(engine, run.run_id) == [
        (
            "run.started",
            "",
            {
                "mode": "start",
                "input": {"x": 1},
                "state": {"s": 0},
                "context": {"c": 1},
                "resource_id": "acct-1",
            },
        ),
        ("step.started", "first", {"input": {"x": 1}}),
        ("step.succeeded", "first", {"output": {"n": 1}, "state_delta": {"k": 1}}),
        ("step.started", "loop", {"input": {"n": 1}, "iteration": 1}),
        ("step.succeeded", "loop", {"output": {"n": 2}}),
        ("run.succeeded", "", {"result": {"n": 2}}),
    ]


async def test_payloads_of_a_retry_and_a_failure(engine: Any) -> None:
    @step(id="broken", retries=1)
    async def broken(ctx: StepContext) -> None:
        raise RuntimeError("boom")

    wf = Workflow("payloads-failure").then(broken).commit()
    run = wf.create_run(engine=engine)
    await run.start(input_data={})

    assert await _log(engine, run.run_id) == [
        (
            "run.started",
            "",
            {"mode": "start", "input": {}, "state": {}, "context": {}, "resource_id": None},
        ),
        ("step.started", "broken", {"input": {}}),
        (
            "step.retrying",
            "broken",
            {"attempt": 1, "error": BOOM, "started_at": TIME, "retry_at": TIME},
        ),
        ("step.failed", "broken", {"error": BOOM}),
        ("run.failed", "", {"error": BOOM}),
    ]


async def test_payloads_of_a_suspension_and_its_resume(engine: Any) -> None:
    @step(id="ask")
    async def ask(ctx: StepContext) -> dict[str, Any]:
        if ctx.resume_data is None:
            ctx.suspend({"question": "ok?"}, label="boss")
        return {"answer": ctx.resume_data}

    wf = Workflow("payloads-suspend").then(ask).commit()
    run = wf.create_run(engine=engine)
    await run.start(input_data={"q": 1})
    suspended_at = len(await engine.storage.read_events(run.run_id))
    await run.resume({"yes": True}, label="boss")

    log = await _log(engine, run.run_id)
    assert log[1:suspended_at] == [
        ("step.started", "ask", {"input": {"q": 1}}),
        ("step.suspended", "ask", {"suspend_payload": {"question": "ok?"}, "labels": ["boss"]}),
        (
            "run.suspended",
            "",
            {
                "suspended": [["ask"]],
                "resume_labels": {"boss": {"path": ["ask"], "for_each_index": None}},
            },
        ),
    ]
    assert log[suspended_at:] == [
        (
            "run.started",
            "",
            {
                "mode": "resume",
                "resume": {"path": ["ask"], "data": {"yes": True}, "for_each_index": None},
            },
        ),
        ("step.resumed", "ask", {"input": {"q": 1}, "resume_payload": {"yes": True}}),
        ("step.succeeded", "ask", {"output": {"answer": {"yes": True}}}),
        ("run.succeeded", "", {"result": {"answer": {"yes": True}}}),
    ]


async def test_payloads_of_a_sleep_and_a_cancel(engine: Any) -> None:
    wf = Workflow("payloads-sleep").sleep(60, id="nap").commit()
    run = wf.create_run(engine=engine)
    waiting = asyncio.Event()
    run.watch(lambda event: waiting.set() if event.type == "step.waiting" else None)
    execution = asyncio.ensure_future(run.start(input_data={"a": 1}))
    await waiting.wait()
    await run.cancel()
    await execution

    assert (await _log(engine, run.run_id))[1:] == [
        ("step.waiting", "nap", {"input": {"a": 1}, "wake_at": TIME}),
        ("step.canceled", "nap", {}),
        ("run.canceled", "", {}),
    ]


async def test_payloads_of_foreach_progress_an_item_retry_and_a_custom_emit(engine: Any) -> None:
    tries: dict[int, int] = {}

    @step(id="item", retries=1)
    async def item(ctx: StepContext) -> int:
        tries[ctx.input_data] = tries.get(ctx.input_data, 0) + 1
        if ctx.input_data == 2 and tries[2] == 1:
            raise RuntimeError("boom")
        ctx.emit({"seen": ctx.input_data})
        ctx.set_state({f"i{ctx.input_data}": True})
        return int(ctx.input_data) * 10

    wf = Workflow("payloads-foreach").foreach(item).commit()
    run = wf.create_run(engine=engine)
    await run.start(input_data=[1, 2])

    def progress(index: int, output: int) -> dict[str, Any]:
        return {
            "kind": "foreach",
            "completed_count": index + 1,
            "total_count": 2,
            "current_index": index,
            "iteration_status": "success",
            "iteration_output": output,
            "state_delta": {f"i{index + 1}": True},
        }

    assert (await _log(engine, run.run_id))[1:] == [
        ("step.started", "item", {"input": [1, 2]}),
        ("step.progress", "item", {"kind": "custom", "data": {"seen": 1}}),
        ("step.progress", "item", progress(0, 10)),
        (
            "step.retrying",
            "item[1]",
            {
                "attempt": 1,
                "error": BOOM,
                "for_each_index": 1,
                "started_at": TIME,
                "retry_at": TIME,
            },
        ),
        ("step.progress", "item", {"kind": "custom", "data": {"seen": 2}}),
        ("step.progress", "item", progress(1, 20)),
        ("step.succeeded", "item", {"output": [10, 20]}),
        ("run.succeeded", "", {"result": [10, 20]}),
    ]


async def test_payloads_of_a_pause_and_of_continuing(engine: Any) -> None:
    @step(id="one")
    async def one(ctx: StepContext) -> int:
        return 1

    wf = Workflow("payloads-pause").then(one).then(one.clone("two")).commit()
    run = wf.create_run(engine=engine)
    await run.start(input_data={}, per_step=True)
    paused_at = len(await engine.storage.read_events(run.run_id))
    await run.resume()

    log = await _log(engine, run.run_id)
    assert log[paused_at - 1] == ("run.paused", "", {"paused_at": [["two"]]})
    assert log[paused_at] == ("run.started", "", {"mode": "continue"})


async def test_payloads_of_a_time_travel_fork_and_a_step_it_answers(engine: Any) -> None:
    @step(id="prepare")
    async def prepare(ctx: StepContext) -> dict[str, int]:
        ctx.set_state({"prepared": ctx.input_data["n"]})
        return {"n": ctx.input_data["n"]}

    @step(id="approve")
    async def approve(ctx: StepContext) -> dict[str, Any]:
        if ctx.resume_data is None:
            ctx.suspend({})
        return {"ok": ctx.resume_data}

    wf = Workflow("payloads-fork").then(prepare).then(approve).commit()
    run = wf.create_run(engine=engine)
    await run.start(input_data={"n": 1})

    fork = await run.time_travel("prepare", input_data={"n": 2}, resume_data=True)

    assert await _log(engine, fork.run_id) == [
        (
            "run.started",
            "",
            {
                "mode": "time_travel",
                "resume": {"path": ["approve"], "data": True, "for_each_index": None},
                "parent_run_id": run.run_id,
                "fork_step": "prepare",
                "input": {"n": 1},
                "state": {},
                "reused_steps": [],
                "overrides": {},
            },
        ),
        ("step.started", "prepare", {"input": {"n": 2}}),
        ("step.succeeded", "prepare", {"output": {"n": 2}, "state_delta": {"prepared": 2}}),
        ("step.started", "approve", {"input": {"n": 2}, "resume_payload": True}),
        ("step.succeeded", "approve", {"output": {"ok": True}}),
        ("run.succeeded", "", {"result": {"ok": True}}),
    ]


async def test_payloads_of_a_restart(engine: Any) -> None:
    @step(id="only")
    async def only(ctx: StepContext) -> int:
        return 1

    wf = Workflow("payloads-restart").then(only).commit()
    run = wf.create_run(engine=engine)
    await run.start(input_data={})
    snap = await engine.storage.load(run.run_id)
    snap.status = "running"
    snap.steps["only"] = snap.steps["only"].evolve(status="running", output=None)
    await engine.storage.save(snap)
    before = snap.seq

    await wf.create_run(engine=engine, run_id=run.run_id).restart()

    assert await _log(engine, run.run_id, after=before) == [
        ("run.started", "", {"mode": "restart"}),
        ("step.started", "only", {"input": {}}),
        ("step.succeeded", "only", {"output": 1}),
        ("run.succeeded", "", {"result": 1}),
    ]
