"""Catalog section 18: runs as the engine stores them, read back through `engine.storage`.

Mastra's `listWorkflowRuns` is `storage.list_runs`, `getWorkflowRunById` is `storage.load(run_id)`
(a `RunSnapshot`) and its `.view(fields=..., nested=...)`, `deleteWorkflowRunById` is
`storage.delete_run`.
"""

from __future__ import annotations

from typing import Any

from engines import StepContext, Workflow, step
from engines.core.engine import Engine


@step(id="step1")
async def first_step(ctx: StepContext) -> dict[str, Any]:
    return {"result": "step1"}


@step(id="step2")
async def second_step(ctx: StepContext) -> dict[str, Any]:
    return {"result": "step2"}


def two_step_workflow(workflow_id: str) -> Workflow:
    return Workflow(workflow_id).then(first_step).then(second_step).commit()


@step(id="suspending-step")
async def suspending_step(ctx: StepContext) -> dict[str, Any]:
    if ctx.resume_data is None:
        ctx.suspend({"ask": "continue?"})
    return {"answer": ctx.resume_data["answer"]}


@step(id="final-step")
async def final_step(ctx: StepContext) -> dict[str, Any]:
    return {"final": ctx.input_data["answer"]}


def suspending_workflow(workflow_id: str) -> Workflow:
    return Workflow(workflow_id).then(suspending_step).then(final_step).commit()


async def test_st1_list_runs_returns_the_runs_of_the_workflow(engine: Engine) -> None:
    """ST1: two finished runs are both listed, each under the workflow's id."""
    wf = two_step_workflow("storage-list-runs")
    await wf.create_run(engine=engine, run_id="st1-run-1").start(input_data={})
    await wf.create_run(engine=engine, run_id="st1-run-2").start(input_data={})

    page = await engine.storage.list_runs()

    assert page.total >= 2
    listed = {r.run_id: r for r in page.runs}
    assert listed["st1-run-1"].workflow_id == "storage-list-runs"
    assert listed["st1-run-2"].workflow_id == "storage-list-runs"


async def test_st2_a_stored_run_loads_with_its_status_and_steps(engine: Engine) -> None:
    """ST2: loading a finished run returns its id, workflow, status success and step records."""
    wf = two_step_workflow("storage-get-delete")
    await wf.create_run(engine=engine, run_id="st2-run").start(input_data={})

    snapshot = await engine.storage.load("st2-run")

    assert snapshot is not None
    assert snapshot.run_id == "st2-run"
    assert snapshot.workflow_id == "storage-get-delete"
    assert snapshot.status == "success"
    assert set(snapshot.steps) == {"step1", "step2"}


async def test_st2_a_deleted_run_no_longer_loads(engine: Engine) -> None:
    """ST2: after delete_run the run loads as None."""
    wf = two_step_workflow("storage-get-delete")
    await wf.create_run(engine=engine, run_id="st2-run").start(input_data={})

    deleted = await engine.storage.delete_run("st2-run")

    assert deleted is True
    assert await engine.storage.load("st2-run") is None


async def test_st3_the_resource_id_is_stored_with_the_run(engine: Engine) -> None:
    """ST3: the resource id given to create_run is in the listing row and the snapshot."""
    wf = two_step_workflow("storage-resource-id")
    await wf.create_run(engine=engine, run_id="st3-run", resource_id="user-123").start(
        input_data={}
    )

    page = await engine.storage.list_runs()
    snapshot = await engine.storage.load("st3-run")

    [row] = [r for r in page.runs if r.run_id == "st3-run"]
    assert row.resource_id == "user-123"
    assert snapshot is not None
    assert snapshot.resource_id == "user-123"


async def test_st4_the_resource_id_survives_a_resume(engine: Engine) -> None:
    """ST4: a run resumed from a new handle (no resource id given) keeps its resource id."""
    wf = suspending_workflow("storage-resource-resume")
    first = await wf.create_run(engine=engine, run_id="st4-run", resource_id="user-789").start(
        input_data={}
    )
    assert first.status == "suspended"
    before = await engine.storage.load("st4-run")
    assert before is not None
    assert before.resource_id == "user-789"

    resumed = await wf.create_run(engine=engine, run_id="st4-run").resume(
        resume_data={"answer": "yes"}
    )

    assert resumed.status == "success"
    after = await engine.storage.load("st4-run")
    assert after is not None
    assert after.resource_id == "user-789"


async def test_st4_listing_by_resource_id_finds_the_resumed_run_once(engine: Engine) -> None:
    """ST4: after the resume, listing by the resource id returns exactly that one run."""
    wf = suspending_workflow("storage-resource-resume")
    await wf.create_run(engine=engine, run_id="st4-run", resource_id="user-789").start(
        input_data={}
    )
    await wf.create_run(engine=engine, run_id="st4-run").resume(resume_data={"answer": "yes"})

    page = await engine.storage.list_runs(resource_id="user-789")

    assert [r.run_id for r in page.runs] == ["st4-run"]
    assert page.total == 1


@step(id="step1")
async def value_step(ctx: StepContext) -> dict[str, Any]:
    return {"value": "result1"}


async def fields_snapshot(engine: Engine) -> Any:
    wf = Workflow("storage-fields").then(value_step).commit()
    await wf.create_run(engine=engine, run_id="st5-run").start(input_data={})
    snapshot = await engine.storage.load("st5-run")
    assert snapshot is not None
    return snapshot


async def test_st5_a_view_of_status_only_leaves_out_steps_and_result(engine: Engine) -> None:
    """ST5: view(fields=["status"]) gives the status and neither steps nor result."""
    snapshot = await fields_snapshot(engine)

    view = snapshot.view(fields=["status"])

    assert view["status"] == "success"
    assert "steps" not in view
    assert "result" not in view


async def test_st5_a_view_of_status_and_steps_leaves_out_the_result(engine: Engine) -> None:
    """ST5: view(fields=["status", "steps"]) gives the step records but not the result."""
    snapshot = await fields_snapshot(engine)

    view = snapshot.view(fields=["status", "steps"])

    assert view["status"] == "success"
    assert view["steps"]["step1"]["status"] == "success"
    assert view["steps"]["step1"]["output"] == {"value": "result1"}
    assert "result" not in view


async def test_st5_a_view_without_fields_has_everything(engine: Engine) -> None:
    """ST5: view() without fields includes status, steps, result, run id and workflow id."""
    snapshot = await fields_snapshot(engine)

    view = snapshot.view()

    assert view["status"] == "success"
    assert view["steps"]["step1"]["output"] == {"value": "result1"}
    assert view["result"] == {"value": "result1"}
    assert view["run_id"] == "st5-run"
    assert view["workflow_id"] == "storage-fields"


@step(id="inner-step")
async def inner_increment(ctx: StepContext) -> dict[str, Any]:
    return {"value": ctx.input_data["value"] + 1}


@step(id="outer-step")
async def outer_double(ctx: StepContext) -> dict[str, Any]:
    return {"value": ctx.input_data["value"] * 2}


async def nested_snapshot(engine: Engine) -> Any:
    inner = Workflow("storage-nested-inner-workflow").then(inner_increment).commit()
    outer = Workflow("storage-nested-outer-workflow").then(inner).then(outer_double).commit()
    result = await outer.create_run(engine=engine, run_id="st6-run").start(input_data={"value": 1})
    assert result.status == "success"
    assert result.result == {"value": 4}
    snapshot = await engine.storage.load("st6-run")
    assert snapshot is not None
    return snapshot


async def test_st6_the_stored_run_includes_nested_steps_under_dotted_keys(engine: Engine) -> None:
    """ST6: by default the stored steps include the nested step as "workflow.step"."""
    snapshot = await nested_snapshot(engine)

    view = snapshot.view()

    assert set(view["steps"]) == {
        "storage-nested-inner-workflow",
        "storage-nested-inner-workflow.inner-step",
        "outer-step",
    }


async def test_st6_a_view_without_nested_steps_drops_the_dotted_keys(engine: Engine) -> None:
    """ST6: view(nested=False) keeps the nested workflow's own record but not its inner steps."""
    snapshot = await nested_snapshot(engine)

    view = snapshot.view(nested=False)

    assert set(view["steps"]) == {"storage-nested-inner-workflow", "outer-step"}


async def test_st7_a_suspended_run_is_stored_once_as_suspended(engine: Engine) -> None:
    """ST7: after a suspension exactly one run is stored, with status suspended."""
    wf = suspending_workflow("storage-persist-snapshot")
    await wf.create_run(engine=engine, run_id="st7-run").start(input_data={})

    page = await engine.storage.list_runs()

    assert [(r.run_id, r.status) for r in page.runs] == [("st7-run", "suspended")]


async def test_st7_a_resumed_run_stays_one_run_with_the_latest_status(engine: Engine) -> None:
    """ST7: after suspend then resume there is still one stored run, now with status success."""
    wf = suspending_workflow("storage-persist-snapshot")
    await wf.create_run(engine=engine, run_id="st7-run").start(input_data={})
    await wf.create_run(engine=engine, run_id="st7-run").resume(resume_data={"answer": "yes"})

    page = await engine.storage.list_runs()
    snapshot = await engine.storage.load("st7-run")

    assert [(r.run_id, r.status) for r in page.runs] == [("st7-run", "success")]
    assert page.total == 1
    assert snapshot is not None
    assert snapshot.status == "success"
    assert snapshot.result == {"final": "yes"}
