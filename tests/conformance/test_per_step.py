"""per_step execution: run one step, pause, continue with resume() (catalog section 20, P1-P5)."""

from __future__ import annotations

import uuid
from typing import Any

from engines import Step, StepContext, Workflow
from engines.testing import Calls


def _run_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _constant(step_id: str, value: dict[str, Any], calls: Calls) -> Step:
    async def execute(ctx: StepContext) -> dict[str, Any]:
        calls.hit(step_id)
        return dict(value)

    return Step(step_id, execute)


async def test_p1_per_step_runs_only_the_first_step_and_pauses(engine: Any, calls: Calls) -> None:
    """P1: start(per_step=True) runs step1 only and returns status 'paused'."""
    wf = (
        Workflow("per-step-basic")
        .then(_constant("step1", {"value": "step1-done"}, calls))
        .then(_constant("step2", {"value": "step2-done"}, calls))
        .commit()
    )
    result = await wf.create_run(engine=engine, run_id=_run_id("p1")).start(
        input_data={}, per_step=True
    )

    assert result.status == "paused"
    assert result.steps["step1"].status == "success"
    assert result.steps["step1"].output == {"value": "step1-done"}
    assert "step2" not in result.steps
    assert calls["step1"] == 1
    assert calls["step2"] == 0


async def test_p2_per_step_runs_a_single_child_of_a_parallel_block(
    engine: Any, calls: Calls
) -> None:
    """P2: in a parallel block per_step runs only the first child, then pauses."""
    wf = (
        Workflow("per-step-parallel")
        .parallel(
            [
                _constant("stepA", {"value": "A"}, calls),
                _constant("stepB", {"value": "B"}, calls),
            ]
        )
        .then(_constant("stepC", {"value": "C"}, calls))
        .commit()
    )
    result = await wf.create_run(engine=engine, run_id=_run_id("p2")).start(
        input_data={}, per_step=True
    )

    assert result.status == "paused"
    assert result.steps["stepA"].status == "success"
    assert "stepB" not in result.steps
    assert "stepC" not in result.steps
    assert calls["stepA"] == 1
    assert calls["stepB"] == 0
    assert calls["stepC"] == 0


async def test_p3_per_step_runs_the_check_before_a_branch_and_no_arm(
    engine: Any, calls: Calls
) -> None:
    """P3: with a check step before a branch, per_step runs the check and neither arm."""

    def is_a(ctx: StepContext) -> bool:
        return bool(ctx.input_data["branch"] == "A")

    def is_b(ctx: StepContext) -> bool:
        return bool(ctx.input_data["branch"] == "B")

    wf = (
        Workflow("per-step-conditional")
        .then(_constant("check", {"branch": "A"}, calls))
        .branch(
            [
                (is_a, _constant("branchA", {"result": "A"}, calls)),
                (is_b, _constant("branchB", {"result": "B"}, calls)),
            ]
        )
        .commit()
    )
    result = await wf.create_run(engine=engine, run_id=_run_id("p3")).start(
        input_data={}, per_step=True
    )

    assert result.status == "paused"
    assert result.steps["check"].status == "success"
    assert "branchA" not in result.steps
    assert "branchB" not in result.steps
    assert calls["branchA"] == 0
    assert calls["branchB"] == 0


async def test_p4_per_step_runs_the_outer_step_before_a_nested_workflow_only(
    engine: Any, calls: Calls
) -> None:
    """P4: per_step stops after the outer step; the nested workflow has not started."""
    inner = (
        Workflow("per-step-inner").then(_constant("innerStep", {"value": "inner"}, calls)).commit()
    )
    wf = (
        Workflow("per-step-nested")
        .then(_constant("outerStep", {"value": "outer"}, calls))
        .then(inner)
        .then(_constant("finalStep", {"value": "final"}, calls))
        .commit()
    )
    result = await wf.create_run(engine=engine, run_id=_run_id("p4")).start(
        input_data={}, per_step=True
    )

    assert result.status == "paused"
    assert result.steps["outerStep"].status == "success"
    assert "per-step-inner" not in result.steps
    assert "finalStep" not in result.steps
    assert calls["outerStep"] == 1
    assert calls["innerStep"] == 0
    assert calls["finalStep"] == 0


ORDER = ["step1", "step2", "step3"]


def _three_steps(wf_id: str, calls: Calls) -> Workflow:
    wf = Workflow(wf_id)
    for step_id in ORDER:
        wf = wf.then(_constant(step_id, {"value": f"{step_id}-done"}, calls))
    return wf.commit()


async def test_p5_per_step_resumes_continue_a_paused_run_one_step_at_a_time(
    engine: Any, calls: Calls
) -> None:
    """P5: each resume(per_step=True) of a paused run runs one more step, until success."""
    run = _three_steps("per-step-continue", calls).create_run(engine=engine, run_id=_run_id("p5"))

    result = await run.start(input_data={}, per_step=True)
    assert result.status == "paused"
    assert set(result.steps) == {"step1"}
    assert [calls[s] for s in ORDER] == [1, 0, 0]

    for done in range(2, len(ORDER) + 1):
        result = await run.resume(per_step=True)
        assert set(result.steps) == set(ORDER[:done])
        assert [calls[s] for s in ORDER] == [1] * done + [0] * (len(ORDER) - done)
        assert result.steps[ORDER[done - 1]].output == {"value": f"{ORDER[done - 1]}-done"}
        if done < len(ORDER):
            assert result.status == "paused"

    # Whether the call that ran the last step already reports success or pauses once more,
    # continuing finishes the run without running anything again.
    if result.status == "paused":
        result = await run.resume(per_step=True)
    assert result.status == "success"
    assert [calls[s] for s in ORDER] == [1, 1, 1]
    assert result.result == {"value": "step3-done"}


async def test_p5_resume_with_per_step_false_runs_a_paused_run_to_the_end(
    engine: Any, calls: Calls
) -> None:
    """P5: resume(per_step=False) continues a paused run through all remaining steps."""
    run = _three_steps("per-step-continue", calls).create_run(
        engine=engine, run_id=_run_id("p5-all")
    )
    first = await run.start(input_data={}, per_step=True)
    assert first.status == "paused"

    result = await run.resume(per_step=False)

    assert result.status == "success"
    assert set(result.steps) == set(ORDER)
    assert [calls[s] for s in ORDER] == [1, 1, 1]
    assert result.result == {"value": "step3-done"}
