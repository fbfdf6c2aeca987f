"""Catalog section 23, by-name domains: dependency injection (DI1-DI2) and interoperability (IO1).

Mastra's requestContext is Stepback's runtime context: `start(context=...)`, read and changed by
steps through `ctx.context`.
"""

from __future__ import annotations

from typing import Any

from engines import (
    RunResult,
    StepContext,
    Workflow,
    const,
    from_init,
    from_step,
    step,
)
from engines.core.engine import Engine
from engines.testing import Calls


async def test_di1_steps_can_read_the_runtime_context(engine: Engine) -> None:
    """DI1: a value passed in the runtime context is visible to a step through ctx.context."""

    @step(id="greet")
    async def greet(ctx: StepContext) -> dict[str, Any]:
        return {"greeting": f"hello {ctx.context['userId']}"}

    wf = Workflow("di-provide").then(greet).commit()

    result = await wf.create_run(engine=engine).start(input_data={}, context={"userId": "ada"})

    assert result.status == "success"
    assert result.steps["greet"].output == {"greeting": "hello ada"}


async def test_di2_every_step_sees_the_runtime_context(engine: Engine) -> None:
    """DI2: every step of a chain, nested workflows included, sees the initial context values."""
    seen: dict[str, Any] = {}

    def reader(step_id: str) -> Any:
        @step(id=step_id)
        async def read(ctx: StepContext) -> dict[str, Any]:
            seen[step_id] = ctx.context.get("tenant")
            return {}

        return read

    nested = Workflow("di-nested").then(reader("inner")).commit()
    wf = Workflow("di-every-step").then(reader("first")).then(nested).then(reader("last")).commit()

    result = await wf.create_run(engine=engine).start(input_data={}, context={"tenant": "acme"})

    assert result.status == "success"
    assert seen == {"first": "acme", "inner": "acme", "last": "acme"}


@step(id="remember")
async def remember(ctx: StepContext) -> dict[str, Any]:
    ctx.context["token"] = f"token-for-{ctx.context['userId']}"
    return {}


@step(id="use-token")
async def use_token(ctx: StepContext) -> dict[str, Any]:
    return {"token": ctx.context.get("token"), "user": ctx.context.get("userId")}


async def test_di2_a_value_set_by_one_step_reaches_the_next(engine: Engine) -> None:
    """DI2: a context value set by a step is visible to the following step."""
    wf = Workflow("di-propagate").then(remember).then(use_token).commit()

    result = await wf.create_run(engine=engine).start(input_data={}, context={"userId": "ada"})

    assert result.status == "success"
    assert result.steps["use-token"].output == {"token": "token-for-ada", "user": "ada"}


@step(id="pause")
async def pause(ctx: StepContext) -> dict[str, Any]:
    if ctx.resume_data is None:
        ctx.suspend({"waiting": True})
    return {"user": ctx.context.get("userId"), "token": ctx.context.get("token")}


async def test_di2_the_context_survives_suspend_and_resume(engine: Engine) -> None:
    """DI2: context given at start and values set before a suspension are there after resume."""
    wf = Workflow("di-resume").then(remember).then(pause).commit()
    first = await wf.create_run(engine=engine, run_id="di-resume-run").start(
        input_data={}, context={"userId": "ada"}
    )
    assert first.status == "suspended"

    result = await wf.create_run(engine=engine, run_id="di-resume-run").resume(
        resume_data={"go": True}
    )

    assert result.status == "success"
    assert result.steps["pause"].output == {"user": "ada", "token": "token-for-ada"}


# -- interoperability ------------------------------------------------------------------------


def counted(step_id: str, calls: Calls, fn: Any) -> Any:
    """A step that counts its calls and returns `fn(input)`."""

    @step(id=step_id)
    async def run_step(ctx: StepContext) -> Any:
        calls.hit(step_id)
        return fn(ctx.input_data)

    return run_step


def all_actions_workflow(calls: Calls) -> Workflow:
    """then, parallel, map (function and sources), branch, dowhile, foreach, sleep, nesting."""
    start = counted("start", calls, lambda data: {"value": data["value"]})
    add_one = counted("add-one", calls, lambda data: {"value": data["value"] + 1})
    add_two = counted("add-two", calls, lambda data: {"value": data["value"] + 2})
    times_ten = counted("times-ten", calls, lambda data: {"value": data["value"] * 10})
    plus_hundred = counted("plus-hundred", calls, lambda data: {"value": data["value"] + 100})
    increment = counted("increment", calls, lambda data: {"value": data["value"] + 1})
    double_item = counted("double-item", calls, lambda item: item * 2)
    total = counted("total", calls, lambda items: {"total": sum(items)})
    nested = Workflow("io-nested").then(total).commit()

    async def combine(ctx: StepContext) -> dict[str, Any]:
        return {"value": ctx.input_data["add-one"]["value"] + ctx.input_data["add-two"]["value"]}

    async def is_big(ctx: StepContext) -> bool:
        return bool(ctx.input_data["value"] > 3)

    async def is_small(ctx: StepContext) -> bool:
        return bool(ctx.input_data["value"] <= 3)

    async def below_53(ctx: StepContext) -> bool:
        return bool(ctx.input_data["value"] < 53)

    async def to_list(ctx: StepContext) -> list[int]:
        value = ctx.input_data["value"]
        return [value, value + 1]

    return (
        Workflow("io-all-actions")
        .then(start)  # {"value": 1}
        .parallel([add_one, add_two])  # {"add-one": {"value": 2}, "add-two": {"value": 3}}
        .map(combine, id="combine")  # {"value": 5}
        .branch([(is_big, times_ten), (is_small, plus_hundred)])  # {"times-ten": {"value": 50}}
        .map({"value": from_step([times_ten, plus_hundred], "value")}, id="pick")  # 50
        .dowhile(increment, below_53)  # {"value": 53}
        .map(to_list, id="to-list")  # [53, 54]
        .foreach(double_item, concurrency=2)  # [106, 108]
        .sleep(0.01)  # passes [106, 108] through
        .then(nested)  # {"total": 214}
        .map(
            {"total": from_step(nested, "total"), "start": from_init("value"), "tag": const("io")},
            id="final",
        )
        .commit()
    )


async def run_all_actions(engine: Engine, calls: Calls) -> RunResult:
    wf = all_actions_workflow(calls)
    return await wf.create_run(engine=engine).start(input_data={"value": 1})


async def test_io1_every_action_type_works_together_in_one_workflow(
    engine: Engine, calls: Calls
) -> None:
    """IO1: a workflow using every action type succeeds with the expected final result."""
    result = await run_all_actions(engine, calls)

    assert result.status == "success", result.error
    assert result.result == {"total": 214, "start": 1, "tag": "io"}


async def test_io1_each_action_type_runs_its_steps_as_expected(
    engine: Engine, calls: Calls
) -> None:
    """IO1: in that workflow each step runs as often as its action type implies."""
    await run_all_actions(engine, calls)

    assert calls.counts == {
        "start": 1,
        "add-one": 1,
        "add-two": 1,
        "times-ten": 1,
        "increment": 3,
        "double-item": 2,
        "total": 1,
    }


async def test_io1_each_action_type_records_its_output(engine: Engine, calls: Calls) -> None:
    """IO1: the top-level records hold each action's output (loop: last iteration)."""
    result = await run_all_actions(engine, calls)

    outputs = {key: record.output for key, record in result.steps.items()}
    assert outputs["combine"] == {"value": 5}
    assert outputs["times-ten"] == {"value": 50}
    assert outputs["pick"] == {"value": 50}
    assert outputs["increment"] == {"value": 53}
    assert outputs["to-list"] == [53, 54]
    assert outputs["double-item"] == [106, 108]
    assert outputs["sleep_0"] == [106, 108]
    assert outputs["io-nested"] == {"total": 214}
    assert "plus-hundred" not in outputs or result.steps["plus-hundred"].status != "success"
