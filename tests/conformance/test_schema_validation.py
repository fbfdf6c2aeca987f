"""Schema validation (catalog section 6, S1-S6) and Stepback's output-schema checks."""

import pytest
from pydantic import BaseModel

from engines import Engine, StepContext, ValidationError, Workflow, WorkflowError, step
from engines.testing import Calls


class NestedValue(BaseModel):
    value: float


class RequiredIn(BaseModel):
    required: str
    nested: NestedValue


class DefaultedIn(BaseModel):
    required: str
    nested: NestedValue = NestedValue(value=1)


class StartIn(BaseModel):
    start: str


class DefaultedValueIn(BaseModel):
    defaultedValue: str = "default-value"


class Value1In(BaseModel):
    value1: str


class Item(BaseModel):
    value: int


class SumIn(BaseModel):
    inputValue: int


class CountOut(BaseModel):
    count: int


def echo_workflow(calls: Calls, wf_id: str, schema: type[BaseModel]) -> Workflow:
    @step(id="step1", input_schema=schema)
    async def step1(ctx: StepContext) -> BaseModel:
        calls.hit("step1", ctx.input_data)
        return ctx.input_data

    return Workflow(wf_id, input_schema=schema).then(step1).commit()


async def test_s1_invalid_nested_input_raises_before_anything_runs(
    engine: Engine, calls: Calls
) -> None:
    """S1: a nested field of the wrong type raises ValidationError naming it; nothing is stored."""
    wf = echo_workflow(calls, "schema-invalid-trigger", RequiredIn)
    run = wf.create_run(engine=engine, run_id="s1-run")

    with pytest.raises(ValidationError) as caught:
        await run.start(input_data={"required": "test", "nested": {"value": "not-a-number"}})

    err = caught.value
    assert isinstance(err, WorkflowError)
    assert [e["path"] for e in err.errors] == ["nested.value"]
    assert "Invalid input data" in str(err)
    assert "nested.value" in str(err)
    assert calls["step1"] == 0
    assert await engine.storage.load("s1-run") is None


async def test_s2_input_schema_defaults_are_applied_before_the_first_step(
    engine: Engine, calls: Calls
) -> None:
    """S2: a default in the workflow input schema fills the missing field for the first step."""
    wf = echo_workflow(calls, "schema-default-input", DefaultedIn)

    result = await wf.create_run(engine=engine).start(input_data={"required": "test"})

    expected = {"required": "test", "nested": {"value": 1}}
    assert result.status == "success"
    assert result.steps["step1"].payload == expected
    assert result.steps["step1"].output == expected
    assert result.result == expected


async def test_s3_wrong_scalar_type_raises_validation_error(engine: Engine, calls: Calls) -> None:
    """S3: a number where a string is required raises ValidationError naming the field."""
    wf = echo_workflow(calls, "schema-invalid-input", StartIn)
    run = wf.create_run(engine=engine, run_id="s3-run")

    with pytest.raises(ValidationError) as caught:
        await run.start(input_data={"start": 123})

    assert [e["path"] for e in caught.value.errors] == ["start"]
    assert "Invalid input data" in str(caught.value)
    assert calls["step1"] == 0
    assert await engine.storage.load("s3-run") is None


async def test_s4_step_input_schema_defaults_are_applied(engine: Engine, calls: Calls) -> None:
    """S4: a default in a step's input schema fills a field the previous step did not produce."""

    @step(id="step1")
    async def step1(ctx: StepContext) -> dict:
        calls.hit("step1")
        return {"someValue": "test"}

    @step(id="step2", input_schema=DefaultedValueIn)
    async def step2(ctx: StepContext) -> dict:
        calls.hit("step2")
        return {"result": ctx.input_data.defaultedValue + "-processed"}

    wf = Workflow("schema-step-default").then(step1).then(step2).commit()

    result = await wf.create_run(engine=engine).start(input_data={})

    assert result.status == "success"
    assert result.steps["step2"].output == {"result": "default-value-processed"}


async def test_s5_step_input_schema_may_be_a_subset_of_the_previous_output(
    engine: Engine, calls: Calls
) -> None:
    """S5: a step whose input schema names only some fields of the previous output runs."""

    @step(id="step1")
    async def step1(ctx: StepContext) -> dict:
        calls.hit("step1")
        return {"value1": "test1", "value2": "test2", "value3": "test3"}

    @step(id="step2", input_schema=Value1In)
    async def step2(ctx: StepContext) -> dict:
        calls.hit("step2")
        return {"result": ctx.input_data.value1 + "-processed"}

    wf = Workflow("schema-subset").then(step1).then(step2).commit()

    result = await wf.create_run(engine=engine).start(input_data={})

    assert result.status == "success"
    assert result.steps["step2"].output == {"result": "test1-processed"}


async def test_s6_map_after_foreach_validates_the_next_input(engine: Engine, calls: Calls) -> None:
    """S6: a map function summing a foreach's list feeds a step with a matching input schema."""

    @step(id="map", input_schema=Item, output_schema=Item)
    async def add_eleven(ctx: StepContext) -> dict:
        calls.hit("map")
        return {"value": ctx.input_data.value + 11}

    async def total(ctx: StepContext) -> dict:
        calls.hit("map-step")
        return {"inputValue": sum(item["value"] for item in ctx.input_data)}

    @step(id="final", input_schema=SumIn)
    async def final(ctx: StepContext) -> dict:
        calls.hit("final")
        return {"finalValue": ctx.input_data.inputValue}

    wf = (
        Workflow("schema-map-after-foreach", input_schema=list[Item])
        .foreach(add_eleven)
        .map(total, id="map-step")
        .then(final)
        .commit()
    )

    result = await wf.create_run(engine=engine).start(
        input_data=[{"value": 1}, {"value": 22}, {"value": 333}]
    )

    assert result.status == "success"
    assert calls["map"] == 3
    assert result.steps["map"].output == [{"value": 12}, {"value": 33}, {"value": 344}]
    assert result.steps["map-step"].output == {"inputValue": 389}
    assert result.steps["final"].output == {"finalValue": 389}


async def test_sb_workflow_output_schema_mismatch_fails_the_run(
    engine: Engine, calls: Calls
) -> None:
    """SB: a final result that does not match the workflow output schema fails the run."""

    @step(id="step1")
    async def step1(ctx: StepContext) -> dict:
        calls.hit("step1")
        return {"count": "many"}

    wf = Workflow("sb-output-schema-mismatch", output_schema=CountOut).then(step1).commit()

    result = await wf.create_run(engine=engine).start(input_data={})

    assert calls["step1"] == 1
    assert result.status == "failed"
    assert type(result.error).__name__ == "ValidationError"
    assert "count" in str(result.error)


async def test_sb_workflow_output_schema_match_keeps_the_result(
    engine: Engine, calls: Calls
) -> None:
    """SB: a final result matching the workflow output schema leaves the run successful."""

    @step(id="step1")
    async def step1(ctx: StepContext) -> dict:
        calls.hit("step1")
        return {"count": 3}

    wf = Workflow("sb-output-schema-match", output_schema=CountOut).then(step1).commit()

    result = await wf.create_run(engine=engine).start(input_data={})

    assert result.status == "success"
    assert result.result == {"count": 3}


async def test_sb_step_output_schema_mismatch_fails_the_step(engine: Engine, calls: Calls) -> None:
    """SB: a step returning data that breaks its output schema fails; the next step never runs."""

    @step(id="step1", output_schema=CountOut)
    async def step1(ctx: StepContext) -> dict:
        calls.hit("step1")
        return {"count": "not a number"}

    @step(id="step2")
    async def step2(ctx: StepContext) -> dict:
        calls.hit("step2")
        return {}

    wf = Workflow("sb-step-output-mismatch").then(step1).then(step2).commit()

    result = await wf.create_run(engine=engine).start(input_data={})

    assert result.status == "failed"
    assert calls["step1"] == 1
    assert calls["step2"] == 0
    assert result.steps["step1"].status == "failed"
    assert result.steps["step1"].error is not None
    assert "step2" not in result.steps


async def test_sb_bad_step_input_fails_that_step(engine: Engine, calls: Calls) -> None:
    """SB: a previous output that breaks a step's input schema fails that step, not the call."""

    @step(id="step1")
    async def step1(ctx: StepContext) -> dict:
        calls.hit("step1")
        return {"value1": 42}

    @step(id="step2", input_schema=Value1In)
    async def step2(ctx: StepContext) -> dict:
        calls.hit("step2")
        return {}

    wf = Workflow("sb-bad-step-input").then(step1).then(step2).commit()

    result = await wf.create_run(engine=engine).start(input_data={})

    assert result.status == "failed"
    assert calls["step2"] == 0
    assert result.steps["step2"].status == "failed"
    assert type(result.steps["step2"].error).__name__ == "ValidationError"
