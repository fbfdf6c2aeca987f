"""Suspend and resume through nested workflows (catalog section 13)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from engines import StepContext, Workflow, step
from engines.testing import Calls


class StartValue(BaseModel):
    startValue: int


class Value(BaseModel):
    value: int


class Message(BaseModel):
    message: str


def _plain(value: Any) -> Any:
    """Data as plain JSON-like values, whether the engine hands over a model or a dict."""
    if isinstance(value, BaseModel):
        return value.model_dump()
    return value


# -- SR10: propagation ------------------------------------------------------------------------


async def test_sr10_suspend_inside_a_nested_workflow_suspends_the_parent(
    engine, calls: Calls
) -> None:
    """SR10: an inner step that suspends leaves the nested workflow and the parent run suspended."""

    @step(id="outer-step")
    async def outer_step(ctx: StepContext) -> dict:
        calls.hit("outer-step")
        return {"value": "outer-done"}

    class NestedReason(BaseModel):
        nestedReason: str

    @step(id="inner-step", suspend_schema=NestedReason)
    async def inner_step(ctx: StepContext) -> dict:
        calls.hit("inner-step")
        ctx.suspend({"nestedReason": "inner-waiting"})
        return {"result": "unreachable"}

    nested = Workflow("nested-suspend-inner").then(inner_step).commit()
    wf = Workflow("nested-suspend-main").then(outer_step).then(nested).commit()
    result = await wf.create_run(engine=engine, run_id="sr10-run").start(input_data={})

    assert result.status == "suspended"
    assert calls["outer-step"] == 1
    assert calls["inner-step"] == 1
    assert result.steps["outer-step"].status == "success"
    assert result.steps["outer-step"].output == {"value": "outer-done"}
    assert result.steps["nested-suspend-inner"].status == "suspended"
    assert "nested-suspend-inner.inner-step" not in result.steps
    assert result.suspended == [["nested-suspend-inner", "inner-step"]]

    snapshot = await engine.storage.load("sr10-run")
    inner = snapshot.steps["nested-suspend-inner.inner-step"]
    assert inner.status == "suspended"
    assert inner.suspend_payload == {"nestedReason": "inner-waiting"}


# -- SR18/SR33: nested workflow inside dountil ------------------------------------------------


async def test_sr18_suspend_and_resume_a_nested_workflow_inside_dountil(
    engine, calls: Calls
) -> None:
    """SR18: a nested workflow looped by dountil suspends, resumes by path and finally exits."""

    @step(id="increment", input_schema=Value)
    async def increment(ctx: StepContext) -> dict:
        calls.hit("increment")
        return {"value": ctx.input_data.value + 1}

    @step(id="resume", input_schema=Value, resume_schema=Value, suspend_schema=Message)
    async def resume(ctx: StepContext) -> dict:
        calls.hit("resume")
        extra = ctx.resume_data.value if ctx.resume_data is not None else 0
        total = extra + ctx.input_data.value
        if ctx.resume_data is None or total < 10:
            ctx.suspend({"message": f"Please provide more; value is {ctx.input_data.value}"})
        return {"value": total}

    @step(id="final", input_schema=Value)
    async def final(ctx: StepContext) -> dict:
        calls.hit("final")
        return {"value": ctx.input_data.value}

    nested = (
        Workflow("simple-resume-workflow", input_schema=Value).then(increment).then(resume).commit()
    )

    async def reached_ten(ctx: Any) -> bool:
        return _plain(ctx.input_data)["value"] >= 10

    wf = (
        Workflow("dountil-suspend-workflow", input_schema=Value)
        .dountil(nested, reached_ten)
        .then(final)
        .commit()
    )
    run = wf.create_run(engine=engine, run_id="sr18-run")

    started = await run.start(input_data={"value": 0})
    assert started.status == "suspended"
    assert started.steps["simple-resume-workflow"].status == "suspended"

    too_small = await run.resume(
        resume_data={"value": 2}, step=["simple-resume-workflow", "resume"]
    )
    assert too_small.status == "suspended"
    assert too_small.steps["simple-resume-workflow"].status == "suspended"

    done = await run.resume(resume_data={"value": 21}, step=["simple-resume-workflow", "resume"])
    assert done.status == "success"
    assert done.steps["simple-resume-workflow"].status == "success"
    assert done.result == {"value": 22}
    assert calls["increment"] == 1
    assert calls["final"] == 1


async def test_sr33_nested_dountil_resume_updates_init_data_and_hides_internals(
    engine, calls: Calls
) -> None:
    """SR33: bug #5650: each loop iteration's nested init data is fresh; ctx.context stays clean."""
    init_values: list[int] = []
    contexts: list[dict] = []

    class AmountBy(BaseModel):
        amountToIncrementBy: int

    class Options(BaseModel):
        optionsToIncrementBy: list[int]

    @step(id="increment", input_schema=Value, resume_schema=AmountBy, suspend_schema=Options)
    async def increment(ctx: StepContext) -> dict:
        calls.hit("increment")
        contexts.append(dict(ctx.context))
        if ctx.resume_data is None:
            ctx.suspend({"optionsToIncrementBy": [1, 2, 3]})
        return {"value": ctx.input_data.value + ctx.resume_data.amountToIncrementBy}

    @step(id="resume", input_schema=Value)
    async def resume(ctx: StepContext) -> dict:
        calls.hit("resume")
        contexts.append(dict(ctx.context))
        init_values.append(_plain(ctx.get_init_data())["value"])
        return {"value": ctx.input_data.value}

    @step(id="final", input_schema=Value)
    async def final(ctx: StepContext) -> dict:
        return {"value": ctx.input_data.value}

    nested = (
        Workflow("simple-resume-workflow-5650", input_schema=Value)
        .then(increment)
        .then(resume)
        .commit()
    )

    async def reached_ten(ctx: Any) -> bool:
        return _plain(ctx.input_data)["value"] >= 10

    wf = (
        Workflow("nested-dountil-bug-5650-workflow", input_schema=Value)
        .dountil(nested, reached_ten)
        .then(final)
        .commit()
    )
    run = wf.create_run(engine=engine, run_id="sr33-run")
    path = ["simple-resume-workflow-5650", "increment"]

    started = await run.start(input_data={"value": 2})
    assert started.steps["simple-resume-workflow-5650"].status == "suspended"

    again = await run.resume(resume_data={"amountToIncrementBy": 2}, step=path)
    assert again.status == "suspended"
    assert again.steps["simple-resume-workflow-5650"].status == "suspended"
    assert init_values == [2]

    done = await run.resume(resume_data={"amountToIncrementBy": 6}, step=path)
    assert done.status == "success"
    assert done.result == {"value": 10}
    assert init_values == [2, 4]
    assert contexts
    assert all(c == {} for c in contexts), contexts


# -- SR27/SR40/SR41: resume targets for a nested step -----------------------------------------


def _begin_nested_last(calls: Calls, wf_id: str, nested_id: str) -> dict[str, Any]:
    """begin-step -> nested(start -> other (suspends) -> final) -> last-step."""

    @step(id="begin-step", input_schema=StartValue)
    async def begin(ctx: StepContext) -> dict:
        calls.hit("begin")
        return ctx.input_data.model_dump()

    @step(id="start", input_schema=StartValue)
    async def start(ctx: StepContext) -> dict:
        calls.hit("start")
        return {"newValue": ctx.input_data.startValue + 1}

    @step(id="other")
    async def other(ctx: StepContext) -> dict:
        calls.hit("other")
        if ctx.resume_data is None:
            ctx.suspend()
        return {"newValue": ctx.input_data["newValue"], "other": 26}

    @step(id="final")
    async def final(ctx: StepContext) -> dict:
        calls.hit("final")
        start_out = ctx.get_step_result("start") or {}
        other_out = ctx.get_step_result(other) or {}
        return {"finalValue": start_out.get("newValue", 0) + other_out.get("other", 0)}

    @step(id="last-step")
    async def last(ctx: StepContext) -> dict:
        calls.hit("last")
        return {"success": True}

    nested = (
        Workflow(nested_id, input_schema=StartValue).then(start).then(other).then(final).commit()
    )
    wf = Workflow(wf_id, input_schema=StartValue).then(begin).then(nested).then(last).commit()
    return {"workflow": wf, "nested": nested, "other": other}


def _assert_first_segment(calls: Calls, result: Any, nested_id: str) -> None:
    assert result.status == "suspended"
    assert (calls["begin"], calls["start"], calls["other"]) == (1, 1, 1)
    assert (calls["final"], calls["last"]) == (0, 0)
    assert result.steps[nested_id].status == "suspended"
    assert "last-step" not in result.steps


def _assert_resumed(calls: Calls, result: Any, nested_id: str) -> None:
    assert result.status == "success"
    assert result.steps[nested_id].status == "success"
    assert result.steps[nested_id].output == {"finalValue": 27}
    assert result.result == {"success": True}
    assert (calls["begin"], calls["start"], calls["other"]) == (1, 1, 2)
    assert (calls["final"], calls["last"]) == (1, 1)


async def test_sr27_resume_nested_step_by_nested_workflow_id(engine, calls: Calls) -> None:
    """SR27: naming only the nested workflow resumes its suspended inner step; the run finishes."""
    built = _begin_nested_last(calls, "nested-resume-workflow", "sr-nested-wf-a")
    run = built["workflow"].create_run(engine=engine, run_id="sr27-run")

    started = await run.start(input_data={"startValue": 0})
    _assert_first_segment(calls, started, "sr-nested-wf-a")

    resumed = await run.resume(resume_data={"newValue": 0}, step="sr-nested-wf-a")
    _assert_resumed(calls, resumed, "sr-nested-wf-a")


async def test_sr40_resume_nested_step_by_object_path(engine, calls: Calls) -> None:
    """SR40: a path of [nested workflow object, inner step object] resumes the inner step."""
    built = _begin_nested_last(
        calls, "sr-suspend-nested-step-workflow", "sr-nested-wf-suspend-step"
    )
    run = built["workflow"].create_run(engine=engine, run_id="sr40-run")

    started = await run.start(input_data={"startValue": 0})
    _assert_first_segment(calls, started, "sr-nested-wf-suspend-step")
    assert started.suspended == [["sr-nested-wf-suspend-step", "other"]]

    resumed = await run.resume(resume_data={"newValue": 0}, step=[built["nested"], built["other"]])
    _assert_resumed(calls, resumed, "sr-nested-wf-suspend-step")


async def test_sr41_resume_nested_step_with_only_the_nested_workflow_id(
    engine, calls: Calls
) -> None:
    """SR41: the nested workflow's id alone, as a string, is enough to resume its inner step."""
    built = _begin_nested_last(
        calls, "sr-suspend-nested-step-workflow", "sr-nested-wf-suspend-step"
    )
    run = built["workflow"].create_run(engine=engine, run_id="sr41-run")

    started = await run.start(input_data={"startValue": 0})
    _assert_first_segment(calls, started, "sr-nested-wf-suspend-step")

    resumed = await run.resume(resume_data={"newValue": 0}, step="sr-nested-wf-suspend-step")
    _assert_resumed(calls, resumed, "sr-nested-wf-suspend-step")


# -- SR28: consecutive nested workflows -------------------------------------------------------


async def test_sr28_consecutive_nested_workflows_resume_by_list_and_dotted_path(
    engine, calls: Calls
) -> None:
    """SR28: two nested workflows in a row suspend in turn; list and dotted paths resume them."""

    class Suspect(BaseModel):
        suspect: str

    def ask(step_id: str, question: str) -> Any:
        @step(id=step_id, input_schema=Suspect, resume_schema=Suspect, suspend_schema=Message)
        async def ask_suspect(ctx: StepContext) -> dict:
            calls.hit(step_id)
            if ctx.resume_data is None:
                ctx.suspend({"message": question})
            return {"suspect": ctx.resume_data.suspect}

        return ask_suspect

    sub1 = Workflow("sub-workflow-1", input_schema=Suspect).then(ask("step-1", "Who?")).commit()
    sub2 = (
        Workflow("sub-workflow-2", input_schema=Suspect).then(ask("step-2", "Who else?")).commit()
    )
    wf = (
        Workflow("consecutive-nested-resume-workflow", input_schema=Suspect)
        .then(sub1)
        .then(sub2)
        .commit()
    )
    run = wf.create_run(engine=engine, run_id="sr28-run")

    started = await run.start(input_data={"suspect": "initial-suspect"})
    assert started.status == "suspended"
    assert (calls["step-1"], calls["step-2"]) == (1, 0)
    assert started.steps["sub-workflow-1"].status == "suspended"

    middle = await run.resume(
        resume_data={"suspect": "first-suspect"}, step=["sub-workflow-1", "step-1"]
    )
    assert middle.status == "suspended"
    assert (calls["step-1"], calls["step-2"]) == (2, 1)
    assert middle.steps["sub-workflow-1"].status == "success"
    assert middle.steps["sub-workflow-2"].status == "suspended"

    done = await run.resume(resume_data={"suspect": "second-suspect"}, step="sub-workflow-2.step-2")
    assert done.status == "success"
    assert (calls["step-1"], calls["step-2"]) == (2, 2)
    assert done.steps["sub-workflow-1"].status == "success"
    assert done.steps["sub-workflow-2"].status == "success"
    assert done.result == {"suspect": "second-suspect"}


# -- SR42: runtime context into a nested workflow ---------------------------------------------


async def test_sr42_context_reaches_a_nested_workflow_after_resume(engine, calls: Calls) -> None:
    """SR42: a context value set before a suspend is seen after resume inside a nested workflow."""
    seen: dict[str, list[Any]] = {"suspend": [], "verify": []}

    class Confirmed(BaseModel):
        confirmed: bool

    class Resumed(BaseModel):
        resumed: bool

    @step(id="setup-step")
    async def setup(ctx: StepContext) -> dict:
        ctx.context["test-key"] = "test-context-value"
        return {"setup": True}

    @step(id="suspend-step", resume_schema=Confirmed, suspend_schema=Message)
    async def suspend_step(ctx: StepContext) -> dict:
        seen["suspend"].append(ctx.context.get("test-key"))
        if ctx.resume_data is None or not ctx.resume_data.confirmed:
            ctx.suspend({"message": "Workflow suspended for testing"})
        return {"resumed": True}

    @step(id="verify-context-step")
    async def verify(ctx: StepContext) -> dict:
        value = ctx.context.get("test-key")
        seen["verify"].append(
            {
                "value": value,
                "input": _plain(ctx.input_data),
                "init": _plain(ctx.get_init_data()),
            }
        )
        return {"success": True, "hasTestData": bool(value)}

    nested = Workflow("sr-nested-wf-after-suspend", input_schema=Resumed).then(verify).commit()
    wf = (
        Workflow("sr-request-context-nested-suspend-workflow")
        .then(setup)
        .then(suspend_step)
        .then(nested)
        .commit()
    )
    run = wf.create_run(engine=engine, run_id="sr42-run")

    started = await run.start(input_data={})
    assert started.status == "suspended"

    resumed = await run.resume(resume_data={"confirmed": True}, step="suspend-step")
    assert resumed.status == "success"
    assert resumed.result == {"success": True, "hasTestData": True}
    assert seen["suspend"] == ["test-context-value", "test-context-value"]
    assert seen["verify"] == [
        {"value": "test-context-value", "input": {"resumed": True}, "init": {"resumed": True}}
    ]


# -- SR43: three levels of nesting ------------------------------------------------------------


async def test_sr43_suspend_and_resume_three_levels_deep(engine, calls: Calls) -> None:
    """SR43: a step suspended three workflows deep reports its full path and resumes through it."""

    @step(id="begin-step", input_schema=StartValue)
    async def begin(ctx: StepContext) -> dict:
        calls.hit("begin")
        return ctx.input_data.model_dump()

    @step(id="passthrough", input_schema=StartValue)
    async def passthrough(ctx: StepContext) -> dict:
        calls.hit("passthrough")
        return ctx.input_data.model_dump()

    @step(id="start", input_schema=StartValue)
    async def start(ctx: StepContext) -> dict:
        calls.hit("start")
        return {"newValue": ctx.input_data.startValue + 1}

    @step(id="other")
    async def other(ctx: StepContext) -> dict:
        calls.hit("other")
        if ctx.resume_data is None:
            ctx.suspend()
        return {"other": 26}

    @step(id="final")
    async def final(ctx: StepContext) -> dict:
        calls.hit("final")
        start_out = ctx.get_step_result("start") or {}
        other_out = ctx.get_step_result("other") or {}
        return {"finalValue": start_out.get("newValue", 0) + other_out.get("other", 0)}

    @step(id="last-step")
    async def last(ctx: StepContext) -> dict:
        calls.hit("last")
        return {"success": True}

    wf_a = (
        Workflow("sr-deep-nested-wf-a", input_schema=StartValue)
        .then(start)
        .then(other)
        .then(final)
        .commit()
    )
    wf_b = (
        Workflow("sr-deep-nested-wf-b", input_schema=StartValue)
        .then(passthrough)
        .then(wf_a)
        .commit()
    )
    wf_c = (
        Workflow("sr-deep-nested-wf-c", input_schema=StartValue)
        .then(passthrough)
        .then(wf_b)
        .commit()
    )
    wf = (
        Workflow("sr-deep-nested-suspend-workflow", input_schema=StartValue)
        .then(begin)
        .then(wf_c)
        .then(last)
        .commit()
    )
    run = wf.create_run(engine=engine, run_id="sr43-run")

    started = await run.start(input_data={"startValue": 0})
    assert started.status == "suspended"
    assert calls["passthrough"] == 2
    assert started.steps["sr-deep-nested-wf-c"].status == "suspended"
    assert "last-step" not in started.steps
    deep_path = ["sr-deep-nested-wf-c", "sr-deep-nested-wf-b", "sr-deep-nested-wf-a", "other"]
    assert started.suspended[0] == deep_path
    snapshot = await engine.storage.load("sr43-run")
    assert snapshot.steps[".".join(deep_path)].status == "suspended"

    resumed = await run.resume(resume_data={"newValue": 0}, step=started.suspended[0])
    assert resumed.status == "success"
    assert resumed.steps["sr-deep-nested-wf-c"].status == "success"
    assert resumed.steps["sr-deep-nested-wf-c"].output == {"finalValue": 27}
    assert (calls["start"], calls["other"], calls["final"]) == (1, 2, 1)
    assert (calls["last"], calls["passthrough"], calls["begin"]) == (1, 2, 1)


# -- SR44: branches after a nested suspension -------------------------------------------------


async def test_sr44_resume_runs_only_the_chosen_branch_and_keeps_datetimes(
    engine, calls: Calls
) -> None:
    """SR44: after resuming a nested arm the other arms never run; resumed datetimes stay typed."""
    seen: dict[str, Any] = {}
    chosen_date = datetime(2024, 12, 31, tzinfo=UTC)

    class Item(BaseModel):
        id: str
        name: str
        type: str

    class DatePick(BaseModel):
        date: datetime

    class Processed(BaseModel):
        processed: str
        date: datetime | None = None

    @step(id="fetch-items")
    async def fetch_items(ctx: StepContext) -> list:
        calls.hit("fetch-items")
        return [
            {"id": "1", "name": "Item 1", "type": "first"},
            {"id": "2", "name": "Item 2", "type": "second"},
            {"id": "3", "name": "Item 3", "type": "third"},
        ]

    @step(id="select-item", input_schema=list[Item], resume_schema=Item, suspend_schema=Message)
    async def select_item(ctx: StepContext) -> Any:
        calls.hit("select-item")
        if ctx.resume_data is None:
            ctx.suspend({"message": "Select an item"})
        return ctx.resume_data

    @step(id="first-item-step", input_schema=Item)
    async def first_item(ctx: StepContext) -> dict:
        calls.hit("first-item-step")
        return {"processed": "first"}

    @step(id="third-item-step", input_schema=Item, resume_schema=DatePick)
    async def third_item(ctx: StepContext) -> dict:
        calls.hit("third-item-step")
        if ctx.resume_data is None:
            ctx.suspend({"message": "Select date for third item"})
        return {"processed": "third", "date": ctx.resume_data.date}

    @step(
        id="second-item-date-step",
        input_schema=Item,
        resume_schema=DatePick,
        suspend_schema=Message,
    )
    async def second_item_date(ctx: StepContext) -> dict:
        calls.hit("second-item-date-step")
        if ctx.resume_data is None:
            ctx.suspend({"message": "Select date for second item"})
        seen["resume_date"] = ctx.resume_data.date
        return {"processed": "second", "date": ctx.resume_data.date}

    @step(id="final-processing", input_schema=Processed)
    async def final_processing(ctx: StepContext) -> dict:
        calls.hit("final-processing")
        seen["final_input"] = ctx.input_data
        return {"result": "processed", "input": ctx.input_data.model_dump(mode="json")}

    second_wf = (
        Workflow("sr-second-item-workflow", input_schema=Item).then(second_item_date).commit()
    )

    def is_type(kind: str) -> Any:
        async def condition(ctx: Any) -> bool:
            return _plain(ctx.input_data)["type"] == kind

        return condition

    async def pick_branch_output(ctx: Any) -> Any:
        outputs = _plain(ctx.input_data)
        for key in ("first-item-step", "sr-second-item-workflow", "third-item-step"):
            if outputs.get(key):
                return outputs[key]
        raise ValueError("No valid branch result found")

    wf = (
        Workflow("sr-incorrect-branches-resume-workflow")
        .then(fetch_items)
        .then(select_item)
        .branch(
            [
                (is_type("first"), first_item),
                (is_type("second"), second_wf),
                (is_type("third"), third_item),
            ]
        )
        .map(pick_branch_output)
        .then(final_processing)
        .commit()
    )
    run = wf.create_run(engine=engine, run_id="sr44-run")

    started = await run.start(input_data={})
    assert started.status == "suspended"
    assert calls["select-item"] == 1
    assert started.suspended == [["select-item"]]

    selected = await run.resume(
        resume_data={"id": "2", "name": "Item 2", "type": "second"}, step=started.suspended[0]
    )
    assert selected.status == "suspended"
    assert calls["select-item"] == 2
    assert calls["second-item-date-step"] == 1
    assert selected.suspended == [["sr-second-item-workflow", "second-item-date-step"]]

    done = await run.resume(resume_data={"date": chosen_date}, step=selected.suspended[0])
    assert done.status == "success"
    assert calls["second-item-date-step"] == 2
    assert isinstance(seen["resume_date"], datetime)
    assert seen["resume_date"] == chosen_date
    assert calls["first-item-step"] == 0
    assert calls["third-item-step"] == 0
    assert "first-item-step" not in done.steps
    assert "third-item-step" not in done.steps
    assert done.steps["sr-second-item-workflow"].status == "success"
    assert calls["final-processing"] == 1
    final_input = seen["final_input"]
    assert final_input.processed == "second"
    assert isinstance(final_input.date, datetime)
    assert final_input.date == chosen_date


# -- SR45: map + branch, resumed with a rebuilt workflow --------------------------------------


def _map_branch_workflow(calls: Calls) -> Workflow:
    """.map(value * 2) -> branch(mapped > 10: nested suspending workflow, else: fallback)."""

    class Mapped(BaseModel):
        mappedValue: int

    class Answer(BaseModel):
        answer: str

    @step(id="suspending-step", input_schema=Mapped, resume_schema=Answer)
    async def suspending(ctx: StepContext) -> dict:
        calls.hit("suspending-step")
        if ctx.resume_data is None:
            ctx.suspend({"prompt": "Please provide an answer"})
        return {
            "result": f"processed: {ctx.input_data.mappedValue}, answer: {ctx.resume_data.answer}"
        }

    @step(id="fallback-step", input_schema=Mapped)
    async def fallback(ctx: StepContext) -> dict:
        calls.hit("fallback-step")
        return {"result": f"fallback: {ctx.input_data.mappedValue}"}

    nested = Workflow("sr-nested-wf-with-suspend", input_schema=Mapped).then(suspending).commit()

    async def double(ctx: Any) -> dict:
        return {"mappedValue": _plain(ctx.input_data)["value"] * 2}

    async def big(ctx: Any) -> bool:
        calls.hit("condition", _plain(ctx.input_data))
        return _plain(ctx.input_data)["mappedValue"] > 10

    async def small(ctx: Any) -> bool:
        calls.hit("condition", _plain(ctx.input_data))
        return _plain(ctx.input_data)["mappedValue"] <= 10

    return (
        Workflow("sr-map-branch-suspend-workflow", input_schema=Value)
        .map(double)
        .branch([(big, nested), (small, fallback)])
        .commit()
    )


async def test_sr45_resume_after_map_with_rebuilt_workflow_skips_branch_conditions(
    engine, calls: Calls
) -> None:
    """SR45: conditions see the mapped value; a rebuilt workflow resumes without re-running them."""
    wf = _map_branch_workflow(calls)
    started = await wf.create_run(engine=engine, run_id="sr45-run").start(input_data={"value": 10})

    assert started.status == "suspended"
    assert {"mappedValue": 20} in calls.args["condition"]
    conditions_before = calls["condition"]
    assert started.suspended[0] == ["sr-nested-wf-with-suspend", "suspending-step"]

    rebuilt = _map_branch_workflow(calls)
    fresh_run = rebuilt.create_run(engine=engine, run_id="sr45-run")
    resumed = await fresh_run.resume(resume_data={"answer": "hello"}, step=started.suspended[0])

    assert calls["condition"] == conditions_before
    assert resumed.status == "success"
    assert resumed.steps["sr-nested-wf-with-suspend"].status == "success"
    assert resumed.result == {
        "sr-nested-wf-with-suspend": {"result": "processed: 20, answer: hello"}
    }
    assert calls["fallback-step"] == 0
