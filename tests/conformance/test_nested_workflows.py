"""Nested workflows: a committed workflow used as a step (catalog section 11, rows N1-N7)."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel

from engines import Step, StepContext, Workflow
from engines.testing import Calls


def _run_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _returns(name: str, value: dict[str, Any], calls: Calls) -> Step:
    """A step that counts its call and returns a fixed value."""

    async def execute(ctx: StepContext) -> dict[str, Any]:
        calls.hit(name)
        return dict(value)

    return Step(name, execute)


def _basic_nesting(calls: Calls) -> Workflow:
    inner = (
        Workflow("nested-basic-inner")
        .then(_returns("step2", {"value": "step2"}, calls))
        .then(_returns("step3", {"value": "step3"}, calls))
        .commit()
    )
    return (
        Workflow("nested-basic-main")
        .then(_returns("step1", {"value": "step1"}, calls))
        .then(inner)
        .commit()
    )


async def test_n1_a_nested_workflow_runs_as_one_step(engine: Any, calls: Calls) -> None:
    """N1: a nested workflow runs as a single step whose output is its last step's output."""
    wf = _basic_nesting(calls)
    result = await wf.create_run(engine=engine, run_id=_run_id("n1")).start(input_data={})

    assert result.status == "success"
    assert calls["step1"] == 1
    assert calls["step2"] == 1
    assert calls["step3"] == 1
    assert result.steps["step1"].status == "success"
    assert result.steps["step1"].output == {"value": "step1"}
    nested = result.steps["nested-basic-inner"]
    assert nested.status == "success"
    assert nested.output == {"value": "step3"}
    assert "step2" not in result.steps
    assert "step3" not in result.steps


async def test_n1_inner_step_records_live_in_the_snapshot_under_dotted_keys(
    engine: Any, calls: Calls
) -> None:
    """N1: the inner steps are stored as 'outer.inner' records, dropped by view(nested=False)."""
    wf = _basic_nesting(calls)
    run_id = _run_id("n1-snap")
    await wf.create_run(engine=engine, run_id=run_id).start(input_data={})

    snap = await engine.storage.load(run_id)
    assert snap is not None
    assert snap.steps["nested-basic-inner.step2"].output == {"value": "step2"}
    assert snap.steps["nested-basic-inner.step3"].output == {"value": "step3"}
    flat = snap.view(nested=False)["steps"]
    assert "nested-basic-inner" in flat
    assert not any("." in key for key in flat)


async def test_n2_a_failing_inner_step_fails_the_nested_workflow_step(
    engine: Any, calls: Calls
) -> None:
    """N2: an inner step's failure fails the nested workflow step and the run."""

    async def boom(ctx: StepContext) -> dict[str, Any]:
        calls.hit("step2")
        raise RuntimeError("Step execution failed")

    inner = Workflow("nested-failing-inner").then(Step("step2", boom)).commit()
    wf = Workflow("nested-failing-main").then(_returns("step1", {}, calls)).then(inner).commit()
    result = await wf.create_run(engine=engine, run_id=_run_id("n2")).start(input_data={})

    assert result.status == "failed"
    assert calls["step2"] == 1
    assert result.steps["step1"].status == "success"
    assert result.steps["step1"].payload == {}
    nested = result.steps["nested-failing-inner"]
    assert nested.status == "failed"
    assert nested.payload == {}
    assert isinstance(nested.error, Exception)
    assert "Step execution failed" in str(nested.error)


async def test_n3_data_flows_from_parent_into_nested_workflow_and_back(engine: Any) -> None:
    """N3: the parent's step output is the nested input; the nested output flows back out."""

    class Start(BaseModel):
        input: str

    class Value(BaseModel):
        value: str

    async def outer(ctx: StepContext) -> dict[str, str]:
        return {"value": ctx.input_data.input + "-outer"}

    async def inner_step(ctx: StepContext) -> dict[str, str]:
        return {"result": ctx.input_data.value + "-inner"}

    nested = (
        Workflow("nested-data-inner", input_schema=Value)
        .then(Step("inner-step", inner_step, input_schema=Value))
        .commit()
    )
    wf = (
        Workflow("nested-data-main", input_schema=Start)
        .then(Step("outer-step", outer, input_schema=Start, output_schema=Value))
        .then(nested)
        .commit()
    )
    result = await wf.create_run(engine=engine, run_id=_run_id("n3")).start(
        input_data={"input": "test"}
    )

    assert result.status == "success"
    assert result.steps["outer-step"].output == {"value": "test-outer"}
    assert result.steps["nested-data-inner"].output == {"result": "test-outer-inner"}


async def test_n4_a_nested_workflow_may_branch_inside(engine: Any, calls: Calls) -> None:
    """N4: a nested workflow containing a branch runs its matching arm and succeeds."""

    def is_b(ctx: StepContext) -> bool:
        return bool(ctx.input_data["value"] == "b")

    nested = (
        Workflow("nested-conditions-inner")
        .then(_returns("stepB", {"value": "b"}, calls))
        .branch([(is_b, _returns("stepC", {"value": "c"}, calls))])
        .commit()
    )
    wf = (
        Workflow("nested-conditions-main")
        .then(_returns("stepA", {"value": "a"}, calls))
        .then(nested)
        .commit()
    )
    result = await wf.create_run(engine=engine, run_id=_run_id("n4")).start(input_data={})

    assert result.status == "success"
    assert result.steps["stepA"].output == {"value": "a"}
    assert result.steps["nested-conditions-inner"].status == "success"
    assert result.steps["nested-conditions-inner"].output == {"stepC": {"value": "c"}}
    assert calls["stepC"] == 1


async def test_n5_workflows_nest_several_levels_deep(engine: Any) -> None:
    """N5: a workflow inside a workflow inside a workflow passes data through every level."""

    async def level1(ctx: StepContext) -> dict[str, str]:
        return {"value": "level1"}

    async def level2(ctx: StepContext) -> dict[str, str]:
        return {"value": ctx.input_data["value"] + "-level2"}

    async def level3(ctx: StepContext) -> dict[str, str]:
        return {"value": ctx.input_data["value"] + "-level3"}

    innermost = Workflow("nested-multi-inner").then(Step("step3", level3)).commit()
    middle = Workflow("nested-multi-middle").then(Step("step2", level2)).then(innermost).commit()
    wf = Workflow("nested-multi-outer").then(Step("step1", level1)).then(middle).commit()
    result = await wf.create_run(engine=engine, run_id=_run_id("n5")).start(input_data={})

    assert result.status == "success"
    assert result.steps["step1"].output == {"value": "level1"}
    assert result.steps["nested-multi-middle"].output == {"value": "level1-level2-level3"}


class MainState(BaseModel):
    value: str
    other_value: str


class ValueState(BaseModel):
    value: str


async def test_n6_a_nested_workflow_sees_the_parent_state(engine: Any) -> None:
    """N6: the run's state, set by the parent's initial_state, is visible inside the child."""

    async def read_state(ctx: StepContext) -> dict[str, str]:
        return {"result": "success", "value": ctx.state["value"]}

    nested = (
        Workflow("nested-state-inner", state_schema=ValueState)
        .then(Step("step1", read_state, state_schema=ValueState))
        .commit()
    )
    wf = Workflow("nested-state-main", state_schema=MainState).then(nested).commit()
    result = await wf.create_run(engine=engine, run_id=_run_id("n6")).start(
        input_data={}, initial_state={"value": "test-state", "other_value": "other"}
    )

    assert result.status == "success"
    assert result.steps["nested-state-inner"].output == {"result": "success", "value": "test-state"}


async def test_n7_state_set_inside_a_nested_workflow_is_seen_by_later_steps(engine: Any) -> None:
    """N7: set_state inside the child is visible to its next step and to the parent afterwards."""

    async def shout(ctx: StepContext) -> dict[str, str]:
        ctx.set_state({"value": ctx.state["value"] + "!!!"})
        return {}

    async def read_state(ctx: StepContext) -> dict[str, str]:
        return {"result": "success", "value": ctx.state["value"]}

    nested = (
        Workflow("nested-setstate-inner", state_schema=ValueState)
        .then(Step("step1", shout, state_schema=ValueState))
        .then(Step("step2", read_state, state_schema=ValueState))
        .commit()
    )
    wf = Workflow("nested-setstate-main", state_schema=MainState).then(nested).commit()
    result = await wf.create_run(engine=engine, run_id=_run_id("n7")).start(
        input_data={}, initial_state={"value": "test-state", "other_value": "other"}
    )

    assert result.status == "success"
    assert result.steps["nested-setstate-inner"].output == {
        "result": "success",
        "value": "test-state!!!",
    }
    assert result.state["value"] == "test-state!!!"
    assert result.state["other_value"] == "other"
