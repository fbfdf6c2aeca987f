"""Basic execution (catalog section 1, B1-B14): single steps, sequences, parallel, bail, state."""

import threading

import pytest
from pydantic import BaseModel

from engines import DefinitionError, Engine, Step, StepContext, Workflow, step
from engines.testing import Calls


class ResultOut(BaseModel):
    result: str


class ValueState(BaseModel):
    value: str


class ValueIn(BaseModel):
    value: str


class FooBar(BaseModel):
    foo: str
    bar: int


def single_step_workflow(calls: Calls, wf_id: str = "basic-single-step") -> Workflow:
    """One step that reports success, with an empty input and a `{result: str}` output."""

    @step(id="step1", output_schema=ResultOut)
    async def step1(ctx: StepContext) -> dict:
        calls.hit("step1", ctx.input_data)
        return {"result": "success"}

    return Workflow(wf_id).then(step1).commit()


async def test_b1_single_step_workflow_runs_and_records_its_output(
    engine: Engine, calls: Calls
) -> None:
    """B1: a single step workflow succeeds and records the step's status, output and payload."""
    wf = single_step_workflow(calls)

    result = await wf.create_run(engine=engine).start(input_data={})

    assert calls["step1"] == 1
    assert result.status == "success"
    record = result.steps["step1"]
    assert record.status == "success"
    assert record.output == {"result": "success"}
    assert record.payload == {}


async def test_b2_started_workflow_completes_successfully(engine: Engine, calls: Calls) -> None:
    """B2: starting a run of the single step workflow completes with a successful step."""
    wf = single_step_workflow(calls)
    run = wf.create_run(engine=engine, run_id="b2-run", resource_id="b2-user")

    result = await run.start(input_data={})

    assert result.status == "success"
    assert result.run_id == "b2-run"
    assert result.steps["step1"].status == "success"
    assert result.steps["step1"].output == {"result": "success"}


async def test_b3_multiple_runs_do_not_share_state(engine: Engine, calls: Calls) -> None:
    """B3: three runs of one workflow each succeed and each runs the step exactly once."""
    wf = single_step_workflow(calls)

    for number in range(1, 4):
        result = await wf.create_run(engine=engine, run_id=f"b3-run-{number}").start(input_data={})
        assert result.status == "success"
        assert result.run_id == f"b3-run-{number}"
        assert calls["step1"] == number


async def test_b4_single_step_reads_and_updates_state(engine: Engine, calls: Calls) -> None:
    """B4: a step reads the initial state, sets a new value and returns it."""

    @step(id="step1", state_schema=ValueState)
    async def step1(ctx: StepContext) -> dict:
        calls.hit("step1")
        new_value = ctx.state["value"] + "!!!"
        ctx.set_state({"value": new_value})
        return {"result": "success", "value": new_value}

    wf = Workflow("basic-single-step-with-state", state_schema=ValueState).then(step1).commit()

    result = await wf.create_run(engine=engine).start(
        input_data={}, initial_state={"value": "test-state"}
    )

    assert calls["step1"] == 1
    assert result.status == "success"
    assert result.steps["step1"].status == "success"
    assert result.steps["step1"].output == {"result": "success", "value": "test-state!!!"}
    assert result.state == {"value": "test-state!!!"}


async def test_b5_steps_run_in_sequence(engine: Engine, calls: Calls) -> None:
    """B5: two chained steps both run and each records its own output."""

    @step(id="step1")
    async def step1(ctx: StepContext) -> dict:
        calls.hit("step1")
        return {"value": "step1-result"}

    @step(id="step2")
    async def step2(ctx: StepContext) -> dict:
        calls.hit("step2", ctx.input_data)
        return {"value": "step2-result"}

    wf = Workflow("basic-sequence").then(step1).then(step2).commit()

    result = await wf.create_run(engine=engine).start(input_data={})

    assert calls["step1"] == 1
    assert calls["step2"] == 1
    assert calls.args["step2"] == [{"value": "step1-result"}]
    assert result.status == "success"
    assert result.steps["step1"].output == {"value": "step1-result"}
    assert result.steps["step2"].output == {"value": "step2-result"}
    assert result.result == {"value": "step2-result"}


async def test_b6_steps_run_in_parallel(engine: Engine, calls: Calls) -> None:
    """B6: parallel steps both run, each keeps its own output, the result is keyed by id."""

    @step(id="step1")
    async def step1(ctx: StepContext) -> dict:
        calls.hit("step1")
        return {"value": "step1"}

    @step(id="step2")
    async def step2(ctx: StepContext) -> dict:
        calls.hit("step2")
        return {"value": "step2"}

    wf = Workflow("basic-parallel").parallel([step1, step2]).commit()

    result = await wf.create_run(engine=engine).start(input_data={})

    assert calls["step1"] == 1
    assert calls["step2"] == 1
    assert result.status == "success"
    assert result.steps["step1"].status == "success"
    assert result.steps["step1"].output == {"value": "step1"}
    assert result.steps["step2"].status == "success"
    assert result.steps["step2"].output == {"value": "step2"}
    assert result.result == {"step1": {"value": "step1"}, "step2": {"value": "step2"}}


def bail_workflow(calls: Calls) -> Workflow:
    @step(id="step1", input_schema=ValueIn)
    async def step1(ctx: StepContext) -> dict:
        calls.hit("step1")
        if ctx.input_data.value == "bail":
            ctx.bail({"result": "bailed"})
            calls.hit("after-bail")
        return {"result": "step1: " + ctx.input_data.value}

    @step(id="step2")
    async def step2(ctx: StepContext) -> dict:
        calls.hit("step2")
        return {"result": "step2: " + ctx.input_data["result"]}

    return Workflow("basic-bail", input_schema=ValueIn).then(step1).then(step2).commit()


async def test_b7_bail_ends_the_run_successfully_without_later_steps(
    engine: Engine, calls: Calls
) -> None:
    """B7: a bailing step ends the run successfully with its value; later steps never run."""
    wf = bail_workflow(calls)

    result = await wf.create_run(engine=engine).start(input_data={"value": "bail"})

    assert result.status == "success"
    assert result.result == {"result": "bailed"}
    assert result.steps["step1"].status == "success"
    assert result.steps["step1"].output == {"result": "bailed"}
    assert "step2" not in result.steps
    assert calls["step2"] == 0
    assert calls["after-bail"] == 0


async def test_b7_without_bail_every_step_runs(engine: Engine, calls: Calls) -> None:
    """B7: the same workflow runs both steps when the first one does not bail."""
    wf = bail_workflow(calls)

    result = await wf.create_run(engine=engine).start(input_data={"value": "no-bail"})

    assert result.status == "success"
    assert result.steps["step1"].output == {"result": "step1: no-bail"}
    assert result.steps["step2"].output == {"result": "step2: step1: no-bail"}
    assert result.result == {"result": "step2: step1: no-bail"}


async def test_b8_step_sees_the_run_id(engine: Engine, calls: Calls) -> None:
    """B8: the step context carries the run id as a string."""

    @step(id="step1")
    async def step1(ctx: StepContext) -> dict:
        calls.hit("step1", ctx.run_id)
        return {"ok": True}

    wf = Workflow("basic-run-id").then(step1).commit()

    result = await wf.create_run(engine=engine, run_id="b8-run").start(input_data={})

    assert result.status == "success"
    (seen,) = calls.args["step1"]
    assert isinstance(seen, str)
    assert seen == "b8-run"


async def test_b9_parallel_steps_read_state(engine: Engine, calls: Calls) -> None:
    """B9: parallel steps both see the initial state."""

    def make(step_id: str) -> Step:
        async def execute(ctx: StepContext) -> dict:
            calls.hit(step_id)
            return {"value": step_id, "stateValue": ctx.state["value"]}

        return Step(step_id, execute, state_schema=ValueState)

    wf = (
        Workflow("basic-parallel-with-state", state_schema=ValueState)
        .parallel([make("step1"), make("step2")])
        .commit()
    )

    result = await wf.create_run(engine=engine).start(
        input_data={}, initial_state={"value": "test-state"}
    )

    assert result.status == "success"
    assert result.steps["step1"].output == {"value": "step1", "stateValue": "test-state"}
    assert result.steps["step2"].output == {"value": "step2", "stateValue": "test-state"}
    assert calls["step1"] == 1
    assert calls["step2"] == 1


async def test_b10_workflow_result_is_the_last_step_output(engine: Engine, calls: Calls) -> None:
    """B10: the run's result is the output of its last step."""

    @step(id="step1")
    async def step1(ctx: StepContext) -> dict:
        calls.hit("step1")
        return {"nested": {"value": "step1-data"}}

    wf = Workflow("basic-typed-result").then(step1).commit()

    result = await wf.create_run(engine=engine).start(input_data={})

    assert result.status == "success"
    assert result.result == {"nested": {"value": "step1-data"}}


async def test_b11_input_data_reaches_the_first_step(engine: Engine, calls: Calls) -> None:
    """B11: the first step receives exactly the workflow input, as its input model."""

    @step(id="step1", input_schema=FooBar)
    async def step1(ctx: StepContext) -> dict:
        calls.hit("step1", ctx.input_data)
        return {"ok": True}

    wf = Workflow("basic-input-passing", input_schema=FooBar).then(step1).commit()

    result = await wf.create_run(engine=engine).start(input_data={"foo": "hello", "bar": 42})

    assert result.status == "success"
    (received,) = calls.args["step1"]
    assert isinstance(received, FooBar)
    assert received.model_dump() == {"foo": "hello", "bar": 42}
    assert result.steps["step1"].payload == {"foo": "hello", "bar": 42}
    assert result.input == {"foo": "hello", "bar": 42}


async def test_b12_create_run_refuses_a_workflow_without_flow(engine: Engine) -> None:
    """B12: creating a run of a workflow with no flow raises a DefinitionError."""
    wf = Workflow("basic-no-flow")

    with pytest.raises(DefinitionError, match=r"Execution flow of workflow .*is not defined"):
        wf.create_run(engine=engine)


async def test_b13_create_run_refuses_an_uncommitted_workflow(engine: Engine, calls: Calls) -> None:
    """B13: a workflow with steps but no commit is not committed and cannot create a run."""

    @step(id="step1")
    async def step1(ctx: StepContext) -> dict:
        calls.hit("step1")
        return {}

    wf = Workflow("basic-uncommitted").then(step1)

    assert wf.committed is False
    with pytest.raises(DefinitionError, match="Uncommitted step flow changes detected"):
        wf.create_run(engine=engine)
    assert calls["step1"] == 0


async def test_b14_missing_suspend_data_is_none_on_first_run(engine: Engine, calls: Calls) -> None:
    """B14: on a first run a step sees no suspend data and completes normally."""

    @step(id="no-suspend-step", input_schema=ValueIn)
    async def no_suspend(ctx: StepContext) -> dict:
        calls.hit("no-suspend-step")
        had = "Had suspend data" if ctx.suspend_data else "No suspend data"
        return {"result": f"{ctx.input_data.value}: {had}"}

    wf = Workflow("basic-no-suspend-data", input_schema=ValueIn).then(no_suspend).commit()

    result = await wf.create_run(engine=engine).start(input_data={"value": "test"})

    assert result.status == "success"
    assert result.result == {"result": "test: No suspend data"}
    assert calls["no-suspend-step"] == 1


async def test_sb_plain_sync_step_runs_in_a_worker_thread(engine: Engine, calls: Calls) -> None:
    """SB: a plain `def` step runs (in a worker thread) and its output flows to the next step."""
    loop_thread = threading.get_ident()

    @step(id="sync-step")
    def sync_step(ctx: StepContext) -> dict:
        calls.hit("sync-step", threading.get_ident())
        return {"doubled": ctx.input_data["value"] * 2}

    @step(id="after")
    async def after(ctx: StepContext) -> dict:
        calls.hit("after")
        return {"final": ctx.input_data["doubled"] + 1}

    wf = Workflow("sb-sync-step").then(sync_step).then(after).commit()

    result = await wf.create_run(engine=engine).start(input_data={"value": 21})

    assert result.status == "success"
    assert result.steps["sync-step"].output == {"doubled": 42}
    assert result.result == {"final": 43}
    assert calls.args["sync-step"] != [loop_thread]
