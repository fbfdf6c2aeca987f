"""Plain typed functions become steps: `step.from_function(fn)` and `@step` on such a function.

The input schema comes from the parameters (defaults included, or a single pydantic model), the
output schema from the return annotation (none for `-> None`). Sync functions run in a worker
thread, async ones on the event loop.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pydantic
import pytest

from engines import (
    DefaultEngine,
    DefinitionError,
    InMemoryStorage,
    RunResult,
    Step,
    StepContext,
    ValidationError,
    Workflow,
    step,
)


class Order(pydantic.BaseModel):
    amount: int
    currency: str = "EUR"


class Decision(pydantic.BaseModel):
    approved: bool
    limit: int


async def run_alone(a_step: Step, input_data: Any = None) -> RunResult:
    """Run `a_step` as the only step of a workflow whose input goes straight to it."""
    wf = Workflow(f"only-{a_step.id}").then(a_step).commit()
    return await wf.create_run(engine=DefaultEngine(InMemoryStorage())).start(input_data)


def required_and_defaults(a_step: Step) -> tuple[list[str], dict[str, Any]]:
    """The required fields and the field defaults of a step's input JSON Schema."""
    assert a_step.input_schema is not None
    schema = a_step.input_schema.json_schema()
    defaults = {k: v["default"] for k, v in schema["properties"].items() if "default" in v}
    return sorted(schema.get("required", [])), defaults


# -- parameters and defaults ------------------------------------------------------------------


def total(amount: int, tax: float = 0.2) -> float:
    """The amount with tax."""
    return amount * (1 + tax)


def test_each_parameter_becomes_a_field_of_the_input_schema() -> None:
    """Parameters without a default are required; the others carry their default."""
    required, defaults = required_and_defaults(step.from_function(total))
    assert required == ["amount"]
    assert defaults == {"tax": 0.2}


async def test_a_parameter_left_out_of_the_input_takes_its_default() -> None:
    """Input without `tax` runs the function with `tax=0.2`."""
    result = await run_alone(step.from_function(total), {"amount": 100})
    assert result.status == "success"
    assert result.result == pytest.approx(120.0)


async def test_a_parameter_given_in_the_input_overrides_its_default() -> None:
    """Input with `tax` uses that value."""
    result = await run_alone(step.from_function(total), {"amount": 100, "tax": 0.5})
    assert result.result == pytest.approx(150.0)


async def test_input_missing_a_required_parameter_fails_the_step() -> None:
    """Without `amount` the step fails with a validation error naming that field."""
    result = await run_alone(step.from_function(total), {"tax": 0.1})
    assert result.status == "failed"
    assert isinstance(result.steps["total"].error, ValidationError)
    assert [e["path"] for e in result.steps["total"].error.errors] == ["amount"]


async def test_input_values_are_converted_to_the_parameter_types() -> None:
    """`"100"` for an `int` parameter arrives as the number 100."""
    seen: list[Any] = []

    def record(amount: int) -> int:
        seen.append(amount)
        return amount

    await run_alone(step.from_function(record), {"amount": "100"})
    assert seen == [100]


def test_the_step_takes_its_id_and_description_from_the_function() -> None:
    """The function's name is the step id and its docstring the description."""
    made = step.from_function(total)
    assert made.id == "total"
    assert made.description == "The amount with tax."


def test_options_given_to_from_function_override_the_derived_ones() -> None:
    """`id`, `description` and `retries` may be set explicitly."""
    made = step.from_function(total, id="with-tax", description="Adds tax.", retries=2)
    assert (made.id, made.description, made.retries) == ("with-tax", "Adds tax.", 2)


# -- a single pydantic model parameter --------------------------------------------------------


def approve(order: Order) -> Decision:
    return Decision(approved=order.amount <= 100, limit=100)


def test_a_single_model_parameter_is_the_input_schema_itself() -> None:
    """A function taking one pydantic model uses that model as its input schema."""
    made = step.from_function(approve)
    assert made.input_schema is not None
    assert made.input_schema.type is Order


async def test_a_single_model_parameter_receives_a_model_instance() -> None:
    """The whole step input, validated, is passed as the model (defaults applied)."""
    seen: list[Any] = []

    def inspect_order(order: Order) -> None:
        seen.append(order)

    await run_alone(step.from_function(inspect_order), {"amount": 5})
    assert len(seen) == 1
    assert isinstance(seen[0], Order)
    assert seen[0] == Order(amount=5, currency="EUR")


async def test_a_returned_model_is_recorded_as_json() -> None:
    """The output model is dumped to JSON in the record and the result."""
    result = await run_alone(step.from_function(approve), {"amount": 500})
    assert result.result == {"approved": False, "limit": 100}
    assert result.steps["approve"].output == {"approved": False, "limit": 100}


# -- sync and async functions -----------------------------------------------------------------


async def test_a_sync_function_runs_in_a_worker_thread() -> None:
    """A plain `def` runs off the event loop's thread."""
    loop_thread = threading.get_ident()
    threads: list[int] = []

    def where(n: int) -> int:
        threads.append(threading.get_ident())
        return n

    made = step.from_function(where)
    result = await run_alone(made, {"n": 1})
    assert result.result == 1
    assert made.is_async is False
    assert threads != [loop_thread]


async def test_an_async_function_runs_on_the_event_loop() -> None:
    """An `async def` runs on the loop's thread and is awaited."""
    loop_thread = threading.get_ident()
    threads: list[int] = []

    async def where(n: int) -> int:
        threads.append(threading.get_ident())
        await asyncio.sleep(0)
        return n * 2

    made = step.from_function(where)
    result = await run_alone(made, {"n": 4})
    assert result.result == 8
    assert made.is_async is True
    assert threads == [loop_thread]


async def test_an_async_function_with_a_model_parameter_is_awaited() -> None:
    """The single-model form works for `async def` too."""

    async def approve_later(order: Order) -> Decision:
        await asyncio.sleep(0)
        return Decision(approved=True, limit=order.amount)

    result = await run_alone(step.from_function(approve_later), {"amount": 30})
    assert result.result == {"approved": True, "limit": 30}


# -- return annotations -----------------------------------------------------------------------


def test_a_none_return_annotation_gives_no_output_schema() -> None:
    """`-> None` means the step has no output schema."""

    def log_it(message: str) -> None:
        return None

    assert step.from_function(log_it).output_schema is None


def test_a_missing_return_annotation_gives_no_output_schema() -> None:
    """Without a return annotation there is no output schema either."""

    def unannotated(message: str):  # type: ignore[no-untyped-def]
        return message

    assert step.from_function(unannotated).output_schema is None


def test_a_return_annotation_becomes_the_output_schema() -> None:
    """`-> float` gives an output schema for numbers."""
    made = step.from_function(total)
    assert made.output_schema is not None
    assert made.output_schema.json_schema() == {"type": "number"}


async def test_a_function_returning_none_records_no_output() -> None:
    """A `-> None` function's step succeeds with output None."""

    def log_it(message: str) -> None:
        return None

    result = await run_alone(step.from_function(log_it), {"message": "hi"})
    assert result.status == "success"
    assert result.steps["log_it"].output is None


async def test_a_return_value_that_breaks_the_output_schema_fails_the_step() -> None:
    """A function annotated `-> int` that returns text fails its step."""

    def liar(n: int) -> int:
        return "not a number"  # type: ignore[return-value]

    result = await run_alone(step.from_function(liar), {"n": 1})
    assert result.status == "failed"
    assert isinstance(result.steps["liar"].error, ValidationError)


# -- variadic parameters ----------------------------------------------------------------------


def test_a_function_with_star_args_is_refused() -> None:
    """`*args` cannot become a schema: `DefinitionError` when the step is made."""

    def summed(*values: int) -> int:
        return sum(values)

    with pytest.raises(DefinitionError, match="args"):
        step.from_function(summed)


def test_a_function_with_star_star_kwargs_is_refused() -> None:
    """`**kwargs` cannot become a schema either."""

    def options(name: str, **extra: Any) -> str:
        return name

    with pytest.raises(DefinitionError, match="kwargs"):
        step.from_function(options)


def test_the_step_decorator_refuses_star_args_too() -> None:
    """`@step` on a plain function with `*args` raises `DefinitionError` as well."""
    with pytest.raises(DefinitionError):

        @step
        def summed(first: int, *rest: int) -> int:
            return first + sum(rest)


# -- the @step decorator on plain functions ---------------------------------------------------


async def test_the_step_decorator_on_a_plain_function_builds_the_same_step() -> None:
    """`@step` on a typed function derives the same schemas as `from_function`."""

    @step
    def total(amount: int, tax: float = 0.2) -> float:
        return amount * (1 + tax)

    assert isinstance(total, Step)
    assert required_and_defaults(total) == (["amount"], {"tax": 0.2})
    result = await run_alone(total, {"amount": 10})
    assert result.result == pytest.approx(12.0)


def test_the_step_decorator_with_options_on_a_plain_function() -> None:
    """`@step(id=...)` names a plain-function step."""

    @step(id="taxed")
    def total(amount: int) -> float:
        return amount * 1.2

    assert total.id == "taxed"
    assert required_and_defaults(total) == (["amount"], {})


def test_the_step_decorator_keeps_context_steps_as_they_are() -> None:
    """A function taking the `StepContext` is an ordinary step, not a plain-function step."""

    @step
    async def uses_context(ctx: StepContext) -> dict[str, Any]:
        return {}

    assert uses_context.input_schema is None
    assert uses_context.output_schema is None


async def test_a_plain_function_without_parameters_runs_whatever_its_input() -> None:
    """A function taking nothing accepts any input (even none) and ignores it."""

    @step
    def five() -> int:
        return 5

    assert five.input_schema is None
    result = await Workflow("no-params").then(five).commit().create_run().start()
    assert result.status == "success"
    assert result.result == 5


async def test_parameters_named_like_model_attributes_keep_their_names() -> None:
    """`json` and `copy` parameters work, and the input and its JSON Schema use those names."""

    @step
    def repeat(json: str, copy: int = 2) -> str:
        return json * copy

    schema = Workflow("shadow").then(repeat).commit().graph()["entries"][0]["step"]
    assert set(schema["input_schema"]["properties"]) == {"json", "copy"}
    result = await Workflow("shadow-run").then(repeat).commit().create_run().start({"json": "ab"})
    assert result.status == "success"
    assert result.result == "abab"
