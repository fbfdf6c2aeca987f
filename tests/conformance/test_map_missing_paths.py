"""A map path that does not exist leaves the key out.

`.map({"start": from_step(s, "start")})` when `s`'s output has no `start` produces no `start`
key, so the next step's input default applies (or its validation error names the missing
field), instead of `"start": None`. The same for `from_init` paths and `from_context` keys. A
value that exists and is `None` is kept.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from engines import StepContext, ValidationError, Workflow, from_context, from_init, from_step, step


class Window(BaseModel):
    start: int = 7
    end: int


class StrictWindow(BaseModel):
    start: int
    end: int


def _window_step(schema: type[BaseModel], seen: list[Any]) -> Any:
    @step(id="use", input_schema=schema)
    async def use(ctx: StepContext) -> dict[str, int]:
        seen.append(ctx.input_data.model_dump())
        return {"length": ctx.input_data.end - ctx.input_data.start}

    return use


@step(id="bounds")
async def bounds(ctx: StepContext) -> dict[str, Any]:
    return {"end": 10, "extra": {"note": None}}


async def test_a_missing_step_output_path_leaves_the_key_out_so_the_default_applies(
    engine: Any,
) -> None:
    """from_step(s, "start") with no `start` in s's output: the mapping has no `start` key."""
    seen: list[Any] = []
    wf = (
        Workflow("map-missing-step")
        .then(bounds)
        .map(
            {"start": from_step(bounds, "start"), "end": from_step(bounds, "end")},
            id="window",
        )
        .then(_window_step(Window, seen))
        .commit()
    )

    result = await wf.create_run(engine=engine).start(input_data={})

    assert result.status == "success"
    assert result.steps["window"].output == {"end": 10}
    assert seen == [{"start": 7, "end": 10}]
    assert result.result == {"length": 3}


async def test_a_missing_step_output_path_is_named_by_the_next_steps_validation_error(
    engine: Any,
) -> None:
    """Without a default, the next step fails with a validation error naming `start`."""
    seen: list[Any] = []
    wf = (
        Workflow("map-missing-required")
        .then(bounds)
        .map({"start": from_step(bounds, "start"), "end": from_step(bounds, "end")})
        .then(_window_step(StrictWindow, seen))
        .commit()
    )

    result = await wf.create_run(engine=engine).start(input_data={})

    assert result.status == "failed"
    assert seen == []
    error = result.steps["use"].error
    assert isinstance(error, ValidationError)
    assert [e["path"] for e in error.errors] == ["start"]


async def test_a_path_through_a_missing_or_null_value_leaves_the_key_out(engine: Any) -> None:
    """Walking past a key that is absent, or into a null, finds nothing: no key."""
    wf = (
        Workflow("map-missing-deep")
        .then(bounds)
        .map(
            {
                "absent": from_step(bounds, "window.start"),
                "into_null": from_step(bounds, "extra.note.text"),
                "past_the_end": from_step(bounds, "extra.items.3"),
            },
            id="deep",
        )
        .commit()
    )

    result = await wf.create_run(engine=engine).start(input_data={})

    assert result.status == "success"
    assert result.steps["deep"].output == {}


async def test_a_value_that_exists_and_is_null_is_kept(engine: Any) -> None:
    """`extra.note` exists with the value None: the key is there, with None."""
    wf = (
        Workflow("map-null-kept")
        .then(bounds)
        .map({"note": from_step(bounds, "extra.note")}, id="kept")
        .commit()
    )

    result = await wf.create_run(engine=engine).start(input_data={})

    assert result.steps["kept"].output == {"note": None}


async def test_a_missing_init_path_leaves_the_key_out(engine: Any) -> None:
    """from_init("start") with no `start` in the workflow input: the default applies."""
    seen: list[Any] = []
    wf = (
        Workflow("map-missing-init")
        .map({"start": from_init("start"), "end": from_init("end")}, id="window")
        .then(_window_step(Window, seen))
        .commit()
    )

    result = await wf.create_run(engine=engine).start(input_data={"end": 9})

    assert result.status == "success"
    assert result.steps["window"].output == {"end": 9}
    assert seen == [{"start": 7, "end": 9}]


async def test_a_missing_context_key_leaves_the_key_out(engine: Any) -> None:
    """from_context("start") with no `start` in the runtime context: the default applies."""
    seen: list[Any] = []
    wf = (
        Workflow("map-missing-context")
        .map({"start": from_context("start"), "end": from_context("end")}, id="window")
        .then(_window_step(Window, seen))
        .commit()
    )

    result = await wf.create_run(engine=engine).start(input_data={}, context={"end": 12})

    assert result.status == "success"
    assert result.steps["window"].output == {"end": 12}
    assert seen == [{"start": 7, "end": 12}]


async def test_a_map_from_a_step_that_did_not_succeed_leaves_the_key_out(engine: Any) -> None:
    """from_step over branch arms of which none ran: no key."""

    def never(ctx: StepContext) -> bool:
        return False

    @step(id="arm")
    async def arm(ctx: StepContext) -> dict[str, int]:
        return {"start": 1}

    seen: list[Any] = []
    wf = (
        Workflow("map-missing-arm")
        .branch([(never, arm)])
        .map({"start": from_step([arm], "start"), "end": from_init("end")}, id="window")
        .then(_window_step(Window, seen))
        .commit()
    )

    result = await wf.create_run(engine=engine).start(input_data={"end": 8})

    assert result.status == "success"
    assert result.steps["window"].output == {"end": 8}
    assert seen == [{"start": 7, "end": 8}]
