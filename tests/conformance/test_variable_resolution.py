"""Variable resolution (catalog section 2, V1-V12): step results, init data and `.map()`."""

from pydantic import BaseModel

from engines import (
    Engine,
    StepContext,
    Workflow,
    compute,
    const,
    from_context,
    from_init,
    from_step,
    step,
)
from engines.testing import Calls


class TriggerIn(BaseModel):
    inputData: str


class CoolIn(BaseModel):
    cool: str


class Inner(BaseModel):
    value: str


class NestedOut(BaseModel):
    nested: Inner


async def test_v1_trigger_data_flows_through_two_steps(engine: Engine, calls: Calls) -> None:
    """V1: the workflow input reaches the first step and both chained steps succeed."""

    async def succeed(ctx: StepContext) -> dict:
        calls.hit("succeed", ctx.input_data)
        return {"result": "success"}

    step1 = step(id="step1", input_schema=TriggerIn)(succeed)
    step2 = step(id="step2")(succeed)
    wf = Workflow("var-trigger", input_schema=TriggerIn).then(step1).then(step2).commit()

    result = await wf.create_run(engine=engine).start(input_data={"inputData": "test-input"})

    assert result.status == "success"
    for step_id in ("step1", "step2"):
        assert result.steps[step_id].status == "success"
        assert result.steps[step_id].output == {"result": "success"}
    assert calls["succeed"] == 2
    assert result.steps["step1"].payload == {"inputData": "test-input"}


async def test_v2_get_step_result_returns_outputs_or_none(engine: Engine, calls: Calls) -> None:
    """V2: get_step_result gives a step's output by object or id, None for one that never ran."""

    @step(id="step1")
    async def step1(ctx: StepContext) -> dict:
        calls.hit("step1")
        return {"value": "step1-result"}

    @step(id="never-executed")
    async def never_executed(ctx: StepContext) -> dict:
        calls.hit("never-executed")
        return {"value": "never"}

    @step(id="step2")
    async def step2(ctx: StepContext) -> dict:
        calls.hit(
            "step2",
            {
                "by_object": ctx.get_step_result(step1),
                "by_id": ctx.get_step_result("step1"),
                "not_run": ctx.get_step_result(never_executed),
            },
        )
        return {"value": "step2-result"}

    wf = Workflow("var-get-step-result").then(step1).then(step2).commit()

    result = await wf.create_run(engine=engine).start(input_data={})

    assert result.status == "success"
    assert result.steps["step1"].output == {"value": "step1-result"}
    assert result.steps["step2"].output == {"value": "step2-result"}
    (seen,) = calls.args["step2"]
    assert seen["by_object"] == {"value": "step1-result"}
    assert seen["by_id"] == {"value": "step1-result"}
    assert seen["not_run"] is None
    assert calls["never-executed"] == 0


async def test_v3_step_with_the_workflow_schema_receives_the_input(
    engine: Engine, calls: Calls
) -> None:
    """V3: a step sharing the workflow's input schema receives the input as that model."""

    @step(id="step1", input_schema=TriggerIn)
    async def step1(ctx: StepContext) -> dict:
        calls.hit("step1", ctx.input_data)
        return {"result": "success"}

    wf = Workflow("var-trigger-context", input_schema=TriggerIn).then(step1).commit()

    result = await wf.create_run(engine=engine).start(input_data={"inputData": "test-input"})

    assert result.status == "success"
    (received,) = calls.args["step1"]
    assert isinstance(received, TriggerIn)
    assert received.model_dump() == {"inputData": "test-input"}


async def test_v4_get_init_data_returns_the_workflow_input(engine: Engine, calls: Calls) -> None:
    """V4: a later step reads the workflow input with get_init_data()."""

    @step(id="step1")
    async def step1(ctx: StepContext) -> dict:
        calls.hit("step1", ctx.input_data)
        return {"result": "success"}

    @step(id="step2")
    async def step2(ctx: StepContext) -> dict:
        calls.hit("step2")
        return {"result": ctx.get_init_data()}

    wf = Workflow("var-init-data", input_schema=CoolIn).then(step1).then(step2).commit()

    result = await wf.create_run(engine=engine).start(input_data={"cool": "test-input"})

    assert calls.args["step1"] == [{"cool": "test-input"}]
    assert result.steps["step2"].status == "success"
    assert result.steps["step2"].output == {"result": {"cool": "test-input"}}


async def test_v5_map_takes_a_nested_value_from_a_previous_step(
    engine: Engine, calls: Calls
) -> None:
    """V5: .map() with from_step picks a dotted path out of an earlier step's output."""

    @step(id="step1", output_schema=NestedOut)
    async def step1(ctx: StepContext) -> dict:
        calls.hit("step1")
        return {"nested": {"value": "step1-data"}}

    @step(id="step2")
    async def step2(ctx: StepContext) -> dict:
        calls.hit("step2", ctx.input_data)
        return {"result": "success"}

    wf = (
        Workflow("var-map-previous")
        .then(step1)
        .map({"previousValue": from_step(step1, "nested.value")})
        .then(step2)
        .commit()
    )

    result = await wf.create_run(engine=engine).start(input_data={})

    assert result.status == "success"
    assert calls.args["step2"] == [{"previousValue": "step1-data"}]


async def test_v6_a_string_output_feeds_a_string_input(engine: Engine, calls: Calls) -> None:
    """V6: a step whose output is a plain string feeds a step whose input is a string."""

    @step(id="step1", output_schema=str)
    async def step1(ctx: StepContext) -> str:
        calls.hit("step1")
        return "step1-data"

    @step(id="step2", input_schema=str)
    async def step2(ctx: StepContext) -> dict:
        calls.hit("step2", ctx.input_data)
        return {"result": "success", "input": ctx.input_data}

    wf = Workflow("var-non-object").then(step1).then(step2).commit()

    result = await wf.create_run(engine=engine).start(input_data={})

    assert result.status == "success"
    assert result.steps["step1"].output == "step1-data"
    assert result.steps["step2"].output == {"result": "success", "input": "step1-data"}


async def test_v7_a_list_output_feeds_the_next_step(engine: Engine, calls: Calls) -> None:
    """V7: a step whose output is a list passes that list to the next step unchanged."""

    @step(id="step1", output_schema=list[dict[str, str]])
    async def step1(ctx: StepContext) -> list:
        calls.hit("step1")
        return [{"str": "step1-data"}]

    @step(id="step2", input_schema=list[dict[str, str]])
    async def step2(ctx: StepContext) -> dict:
        calls.hit("step2")
        return {"result": "success", "input": ctx.input_data}

    wf = Workflow("var-array").then(step1).then(step2).commit()

    result = await wf.create_run(engine=engine).start(input_data={})

    assert result.status == "success"
    assert result.steps["step1"].output == [{"str": "step1-data"}]
    assert result.steps["step2"].output == {"result": "success", "input": [{"str": "step1-data"}]}


async def join_candidates(ctx: StepContext) -> dict:
    names = [c["name"] for c in ctx.input_data["candidates"]]
    return {"result": ", ".join(names) or "none", "second": ctx.input_data["iteration"]}


async def test_v8_map_provides_constant_values(engine: Engine, calls: Calls) -> None:
    """V8: .map() with const() hands fixed values to the next step."""

    @step(id="step1")
    async def step1(ctx: StepContext) -> dict:
        calls.hit("step1")
        return {"result": "success"}

    wf = (
        Workflow("var-map-const")
        .then(step1)
        .map({"candidates": const([]), "iteration": const(0)})
        .then(step(id="step2")(join_candidates))
        .commit()
    )

    result = await wf.create_run(engine=engine).start(input_data={})

    assert result.status == "success"
    assert result.steps["step2"].output == {"result": "none", "second": 0}


async def test_v9_map_accepts_a_function_building_the_whole_input(
    engine: Engine, calls: Calls
) -> None:
    """V9: .map(fn) uses the function's return value as the next step's input."""

    @step(id="step1")
    async def step1(ctx: StepContext) -> dict:
        calls.hit("step1")
        return {"result": "success"}

    async def build(ctx: StepContext) -> dict:
        calls.hit("map-fn")
        return {
            "candidates": [{"name": ctx.input_data["result"]}, {"name": "hello"}],
            "iteration": 0,
        }

    wf = (
        Workflow("var-map-fn")
        .then(step1)
        .map(build)
        .then(step(id="step2")(join_candidates))
        .commit()
    )

    result = await wf.create_run(engine=engine).start(input_data={})

    assert result.status == "success"
    assert calls["map-fn"] == 1
    assert result.steps["step2"].output == {"result": "success, hello", "second": 0}


async def test_v10_map_reads_init_data_and_runtime_context(engine: Engine, calls: Calls) -> None:
    """V10: .map() combines from_init and from_context values."""

    @step(id="step1")
    async def step1(ctx: StepContext) -> dict:
        calls.hit("step1", ctx.input_data)
        return {"result": "success"}

    @step(id="step2")
    async def step2(ctx: StepContext) -> dict:
        calls.hit("step2")
        return {"result": ctx.input_data["test"], "second": ctx.input_data["test2"]}

    wf = (
        Workflow("var-map-init-context", input_schema=CoolIn)
        .then(step1)
        .map({"test": from_init("cool"), "test2": from_context("life")})
        .then(step2)
        .commit()
    )

    result = await wf.create_run(engine=engine).start(
        input_data={"cool": "test-input"}, context={"life": 42}
    )

    assert result.status == "success"
    assert calls.args["step1"] == [{"cool": "test-input"}]
    assert result.steps["step2"].output == {"result": "test-input", "second": 42}


def dynamic_mapping_workflow(calls: Calls, wf_id: str, first_map_id: str | None) -> Workflow:
    """step1 -> map(init + fn) -> step2 -> map(step2 field + fn reading step1)."""

    @step(id="step1")
    async def step1(ctx: StepContext) -> dict:
        calls.hit("step1")
        return {"result": "success"}

    @step(id="step2")
    async def step2(ctx: StepContext) -> dict:
        calls.hit("step2", ctx.input_data)
        return {"result": ctx.input_data["test"], "second": ctx.input_data["test2"]}

    async def greet(ctx: StepContext) -> str:
        return "Hello " + ctx.input_data["result"]

    return (
        Workflow(wf_id, input_schema=CoolIn)
        .then(step1)
        .map({"test": from_init("cool"), "test2": compute(greet)}, id=first_map_id)
        .then(step2)
        .map(
            {
                "result": from_step(step2, "result"),
                "second": compute(lambda ctx: ctx.get_step_result(step1)["result"]),
            }
        )
        .commit()
    )


async def test_v11_map_resolves_dynamic_sources(engine: Engine, calls: Calls) -> None:
    """V11: maps built from init data, functions and step results drive the final result."""
    wf = dynamic_mapping_workflow(calls, "var-map-dynamic", None)

    result = await wf.create_run(engine=engine).start(input_data={"cool": "test-input"})

    assert result.status == "success"
    assert result.steps["step2"].output == {"result": "test-input", "second": "Hello success"}
    assert result.result == {"result": "test-input", "second": "success"}
    assert result.steps["mapping_0"].output == {"test": "test-input", "test2": "Hello success"}
    assert result.steps["mapping_1"].output == {"result": "test-input", "second": "success"}


async def test_v12_map_with_a_custom_id_is_recorded_under_it(engine: Engine, calls: Calls) -> None:
    """V12: a map given id='step1-mapping' is recorded under that id."""
    wf = dynamic_mapping_workflow(calls, "var-map-custom-id", "step1-mapping")

    result = await wf.create_run(engine=engine).start(input_data={"cool": "test-input"})

    assert result.status == "success"
    mapping = result.steps["step1-mapping"]
    assert mapping.status == "success"
    assert mapping.output == {"test": "test-input", "test2": "Hello success"}
    assert result.steps["step2"].output == {"result": "test-input", "second": "Hello success"}
    assert result.result == {"result": "test-input", "second": "success"}
