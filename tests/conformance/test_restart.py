"""Restart: re-run an interrupted run from its stored snapshot (catalog section 15, RS1-RS7).

An interrupted run is built the way the brief describes: run it (normally or per step), load
its snapshot, mark it as still running with the interrupted steps as `running` records, drop
the records after them, and write it back with the same seq and no events.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from pydantic import BaseModel

from engines import InvalidRunStateError, RunNotFoundError, StepContext, StepResult, Workflow, step
from engines.testing import Calls


def _run_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def _interrupt(
    engine: Any,
    run_id: str,
    running: dict[str, Any],
    drop: tuple[str, ...] = (),
) -> None:
    """Rewrite a stored run as interrupted: `running` maps step keys to their payloads."""
    snap = await engine.storage.load(run_id)
    assert snap is not None
    now = time.time()
    for key in drop:
        snap.steps.pop(key, None)
    for key, payload in running.items():
        snap.steps[key] = StepResult(status="running", payload=payload, started_at=now)
    snap.status = "running"
    snap.result = None
    snap.error = None
    snap.traceback = None
    snap.suspended = []
    snap.finished_at = None
    await engine.storage.save(snap)


class Num(BaseModel):
    value: int


async def test_rs1_restarting_a_run_that_never_started_is_refused(engine: Any) -> None:
    """RS1: restart() of a run that was never started raises RunNotFoundError."""

    @step(id="step1")
    async def step1(ctx: StepContext) -> dict[str, str]:
        return {"result": "step1 done"}

    wf = Workflow("restart-not-active").then(step1).commit()
    run = wf.create_run(engine=engine, run_id=_run_id("rs1"))

    with pytest.raises(RunNotFoundError):
        await run.restart()


async def test_rs1_restarting_a_suspended_run_is_refused(engine: Any, calls: Calls) -> None:
    """RS1: restart() of a run that is not active (here: suspended) raises InvalidRunStateError;
    a finished run returns its stored result instead (test_restart_of_finished_runs)."""

    @step(id="step1")
    async def step1(ctx: StepContext) -> dict[str, str]:
        calls.hit("step1")
        ctx.suspend({"waiting": True})
        return {"result": "step1 done"}

    wf = Workflow("restart-not-active").then(step1).commit()
    run = wf.create_run(engine=engine, run_id=_run_id("rs1-suspended"))
    assert (await run.start(input_data={"value": "x"})).status == "suspended"

    with pytest.raises(InvalidRunStateError):
        await run.restart()
    assert calls["step1"] == 1


async def test_rs2_restart_reruns_the_step_that_was_running(engine: Any, calls: Calls) -> None:
    """RS2: a run interrupted inside its only step re-runs that step with its input."""
    executions: list[int] = []

    @step(id="counter", input_schema=Num)
    async def counter(ctx: StepContext) -> dict[str, int]:
        calls.hit("counter")
        executions.append(ctx.input_data.value)
        return {"count": len(executions), "value": ctx.input_data.value}

    wf = Workflow("restart-completed", input_schema=Num).then(counter).commit()
    run_id = _run_id("rs2")
    assert (
        await wf.create_run(engine=engine, run_id=run_id).start(input_data={"value": 42})
    ).status == "success"
    await _interrupt(engine, run_id, {"counter": {"value": 42}})
    executions.clear()
    before = calls["counter"]

    result = await wf.create_run(engine=engine, run_id=run_id).restart()

    assert result.status == "success"
    assert result.steps["counter"].output == {"count": 1, "value": 42}
    assert calls["counter"] == before + 1


async def test_rs3_restart_keeps_completed_steps_and_reruns_the_interrupted_one(
    engine: Any, calls: Calls
) -> None:
    """RS3: on restart a recorded success is kept; only the running step runs again."""

    @step(id="step1", input_schema=Num)
    async def step1(ctx: StepContext) -> dict[str, int]:
        calls.hit("step1")
        return {"value": ctx.input_data.value + 10}

    @step(id="step2", input_schema=Num)
    async def step2(ctx: StepContext) -> dict[str, int]:
        calls.hit("step2")
        return {"value": ctx.input_data.value * 2}

    wf = Workflow("restart-multistep", input_schema=Num).then(step1).then(step2).commit()
    run_id = _run_id("rs3")
    first = await wf.create_run(engine=engine, run_id=run_id).start(input_data={"value": 5})
    assert first.steps["step1"].output == {"value": 15}
    await _interrupt(engine, run_id, {"step2": {"value": 15}})
    step1_before, step2_before = calls["step1"], calls["step2"]

    result = await wf.create_run(engine=engine, run_id=run_id).restart()

    assert result.status == "success"
    assert result.steps["step2"].output == {"value": 30}
    assert result.steps["step1"].output == {"value": 15}
    assert calls["step1"] == step1_before
    assert calls["step2"] == step2_before + 1


async def test_rs4_restart_after_an_interruption_succeeds_when_the_step_now_works(
    engine: Any, calls: Calls
) -> None:
    """RS4: a run that failed is restarted (from its interrupted state) and now succeeds."""
    should_fail = {"on": True}

    class Text(BaseModel):
        value: str

    @step(id="failingStep", input_schema=Text)
    async def failing_step(ctx: StepContext) -> dict[str, str]:
        calls.hit("failingStep")
        if should_fail["on"]:
            raise RuntimeError("Intentional failure")
        return {"result": ctx.input_data.value.upper()}

    wf = Workflow("restart-failed", input_schema=Text).then(failing_step).commit()
    run_id = _run_id("rs4")
    first = await wf.create_run(engine=engine, run_id=run_id).start(input_data={"value": "hello"})
    assert first.status == "failed"
    await _interrupt(engine, run_id, {"failingStep": {"value": "hello"}})
    should_fail["on"] = False
    before = calls["failingStep"]

    result = await wf.create_run(engine=engine, run_id=run_id).restart()

    assert result.status == "success"
    assert result.steps["failingStep"].output == {"result": "HELLO"}
    assert calls["failingStep"] == before + 1


async def test_rs5_restart_resumes_inside_an_interrupted_nested_workflow(
    engine: Any, calls: Calls
) -> None:
    """RS5: restart keeps finished steps at both levels and completes the nested workflow."""

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

    nested = Workflow("restart-nestedWorkflow").then(step2).then(step3).commit()
    wf = Workflow("restart-nested").then(step1).then(nested).then(step4).commit()
    run_id = _run_id("rs5")
    first = await wf.create_run(engine=engine, run_id=run_id).start(input_data={"value": 0})
    assert first.status == "success"
    await _interrupt(
        engine,
        run_id,
        {
            "restart-nestedWorkflow": {"step1Result": 2},
            "restart-nestedWorkflow.step3": {"step2Result": 3},
        },
        drop=("step4",),
    )
    before = {name: calls[name] for name in ("step1", "step2", "step3", "step4")}

    result = await wf.create_run(engine=engine, run_id=run_id).restart()

    assert result.status == "success"
    assert result.input == {"value": 0}
    assert result.steps["step1"].status == "success"
    assert result.steps["step1"].output == {"step1Result": 2}
    assert result.steps["restart-nestedWorkflow"].status == "success"
    assert result.steps["restart-nestedWorkflow"].output == {"nestedFinal": 4}
    assert result.steps["step4"].status == "success"
    assert result.steps["step4"].output == {"final": 5}
    for record in result.steps.values():
        assert isinstance(record.started_at, float)
        assert isinstance(record.ended_at, float)
    assert calls["step1"] == before["step1"]
    assert calls["step2"] == before["step2"]
    assert calls["step3"] == before["step3"] + 1
    assert calls["step4"] == before["step4"] + 1


async def test_rs6_a_restarted_run_can_suspend_and_be_resumed_to_the_end(
    engine: Any, calls: Calls
) -> None:
    """RS6: restart re-runs a step that then suspends; two resumes finish the workflow."""

    class Scores(BaseModel):
        toneScore: dict[str, float]
        completenessScore: dict[str, float]

    @step(id="getUserInput")
    async def get_user_input(ctx: StepContext) -> dict[str, str]:
        calls.hit("getUserInput")
        return {"userInput": "test input"}

    @step(id="promptAgent")
    async def prompt_agent(ctx: StepContext) -> dict[str, str]:
        calls.hit("promptAgent")
        if ctx.resume_data is None:
            ctx.suspend({"testPayload": "hello"})
        return {"modelOutput": "test output"}

    @step(id="evaluateToneConsistency")
    async def evaluate_tone(ctx: StepContext) -> dict[str, Any]:
        calls.hit("evaluateToneConsistency")
        return {"toneScore": {"score": 0.8}, "completenessScore": {"score": 0.7}}

    @step(id="improveResponse", resume_schema=Scores)
    async def improve_response(ctx: StepContext) -> dict[str, str]:
        calls.hit("improveResponse")
        if ctx.resume_data is None:
            ctx.suspend()
        return {"improvedOutput": "improved output"}

    @step(id="evaluateImprovedResponse")
    async def evaluate_improved(ctx: StepContext) -> dict[str, Any]:
        calls.hit("evaluateImprovedResponse")
        return {"toneScore": {"score": 0.9}, "completenessScore": {"score": 0.8}}

    wf = (
        Workflow("restart-suspend-resume")
        .then(get_user_input)
        .then(prompt_agent)
        .then(evaluate_tone)
        .then(improve_response)
        .then(evaluate_improved)
        .commit()
    )
    run_id = _run_id("rs6")
    paused = await wf.create_run(engine=engine, run_id=run_id).start(
        input_data={"input": "test"}, per_step=True
    )
    assert paused.status == "paused"
    assert paused.steps["getUserInput"].output == {"userInput": "test input"}
    await _interrupt(engine, run_id, {"promptAgent": {"userInput": "test input"}})
    get_input_before = calls["getUserInput"]
    prompt_before = calls["promptAgent"]

    run = wf.create_run(engine=engine, run_id=run_id)
    restarted = await run.restart()

    assert restarted.status == "suspended"
    assert restarted.input == {"input": "test"}
    assert restarted.steps["getUserInput"].status == "success"
    assert restarted.steps["getUserInput"].output == {"userInput": "test input"}
    prompt = restarted.steps["promptAgent"]
    assert prompt.status == "suspended"
    assert prompt.suspend_payload == {"testPayload": "hello"}
    assert isinstance(prompt.started_at, float)
    assert isinstance(prompt.suspended_at, float)
    assert calls["promptAgent"] == prompt_before + 1

    first_resume = await run.resume(
        step="promptAgent", resume_data={"userInput": "test input for resumption"}
    )
    assert first_resume.status == "suspended"
    assert first_resume.steps["promptAgent"].status == "success"
    assert first_resume.steps["promptAgent"].output == {"modelOutput": "test output"}
    assert first_resume.steps["evaluateToneConsistency"].output == {
        "toneScore": {"score": 0.8},
        "completenessScore": {"score": 0.7},
    }
    assert first_resume.steps["improveResponse"].status == "suspended"

    second_resume = await run.resume(
        step=improve_response,
        resume_data={"toneScore": {"score": 0.8}, "completenessScore": {"score": 0.7}},
    )
    assert second_resume.status == "success"
    assert second_resume.steps["improveResponse"].output == {"improvedOutput": "improved output"}
    assert second_resume.steps["evaluateImprovedResponse"].output == {
        "toneScore": {"score": 0.9},
        "completenessScore": {"score": 0.8},
    }
    assert calls["promptAgent"] == prompt_before + 2
    assert calls["getUserInput"] == get_input_before


async def test_rs7_restart_reruns_every_interrupted_parallel_child(
    engine: Any, calls: Calls
) -> None:
    """RS7: both children of an interrupted parallel block run again exactly once."""

    @step(id="step1", input_schema=Num)
    async def step1(ctx: StepContext) -> dict[str, int]:
        calls.hit("step1")
        return {"result": ctx.input_data.value * 2}

    @step(id="step2", input_schema=Num)
    async def step2(ctx: StepContext) -> dict[str, int]:
        calls.hit("step2")
        return {"result": ctx.input_data.value + 10}

    wf = Workflow("restart-parallel", input_schema=Num).parallel([step1, step2]).commit()
    run_id = _run_id("rs7")
    first = await wf.create_run(engine=engine, run_id=run_id).start(input_data={"value": 5})
    assert first.status == "success"
    await _interrupt(engine, run_id, {"step1": {"value": 5}, "step2": {"value": 5}})
    before = (calls["step1"], calls["step2"])

    result = await wf.create_run(engine=engine, run_id=run_id).restart()

    assert result.status == "success"
    assert result.steps["step1"].output == {"result": 10}
    assert result.steps["step2"].output == {"result": 15}
    assert (calls["step1"], calls["step2"]) == (before[0] + 1, before[1] + 1)
    assert result.result == {"step1": {"result": 10}, "step2": {"result": 15}}
