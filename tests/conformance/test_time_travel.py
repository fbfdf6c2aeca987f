"""Time travel: re-execute a workflow from a chosen step (catalog section 14, rows T7-T18).

Stepback differs from Mastra on purpose: time travel on a run with history creates a NEW run
(parent_run_id, fork_step) and never changes the source; `input_data` is the target step's
input; `reuse` replays recorded outputs. The Stepback cases are named test_sb_...
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from pydantic import BaseModel

from engines import StepContext, StepNotFoundError, ValidationError, Workflow, step
from engines.testing import Calls


class Value(BaseModel):
    value: int


class Step1Out(BaseModel):
    step1Result: int


class Step2Out(BaseModel):
    step2Result: int


class FinalOut(BaseModel):
    final: int


def _run_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _recorded(output: Any, payload: Any = None, with_times: bool = False) -> dict[str, Any]:
    """A successful step record to pass in time_travel(context=...)."""
    record: dict[str, Any] = {"status": "success", "payload": payload or {}, "output": output}
    if with_times:
        now = time.time()
        record["started_at"] = now
        record["ended_at"] = now
    return record


def _chain(wf_id: str, calls: Calls, with_step4: bool = False) -> Workflow:
    """step1 -> {step1Result: 2}; step2 -> +1; step3 -> {final: +1}; optional step4 -> +100."""

    @step(id="step1", input_schema=Value, output_schema=Step1Out)
    async def step1(ctx: StepContext) -> dict[str, int]:
        calls.hit("step1", ctx.input_data.value)
        return {"step1Result": 2}

    @step(id="step2", input_schema=Step1Out, output_schema=Step2Out)
    async def step2(ctx: StepContext) -> dict[str, int]:
        calls.hit("step2", ctx.input_data.step1Result)
        return {"step2Result": ctx.input_data.step1Result + 1}

    @step(id="step3", input_schema=Step2Out, output_schema=FinalOut)
    async def step3(ctx: StepContext) -> dict[str, int]:
        calls.hit("step3", ctx.input_data.step2Result)
        return {"final": ctx.input_data.step2Result + 1}

    @step(id="step4", input_schema=FinalOut)
    async def step4(ctx: StepContext) -> dict[str, int]:
        calls.hit("step4", ctx.input_data.final)
        return {"total": ctx.input_data.final + 100}

    wf = Workflow(wf_id, input_schema=Value).then(step1).then(step2).then(step3)
    if with_step4:
        wf = wf.then(step4)
    return wf.commit()


def _branching(wf_id: str, calls: Calls) -> Workflow:
    """check -> branch(branch == 'A' -> branchA, branch == 'B' -> branchB)."""

    @step(id="check")
    async def check(ctx: StepContext) -> dict[str, str]:
        calls.hit("check")
        return {"branch": "A"}

    @step(id="branchA")
    async def branch_a(ctx: StepContext) -> dict[str, str]:
        calls.hit("branchA")
        return {"result": "from A"}

    @step(id="branchB")
    async def branch_b(ctx: StepContext) -> dict[str, str]:
        calls.hit("branchB")
        return {"result": "from B"}

    def is_a(ctx: StepContext) -> bool:
        return bool(ctx.input_data["branch"] == "A")

    def is_b(ctx: StepContext) -> bool:
        return bool(ctx.input_data["branch"] == "B")

    return Workflow(wf_id).then(check).branch([(is_a, branch_a), (is_b, branch_b)]).commit()


async def _dump(engine: Any, run_id: str) -> tuple[str, list[str]]:
    """The stored snapshot and events of a run as canonical JSON text."""
    snap = await engine.storage.load(run_id)
    assert snap is not None
    events = await engine.storage.read_events(run_id)
    return (
        json.dumps(snap.to_dict(), sort_keys=True),
        [json.dumps(e.to_dict(), sort_keys=True) for e in events],
    )


async def test_t7_time_travel_reruns_from_a_step_with_given_context(
    engine: Any, calls: Calls
) -> None:
    """T7: travelling to step2 with step1's result given runs step2 and step3, not step1."""
    wf = _chain("timetravel-basic-workflow", calls)
    run_id = _run_id("t7")
    result = await wf.create_run(engine=engine, run_id=run_id).time_travel(
        "step2",
        context={"step1": _recorded({"step1Result": 2}, {"value": 0}, with_times=True)},
    )

    assert result.status == "success"
    assert calls["step1"] == 0
    assert calls["step2"] == 1
    assert calls["step3"] == 1
    assert result.result == {"final": 4}
    assert result.run_id == run_id
    assert result.parent_run_id is None


async def test_t8_time_travel_after_a_parallel_block_uses_the_given_outputs(
    engine: Any, calls: Calls
) -> None:
    """T8: travelling to the step after a parallel block combines the given child outputs."""

    @step(id="step1")
    async def step1(ctx: StepContext) -> dict[str, str]:
        calls.hit("step1")
        return {"value": "step1"}

    @step(id="step2")
    async def step2(ctx: StepContext) -> dict[str, str]:
        calls.hit("step2")
        return {"value": "step2"}

    @step(id="final")
    async def final(ctx: StepContext) -> dict[str, str]:
        calls.hit("final")
        first = (ctx.input_data.get("step1") or {}).get("value", "none")
        second = (ctx.input_data.get("step2") or {}).get("value", "none")
        return {"combined": f"{first}-{second}"}

    wf = Workflow("timetravel-parallel-workflow").parallel([step1, step2]).then(final).commit()
    result = await wf.create_run(engine=engine, run_id=_run_id("t8")).time_travel(
        final,
        context={
            "step1": _recorded({"value": "pre-step1"}),
            "step2": _recorded({"value": "pre-step2"}),
        },
    )

    assert result.status == "success"
    assert calls["step1"] == 0
    assert calls["step2"] == 0
    assert calls["final"] == 1
    assert result.result == {"combined": "pre-step1-pre-step2"}


async def test_t9_time_travel_with_per_step_runs_only_the_target(engine: Any, calls: Calls) -> None:
    """T9: with per_step=True time travel runs the target step alone and pauses."""
    wf = _chain("timetravel-perstep-workflow", calls)
    result = await wf.create_run(engine=engine, run_id=_run_id("t9")).time_travel(
        "step2", context={"step1": _recorded({"step1Result": 2}, {"value": 0})}, per_step=True
    )

    assert result.status == "paused"
    assert calls["step1"] == 0
    assert calls["step2"] == 1
    assert calls["step3"] == 0
    assert result.steps["step2"].status == "success"
    assert result.steps["step2"].output == {"step2Result": 3}
    assert "step3" not in result.steps


async def test_t10_time_travel_on_a_finished_run_uses_the_new_context(
    engine: Any, calls: Calls
) -> None:
    """T10: travelling a finished run with a new step1 result recomputes from step2 onwards."""
    wf = _chain("timetravel-prevrun-workflow", calls)
    run_id = _run_id("t10")
    run = wf.create_run(engine=engine, run_id=run_id)
    first = await run.start(input_data={"value": 1})
    assert first.status == "success"
    assert (calls["step1"], calls["step2"], calls["step3"]) == (1, 1, 1)

    second = await run.time_travel(
        "step2", context={"step1": _recorded({"step1Result": 10}, {"value": 0})}
    )

    assert second.status == "success"
    assert calls["step1"] == 1
    assert calls["step2"] == 2
    assert calls["step3"] == 2
    assert second.result == {"final": 12}
    assert second.run_id != run_id
    assert second.parent_run_id == run_id


async def test_t11_time_travel_to_a_nested_workflow_reruns_it_and_what_follows(
    engine: Any, calls: Calls
) -> None:
    """T11: travelling to a nested workflow step runs its inner steps and the later steps."""

    @step(id="step1")
    async def step1(ctx: StepContext) -> dict[str, int]:
        calls.hit("step1")
        return {"step1Result": 2}

    @step(id="step2")
    async def step2(ctx: StepContext) -> dict[str, int]:
        calls.hit("step2")
        return {"step2Result": 3}

    @step(id="step3")
    async def step3(ctx: StepContext) -> dict[str, int]:
        calls.hit("step3")
        return {"nestedFinal": ctx.input_data["step2Result"] + 1}

    @step(id="step4")
    async def step4(ctx: StepContext) -> dict[str, int]:
        calls.hit("step4")
        return {"final": ctx.input_data["nestedFinal"] + 1}

    nested = Workflow("nested-inner").then(step2).then(step3).commit()
    wf = Workflow("timetravel-nested-workflow").then(step1).then(nested).then(step4).commit()
    result = await wf.create_run(engine=engine, run_id=_run_id("t11")).time_travel(
        nested, context={"step1": _recorded({"step1Result": 2}, {"value": 0})}
    )

    assert result.status == "success"
    assert calls["step1"] == 0
    assert calls["step2"] == 1
    assert calls["step3"] == 1
    assert calls["step4"] == 1
    assert result.result == {"final": 5}


async def test_t12_a_time_travelled_run_can_suspend_and_then_resume(
    engine: Any, calls: Calls
) -> None:
    """T12: travelling to a suspending step suspends the run; resuming it completes the run."""

    @step(id="step1")
    async def step1(ctx: StepContext) -> dict[str, int]:
        calls.hit("step1")
        return {"step1Result": 2}

    @step(id="suspendStep")
    async def suspend_step(ctx: StepContext) -> dict[str, int]:
        calls.hit("suspendStep")
        if ctx.resume_data is None:
            ctx.suspend({"waiting": True})
        return {"step1Result": ctx.input_data["step1Result"]}

    @step(id="step3")
    async def step3(ctx: StepContext) -> dict[str, int]:
        calls.hit("step3")
        return {"final": ctx.input_data["step1Result"] + 10}

    wf = Workflow("timetravel-suspend-workflow").then(step1).then(suspend_step).then(step3).commit()
    result = await wf.create_run(engine=engine, run_id=_run_id("t12")).time_travel(
        "suspendStep", context={"step1": _recorded({"step1Result": 2}, {"value": 0})}
    )

    assert result.status == "suspended"
    assert result.suspended == [["suspendStep"]]
    assert calls["step1"] == 0
    assert calls["suspendStep"] == 1
    assert calls["step3"] == 0

    resumed = await wf.create_run(engine=engine, run_id=result.run_id).resume(
        resume_data={"go": True}
    )
    assert resumed.status == "success"
    assert calls["step1"] == 0
    assert calls["step3"] == 1
    assert resumed.result == {"final": 12}


async def test_t13_time_travel_to_a_branch_arm_runs_only_that_arm(
    engine: Any, calls: Calls
) -> None:
    """T13: travelling to branchA (with check's result given) runs branchA only."""
    wf = _branching("timetravel-conditional-workflow", calls)
    result = await wf.create_run(engine=engine, run_id=_run_id("t13")).time_travel(
        "branchA", context={"check": _recorded({"branch": "A"})}
    )

    assert result.status == "success"
    assert calls["check"] == 0
    assert calls["branchA"] == 1
    assert calls["branchB"] == 0
    assert result.result == {"branchA": {"result": "from A"}}


async def test_t14_time_travel_past_a_dountil_loop_uses_the_given_loop_result(
    engine: Any, calls: Calls
) -> None:
    """T14: travelling to the step after a do-until loop does not run the loop again."""

    @step(id="loopStep")
    async def loop_step(ctx: StepContext) -> dict[str, int]:
        calls.hit("loopStep")
        return {"counter": ctx.input_data["counter"] + 1}

    @step(id="finalStep")
    async def final_step(ctx: StepContext) -> dict[str, int]:
        calls.hit("finalStep")
        return {"final": ctx.input_data["counter"]}

    def reached_three(ctx: StepContext) -> bool:
        return bool(ctx.input_data["counter"] >= 3)

    wf = (
        Workflow("timetravel-loop-workflow")
        .dountil(loop_step, reached_three)
        .then(final_step)
        .commit()
    )
    result = await wf.create_run(engine=engine, run_id=_run_id("t14")).time_travel(
        final_step, context={"loopStep": _recorded({"counter": 3}, {"counter": 2})}
    )

    assert result.status == "success"
    assert calls["loopStep"] == 0
    assert calls["finalStep"] == 1
    assert result.result == {"final": 3}


async def test_t15_time_travel_on_a_finished_run_with_per_step_pauses_after_the_target(
    engine: Any, calls: Calls
) -> None:
    """T15: per_step time travel of a finished run runs step2 only, with the new context."""
    wf = _chain("timetravel-prevrun-workflow", calls)
    run = wf.create_run(engine=engine, run_id=_run_id("t15"))
    first = await run.start(input_data={"value": 1})
    assert first.status == "success"

    second = await run.time_travel(
        "step2", context={"step1": _recorded({"step1Result": 10}, {"value": 0})}, per_step=True
    )

    assert second.status == "paused"
    assert calls["step1"] == 1
    assert calls["step2"] == 2
    assert calls["step3"] == 1
    assert second.steps["step2"].status == "success"
    assert second.steps["step2"].output == {"step2Result": 11}


async def test_t16_per_step_time_travel_to_a_parallel_child_runs_only_that_child(
    engine: Any, calls: Calls
) -> None:
    """T16: per_step travel to one parallel child runs it and pauses before the next entry."""

    def constant(step_id: str, value: dict[str, str]) -> Any:
        @step(id=step_id)
        async def execute(ctx: StepContext) -> dict[str, str]:
            calls.hit(step_id)
            return dict(value)

        return execute

    @step(id="final")
    async def final(ctx: StepContext) -> dict[str, str]:
        calls.hit("final")
        return {"result": f"{ctx.input_data['p1']['result']}-{ctx.input_data['p2']['result']}"}

    p1 = constant("p1", {"result": "p1 done"})
    wf = (
        Workflow("timetravel-parallel-perstep-workflow")
        .then(constant("initStep", {"result": "init done"}))
        .parallel([p1, constant("p2", {"result": "p2 done"})])
        .then(final)
        .commit()
    )
    result = await wf.create_run(engine=engine, run_id=_run_id("t16")).time_travel(
        p1,
        context={
            "initStep": _recorded({"result": "init done"}),
            "p2": _recorded({"result": "p2 done"}, {"result": "init done"}),
        },
        per_step=True,
    )

    assert result.status == "paused"
    assert calls["initStep"] == 0
    assert calls["p1"] == 1
    assert calls["p2"] == 0
    assert calls["final"] == 0
    assert result.steps["p1"].output == {"result": "p1 done"}


async def test_t17_per_step_time_travel_to_a_branch_arm_pauses_after_it(
    engine: Any, calls: Calls
) -> None:
    """T17: per_step travel to branchA runs branchA only and pauses."""
    wf = _branching("timetravel-conditional-workflow", calls)
    result = await wf.create_run(engine=engine, run_id=_run_id("t17")).time_travel(
        "branchA", context={"check": _recorded({"branch": "A"})}, per_step=True
    )

    assert result.status == "paused"
    assert calls["check"] == 0
    assert calls["branchA"] == 1
    assert calls["branchB"] == 0
    assert result.steps["branchA"].status == "success"
    assert result.steps["branchA"].output == {"result": "from A"}


async def test_t18_time_travel_to_a_step_that_does_not_exist_is_refused(
    engine: Any, calls: Calls
) -> None:
    """T18: time travel to an unknown step id raises StepNotFoundError naming it."""
    wf = _chain("timetravel-basic-workflow", calls)
    run = wf.create_run(engine=engine, run_id=_run_id("t18"))

    with pytest.raises(StepNotFoundError) as caught:
        await run.time_travel("nonExistent", context={"step1": _recorded({"step1Result": 2})})

    assert "nonExistent" in str(caught.value)
    assert calls["step2"] == 0


# -- Stepback cases ---------------------------------------------------------------------------


async def test_sb_time_travel_on_a_run_with_history_forks_and_keeps_the_source(
    engine: Any, calls: Calls
) -> None:
    """SB: time travel of a run with history makes a linked new run; the source is untouched."""
    wf = _chain("sb-fork", calls)
    source = _run_id("sb-fork")
    run = wf.create_run(engine=engine, run_id=source)
    assert (await run.start(input_data={"value": 1})).status == "success"
    snapshot_before, events_before = await _dump(engine, source)

    fork = await run.time_travel("step2", input_data={"step1Result": 10})

    assert fork.status == "success"
    assert fork.run_id != source
    assert fork.parent_run_id == source
    assert fork.fork_step == "step2"
    assert fork.steps["step1"].output == {"step1Result": 2}
    assert fork.steps["step2"].payload == {"step1Result": 10}
    assert fork.result == {"final": 12}
    assert calls["step1"] == 1

    snapshot_after, events_after = await _dump(engine, source)
    assert snapshot_after == snapshot_before
    assert events_after == events_before

    stored_fork = await engine.storage.load(fork.run_id)
    assert stored_fork is not None
    assert stored_fork.parent_run_id == source
    assert stored_fork.fork_step == "step2"


async def test_sb_reused_steps_replay_their_recorded_output_without_running(
    engine: Any, calls: Calls
) -> None:
    """SB: reuse=['step3'] replays step3's recorded output in the fork without executing it."""
    wf = _chain("sb-reuse", calls, with_step4=True)
    run = wf.create_run(engine=engine, run_id=_run_id("sb-reuse"))
    first = await run.start(input_data={"value": 1})
    assert first.status == "success"
    assert first.steps["step3"].output == {"final": 4}

    fork = await run.time_travel("step2", input_data={"step1Result": 10}, reuse=["step3"])

    assert fork.status == "success"
    assert calls["step2"] == 2
    assert calls["step3"] == 1
    assert calls["step4"] == 2
    assert fork.steps["step2"].output == {"step2Result": 11}
    assert fork.steps["step3"].status == "success"
    assert fork.steps["step3"].output == {"final": 4}
    assert fork.steps["step4"].output == {"total": 104}
    assert fork.result == {"total": 104}


async def test_sb_time_travel_input_is_validated_against_the_target_step(
    engine: Any, calls: Calls
) -> None:
    """SB: input_data that does not fit the target step's input schema raises; nothing is stored."""
    wf = _chain("tt-error-invalid-input-workflow", calls)
    source = _run_id("sb-invalid")
    run = wf.create_run(engine=engine, run_id=source)
    assert (await run.start(input_data={"value": 1})).status == "success"
    total_before = (await engine.storage.list_runs()).total
    snapshot_before, events_before = await _dump(engine, source)

    with pytest.raises(ValidationError) as caught:
        await run.time_travel("step2", input_data={"invalidPayload": 2})

    assert any("step1Result" in e["path"] for e in caught.value.errors)
    assert "step1Result" in str(caught.value)
    assert (await engine.storage.list_runs()).total == total_before
    assert calls["step2"] == 1
    assert await _dump(engine, source) == (snapshot_before, events_before)


async def test_sb_time_travel_to_an_unknown_step_lists_the_known_ids(
    engine: Any, calls: Calls
) -> None:
    """SB: time travel to an unknown step raises StepNotFoundError listing the known step ids."""
    wf = _chain("sb-unknown-step", calls)
    run = wf.create_run(engine=engine, run_id=_run_id("sb-unknown"))
    assert (await run.start(input_data={"value": 1})).status == "success"
    total_before = (await engine.storage.list_runs()).total

    with pytest.raises(StepNotFoundError) as caught:
        await run.time_travel("nonExistent")

    message = str(caught.value)
    assert "nonExistent" in message
    for known in ("step1", "step2", "step3"):
        assert known in message
    assert (await engine.storage.list_runs()).total == total_before


async def test_sb_lineage_of_a_fork_lists_the_source_then_the_fork(
    engine: Any, calls: Calls
) -> None:
    """SB: storage.lineage(fork_id) returns the source run first, then the fork."""
    wf = _chain("sb-lineage", calls)
    source = _run_id("sb-lineage")
    run = wf.create_run(engine=engine, run_id=source)
    assert (await run.start(input_data={"value": 1})).status == "success"
    fork = await run.time_travel("step3", input_data={"step2Result": 41})
    assert fork.result == {"final": 42}

    family = await engine.storage.lineage(fork.run_id)

    assert [r.run_id for r in family] == [source, fork.run_id]
    assert family[1].parent_run_id == source
    assert family[1].fork_step == "step3"
