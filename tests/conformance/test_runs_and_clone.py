"""Workflow runs and cloning (catalog sections 19 and 22: WR1-WR4, CL1-CL2)."""

from pydantic import BaseModel

from engines import Engine, Step, StepContext, Workflow, step
from engines.testing import Calls


class StartIn(BaseModel):
    startValue: int = 0


class FinalOut(BaseModel):
    finalValue: int


def simple_step(calls: Calls, step_id: str) -> Step:
    async def execute(ctx: StepContext) -> dict:
        calls.hit(step_id)
        return {"result": step_id}

    return Step(step_id, execute)


# -- workflow runs -----------------------------------------------------------------------------


async def test_wr1_a_run_reports_its_status(engine: Engine, calls: Calls) -> None:
    """WR1: a one-step run ends with status success after running the step once."""
    wf = Workflow("runs-status").then(simple_step(calls, "step1")).commit()

    result = await wf.create_run(engine=engine).start(input_data={})

    assert result.status == "success"
    assert calls["step1"] == 1


async def test_wr2_every_step_of_a_chain_is_tracked(engine: Engine, calls: Calls) -> None:
    """WR2: a three-step run records a successful record for each step, each run once."""
    wf = (
        Workflow("runs-multi-step")
        .then(simple_step(calls, "step1"))
        .then(simple_step(calls, "step2"))
        .then(simple_step(calls, "step3"))
        .commit()
    )

    result = await wf.create_run(engine=engine).start(input_data={})

    assert result.status == "success"
    for step_id in ("step1", "step2", "step3"):
        assert calls[step_id] == 1
        assert result.steps[step_id].status == "success"


async def test_wr3_successive_runs_each_execute_the_step(engine: Engine, calls: Calls) -> None:
    """WR3: three runs of one workflow see a counter advance from 1 to 3."""
    counter = {"n": 0}

    @step(id="step1")
    async def step1(ctx: StepContext) -> dict:
        counter["n"] += 1
        return {"runNumber": counter["n"]}

    wf = Workflow("runs-multiple").then(step1).commit()

    outputs = []
    for _ in range(3):
        result = await wf.create_run(engine=engine).start(input_data={})
        assert result.status == "success"
        outputs.append(result.steps["step1"].output)

    assert outputs == [{"runNumber": 1}, {"runNumber": 2}, {"runNumber": 3}]


async def test_wr4_a_provided_run_id_is_used(engine: Engine, calls: Calls) -> None:
    """WR4: a run created with a custom run id succeeds under that id."""
    wf = Workflow("runs-custom-id").then(simple_step(calls, "step1")).commit()

    result = await wf.create_run(engine=engine, run_id="my-custom-run-id-12345").start(
        input_data={}
    )

    assert result.status == "success"
    assert result.run_id == "my-custom-run-id-12345"
    snapshot = await engine.storage.load("my-custom-run-id-12345")
    assert snapshot is not None
    assert snapshot.status == "success"


# -- clone -------------------------------------------------------------------------------------


def start_step(calls: Calls) -> Step:
    @step(id="start", input_schema=StartIn)
    async def start(ctx: StepContext) -> dict:
        calls.hit("start")
        return {"newValue": ctx.input_data.startValue + 1}

    return start


def other_step(calls: Calls) -> Step:
    @step(id="other")
    async def other(ctx: StepContext) -> dict:
        calls.hit("other")
        return {"other": 26}

    return other


def summing_final(calls: Calls, step_id: str, counter: str, other_id: str | None) -> Step:
    """A final step adding start's newValue and, when given, the other step's value."""

    async def execute(ctx: StepContext) -> dict:
        calls.hit(counter)
        start = ctx.get_step_result("start")
        other = ctx.get_step_result(other_id) if other_id else None
        return {
            "finalValue": (start["newValue"] if start else 0) + (other["other"] if other else 0)
        }

    return Step(step_id, execute, output_schema=FinalOut)


async def test_cl1_cloned_steps_and_workflows_run_as_steps(engine: Engine, calls: Calls) -> None:
    """CL1: a cloned step and a cloned workflow run under their new ids inside a parallel block."""
    start = start_step(calls)
    wf_a = (
        Workflow("clone-nested-wf-a", input_schema=StartIn, output_schema=FinalOut)
        .then(start)
        .then(other_step(calls).clone(id="other-clone"))
        .then(summing_final(calls, "final", "final", "other-clone"))
        .commit()
    )
    wf_b = (
        Workflow("clone-nested-wf-b", input_schema=StartIn, output_schema=FinalOut)
        .then(start)
        .then(summing_final(calls, "final-b", "final-b", None))
        .commit()
    )
    wf_a_clone = wf_a.clone(id="clone-nested-wf-a-clone")

    @step(id="last-step")
    async def last_step(ctx: StepContext) -> dict:
        calls.hit("last")
        return {"success": True}

    main = (
        Workflow("clone-workflows", input_schema=StartIn)
        .parallel([wf_a_clone, wf_b])
        .then(last_step)
        .commit()
    )

    result = await main.create_run(engine=engine).start(input_data={"startValue": 0})

    assert result.status == "success"
    assert calls["start"] == 2
    assert calls["other"] == 1
    assert calls["final"] == 1
    assert calls["final-b"] == 1
    assert calls["last"] == 1
    assert result.steps["clone-nested-wf-a-clone"].status == "success"
    assert result.steps["clone-nested-wf-a-clone"].output == {"finalValue": 27}
    assert result.steps["clone-nested-wf-b"].output == {"finalValue": 1}
    assert "clone-nested-wf-a" not in result.steps
    assert result.steps["last-step"].payload == {
        "clone-nested-wf-a-clone": {"finalValue": 27},
        "clone-nested-wf-b": {"finalValue": 1},
    }


async def test_cl2_next_step_input_schema_is_the_nested_output_schema(
    engine: Engine, calls: Calls
) -> None:
    """CL2: a step whose input schema is a nested workflow's output schema receives its result."""
    nested = (
        Workflow("clone-spec-nested", input_schema=StartIn, output_schema=FinalOut)
        .then(start_step(calls))
        .then(other_step(calls))
        .then(summing_final(calls, "final", "final", "other"))
        .commit()
    )

    @step(id="last-step", input_schema=nested.output_schema)
    async def last_step(ctx: StepContext) -> dict:
        calls.hit("last", ctx.input_data)
        return {"success": ctx.input_data.finalValue == 27}

    wf = Workflow("clone-spec-result", input_schema=StartIn).then(nested).then(last_step).commit()

    result = await wf.create_run(engine=engine).start(input_data={"startValue": 0})

    assert result.status == "success"
    for name in ("start", "other", "final", "last"):
        assert calls[name] == 1
    assert result.steps["clone-spec-nested"].output == {"finalValue": 27}
    last = result.steps["last-step"]
    assert last.status == "success"
    assert last.output == {"success": True}
    assert last.payload == {"finalValue": 27}
    (received,) = calls.args["last"]
    assert isinstance(received, FinalOut)
