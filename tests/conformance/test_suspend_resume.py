"""Suspend and resume (catalog section 13): flat workflows, parallel, branch and loops.

Nested workflows live in test_suspend_resume_nested.py, foreach in test_suspend_resume_foreach.py.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from pydantic import BaseModel

from engines import (
    InvalidRunStateError,
    RunConflictError,
    StepContext,
    ValidationError,
    Workflow,
    WorkflowError,
    step,
)
from engines.testing import Calls

# -- schemas ----------------------------------------------------------------------------------


class Value(BaseModel):
    value: int


class Text(BaseModel):
    value: str


class Reason(BaseModel):
    reason: str


class UserInput(BaseModel):
    userInput: str


class Approval(BaseModel):
    approvalRequired: bool
    requestedBy: str
    amount: int


class Multiplier(BaseModel):
    multiplier: int


class Divisor(BaseModel):
    divisor: int


class Increment(BaseModel):
    increment: int


class LoopValue(BaseModel):
    value: int
    condition: bool = False


class ShouldContinue(BaseModel):
    shouldContinue: bool


class Message(BaseModel):
    message: str


class Score(BaseModel):
    score: float


class Scores(BaseModel):
    toneScore: Score
    completenessScore: Score


class ValueWithDefault(BaseModel):
    value: int = 21


class CountState(BaseModel):
    count: int
    items: list[str]


def _suspend_first(ctx: StepContext, payload: Any = None) -> None:
    """Suspend on the first run of a step; do nothing once it is resumed."""
    if ctx.resume_data is None:
        ctx.suspend(payload)


# -- SR1-SR9: suspending ----------------------------------------------------------------------


async def test_sr1_run_reports_its_run_id(engine, calls: Calls) -> None:
    """SR1: a run started with an explicit run id succeeds and reports that run id."""

    @step(id="step1")
    async def step1(ctx: StepContext) -> dict:
        calls.hit("step1")
        return {"result": "success"}

    wf = Workflow("suspend-resume-runid-workflow").then(step1).commit()
    result = await wf.create_run(engine=engine, run_id="sr1-run").start(input_data={})

    assert result.status == "success"
    assert result.run_id == "sr1-run"
    assert calls["step1"] == 1


def _approval_workflow(calls: Calls, wf_id: str = "suspend-test-workflow") -> Workflow:
    """step1 -> step2 (suspends asking for approval) -> step3."""

    @step(id="step1")
    async def step1(ctx: StepContext) -> dict:
        calls.hit("step1")
        return {"value": "step1-done"}

    @step(id="step2", input_schema=Text, suspend_schema=Reason)
    async def step2(ctx: StepContext) -> dict:
        calls.hit("step2")
        ctx.suspend({"reason": "waiting for approval"})
        return {"result": "unreachable"}

    @step(id="step3")
    async def step3(ctx: StepContext) -> dict:
        calls.hit("step3")
        return {"final": "done"}

    return Workflow(wf_id).then(step1).then(step2).then(step3).commit()


async def test_sr2_suspend_stops_the_run_with_the_payload_recorded(engine, calls: Calls) -> None:
    """SR2: a step calling suspend() ends the run suspended and records its suspend payload."""
    wf = _approval_workflow(calls)
    result = await wf.create_run(engine=engine, run_id="sr2-run").start(input_data={})

    assert result.status == "suspended"
    assert calls["step1"] == 1
    assert calls["step2"] == 1
    assert result.steps["step1"].status == "success"
    assert result.steps["step1"].output == {"value": "step1-done"}
    assert result.steps["step2"].status == "suspended"
    assert result.steps["step2"].suspend_payload == {"reason": "waiting for approval"}
    assert result.steps["step2"].suspended_at is not None
    assert result.suspended == [["step2"]]


async def test_sr3_suspend_without_payload(engine, calls: Calls) -> None:
    """SR3: suspend() with no payload still suspends the step and the run."""

    @step(id="step1")
    async def step1(ctx: StepContext) -> dict:
        calls.hit("step1")
        ctx.suspend()
        return {"result": "unreachable"}

    wf = Workflow("empty-suspend-workflow").then(step1).commit()
    result = await wf.create_run(engine=engine, run_id="sr3-run").start(input_data={})

    assert result.status == "suspended"
    assert result.steps["step1"].status == "suspended"
    assert result.steps["step1"].suspend_payload is None


async def test_sr4_typed_suspend_payload_matches_suspend_schema(engine, calls: Calls) -> None:
    """SR4: a payload matching the step's suspend_schema is recorded as given."""

    @step(id="step1", suspend_schema=Approval)
    async def step1(ctx: StepContext) -> dict:
        calls.hit("step1")
        ctx.suspend({"approvalRequired": True, "requestedBy": "user-123", "amount": 500})
        return {"approved": False}

    wf = Workflow("typed-suspend-workflow").then(step1).commit()
    result = await wf.create_run(engine=engine, run_id="sr4-run").start(input_data={})

    assert result.status == "suspended"
    assert calls["step1"] == 1
    assert result.steps["step1"].status == "suspended"
    assert result.steps["step1"].suspend_payload == {
        "approvalRequired": True,
        "requestedBy": "user-123",
        "amount": 500,
    }


async def test_sr5_steps_after_a_suspended_step_do_not_run(engine, calls: Calls) -> None:
    """SR5: the step after a suspended step never runs and has no record."""
    wf = _approval_workflow(calls, "suspend-stops-execution-workflow")
    result = await wf.create_run(engine=engine, run_id="sr5-run").start(input_data={})

    assert result.status == "suspended"
    assert calls["step1"] == 1
    assert calls["step2"] == 1
    assert calls["step3"] == 0
    assert result.steps["step1"].output == {"value": "step1-done"}
    assert result.steps["step2"].suspend_payload == {"reason": "waiting for approval"}
    assert "step3" not in result.steps


async def test_sr6_suspend_inside_a_branch_arm(engine, calls: Calls) -> None:
    """SR6: a suspending branch arm suspends the run; the arm with a false condition never runs."""

    @step(id="check")
    async def check(ctx: StepContext) -> dict:
        calls.hit("check")
        return {"needsApproval": True}

    @step(id="approval")
    async def approval(ctx: StepContext) -> dict:
        calls.hit("approval")
        ctx.suspend({"type": "manager-approval"})
        return {"approved": False}

    @step(id="autoApprove")
    async def auto_approve(ctx: StepContext) -> dict:
        calls.hit("autoApprove")
        return {"approved": True}

    async def needs_approval(ctx: Any) -> bool:
        return ctx.input_data["needsApproval"] is True

    async def no_approval_needed(ctx: Any) -> bool:
        return ctx.input_data["needsApproval"] is False

    wf = (
        Workflow("suspend-in-branch-workflow")
        .then(check)
        .branch([(needs_approval, approval), (no_approval_needed, auto_approve)])
        .commit()
    )
    result = await wf.create_run(engine=engine, run_id="sr6-run").start(input_data={})

    assert result.status == "suspended"
    assert calls["check"] == 1
    assert calls["approval"] == 1
    assert calls["autoApprove"] == 0
    assert result.steps["check"].output == {"needsApproval": True}
    assert result.steps["approval"].status == "suspended"
    assert result.steps["approval"].suspend_payload == {"type": "manager-approval"}


async def test_sr7_state_set_before_suspend_is_kept(engine, calls: Calls) -> None:
    """SR7: a step that sets state and then suspends leaves the run suspended with that state."""

    class State(BaseModel):
        value: str

    @step(id="step1")
    async def step1(ctx: StepContext) -> dict:
        calls.hit("step1")
        return {"value": "step1-done"}

    @step(id="step2", suspend_schema=Reason)
    async def step2(ctx: StepContext) -> dict:
        calls.hit("step2")
        ctx.set_state({"value": ctx.state["value"] + "-modified"})
        ctx.suspend({"reason": "waiting"})
        return {"result": "unreachable"}

    @step(id="step3")
    async def step3(ctx: StepContext) -> dict:
        calls.hit("step3")
        return {"final": "done"}

    wf = (
        Workflow("suspend-resume-with-state-workflow", state_schema=State)
        .then(step1)
        .then(step2)
        .then(step3)
        .commit()
    )
    run = wf.create_run(engine=engine, run_id="sr7-run")
    result = await run.start(input_data={}, initial_state={"value": "initial"})

    assert result.status == "suspended"
    assert calls["step1"] == 1
    assert calls["step2"] == 1
    assert calls["step3"] == 0
    assert result.steps["step1"].output == {"value": "step1-done"}
    assert result.steps["step2"].suspend_payload == {"reason": "waiting"}
    assert result.state == {"value": "initial-modified"}


async def test_sr8_parallel_run_stays_suspended_when_one_child_suspends(
    engine, calls: Calls
) -> None:
    """SR8: in a parallel block, one suspending child suspends the run; the other still succeeds."""

    @step(id="step1")
    async def step1(ctx: StepContext) -> dict:
        calls.hit("step1")
        return {"result": "normal-done"}

    @step(id="step2")
    async def step2(ctx: StepContext) -> dict:
        calls.hit("step2")
        ctx.suspend({"waitingFor": "approval"})
        return {"result": "unreachable"}

    wf = Workflow("parallel-one-suspend-workflow").parallel([step1, step2]).commit()
    result = await wf.create_run(engine=engine, run_id="sr8-run").start(input_data={})

    assert result.status == "suspended"
    assert calls["step1"] == 1
    assert calls["step2"] == 1
    assert result.steps["step1"].status == "success"
    assert result.steps["step1"].output == {"result": "normal-done"}
    assert result.steps["step2"].status == "suspended"
    assert result.steps["step2"].suspend_payload == {"waitingFor": "approval"}
    assert result.suspended == [["step2"]]


async def test_sr9_parallel_run_succeeds_when_no_child_suspends(engine, calls: Calls) -> None:
    """SR9: a parallel block whose children all succeed completes the run."""

    @step(id="step1")
    async def step1(ctx: StepContext) -> dict:
        calls.hit("step1")
        return {"value": 10}

    @step(id="step2")
    async def step2(ctx: StepContext) -> dict:
        calls.hit("step2")
        return {"value": 20}

    wf = Workflow("parallel-no-suspend-workflow").parallel([step1, step2]).commit()
    result = await wf.create_run(engine=engine, run_id="sr9-run").start(input_data={})

    assert result.status == "success"
    assert calls["step1"] == 1
    assert calls["step2"] == 1
    assert result.steps["step1"].output == {"value": 10}
    assert result.steps["step2"].output == {"value": 20}
    assert result.suspended == []


# -- SR11-SR16: resuming ----------------------------------------------------------------------


def _basic_resume_workflow(calls: Calls, wf_id: str, label: str | None = None) -> Workflow:
    """step1 -> step2, which suspends once and on resume returns the user's input."""

    @step(id="step1")
    async def step1(ctx: StepContext) -> dict:
        calls.hit("step1")
        return {"value": "step1-done"}

    @step(id="step2", input_schema=Text, suspend_schema=Reason, resume_schema=UserInput)
    async def step2(ctx: StepContext) -> dict:
        calls.hit("step2")
        if ctx.resume_data is None:
            ctx.suspend({"reason": "waiting for user input"}, label=label)
        return {"result": "completed", "userInput": ctx.resume_data.userInput}

    return Workflow(wf_id).then(step1).then(step2).commit()


async def test_sr11_resume_completes_the_suspended_step(engine, calls: Calls) -> None:
    """SR11: resuming the suspended step by id re-runs it with the resume data; the run finishes."""
    wf = _basic_resume_workflow(calls, "basic-resume-workflow")
    run = wf.create_run(engine=engine, run_id="sr11-run")

    suspended = await run.start(input_data={})
    assert suspended.status == "suspended"
    assert calls["step1"] == 1
    assert suspended.steps["step2"].suspend_payload == {"reason": "waiting for user input"}

    resumed = await run.resume(resume_data={"userInput": "hello from resume"}, step="step2")

    assert resumed.status == "success"
    assert resumed.steps["step2"].status == "success"
    assert resumed.steps["step2"].output == {
        "result": "completed",
        "userInput": "hello from resume",
    }
    assert resumed.steps["step2"].resume_payload == {"userInput": "hello from resume"}
    assert resumed.result == {"result": "completed", "userInput": "hello from resume"}
    assert calls["step1"] == 1
    assert calls["step2"] == 2


async def test_sr11_resume_works_from_a_new_run_handle(engine, calls: Calls) -> None:
    """SR11: a fresh handle created with the same run id resumes the run stored by the first one."""
    wf = _basic_resume_workflow(calls, "basic-resume-workflow")
    await wf.create_run(engine=engine, run_id="sr11-new-handle").start(input_data={})

    fresh = wf.create_run(engine=engine, run_id="sr11-new-handle")
    resumed = await fresh.resume(resume_data={"userInput": "from another handle"}, step="step2")

    assert resumed.status == "success"
    assert resumed.run_id == "sr11-new-handle"
    assert resumed.steps["step2"].output == {
        "result": "completed",
        "userInput": "from another handle",
    }
    assert resumed.steps["step1"].output == {"value": "step1-done"}
    assert calls["step1"] == 1


async def test_sr12_resume_by_label(engine, calls: Calls) -> None:
    """SR12: a step suspended with a label is resumed by that label."""
    wf = _basic_resume_workflow(calls, "resume-with-label-workflow", label="my-custom-label")
    run = wf.create_run(engine=engine, run_id="sr12-run")

    suspended = await run.start(input_data={})
    assert suspended.status == "suspended"
    assert calls["step1"] == 1

    resumed = await run.resume(
        resume_data={"userInput": "resumed via label"}, label="my-custom-label"
    )

    assert resumed.status == "success"
    assert resumed.steps["step2"].status == "success"
    assert resumed.steps["step2"].output == {
        "result": "completed",
        "userInput": "resumed via label",
    }


async def test_sr13_state_changes_survive_suspend_and_resume(engine, calls: Calls) -> None:
    """SR13: set_state before a suspend is persisted and visible to later steps after the resume."""
    observed: list[tuple[str, dict]] = []

    class Proceed(BaseModel):
        proceed: bool

    @step(id="step1", resume_schema=Proceed)
    async def step1(ctx: StepContext) -> dict:
        observed.append(("step-1", dict(ctx.state)))
        if ctx.resume_data is None:
            ctx.set_state(
                {"count": ctx.state["count"] + 1, "items": [*ctx.state["items"], "item-1"]}
            )
            ctx.suspend({})
        return {}

    @step(id="step2")
    async def step2(ctx: StepContext) -> dict:
        observed.append(("step-2", dict(ctx.state)))
        return {"finalCount": ctx.state["count"], "itemCount": len(ctx.state["items"])}

    wf = (
        Workflow("state-persistence-resume-workflow", state_schema=CountState)
        .then(step1)
        .then(step2)
        .commit()
    )
    run = wf.create_run(engine=engine, run_id="sr13-run")

    started = await run.start(input_data={}, initial_state={"count": 0, "items": []})
    assert started.status == "suspended"
    assert observed == [("step-1", {"count": 0, "items": []})]

    resumed = await run.resume(resume_data={"proceed": True}, step="step1")

    assert resumed.status == "success"
    step2_states = [state for name, state in observed if name == "step-2"]
    assert step2_states == [{"count": 1, "items": ["item-1"]}]
    assert resumed.result == {"finalCount": 1, "itemCount": 1}


async def test_sr14_parallel_children_are_resumed_one_at_a_time(engine, calls: Calls) -> None:
    """SR14: two suspended parallel children: the run stays suspended until both are resumed."""

    @step(id="multi-resume-step-1", input_schema=Value, resume_schema=Increment)
    async def first(ctx: StepContext) -> dict:
        calls.hit("multi-resume-step-1")
        _suspend_first(ctx, {})
        return {"result": ctx.input_data.value + ctx.resume_data.increment}

    @step(id="multi-resume-step-2", input_schema=Value, resume_schema=Multiplier)
    async def second(ctx: StepContext) -> dict:
        calls.hit("multi-resume-step-2")
        _suspend_first(ctx, {})
        return {"result": ctx.input_data.value * ctx.resume_data.multiplier}

    wf = (
        Workflow("multi-suspend-parallel-workflow", input_schema=Value)
        .parallel([first, second])
        .commit()
    )
    run = wf.create_run(engine=engine, run_id="sr14-run")

    started = await run.start(input_data={"value": 10})
    assert started.status == "suspended"

    after_first = await run.resume(resume_data={"increment": 5}, step="multi-resume-step-1")
    assert after_first.status == "suspended"

    after_second = await run.resume(resume_data={"multiplier": 3}, step="multi-resume-step-2")
    assert after_second.status == "success"
    assert after_second.result == {
        "multi-resume-step-1": {"result": 15},
        "multi-resume-step-2": {"result": 30},
    }
    assert calls["multi-resume-step-1"] == 2
    assert calls["multi-resume-step-2"] == 2


def _two_suspending_arms(wf_id: str, second_schema: type[BaseModel]) -> Workflow:
    """A branch whose two conditions are both true; both arms suspend first."""

    @step(id="branch-step-1", input_schema=Value, resume_schema=Multiplier)
    async def arm1(ctx: StepContext) -> dict:
        _suspend_first(ctx, {})
        return {"result": ctx.input_data.value * ctx.resume_data.multiplier}

    @step(id="branch-step-2", input_schema=Value, resume_schema=second_schema)
    async def arm2(ctx: StepContext) -> dict:
        _suspend_first(ctx, {})
        data = ctx.resume_data
        if isinstance(data, Divisor):
            return {"result": ctx.input_data.value / data.divisor}
        return {"result": ctx.input_data.value * data.multiplier}

    async def always(ctx: Any) -> bool:
        return True

    return Workflow(wf_id, input_schema=Value).branch([(always, arm1), (always, arm2)]).commit()


async def test_sr15_resume_without_step_refuses_when_several_are_suspended(engine) -> None:
    """SR15: with two suspended steps, resume() without a step raises 'Multiple suspended steps'."""
    wf = _two_suspending_arms("multi-suspend-branch-workflow", Divisor)
    run = wf.create_run(engine=engine, run_id="sr15-run")

    started = await run.start(input_data={"value": 100})
    assert started.status == "suspended"
    assert len(started.suspended) > 1

    with pytest.raises(WorkflowError, match=r"[Mm]ultiple.*suspend"):
        await run.resume(resume_data={"multiplier": 2})

    explicit = await run.resume(resume_data={"multiplier": 2}, step="branch-step-1")
    assert explicit.status == "suspended"
    assert explicit.suspended == [["branch-step-2"]]


def _auto_resume_workflow(calls: Calls) -> Workflow:
    class Extra(BaseModel):
        extraData: str

    @step(id="suspend-step", input_schema=Value, resume_schema=Extra)
    async def suspend_step(ctx: StepContext) -> dict:
        calls.hit("suspend-step")
        if ctx.resume_data is None:
            ctx.suspend({"waitingFor": "user-input", "originalValue": ctx.input_data.value})
        return {"result": f"processed-{ctx.resume_data.extraData}"}

    @step(id="complete-step")
    async def complete_step(ctx: StepContext) -> dict:
        calls.hit("complete-step")
        return {"final": f"Completed: {ctx.input_data['result']}"}

    return (
        Workflow("auto-resume-test-workflow", input_schema=Value)
        .then(suspend_step)
        .then(complete_step)
        .commit()
    )


async def test_sr16_explicit_step_resume(engine, calls: Calls) -> None:
    """SR16: a run suspended at suspend-step resumes when that step is named explicitly."""
    wf = _auto_resume_workflow(calls)
    run = wf.create_run(engine=engine, run_id="sr16-explicit")

    started = await run.start(input_data={"value": 42})
    assert started.status == "suspended"
    assert "suspend-step" in started.suspended[0]
    assert started.steps["suspend-step"].suspend_payload == {
        "waitingFor": "user-input",
        "originalValue": 42,
    }

    resumed = await run.resume(resume_data={"extraData": "explicit-resume"}, step="suspend-step")
    assert resumed.status == "success"
    assert resumed.result["final"] == "Completed: processed-explicit-resume"


async def test_sr16_auto_resume_without_step(engine, calls: Calls) -> None:
    """SR16: with one suspended step, resume() without a step finds it."""
    wf = _auto_resume_workflow(calls)
    run = wf.create_run(engine=engine, run_id="sr16-auto")

    started = await run.start(input_data={"value": 100})
    assert started.status == "suspended"

    resumed = await run.resume(resume_data={"extraData": "auto-resume"})
    assert resumed.status == "success"
    assert resumed.result["final"] == "Completed: processed-auto-resume"
    assert calls["complete-step"] == 1


async def _check_branch_statuses_across_resumes(engine, wf: Workflow, run_id: str) -> None:
    run = wf.create_run(engine=engine, run_id=run_id)

    started = await run.start(input_data={"value": 10})
    assert started.status == "suspended"
    assert started.steps["branch-step-1"].status == "suspended"
    assert started.steps["branch-step-2"].status == "suspended"
    assert started.suspended == [["branch-step-1"], ["branch-step-2"]]

    first = await run.resume(resume_data={"multiplier": 2}, step="branch-step-1")
    assert first.status == "suspended"
    assert first.steps["branch-step-1"].status == "success"
    assert first.steps["branch-step-2"].status == "suspended"
    assert first.suspended == [["branch-step-2"]]

    final = await run.resume(resume_data={"multiplier": 3}, step="branch-step-2")
    assert final.status == "success"
    assert final.steps["branch-step-1"].status == "success"
    assert final.steps["branch-step-2"].status == "success"
    assert final.result == {
        "branch-step-1": {"result": 20},
        "branch-step-2": {"result": 30},
    }


async def test_sr17_branch_step_statuses_stay_correct_across_resumes(engine) -> None:
    """SR17: both true branch arms suspend; each resume updates only its own arm's status."""
    wf = _two_suspending_arms("branching-resume-status-workflow", Multiplier)
    await _check_branch_statuses_across_resumes(engine, wf, "sr17-run")


async def test_sr31_branch_step_statuses_regression_6419(engine) -> None:
    """SR31: regression #6419, same as SR17: arm statuses and result stay right across resumes."""
    wf = _two_suspending_arms("branching-state-bug-6419-workflow", Multiplier)
    await _check_branch_statuses_across_resumes(engine, wf, "sr31-run")


# -- SR19/SR32: loops -------------------------------------------------------------------------


def _loop_workflow(calls: Calls, wf_id: str, work_delay: float = 0.0) -> Workflow:
    """dountil(step-1) where step-1 suspends each iteration until told to continue."""

    @step(
        id="step-1",
        input_schema=LoopValue,
        resume_schema=ShouldContinue,
        suspend_schema=Message,
    )
    async def step1(ctx: StepContext) -> dict:
        calls.hit("step-1")
        value = ctx.input_data.value
        if ctx.resume_data is None or not ctx.resume_data.shouldContinue:
            ctx.suspend({"message": f"Continue with value {value}?"})
        if work_delay:
            await asyncio.sleep(work_delay)
        value += 1
        return {"value": value, "condition": value >= 10}

    @step(id="step-2")
    async def step2(ctx: StepContext) -> dict:
        calls.hit("step-2")
        return dict(ctx.input_data)

    async def done(ctx: Any) -> bool:
        return bool(ctx.input_data["condition"])

    return Workflow(wf_id, input_schema=LoopValue).dountil(step1, done).then(step2).commit()


async def test_sr19_loop_iteration_after_resume_gets_previous_output(engine, calls: Calls) -> None:
    """SR19: after each resume the next loop iteration receives the previous iteration's output."""
    wf = _loop_workflow(calls, "loop-resume-input-workflow")
    run = wf.create_run(engine=engine, run_id="sr19-run")

    started = await run.start(input_data={"value": 0, "condition": False})
    assert started.status == "suspended"

    for expected in (1, 2, 3):
        resumed = await run.resume(resume_data={"shouldContinue": True})
        assert resumed.status == "suspended"
        assert resumed.steps["step-1"].payload["value"] == expected
    assert calls["step-2"] == 0


async def test_sr32_loop_input_after_resume_with_slow_step_regression_6669(
    engine, calls: Calls
) -> None:
    """SR32: regression #6669, as SR19 with a short delay inside the step: inputs are 1, 2, 3."""
    wf = _loop_workflow(calls, "loop-input-bug-6669-workflow", work_delay=0.005)
    run = wf.create_run(engine=engine, run_id="sr32-run")

    started = await run.start(input_data={"value": 0, "condition": False})
    assert started.status == "suspended"

    payload_values = []
    last = started
    for _ in range(3):
        last = await run.resume(resume_data={"shouldContinue": True})
        payload_values.append(last.steps["step-1"].payload["value"])
    assert payload_values == [1, 2, 3]
    assert last.status == "suspended"


# -- SR20: a map before the resumed step ------------------------------------------------------


async def test_sr20_resumed_step_after_map_gets_its_recorded_input(engine, calls: Calls) -> None:
    """SR20: steps around a .map() resume with the right inputs (also with a step object target)."""

    class Input(BaseModel):
        input: str

    class ModelOutput(BaseModel):
        modelOutput: str

    @step(id="getUserInput", input_schema=Input)
    async def get_user_input(ctx: StepContext) -> dict:
        calls.hit("getUserInput")
        return {"userInput": ctx.input_data.input}

    @step(id="promptAgent", input_schema=UserInput, resume_schema=UserInput)
    async def prompt_agent(ctx: StepContext) -> dict:
        calls.hit("promptAgent")
        if ctx.resume_data is None:
            ctx.suspend({"testPayload": "suspend message"})
        return {"modelOutput": f"{ctx.input_data.userInput} {ctx.resume_data.userInput}"}

    async def tone_scores(ctx: Any) -> dict:
        return {"toneScore": {"score": 0.8}, "completenessScore": {"score": 0.7}}

    @step(id="improveResponse", input_schema=Scores, resume_schema=Scores)
    async def improve_response(ctx: StepContext) -> dict:
        calls.hit("improveResponse")
        if ctx.resume_data is None:
            ctx.suspend({})
        before, extra = ctx.input_data, ctx.resume_data
        return {
            "improvedOutput": "improved output",
            "overallScore": {
                "completenessScore": {
                    "score": (before.completenessScore.score + extra.completenessScore.score) / 2
                },
                "toneScore": {"score": (before.toneScore.score + extra.toneScore.score) / 2},
            },
        }

    @step(id="evaluateImprovedResponse")
    async def evaluate(ctx: StepContext) -> dict:
        calls.hit("evaluateImprovedResponse")
        return ctx.input_data["overallScore"]

    wf = (
        Workflow("map-step-resume-workflow", input_schema=Input)
        .then(get_user_input)
        .then(prompt_agent)
        .map(tone_scores, id="evaluateToneConsistency")
        .then(improve_response)
        .then(evaluate)
        .commit()
    )
    run = wf.create_run(engine=engine, run_id="sr20-run")

    started = await run.start(input_data={"input": "test"})
    assert started.status == "suspended"
    assert started.steps["promptAgent"].status == "suspended"
    assert started.steps["getUserInput"].output == {"userInput": "test"}

    first = await run.resume(resume_data={"userInput": "input for resumption"}, step="promptAgent")
    assert first.status == "suspended"
    assert first.steps["promptAgent"].status == "success"
    assert first.steps["promptAgent"].output == {"modelOutput": "test input for resumption"}
    assert first.steps["evaluateToneConsistency"].status == "success"
    assert first.steps["evaluateToneConsistency"].output == {
        "toneScore": {"score": 0.8},
        "completenessScore": {"score": 0.7},
    }
    assert first.steps["improveResponse"].status == "suspended"

    second = await run.resume(
        resume_data={"toneScore": {"score": 0.9}, "completenessScore": {"score": 0.8}},
        step=improve_response,
    )
    assert second.status == "success"
    improved = second.steps["improveResponse"]
    assert improved.status == "success"
    assert improved.output["improvedOutput"] == "improved output"
    assert improved.output["overallScore"]["toneScore"]["score"] == pytest.approx(0.85)
    assert improved.output["overallScore"]["completenessScore"]["score"] == pytest.approx(0.75)
    evaluated = second.steps["evaluateImprovedResponse"]
    assert evaluated.status == "success"
    assert evaluated.output["toneScore"]["score"] == pytest.approx(0.85)
    assert evaluated.output["completenessScore"]["score"] == pytest.approx(0.75)
    assert calls["getUserInput"] == 1
    assert calls["promptAgent"] == 2
    assert calls["improveResponse"] == 2


# -- SR29: parallel (#6418) -------------------------------------------------------------------


async def test_sr29_parallel_stays_suspended_until_every_child_is_resumed(engine) -> None:
    """SR29: regression #6418: resuming one of two suspended parallel steps keeps it suspended."""

    @step(id="parallel-step-1", input_schema=Value, resume_schema=Multiplier)
    async def first(ctx: StepContext) -> dict:
        _suspend_first(ctx, {})
        return {"result": ctx.input_data.value * ctx.resume_data.multiplier}

    @step(id="parallel-step-2", input_schema=Value, resume_schema=Divisor)
    async def second(ctx: StepContext) -> dict:
        _suspend_first(ctx, {})
        return {"result": ctx.input_data.value / ctx.resume_data.divisor}

    wf = (
        Workflow("parallel-suspension-bug-6418-workflow", input_schema=Value)
        .parallel([first, second])
        .commit()
    )
    run = wf.create_run(engine=engine, run_id="sr29-run")

    started = await run.start(input_data={"value": 100})
    assert started.status == "suspended"
    assert len(started.suspended) == 2

    after_first = await run.resume(resume_data={"multiplier": 2}, step="parallel-step-1")
    assert after_first.status == "suspended"
    assert len(after_first.suspended) == 1
    assert "parallel-step-2" in after_first.suspended[0]

    after_second = await run.resume(resume_data={"divisor": 5}, step="parallel-step-2")
    assert after_second.status == "success"
    assert after_second.result == {
        "parallel-step-1": {"result": 200},
        "parallel-step-2": {"result": 20},
    }


# -- SR30: runtime context --------------------------------------------------------------------


async def test_sr30_context_changes_before_suspend_are_restored_on_resume(
    engine, calls: Calls
) -> None:
    """SR30: bug #4442: changes to ctx.context made before a suspend are there after the resume."""

    @step(id="getUserInput")
    async def get_user_input(ctx: StepContext) -> dict:
        calls.hit("getUserInput")
        return {"userInput": "test input"}

    @step(id="promptAgent", resume_schema=UserInput)
    async def prompt_agent(ctx: StepContext) -> None:
        calls.hit("promptAgent")
        if ctx.resume_data is None:
            ctx.context["responses"] = [*ctx.context.get("responses", []), "first message"]
            ctx.suspend({"testPayload": "hello"})
        ctx.context["responses"] = [*ctx.context.get("responses", []), "promptAgentAction"]
        return None

    @step(id="requestContextAction")
    async def read_context(ctx: StepContext) -> list:
        calls.hit("requestContextAction")
        return ctx.context.get("responses")

    wf = (
        Workflow("requestcontext-bug-4442-workflow")
        .then(get_user_input)
        .then(prompt_agent)
        .then(read_context)
        .commit()
    )
    run = wf.create_run(engine=engine, run_id="sr30-run")

    started = await run.start(input_data={"input": "test"})
    assert started.steps["promptAgent"].status == "suspended"
    assert calls["promptAgent"] == 1

    resumed = await run.resume(
        resume_data={"userInput": "test input for resumption"}, step="promptAgent"
    )

    assert calls["promptAgent"] == 2
    assert resumed.steps["requestContextAction"].status == "success"
    assert resumed.steps["requestContextAction"].output == ["first message", "promptAgentAction"]


# -- SR34-SR39: resume targets and validation -------------------------------------------------


async def test_sr34_auto_resume_of_the_single_suspended_step(engine) -> None:
    """SR34: resume() with no step resumes the only suspended step."""

    @step(id="step1", input_schema=Value, resume_schema=Multiplier)
    async def step1(ctx: StepContext) -> dict:
        _suspend_first(ctx, {})
        return {"result": ctx.input_data.value * ctx.resume_data.multiplier}

    wf = Workflow("suspend-resume-auto-nonstep-workflow", input_schema=Value).then(step1).commit()
    run = wf.create_run(engine=engine, run_id="sr34-run")

    started = await run.start(input_data={"value": 10})
    assert started.status == "suspended"

    resumed = await run.resume(resume_data={"multiplier": 5})
    assert resumed.status == "success"
    assert resumed.result["result"] == 50


def _increment_resume_final(calls: Calls, wf_id: str, resume_schema: type[BaseModel]) -> Workflow:
    """increment (+1) -> resume (suspends below 10; adds the resumed value) -> final."""

    @step(id="increment", input_schema=Value)
    async def increment(ctx: StepContext) -> dict:
        calls.hit("increment")
        return {"value": ctx.input_data.value + 1}

    @step(id="resume", input_schema=Value, resume_schema=resume_schema)
    async def resume(ctx: StepContext) -> dict:
        calls.hit("resume")
        if ctx.resume_data is None and ctx.input_data.value < 10:
            ctx.suspend({})
        return {"value": ctx.resume_data.value + ctx.input_data.value}

    @step(id="final", input_schema=Value)
    async def final(ctx: StepContext) -> dict:
        calls.hit("final")
        return {"value": ctx.input_data.value}

    return (
        Workflow(wf_id, input_schema=Value, output_schema=Value)
        .then(increment)
        .then(resume)
        .then(final)
        .commit()
    )


async def test_sr35_resume_schema_defaults_fill_empty_resume_data(engine, calls: Calls) -> None:
    """SR35: resuming with {} applies the resume schema's default (21), giving 1 + 21 = 22."""
    wf = _increment_resume_final(calls, "suspend-resume-schema-defaults-workflow", ValueWithDefault)
    run = wf.create_run(engine=engine, run_id="sr35-run")

    started = await run.start(input_data={"value": 0})
    assert started.status == "suspended"

    resumed = await run.resume(resume_data={}, step="resume")
    assert resumed.status == "success"
    assert resumed.result["value"] == 22


async def test_sr36_second_parallel_group_receives_merged_outputs(engine, calls: Calls) -> None:
    """SR36: a second parallel group receives {step1: ..., step2: ...} from the first group."""

    class Input(BaseModel):
        input: str

    @step(id="step1", input_schema=Input)
    async def step1(ctx: StepContext) -> dict:
        return {"result1": f"processed-{ctx.input_data.input}"}

    @step(id="step2", input_schema=Input)
    async def step2(ctx: StepContext) -> dict:
        return {"result2": f"transformed-{ctx.input_data.input}"}

    @step(id="step3")
    async def step3(ctx: StepContext) -> dict:
        data = ctx.input_data
        return {"result3": f"combined-{data['step1']['result1']}-{data['step2']['result2']}"}

    @step(id="step4")
    async def step4(ctx: StepContext) -> dict:
        data = ctx.input_data
        return {"result4": f"final-{data['step1']['result1']}-{data['step2']['result2']}"}

    wf = (
        Workflow("suspend-resume-consecutive-parallel-workflow", input_schema=Input)
        .parallel([step1, step2])
        .parallel([step3, step4])
        .commit()
    )
    result = await wf.create_run(engine=engine, run_id="sr36-run").start(
        input_data={"input": "test"}
    )

    assert result.status == "success"
    assert result.steps["step1"].output["result1"] == "processed-test"
    assert result.steps["step2"].output["result2"] == "transformed-test"
    assert result.steps["step3"].output["result3"] == "combined-processed-test-transformed-test"
    assert result.steps["step4"].output["result4"] == "final-processed-test-transformed-test"


async def test_sr37_resuming_a_finished_run_raises(engine, calls: Calls) -> None:
    """SR37: resuming a run that finished without suspending raises InvalidRunStateError."""

    @step(id="increment", input_schema=Value)
    async def increment(ctx: StepContext) -> dict:
        return {"value": ctx.input_data.value + 1}

    @step(id="final", input_schema=Value)
    async def final(ctx: StepContext) -> dict:
        return {"value": ctx.input_data.value}

    wf = (
        Workflow("suspend-resume-not-suspended-workflow", input_schema=Value)
        .then(increment)
        .then(final)
        .commit()
    )
    run = wf.create_run(engine=engine, run_id="sr37-run")
    finished = await run.start(input_data={"value": 0})
    assert finished.status == "success"

    with pytest.raises(InvalidRunStateError) as info:
        await run.resume(resume_data={"value": 2}, step="increment")
    assert re.search(r"[Ss]uspend|[Nn]ot.*paused|[Cc]annot.*resume", str(info.value))


async def test_sr38_invalid_resume_data_raises_and_the_run_stays_resumable(
    engine, calls: Calls
) -> None:
    """SR38: resume data that fails the resume schema raises; valid data afterwards succeeds."""
    wf = _increment_resume_final(calls, "suspend-resume-invalid-data-workflow", Value)
    run = wf.create_run(engine=engine, run_id="sr38-run")

    started = await run.start(input_data={"value": 0})
    assert started.status == "suspended"

    with pytest.raises(ValidationError):
        await run.resume(resume_data={"number": 2}, step="resume")
    assert calls["resume"] == 1

    resumed = await run.resume(resume_data={"value": 21}, step="resume")
    assert resumed.status == "success"
    assert resumed.result["value"] == 22


async def test_sr39_resuming_a_step_that_is_not_suspended_raises(engine, calls: Calls) -> None:
    """SR39: resuming a step that is not suspended raises, naming the suspended one; retry works."""
    wf = _increment_resume_final(calls, "suspend-resume-non-suspended-step-workflow", Value)
    run = wf.create_run(engine=engine, run_id="sr39-run")

    started = await run.start(input_data={"value": 0})
    assert started.status == "suspended"

    with pytest.raises(InvalidRunStateError) as info:
        await run.resume(resume_data={"value": 2}, step="increment")
    assert "increment" in str(info.value)
    assert "resume" in str(info.value)
    assert calls["increment"] == 1

    resumed = await run.resume(resume_data={"value": 21}, step="resume")
    assert resumed.status == "success"
    assert resumed.result["value"] == 22


# -- SR46: suspend data -----------------------------------------------------------------------


async def test_sr46_resumed_step_reads_its_previous_suspend_payload(engine) -> None:
    """SR46: on resume, ctx.suspend_data holds the payload the step suspended with."""

    class Confirm(BaseModel):
        confirm: bool

    class WhySuspended(BaseModel):
        reason: str
        originalValue: str

    @step(
        id="suspend-data-access-test",
        input_schema=Text,
        resume_schema=Confirm,
        suspend_schema=WhySuspended,
    )
    async def access(ctx: StepContext) -> dict:
        if ctx.resume_data is None or not ctx.resume_data.confirm:
            ctx.suspend(
                {"reason": "User confirmation required", "originalValue": ctx.input_data.value}
            )
        previous = ctx.suspend_data or {}
        reason = previous.get("reason", "Unknown")
        original = previous.get("originalValue", "Unknown")
        return {
            "result": f"Processed {original} after {reason}",
            "wasResumed": True,
            "suspendReason": reason,
        }

    wf = Workflow("suspend-data-access-workflow", input_schema=Text).then(access).commit()
    run = wf.create_run(engine=engine, run_id="sr46-run")

    started = await run.start(input_data={"value": "test-value"})
    assert started.status == "suspended"

    resumed = await run.resume(resume_data={"confirm": True}, step=access)
    assert resumed.status == "success"
    assert resumed.result["suspendReason"] == "User confirmation required"
    assert resumed.result["result"] == "Processed test-value after User confirmation required"


# -- Stepback cases ---------------------------------------------------------------------------


async def test_sb_resume_with_unknown_step_raises_listing_suspended_steps(
    engine, calls: Calls
) -> None:
    """SB: resuming a step id the workflow does not have raises and names the suspended steps."""
    wf = _approval_workflow(calls, "sb-unknown-step")
    run = wf.create_run(engine=engine, run_id="sb-unknown-step-run")
    await run.start(input_data={})

    with pytest.raises(WorkflowError) as info:
        await run.resume(resume_data={}, step="no-such-step")
    assert "step2" in str(info.value)
    assert calls["step2"] == 1


async def test_sb_invalid_resume_data_lists_field_paths_and_changes_nothing(
    engine, calls: Calls
) -> None:
    """SB: invalid resume data raises ValidationError listing each field path; nothing is stored."""

    class Decision(BaseModel):
        approved: bool

    class Review(BaseModel):
        decision: Decision
        amount: int

    @step(id="review", resume_schema=Review)
    async def review(ctx: StepContext) -> dict:
        calls.hit("review")
        _suspend_first(ctx, {"ask": "review"})
        return {"approved": ctx.resume_data.decision.approved, "amount": ctx.resume_data.amount}

    wf = Workflow("sb-invalid-resume").then(review).commit()
    run = wf.create_run(engine=engine, run_id="sb-invalid-resume-run")
    await run.start(input_data={})

    snapshot_before = (await engine.storage.load("sb-invalid-resume-run")).to_dict()
    events_before = [e.to_dict() for e in await engine.storage.read_events("sb-invalid-resume-run")]

    with pytest.raises(ValidationError) as info:
        await run.resume(resume_data={"decision": {"approved": "perhaps"}, "amount": "lots"})

    paths = {e["path"] for e in info.value.errors}
    assert {"decision.approved", "amount"} <= paths
    assert "decision.approved" in str(info.value)
    assert all(e["message"] for e in info.value.errors)
    assert (await engine.storage.load("sb-invalid-resume-run")).to_dict() == snapshot_before
    events_after = [e.to_dict() for e in await engine.storage.read_events("sb-invalid-resume-run")]
    assert events_after == events_before
    assert calls["review"] == 1

    resumed = await run.resume(resume_data={"decision": {"approved": True}, "amount": 3})
    assert resumed.status == "success"
    assert resumed.result == {"approved": True, "amount": 3}


async def test_sb_two_concurrent_resumes_exactly_one_wins(engine) -> None:
    """SB: two callers resume the same run at once: one succeeds, the other raises WorkflowError."""
    entered = asyncio.Event()
    release = asyncio.Event()

    @step(id="gate")
    async def gate(ctx: StepContext) -> dict:
        if ctx.resume_data is None:
            ctx.suspend({"waiting": True})
        entered.set()
        await asyncio.wait_for(release.wait(), timeout=5)
        return {"by": ctx.resume_data["who"]}

    wf = Workflow("sb-concurrent-resume").then(gate).commit()
    await wf.create_run(engine=engine, run_id="sb-race").start(input_data={})

    first = asyncio.create_task(
        wf.create_run(engine=engine, run_id="sb-race").resume(resume_data={"who": "a"})
    )
    second = asyncio.create_task(
        wf.create_run(engine=engine, run_id="sb-race").resume(resume_data={"who": "b"})
    )
    await asyncio.wait_for(entered.wait(), timeout=5)
    for _ in range(50):
        await asyncio.sleep(0)
    release.set()
    outcomes = await asyncio.gather(first, second, return_exceptions=True)

    wins = [o for o in outcomes if not isinstance(o, BaseException)]
    losses = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(wins) == 1, outcomes
    assert wins[0].status == "success"
    assert len(losses) == 1
    assert isinstance(losses[0], (InvalidRunStateError, RunConflictError)), losses[0]

    stored = await engine.storage.load("sb-race")
    assert stored.status == "success"
    assert stored.result == wins[0].result
    seqs = [e.seq for e in await engine.storage.read_events("sb-race")]
    assert seqs == list(range(1, len(seqs) + 1))


async def test_sb_event_seq_is_gap_free_across_start_and_resume(engine, calls: Calls) -> None:
    """SB: the events of a run numbered from 1 without gaps across start and resume calls."""
    wf = _basic_resume_workflow(calls, "sb-seq-workflow")
    run = wf.create_run(engine=engine, run_id="sb-seq-run")

    await run.start(input_data={})
    after_start = await engine.storage.read_events("sb-seq-run")
    await run.resume(resume_data={"userInput": "go"})
    events = await engine.storage.read_events("sb-seq-run")

    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert len(events) > len(after_start)
    assert events[: len(after_start)] == after_start
    assert events[0].type == "run.started"
    assert after_start[-1].type == "run.suspended"
    assert "step.resumed" in [e.type for e in events[len(after_start) :]]
    assert events[-1].type == "run.succeeded"
    assert all(e.run_id == "sb-seq-run" for e in events)


async def test_sb_suspended_step_record_holds_labels_and_payloads(engine) -> None:
    """SB: a suspended step's record holds its labels and suspend payload, later its resume data."""

    @step(id="approve", resume_schema=Reason)
    async def approve(ctx: StepContext) -> dict:
        if ctx.resume_data is None:
            ctx.suspend({"question": "ship it?"}, label="ship-approval")
        return {"answer": ctx.resume_data.reason}

    wf = Workflow("sb-labels-workflow").then(approve).commit()
    run = wf.create_run(engine=engine, run_id="sb-labels-run")

    started = await run.start(input_data={})
    record = started.steps["approve"]
    assert record.status == "suspended"
    assert record.suspend_payload == {"question": "ship it?"}
    assert "ship-approval" in record.labels
    assert "ship-approval" in started.resume_labels

    resumed = await run.resume(resume_data={"reason": "yes"}, label="ship-approval")
    record = resumed.steps["approve"]
    assert record.status == "success"
    assert record.output == {"answer": "yes"}
    assert record.resume_payload == {"reason": "yes"}
    assert record.suspend_payload == {"question": "ship it?"}
    assert record.resumed_at is not None
